package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/store"
)

// runEnv runs the command line with the environment env and returns its output and error.
func runEnv(env map[string]string, args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := run(args, &out, &errOut, func(k string) string { return env[k] })
	return out.String(), errOut.String(), err
}

// TestReportRefusesStrayArguments: an argument after the report name is an error, not the
// end of the flags; flags after a name given after flags are read.
func TestReportRefusesStrayArguments(t *testing.T) {
	dir := dataDir(t)
	rulesDir := filepath.Join("..", "..", "rules")
	for _, args := range [][]string{
		{"report", "overview", "extra", "--format", "json", "--data", dir, "--rules", rulesDir},
		{"report", "overview", "overview", "--data", dir, "--rules", rulesDir},
		{"report", "--data", dir, "overview", "extra"},
	} {
		out, _, err := runCmd(args...)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(ee.msg, "unexpected argument") {
			t.Errorf("%v = %v (output %q); want exit 2 naming the unexpected argument", args, err, out)
		}
	}
	out, _, err := runCmd("report", "--data", dir, "overview", "--format", "json", "--rules", rulesDir)
	if err != nil || !strings.HasPrefix(out, "{") {
		t.Errorf("report with flags around the name = %q, %v; want JSON", out, err)
	}
}

// TestReportRulesDirectory: a --rules directory that does not exist is an error; a missing
// default ./rules is said on stderr.
func TestReportRulesDirectory(t *testing.T) {
	dir := dataDir(t)
	_, _, err := runCmd("report", "funnel", "--data", dir, "--rules", filepath.Join(t.TempDir(), "nonexistent"))
	var ee exitError
	if !errors.As(err, &ee) || ee.code == 0 || !strings.Contains(ee.msg, "nonexistent") {
		t.Errorf("report --rules <missing> = %v; want an error naming the directory", err)
	}
	// The tests run in cmd/pathlight, which has no ./rules.
	out, errOut, err := runCmd("report", "overview", "--data", dir)
	if err != nil || !strings.Contains(errOut, "warning: no rules directory ./rules") || !strings.Contains(out, "overview") {
		t.Errorf("report without ./rules = %v, stderr %q; want the report and a warning", err, errOut)
	}
}

// TestReportInUseHintNamesNoMadeUpServer: the hint for a data directory a server holds uses
// the configured address, or a placeholder, never a default that may be another server.
func TestReportInUseHintNamesNoMadeUpServer(t *testing.T) {
	dir := dataDir(t)
	db, err := store.Open(filepath.Join(dir, "badger"), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rulesDir := filepath.Join("..", "..", "rules")
	cases := []struct {
		env  map[string]string
		want string
	}{
		{nil, "--server http://<host:port of the server>"},
		{map[string]string{"PATHLIGHT_ADDR": "127.0.0.1:9911"}, "--server http://127.0.0.1:9911"},
		{map[string]string{"PATHLIGHT_ADDR": ":9912"}, "--server http://127.0.0.1:9912"},
	}
	for _, c := range cases {
		_, _, err := runEnv(c.env, "report", "overview", "--data", dir, "--rules", rulesDir)
		var ee exitError
		if !errors.As(err, &ee) || !strings.Contains(ee.msg, c.want) || strings.Contains(ee.msg, "8080") {
			t.Errorf("report on a held directory with env %v = %v; want a hint with %q", c.env, err, c.want)
		}
	}
}

// TestAttributionRefusesOrderZero: --order 0 is refused as the API refuses order=0.
func TestAttributionRefusesOrderZero(t *testing.T) {
	for _, order := range []string{"0", "-1", "9"} {
		_, _, err := runCmd("attribution", "--paths", filepath.Join(t.TempDir(), "paths.csv"), "--model", "markov", "--order", order)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(ee.msg, "--order "+order) {
			t.Errorf("attribution --order %s = %v; want exit 2 naming --order", order, err)
		}
	}
}

// TestReportRefusesOptionsTheReportDoesNotTake: an option the report does not read, given as
// a flag or with -o, is an error naming it, as the API answers, not silently ignored.
func TestReportRefusesOptionsTheReportDoesNotTake(t *testing.T) {
	dir := dataDir(t)
	rulesDir := filepath.Join("..", "..", "rules")
	for _, args := range [][]string{
		{"report", "overview", "--paths", "5", "--data", dir, "--rules", rulesDir},
		{"report", "attribution", "-o", "range=90d", "--data", dir, "--rules", rulesDir},
	} {
		out, _, err := runCmd(args...)
		var ee exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(ee.msg, "unknown parameter") || !strings.Contains(ee.msg, "report takes from, to, site") {
			t.Errorf("%v = %v (output %q); want exit 2 naming the option and what the report takes", args, err, out)
		}
	}
	if out, _, err := runCmd("report", "attribution", "--model", "markov", "-o", "keep_repeats=1", "--data", dir, "--rules", rulesDir); err != nil {
		t.Errorf("attribution with options it takes = %v (output %q)", err, out)
	}
}

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		n         int
		one, many string
		want      string
	}{{0, "path", "", "0 paths"}, {1, "path", "", "1 path"}, {2, "bad line", "", "2 bad lines"}, {1, "child", "children", "1 child"}, {3, "child", "children", "3 children"}} {
		if got := plural(c.n, c.one, c.many); got != c.want {
			t.Errorf("plural(%d, %q, %q) = %q; want %q", c.n, c.one, c.many, got, c.want)
		}
	}
}
