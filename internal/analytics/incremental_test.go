package analytics_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
)

// reportJSON returns a report's data as JSON.
func reportJSON(t *testing.T, s *analytics.Service, name string, from, to time.Time, opts map[string]string) string {
	t.Helper()
	if opts == nil {
		opts = map[string]string{}
	}
	r, err := s.Report(name, analytics.Query{From: from.UnixMilli(), To: to.UnixMilli(), Options: opts})
	if err != nil {
		t.Fatalf("Report(%q): %v", name, err)
	}
	b, err := json.Marshal(r.Data)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var allReports = []string{"overview", "journey", "funnel", "paths", "attribution", "ttc", "health", "cac", "surveys", "experiments", "micro"}

// TestIncrementalEqualsRebuild sends traffic in parts with reports in between (so the store
// is built early and kept current from the commits, and daily rollups are kept and then
// dropped by backdated traffic), and checks every report against a service that reads the
// finished store from scratch.
func TestIncrementalEqualsRebuild(t *testing.T) {
	e := newEnv(t, at(20, 12, 0))
	from, to := day(1), day(20)
	before := reportJSON(t, e.svc, "attribution", from, to, nil)
	shop(t, e)
	for _, name := range allReports {
		reportJSON(t, e.svc, name, from, to, nil)
	}
	// Backdated traffic into days whose rollups are kept: a new converting visitor on Mar 2.
	e.send(t,
		hit{at: at(2, 8, 0), n: 4, evs: []ev{pv("/?utm_source=newsletter&utm_medium=email&utm_campaign=weekly", "")}},
		hit{at: at(2, 8, 5), n: 4, evs: []ev{named("purchase", map[string]any{"value": 30})}},
		hit{at: at(12, 9, 0), n: 3, evs: []ev{pv("/pricing", "https://www.google.com/")}},
	)
	after := reportJSON(t, e.svc, "attribution", from, to, nil)
	if after == before {
		t.Fatal("attribution did not change with new traffic")
	}
	fresh := analytics.New(e.tr, nil, analytics.Options{Now: e.clk.now})
	for _, name := range allReports {
		got := reportJSON(t, e.svc, name, from, to, nil)
		want := reportJSON(t, fresh, name, from, to, nil)
		if got != want {
			t.Errorf("%s kept current =\n%s\nwant (read afresh)\n%s", name, got, want)
		}
	}
	if err := e.svc.Rebuild(); err != nil {
		t.Fatal(err)
	}
	for _, name := range allReports {
		if got, want := reportJSON(t, e.svc, name, from, to, nil), reportJSON(t, fresh, name, from, to, nil); got != want {
			t.Errorf("%s after Rebuild =\n%s\nwant\n%s", name, got, want)
		}
	}
}

// TestMergeAndErase follows a visitor merged into a known user's journey and then erased.
func TestMergeAndErase(t *testing.T) {
	e := newEnv(t, at(20, 12, 0))
	shop(t, e)
	identify := func(uid string) ev {
		evSeq++
		return ev{"id": "id-" + uid + string(rune('a'+evSeq%26)), "type": "identify", "user_id": uid, "url": "https://shop.example/account"}
	}
	// Visitor 1 signs in as ann; later visitor 5 (another device) answers a survey and
	// signs in as ann too: its journey merges into visitor 1's.
	e.send(t,
		hit{at: at(5, 9, 0), n: 1, evs: []ev{identify("ann")}},
		hit{at: at(6, 9, 0), n: 5, evs: []ev{pv("/thanks", "https://www.google.com/")}},
		hit{at: at(6, 9, 1), n: 5, evs: []ev{prompt("post_purchase_nps", "shown", "")}},
		hit{at: at(6, 9, 2), n: 5, evs: []ev{identify("ann")}},
	)
	o := run[*analytics.Overview](t, e, "overview", day(1), day(11))
	if o.Visitors != 3 || o.Sessions != 5 {
		t.Errorf("after the merge: %d visitors, %d sessions; want 3 and 5 (visitor 5's session is ann's)", o.Visitors, o.Sessions)
	}
	s := run[*analytics.SurveysReport](t, e, "surveys", day(1), day(11))
	for _, sv := range s.Surveys {
		if sv.ID == "post_purchase_nps" && (sv.Shown != 2 || sv.VisitorsShown != 1) {
			t.Errorf("NPS shown %d times to %d visitors; want 2 times to 1 visitor (the merged one)", sv.Shown, sv.VisitorsShown)
		}
	}
	if _, err := e.tr.Erase(vid(1)); err != nil {
		t.Fatal(err)
	}
	o = run[*analytics.Overview](t, e, "overview", day(1), day(11))
	if o.Visitors != 2 || o.Conversions != 1 {
		t.Errorf("after the erase: %d visitors, %d conversions; want 2 and 1", o.Visitors, o.Conversions)
	}
	s = run[*analytics.SurveysReport](t, e, "surveys", day(1), day(11))
	for _, sv := range s.Surveys {
		if sv.ID == "post_purchase_nps" && sv.Shown != 0 {
			t.Errorf("NPS shown %d times after the erase; want 0", sv.Shown)
		}
	}
}

// TestStaleness checks that on a busy site reports share one state of the store for
// MaxStaleness, and then see every commit.
func TestStaleness(t *testing.T) {
	e := newEnv(t, at(20, 12, 0), func(o *analytics.Options) { o.MaxStaleness = time.Minute })
	shop(t, e)
	if o := run[*analytics.Overview](t, e, "overview", day(1), day(11)); o.Visitors != 3 {
		t.Fatalf("visitors = %d; want 3", o.Visitors)
	}
	e.send(t, hit{at: at(5, 8, 0), n: 7, evs: []ev{pv("/", "")}})
	if o := run[*analytics.Overview](t, e, "overview", day(1), day(11)); o.Visitors != 3 {
		t.Errorf("visitors within a minute of the last snapshot = %d; want 3 (the last fold is kept)", o.Visitors)
	}
	e.clk.set(at(20, 12, 1))
	if o := run[*analytics.Overview](t, e, "overview", day(1), day(11)); o.Visitors != 4 {
		t.Errorf("visitors a minute later = %d; want 4", o.Visitors)
	}
}

// TestRunStopsWithItsContext runs the background job: it opens the report store and computes
// the default rollups, keeps the store current, and returns when its context ends.
func TestRunStopsWithItsContext(t *testing.T) {
	e := newEnv(t, at(20, 12, 0), func(o *analytics.Options) { o.RefreshEvery = time.Millisecond })
	shop(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.svc.Run(ctx)
	}()
	e.send(t, hit{at: at(6, 8, 0), n: 8, evs: []ev{pv("/", "")}})
	if o := run[*analytics.Overview](t, e, "overview", day(1), day(11)); o.Visitors != 4 {
		t.Errorf("visitors while Run runs = %d; want 4", o.Visitors)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10 s of its context ending")
	}
}
