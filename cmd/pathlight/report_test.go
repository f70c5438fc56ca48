package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/report"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/server"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

const testToken = "report-test-token-0123456789"

// marchNow is the clock of the report tests' trackers: their traffic is from early March.
var marchNow = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

// marchTraffic is three visitors, two purchases (worth 100 and 50), as import lines.
func marchTraffic() string {
	line := func(n, day, hour, minute int, ev string) string {
		ts := time.Date(2026, 3, day, hour, minute, 0, 0, time.UTC).UnixMilli()
		return fmt.Sprintf(`{"ts":%d,"ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0","ip":"203.0.113.9","batch":{"site":"demo","vid":"%032x","events":[%s]}}`,
			ts, n, strings.ReplaceAll(ev, "TS", fmt.Sprint(ts)))
	}
	pv := func(id, path, ref string) string {
		return fmt.Sprintf(`{"id":%q,"type":"pageview","ts":TS,"url":"https://shop.example%s","ref":%q}`, id, path, ref)
	}
	buy := func(id string, value int) string {
		return fmt.Sprintf(`{"id":%q,"type":"event","name":"purchase","ts":TS,"url":"https://shop.example/","props":{"value":%d}}`, id, value)
	}
	return strings.Join([]string{
		line(1, 2, 10, 0, pv("a1", "/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring", "")),
		line(3, 3, 11, 0, pv("c1", "/?utm_source=newsletter&utm_medium=email", "")),
		line(2, 3, 15, 0, pv("b1", "/", "https://www.google.com/")),
		line(2, 3, 15, 5, buy("b2", 50)),
		line(1, 4, 9, 0, pv("a2", "/", "")),
		line(1, 4, 9, 3, buy("a3", 100)),
	}, "\n")
}

// dataDir returns a stopped server's data directory holding marchTraffic.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "badger"), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.LoadDir(filepath.Join("..", "..", "rules"))
	if err != nil {
		t.Fatal(err)
	}
	tr := track.New(trackstore.New(db), nil, set, track.Config{Now: func() time.Time { return marchNow }})
	res, err := analytics.NewImporter(tr, func(id string) (string, bool) { return id, id == "demo" }).Import([]byte(marchTraffic()))
	if err != nil || res.Accepted != 6 {
		t.Fatalf("import = %+v, %v; want 6 events", res, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runCmd runs the command line and returns its output and error.
func runCmd(args ...string) (string, string, error) {
	var out, errOut bytes.Buffer
	err := run(args, &out, &errOut, func(string) string { return "" })
	return out.String(), errOut.String(), err
}

// row finds the table row that starts with cells and returns its fields.
func row(out string, cells ...string) []string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= len(cells) && strings.Join(f[:len(cells)], " ") == strings.Join(cells, " ") {
			return f
		}
	}
	return nil
}

func TestReportFromDataDir(t *testing.T) {
	dir := dataDir(t)
	rulesDir := filepath.Join("..", "..", "rules")
	period := []string{"--data", dir, "--rules", rulesDir, "--from", "2026-03-01", "--to", "2026-03-11"}

	out, _, err := runCmd(append([]string{"report", "overview"}, period...)...)
	if err != nil {
		t.Fatalf("report overview: %v", err)
	}
	for _, want := range [][]string{{"visitors", "3", "0", "n/a"}, {"sessions", "4", "0", "n/a"}, {"conversions", "2", "0", "n/a"}, {"value", "150.00", "0.00", "n/a"}, {"conversion", "rate", "66.7%", "n/a", "n/a"}} {
		if row(out, want[:len(want)-3]...) == nil || strings.Join(row(out, want[:len(want)-3]...), " ") != strings.Join(want, " ") {
			t.Errorf("report overview: row %v = %v; want %v\n%s", want[0], row(out, want[:len(want)-3]...), want, out)
		}
	}

	out, _, err = runCmd(append([]string{"report", "paths", "--format", "csv"}, period...)...)
	want := "path;total_conversions;total_conversion_value;total_null\nOrganic Search;1;50;0\nPaid Social > Direct;1;100;0\n"
	if err != nil || out != want {
		t.Errorf("report paths --format csv = %q, %v; want %q", out, err, want)
	}
	// The path file reads back as the same table, and the models run on it.
	back, rerr := report.ReadPaths(strings.NewReader(out))
	if rerr != nil || !reflect.DeepEqual(back.Rows, []report.PathRow{{Path: []string{"Organic Search"}, Conversions: 1, Value: 50}, {Path: []string{"Paid Social", "Direct"}, Conversions: 1, Value: 100}}) {
		t.Errorf("ReadPaths(report paths --format csv) = %+v, %v; want the report's rows", back, rerr)
	}
	pathFile := filepath.Join(t.TempDir(), "paths.csv")
	if err := os.WriteFile(pathFile, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCmd("attribution", "--paths", pathFile, "--model", "linear"); err != nil || row(out, "Direct") == nil || row(out, "Direct")[1] != "0.500" {
		t.Errorf("attribution --paths <report paths --format csv> = %v, row Direct %v; want 0.500\n%s", err, row(out, "Direct"), out)
	}
	// --limit leaves paths out of the file, and says so.
	out, errOut, err := runCmd(append([]string{"report", "paths", "--format", "csv", "--limit", "1"}, period...)...)
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(errOut, "1 of 2 paths left out") {
		t.Errorf("report paths --format csv --limit 1 = %q, stderr %q, %v; want one row and a warning", out, errOut, err)
	}

	out, _, err = runCmd(append([]string{"report", "attribution", "--model", "linear", "--format", "json"}, period...)...)
	var res struct {
		Report string
		Data   analytics.AttributionReport
	}
	if err != nil || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("report attribution --format json = %q, %v", out, err)
	}
	if c := res.Data.Models["linear"].Channel("Direct"); res.Report != "attribution" || c.Conversions != 0.5 || c.Value != 50 {
		t.Errorf("linear credit of Direct = %+v; want 0.5 conversions worth 50", c)
	}

	// Every report prints.
	for _, name := range strings.Split(analytics.ReportNames(), ", ") {
		if out, _, err := runCmd(append([]string{"report", name}, period...)...); err != nil || out == "" {
			t.Errorf("report %s = %q, %v", name, out, err)
		}
	}

	var ee exitError
	if _, _, err := runCmd(append([]string{"report", "attribution", "--model", "magic"}, period...)...); !errors.As(err, &ee) || ee.code != 2 {
		t.Errorf("report attribution --model magic = %v; want exit 2", err)
	}
	if _, _, err := runCmd("report", "overview", "--data", t.TempDir()); !errors.As(err, &ee) || !strings.Contains(ee.msg, "no Pathlight data") {
		t.Errorf("report from an empty directory = %v; want a message naming it", err)
	}
}

// TestReportWhileServing checks that a data directory in use gets a clear message that
// suggests asking the server.
func TestReportWhileServing(t *testing.T) {
	dir := dataDir(t)
	db, err := store.Open(filepath.Join(dir, "badger"), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, _, err = runCmd("report", "overview", "--data", dir, "--rules", filepath.Join("..", "..", "rules"))
	var ee exitError
	if !errors.As(err, &ee) || !strings.Contains(ee.msg, "in use by a running server") || !strings.Contains(ee.msg, "--server") {
		t.Errorf("report on a locked data directory = %v; want a message suggesting --server", err)
	}
}

// testServer runs a server with reports on 127.0.0.1 over the data directory dir (a new one
// when empty), on the given clock, and returns its URL.
func testServer(t *testing.T, dir string, now func() time.Time) string {
	t.Helper()
	return testServerRules(t, dir, filepath.Join("..", "..", "rules"), now)
}

// testServerRules is testServer with the rules of rulesDir; opts adjust the server's options.
func testServerRules(t *testing.T, dir, rulesDir string, now func() time.Time, opts ...func(*server.Options)) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg, err := config.Load([]string{"--admin-token", testToken, "--sites", "demo=https://shop.example", "--data", dir}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "badger"), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.LoadDir(rulesDir)
	if err != nil {
		t.Fatal(err)
	}
	feed := analytics.NewFeed(now)
	tr := track.New(track.Watch(trackstore.New(db), feed), nil, set, track.Config{Now: now, SiteHosts: map[string][]string{"demo": {"shop.example"}}})
	mgr := newRulesManager(rulesDir, tr.SetRules, slog.New(slog.DiscardHandler))
	if err := mgr.Reload(); err != nil {
		t.Fatal(err)
	}
	svc := analytics.New(tr, feed, analytics.Options{Now: now, Spend: analytics.SpendFiles(dir)})
	so := server.Options{Config: cfg, Tracker: tr, Rules: mgr, Analytics: svc}
	for _, o := range opts {
		o(&so)
	}
	srv := server.New(so)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
		db.Close()
	})
	return "http://" + ln.Addr().String()
}

// TestReportFromServer asks a running server and prints what the data directory gives.
func TestReportFromServer(t *testing.T) {
	dir := dataDir(t)
	rulesDir := filepath.Join("..", "..", "rules")
	period := []string{"--from", "2026-03-01", "--to", "2026-03-11"}
	local, _, err := runCmd(append([]string{"report", "funnel", "--data", dir, "--rules", rulesDir}, period...)...)
	if err != nil {
		t.Fatal(err)
	}
	url := testServer(t, dir, func() time.Time { return marchNow })
	remote, _, err := runCmd(append([]string{"report", "funnel", "--server", url, "--token", testToken}, period...)...)
	if err != nil {
		t.Fatalf("report --server: %v", err)
	}
	if remote != local {
		t.Errorf("report funnel from the server =\n%s\nwant (from the data directory)\n%s", remote, local)
	}
	_, _, err = runCmd(append([]string{"report", "funnel", "--server", url, "--token", "wrong-token-0123456789"}, period...)...)
	var ee exitError
	if !errors.As(err, &ee) || !strings.Contains(ee.msg, "401") {
		t.Errorf("report with a wrong token = %v; want the server's 401", err)
	}
}

// TestAttributionCommand runs the models on the reference path files.
func TestAttributionCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "paths.csv")
	csv := "path;total_conversions;total_conversion_value;total_null\nA > B > A > B > B > A;1;10;0\nA > B > B > A > A;1;10;0\nA > A;1;10;0\n"
	if err := os.WriteFile(path, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want [][]string
	}{
		{[]string{"--model", "markov"}, [][]string{{"A", "2.000"}, {"B", "1.000"}}},
		{[]string{"--model", "markov", "--max-steps", "package"}, [][]string{{"A", "2.100"}, {"B", "0.900"}}},
		{[]string{"--model", "shapley"}, [][]string{{"A", "2.000"}, {"B", "1.000"}}},
	}
	for _, c := range cases {
		out, _, err := runCmd(append([]string{"attribution", "--paths", path}, c.args...)...)
		if err != nil {
			t.Fatalf("attribution %v: %v", c.args, err)
		}
		for _, w := range c.want {
			if r := row(out, w[0]); len(r) < 2 || r[1] != w[1] {
				t.Errorf("attribution %v: row %s = %v; want %v\n%s", c.args, w[0], r, w, out)
			}
		}
	}
	out, _, err := runCmd("attribution", "--paths", path, "--format", "json")
	var res analytics.AttributionReport
	if err != nil || json.Unmarshal([]byte(out), &res) != nil || len(res.Models) != 7 || res.Models["time_decay"] != nil {
		t.Errorf("attribution --format json = %d models, %v; want the 7 models a path file allows", len(res.Models), err)
	}
	if _, _, err := runCmd("attribution", "--paths", path, "--model", "time_decay"); err == nil {
		t.Error("attribution --model time_decay on a path file succeeded; want an error")
	}

	// The package's 10,000-path example: at order 1, P(conversion) = 19785 / 88387.
	data := filepath.Join("..", "..", "..", "shared", "data", "channelattribution-Data.csv")
	if _, err := os.Stat(data); err != nil {
		t.Skipf("the ChannelAttribution example data is not at %s: %v", data, err)
	}
	out, _, err = runCmd("attribution", "--paths", data, "--model", "markov")
	if err != nil || !strings.Contains(out, fmt.Sprintf("P(conversion) = %.3f", 19785.0/88387)) {
		t.Errorf("attribution of the example data = %v\n%s; want P(conversion) %.3f", err, out, 19785.0/88387)
	}
}
