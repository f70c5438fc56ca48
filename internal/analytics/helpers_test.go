package analytics_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/rules/rulestest"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// env is a tracker over real Badger in a temporary directory, with the example rules, its
// feed and the analytics service, all on one test clock.
type env struct {
	db  *store.DB
	tr  *track.Tracker
	svc *analytics.Service
	im  *analytics.Importer
	clk *clock
}

func newEnv(t testing.TB, now time.Time, opts ...func(*analytics.Options)) *env {
	t.Helper()
	return newEnvRules(t, now, rulestest.Example(t, "shop", "blog"), opts...) // the demo's rules, for the test's sites
}

// newEnvRules is newEnv with the rule set set.
func newEnvRules(t testing.TB, now time.Time, set *rules.Set, opts ...func(*analytics.Options)) *env {
	t.Helper()
	db, err := store.Open(t.TempDir(), trackstore.Options(store.Options{Small: true}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: now}
	feed := analytics.NewFeed(clk.now)
	tr := track.New(track.Watch(trackstore.New(db), feed), nil, set, track.Config{
		SiteHosts: map[string][]string{"shop": {"shop.example"}, "blog": {"blog.example"}},
		Now:       clk.now,
	})
	// The report store lives in the same Badger as the journeys, as on a server.
	o := analytics.Options{Now: clk.now, MaxStaleness: -1, Store: trackstore.New(db)}
	for _, f := range opts {
		f(&o)
	}
	svc := analytics.New(tr, feed, o)
	im := analytics.NewImporter(tr, func(id string) (string, bool) { return id, id == "shop" || id == "blog" })
	return &env{db: db, tr: tr, svc: svc, im: im, clk: clk}
}

// vid returns the visitor id of test visitor n.
func vid(n int) string { return fmt.Sprintf("%032x", n) }

// ev is one event of an import line.
type ev map[string]any

var evSeq int

func pv(path, ref string) ev {
	evSeq++
	e := ev{"id": fmt.Sprint("e", evSeq), "type": "pageview", "url": "https://shop.example" + path}
	if ref != "" {
		e["ref"] = ref
	}
	return e
}

func named(name string, props map[string]any) ev {
	evSeq++
	e := ev{"id": fmt.Sprint("e", evSeq), "type": "event", "name": name, "url": "https://shop.example/"}
	if props != nil {
		e["props"] = props
	}
	return e
}

func prompt(id, action, answer string) ev {
	evSeq++
	e := ev{"id": fmt.Sprint("e", evSeq), "type": "prompt", "prompt": id, "action": action, "url": "https://shop.example/thanks"}
	if answer != "" {
		e["answer"] = answer
	}
	return e
}

// hit is one import line: visitor n's events at time at, asking for slots.
type hit struct {
	at    time.Time
	n     int
	site  string
	slots []string
	evs   []ev
}

func (h hit) line() string {
	site := h.site
	if site == "" {
		site = "shop"
	}
	batch := map[string]any{"site": site, "vid": vid(h.n), "events": h.evs}
	if len(h.slots) > 0 {
		batch["slots"] = h.slots
	}
	for _, e := range h.evs {
		e["ts"] = h.at.UnixMilli()
	}
	b, _ := json.Marshal(map[string]any{"ts": h.at.UnixMilli(), "ua": chromeUA, "ip": "203.0.113.9", "batch": batch})
	return string(b)
}

// send imports hits and fails the test on any rejected line or event.
func (e *env) send(t testing.TB, hits ...hit) {
	t.Helper()
	lines := make([]string, len(hits))
	for i, h := range hits {
		lines[i] = h.line()
	}
	res, err := e.im.Import([]byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if len(res.Errors) > 0 || res.Rejected > 0 {
		t.Fatalf("Import = %+v; want every line and event accepted", res)
	}
}

// report runs a report and returns its data as the given payload type.
func run[T any](t testing.TB, e *env, name string, from, to time.Time, opts ...string) T {
	t.Helper()
	q := analytics.Query{From: from.UnixMilli(), To: to.UnixMilli(), Options: map[string]string{}}
	for i := 0; i+1 < len(opts); i += 2 {
		if opts[i] == "site" {
			q.Site = opts[i+1]
			continue
		}
		q.Options[opts[i]] = opts[i+1]
	}
	r, err := e.svc.Report(name, q)
	if err != nil {
		t.Fatalf("Report(%q, %v) error: %v", name, opts, err)
	}
	d, ok := r.Data.(T)
	if !ok {
		t.Fatalf("Report(%q) data is %T", name, r.Data)
	}
	return d
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func day(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }

func at(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, time.UTC) }
