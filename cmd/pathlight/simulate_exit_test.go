package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSimulateRefusesWhatTheServerWould: no token, or an --end in the future, is refused
// before anything is sent (the server here would not even answer).
func TestSimulateRefusesWhatTheServerWould(t *testing.T) {
	future := time.Now().Add(48 * time.Hour).Format(time.DateOnly)
	for _, args := range [][]string{
		{"simulate", "--server", "http://127.0.0.1:1", "--visitors", "3"},
		{"simulate", "--server", "http://127.0.0.1:1", "--token", testToken, "--visitors", "3", "--end", future},
	} {
		_, _, err := runCmd(args...)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 || strings.Contains(ee.msg, "127.0.0.1:1") {
			t.Errorf("%v = %v; want exit 2 before sending", args, err)
		}
	}
	if out, _, err := runCmd("simulate", "--out", "-", "--visitors", "1", "--days", "1", "--end", future); err != nil || out == "" {
		t.Errorf("simulate --out with a future --end = %v; want the lines written (nothing is sent)", err)
	}
}

// TestSimulateFailsWhenLinesAreRefused: a run whose lines the server refuses exits non-zero
// and says how many.
func TestSimulateFailsWhenLinesAreRefused(t *testing.T) {
	url := testServer(t, "", time.Now)
	out, _, err := runCmd("simulate", "--server", url, "--token", testToken, "--site", "nosuch", "--visitors", "3", "--days", "1")
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(ee.msg, "refused") {
		t.Fatalf("simulate to an unknown site = %v\n%s; want exit 1 saying lines were refused", err, out)
	}
	var sent int
	for _, f := range strings.Split(out, "\n") {
		if _, after, ok := strings.Cut(f, ": sent "); ok {
			if _, err := fmt.Sscan(after, &sent); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := fmt.Sprintf("refused %d of the %d lines", sent, sent); sent == 0 || !strings.Contains(ee.msg, want) {
		t.Errorf("message %q; want %q", ee.msg, want)
	}
}
