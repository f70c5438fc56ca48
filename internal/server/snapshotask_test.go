package server_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// askClock is a settable clock for the server under test.
type askClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *askClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *askClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// askedBands sends a new visitor's pageview of page and returns the bands the reply's capture
// decision asks a snapshot of (nil when it asks none), failing when the page is not sampled.
func askedBands(t *testing.T, ts *testServer, page string, headers ...string) []string {
	t.Helper()
	var raw struct {
		Decisions struct {
			Capture *struct {
				Heatmap  bool      `json:"heatmap"`
				Snapshot *[]string `json:"snapshot"`
			} `json:"capture"`
		} `json:"decisions"`
	}
	body := `{"site":"shop","events":[{"id":"` + randomID() + `","type":"pageview","url":"https://shop.example` + page + `"}]}`
	r := ts.do(t, "POST", "/v1/hit", body, append([]string{"Origin", "https://shop.example"}, headers...)...)
	if err := json.Unmarshal([]byte(r.body), &raw); err != nil || r.status != 200 {
		t.Fatalf("hit of %s: %d %s", page, r.status, r.body)
	}
	c := raw.Decisions.Capture
	if c == nil || !c.Heatmap {
		if len(headers) > 0 {
			return nil
		}
		t.Fatalf("hit of %s: %s; want a heatmap capture decision", page, r.body)
	}
	if c.Snapshot == nil {
		return nil
	}
	if len(*c.Snapshot) == 0 {
		t.Errorf("reply %s: an empty snapshot list; want none at all", r.body)
	}
	return *c.Snapshot
}

var askIDs atomic.Int64

// randomID returns a new event id.
func randomID() string { return "ask-" + strconv.FormatInt(askIDs.Add(1), 10) }

// The server asks one visitor per page, band and day for the page's DOM snapshot: the bands
// without today's snapshot, once per ask window; a snapshot-only chunk stores the snapshot and
// no recorded session.
func TestSnapshotAskedOncePerPageBandAndDay(t *testing.T) {
	clock := &askClock{t: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	ts := startAt(t, clock.now)
	all := "phone,tablet,desktop"
	if got := strings.Join(askedBands(t, ts, "/pricing"), ","); got != all {
		t.Fatalf("first pageview of /pricing: asked %q; want %q", got, all)
	}
	if got := askedBands(t, ts, "/pricing"); got != nil {
		t.Errorf("second pageview while the ask is outstanding: asked %v; want none", got)
	}
	if got := strings.Join(askedBands(t, ts, "/cart"), ","); got != all {
		t.Errorf("another page: asked %q; want %q", got, all)
	}
	// Nothing came within the window: the next visitor is asked again.
	clock.add(6 * time.Minute)
	if got := strings.Join(askedBands(t, ts, "/pricing"), ","); got != all {
		t.Errorf("after the window without a snapshot: asked %q; want %q", got, all)
	}
	// The asked visitor's browser (1280 px: desktop) sends the snapshot alone.
	only := strings.Replace(replayChunk("", "unused-session", 0, clock.now().UnixMilli(), "https://shop.example/pricing", false), `"session":"unused-session",`, "", 1)
	only = strings.Replace(only, `"seq":0,`, `"snapshot":true,`, 1)
	if r := ts.do(t, "POST", "/v1/replay", gzipped(only), "Origin", "https://shop.example"); r.status != 204 {
		t.Fatalf("snapshot-only chunk: %d %s", r.status, r.body)
	}
	if r := ts.admin(t, "/api/v1/reports/heatmap/snapshot?site=shop&page=/pricing&band=desktop"); r.status != 200 || !strings.HasPrefix(r.body, `{"type":2,`) {
		t.Fatalf("the asked snapshot: %d %s", r.status, r.body)
	}
	if r := ts.admin(t, "/api/v1/replays?site=shop&from=0"); r.status != 200 || !strings.Contains(r.body, `"replays":[]`) {
		t.Errorf("replays after a snapshot-only chunk: %d %s; want none listed", r.status, r.body)
	}
	m := ts.do(t, "GET", "/metrics", "").body
	if v := metricValue(t, m, `pathlight_replay_chunks_total{result="snapshot"}`); v != 1 {
		t.Errorf("snapshot chunks counted %v; want 1", v)
	}
	// Desktop has today's snapshot: only the other bands are asked for, after the window.
	if got := askedBands(t, ts, "/pricing"); got != nil {
		t.Errorf("within the window after the snapshot: asked %v; want none", got)
	}
	clock.add(6 * time.Minute)
	if got := strings.Join(askedBands(t, ts, "/pricing"), ","); got != "phone,tablet" {
		t.Errorf("after the window, with today's desktop snapshot: asked %q; want phone,tablet", got)
	}
	if got := askedBands(t, ts, "/pricing"); got != nil {
		t.Errorf("again at once: asked %v; want none", got)
	}
	// The next day the snapshot is yesterday's: every band is asked for again.
	clock.add(24 * time.Hour)
	if got := strings.Join(askedBands(t, ts, "/pricing"), ","); got != all {
		t.Errorf("the next day: asked %q; want %q", got, all)
	}
	// A visitor who may not be recorded is never asked.
	clock.add(24 * time.Hour)
	if got := askedBands(t, ts, "/pricing", "Sec-GPC", "1"); got != nil {
		t.Errorf("a GPC visitor was asked %v", got)
	}
	if got := strings.Join(askedBands(t, ts, "/pricing"), ","); got != all {
		t.Errorf("after a GPC visitor: asked %q; want %q (the GPC visitor took no ask)", got, all)
	}
}
