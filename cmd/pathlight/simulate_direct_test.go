package main

import (
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// TestSimulateIntoDataDirectory writes a simulation straight into a data directory and
// checks every report the report command reads from the report store kept there against
// the same reports computed afresh from the journeys and the event log.
func TestSimulateIntoDataDirectory(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	end := time.Now().UTC().Truncate(time.Minute)
	err := simulateCmd([]string{"--data", dir, "--rules", filepath.Join("..", "..", "rules"), "--visitors", "1500", "--days", "60", "--end", end.Format(time.RFC3339)}, &out, io.Discard, func(string) string { return "" })
	if err != nil {
		t.Fatalf("simulate --data: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "simulated 1500 of 1500 visitors") {
		t.Fatalf("simulate --data said %q", out.String())
	}
	set, err := rules.LoadDir(filepath.Join("..", "..", "rules"))
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]string{"from": end.Add(-60 * 24 * time.Hour).Format(time.RFC3339), "to": end.Format(time.RFC3339)}
	kept := map[string]string{}
	for _, name := range []string{"overview", "journey", "funnel", "paths", "attribution", "ttc", "health", "surveys", "experiments", "micro"} {
		res, err := localReport(dir, filepath.Join("..", "..", "rules"), set, name, values, func(string) string { return "" })
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := json.Marshal(res.Data)
		kept[name] = string(b)
	}
	db, err := store.Open(filepath.Join(dir, "badger"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Every closed day is packed, as a server that had lived through the history keeps it.
	if plan, err := reportstore.New(trackstore.New(db), 0).PreparePack(0, reportstore.DayOf(end.UnixMilli())-1); err != nil || plan != nil {
		t.Errorf("a closed day is left unpacked after simulate --data: plan %v, err %v", plan != nil, err)
	}
	tr := track.New(trackstore.New(db), nil, set, track.Config{})
	// A report store in memory, built from scratch, with the spend the simulation wrote.
	fresh := analytics.New(tr, nil, analytics.Options{Spend: analytics.SpendFiles(dir, filepath.Join("..", "..", "rules"))})
	q, err := analytics.NewQuery(values, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range kept {
		r, err := fresh.Report(name, q)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(r.Data); string(b) != want {
			t.Errorf("%s from the kept report store =\n%.600s\nwant (computed afresh)\n%.600s", name, want, b)
		}
	}
	var o analytics.Overview
	b, _ := json.Marshal(mustData(t, fresh, "overview", q))
	if err := json.Unmarshal(b, &o); err != nil || o.Visitors < 1000 || o.Conversions == 0 {
		t.Errorf("overview of 1,500 simulated visitors: %+v, %v; want most of them, and conversions", o.Figures, err)
	}
}

func mustData(t *testing.T, s *analytics.Service, name string, q analytics.Query) any {
	t.Helper()
	r, err := s.Report(name, q)
	if err != nil {
		t.Fatal(err)
	}
	return r.Data
}
