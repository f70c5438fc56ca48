package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
)

// TestSimulateIsReproducible checks that a seed and an end give the same lines, byte for
// byte, and another seed other ones; and that every line is a valid import in time order.
func TestSimulateIsReproducible(t *testing.T) {
	demo, _, err := dirRules(filepath.Join("..", "..", "rules"), "demo", true, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := simConfig{site: "demo", visitors: 200, days: 14, seed: 42, end: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), rules: demo}
	a, spendA := simulateLines(c)
	b, spendB := simulateLines(c)
	if !slices.Equal(spendA, spendB) || len(spendA) == 0 {
		t.Errorf("spend of two runs: %d and %d rows, equal %v; want the same rows", len(spendA), len(spendB), slices.Equal(spendA, spendB))
	}
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("simulateLines gave %d and %d lines", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i].text, b[i].text) {
			t.Fatalf("line %d differs between two runs:\n%s\n%s", i, a[i].text, b[i].text)
		}
	}
	c.seed = 43
	if d, _ := simulateLines(c); len(d) == len(a) && bytes.Equal(d[0].text, a[0].text) {
		t.Error("seeds 42 and 43 gave the same traffic")
	}
	kinds := map[string]int{}
	var last int64
	for i, l := range a {
		var line importedLine
		if err := json.Unmarshal(l.text, &line); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if line.TS < last || line.TS >= c.end.UnixMilli() || line.TS < c.end.Add(-14*24*time.Hour).UnixMilli() {
			t.Fatalf("line %d at %d: out of order or outside the period", i, line.TS)
		}
		last = line.TS
		for _, e := range line.Batch.Events {
			kinds[e.Type+":"+e.Name+e.Prompt]++
			// The demo shop's events happen on its pages, at its price.
			switch e.Name {
			case "add_to_cart":
				if e.URL != "https://shop.example/products/jacket" || e.Props["value"] != 129.0 {
					t.Fatalf("line %d: add_to_cart at %s worth %v; want the jacket's page, 129", i, e.URL, e.Props["value"])
				}
			case "purchase":
				if v, _ := e.Props["value"].(float64); e.URL != "https://shop.example/checkout/pay" || (v != 129 && v != 258) || e.Props["currency"] != "USD" {
					t.Fatalf("line %d: purchase at %s worth %v %v; want the payment page, 129 USD a jacket", i, e.URL, e.Props["value"], e.Props["currency"])
				}
			}
			if e.Type == "pageview" && !strings.HasSuffix(e.Title, "Trailhead") && !strings.HasPrefix(e.Title, "Trailhead") {
				t.Fatalf("line %d: page title %q; want the demo shop's, Trailhead", i, e.Title)
			}
		}
	}
	for _, k := range []string{"pageview:", "event:add_to_cart", "event:begin_checkout", "event:purchase", "event:signup", "identify:", "prompt:post_purchase_nps", "prompt:pricing_exit"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in 200 visitors' traffic; kinds = %v", k, kinds)
		}
	}
}

// importedLine is an import line as the tests read it.
type importedLine struct {
	TS    int64 `json:"ts"`
	Batch struct {
		Events []simEvent `json:"events"`
	} `json:"batch"`
}

// TestSimulateAgainstServers sends the same seed to two servers and compares their event
// exports: identical, since visitor and event ids come from the seed.
func TestSimulateAgainstServers(t *testing.T) {
	end := time.Now().UTC().Truncate(time.Hour)
	now := func() time.Time { return end.Add(time.Hour) }
	export := func(url string) string {
		req, _ := http.NewRequest("GET", url+"/api/v1/events?from=0", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	var exports []string
	for range 2 {
		url := testServer(t, "", now)
		out, _, err := runCmd("simulate", "--server", url, "--token", testToken, "--site", "demo", "--visitors", "60",
			"--days", "7", "--seed", "9", "--end", end.Format(time.RFC3339), "--max-duration", "30s")
		if err != nil {
			t.Fatalf("simulate: %v\n%s", err, out)
		}
		if !strings.Contains(out, "0 rejected, 0 bad lines") {
			t.Errorf("simulate = %s; want every line accepted", out)
		}
		exports = append(exports, export(url))
		res, _, err := runCmd("report", "overview", "--server", url, "--token", testToken, "--format", "json",
			"--from", end.Add(-8*24*time.Hour).Format(time.RFC3339), "--to", end.Format(time.RFC3339))
		var r struct{ Data analytics.Overview }
		if err != nil || json.Unmarshal([]byte(res), &r) != nil || r.Data.Visitors != 60 {
			t.Errorf("overview after simulate = %d visitors, %v; want 60", r.Data.Visitors, err)
		}
	}
	if exports[0] == "" || exports[0] != exports[1] {
		t.Errorf("two runs with seed 9 exported different events (%d and %d bytes)", len(exports[0]), len(exports[1]))
	}
}

func TestSimulateFlags(t *testing.T) {
	cases := [][]string{
		{"simulate"},
		{"simulate", "--server", "http://127.0.0.1:1", "--visitors", "0"},
		{"simulate", "--server", "http://127.0.0.1:1", "--visitors", "100001"},
		{"simulate", "--server", "http://127.0.0.1:1", "--days", "401"},
		{"simulate", "--server", "http://127.0.0.1:1", "--end", "soon"},
		{"simulate", "--server", "http://127.0.0.1:1", "extra"},
	}
	for _, args := range cases {
		_, _, err := runCmd(args...)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 {
			t.Errorf("%v = %v; want exit 2", args, err)
		}
	}
	out, _, err := runCmd("simulate", "--out", "-", "--visitors", "2", "--days", "1", "--end", "2026-03-01")
	if err != nil || strings.Count(out, "\n") == 0 {
		t.Errorf("simulate --out - = %q, %v; want NDJSON lines", out, err)
	}
}
