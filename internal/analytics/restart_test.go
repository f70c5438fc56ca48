package analytics

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules/rulestest"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// countingSource counts the full reads of the store a service makes.
type countingSource struct {
	*track.Tracker
	events, visitors atomic.Int32
}

func (c *countingSource) Events(from, to int64, fn func(rec []byte) error) error {
	c.events.Add(1)
	return c.Tracker.Events(from, to, fn)
}

func (c *countingSource) Visitors(fn func(*journey.State) error) error {
	c.visitors.Add(1)
	return c.Tracker.Visitors(fn)
}

// server is one run of a server over a data directory: its store, tracker, feed and
// report service.
type server struct {
	db  *store.DB
	tr  *track.Tracker
	src *countingSource
	svc *Service
	im  *Importer
}

var restartEnd = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

func startServer(t *testing.T, dir string) *server {
	t.Helper()
	db, err := store.Open(dir, trackstore.Options(store.Options{Small: true}))
	if err != nil {
		t.Fatal(err)
	}
	set := rulestest.Example(t, "shop") // the demo's rules, for the test's site
	clock := func() time.Time { return restartEnd }
	feed := NewFeed(clock)
	tr := track.New(track.Watch(trackstore.New(db), feed), nil, set, track.Config{Now: clock,
		SiteHosts: map[string][]string{"shop": {"shop.example"}}})
	src := &countingSource{Tracker: tr}
	svc := newService(src, tr.Rules, feed, Options{Now: clock, MaxStaleness: -1, Store: trackstore.New(db)})
	im := NewImporter(tr, func(id string) (string, bool) { return id, id == "shop" })
	return &server{db: db, tr: tr, src: src, svc: svc, im: im}
}

// traffic imports n visitors' sessions over March, numbered from first.
func (s *server) traffic(t *testing.T, first, n int) {
	t.Helper()
	var lines []string
	for v := first; v < first+n; v++ {
		at := time.Date(2026, 3, 1+v%18, 9, v%60, 0, 0, time.UTC).UnixMilli()
		evs := []map[string]any{{"id": fmt.Sprint("r", v, "a"), "type": "pageview", "url": "https://shop.example/?utm_source=newsletter&utm_medium=email", "ts": at}}
		if v%3 == 0 {
			evs = append(evs, map[string]any{"id": fmt.Sprint("r", v, "b"), "type": "event", "name": "add_to_cart", "url": "https://shop.example/", "ts": at + 1000},
				map[string]any{"id": fmt.Sprint("r", v, "c"), "type": "event", "name": "purchase", "url": "https://shop.example/", "ts": at + 2000, "props": map[string]any{"value": 10 + v}})
		}
		if v%4 == 0 {
			evs = append(evs, map[string]any{"id": fmt.Sprint("r", v, "d"), "type": "prompt", "prompt": "post_purchase_nps", "action": "answered", "answer": "8", "url": "https://shop.example/", "ts": at + 3000})
		}
		b, _ := json.Marshal(map[string]any{"ts": at, "ua": "Mozilla/5.0 Chrome/124.0", "ip": "203.0.113.9",
			"batch": map[string]any{"site": "shop", "vid": fmt.Sprintf("%032x", v+1), "events": evs}})
		lines = append(lines, string(b))
	}
	res, err := s.im.Import([]byte(strings.Join(lines, "\n")))
	if err != nil || res.Rejected > 0 || len(res.Errors) > 0 {
		t.Fatalf("import: %+v, %v", res, err)
	}
}

// reports returns every report over March as JSON.
func (s *server) reports(t *testing.T, svc *Service) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range []string{"overview", "journey", "funnel", "paths", "attribution", "ttc", "health", "cac", "surveys", "experiments", "micro"} {
		q := Query{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), To: restartEnd.UnixMilli(), Options: map[string]string{}}
		r, err := svc.Report(name, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := json.Marshal(r.Data)
		out[name] = string(b)
	}
	reach, err := svc.Reach("shop")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(reach)
	out["reach"] = string(b)
	return out
}

func sameReports(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %s =\n%s\nwant\n%s", what, name, got[name], w)
		}
	}
}

// TestRestartReadsTheStoreAsItIs: a server that stopped cleanly left the report store
// complete, so the next one answers every report from it without reading the event log or
// the visitor states again; one that crashed (commits not yet folded in) rebuilds it.
func TestRestartReadsTheStoreAsItIs(t *testing.T) {
	dir := t.TempDir()
	s1 := startServer(t, dir)
	s1.traffic(t, 0, 300)
	want := s1.reports(t, s1.svc)
	if err := s1.svc.Close(); err != nil {
		t.Fatal(err)
	}
	s1.db.Close()

	s2 := startServer(t, dir)
	sameReports(t, "after a clean restart", s2.reports(t, s2.svc), want)
	if e, v := s2.src.events.Load(), s2.src.visitors.Load(); e != 0 || v != 0 {
		t.Errorf("after a clean restart the service read the event log %d times and every state %d times; want neither", e, v)
	}
	// More traffic, never folded in: the server dies before its next report.
	s2.traffic(t, 300, 100)
	s2.db.Close()

	s3 := startServer(t, dir)
	defer s3.db.Close()
	fresh := newService(s3.tr, s3.tr.Rules, nil, Options{Now: s3.svc.o.Now}) // built from scratch, in memory
	if err := s3.svc.Open(); err != nil {
		t.Fatal(err)
	}
	if e, v := s3.src.events.Load(), s3.src.visitors.Load(); e != 1 || v != 1 {
		t.Errorf("after a crash the service read the event log %d times and every state %d times; want one rebuild", e, v)
	}
	sameReports(t, "after a crash", s3.reports(t, s3.svc), s3.reports(t, fresh))
}
