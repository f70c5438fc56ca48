package track_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// watcher records what a watched store reports.
type watcher struct {
	mu      sync.Mutex
	states  []string // vid, "-vid" for a delete
	records []event.Hit
	keys    [][]byte // the key of each record
	imports int      // records heard as imported
	deleted [][]byte // keys of deleted records
	bad     int      // records that did not decode
}

func (w *watcher) StateChanged(vid []byte, deleted bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := string(vid)
	if deleted {
		s = "-" + s
	}
	w.states = append(w.states, s)
}

func (w *watcher) EventLogged(key, rec []byte, imported bool) {
	var h event.Hit
	e := new(event.Event)
	err := event.DecodeRecord(rec, &h, e)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.bad++
		return
	}
	w.records = append(w.records, h)
	w.keys = append(w.keys, slices.Clone(key))
	if imported {
		w.imports++
	}
}

func (w *watcher) EventDeleted(key []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deleted = append(w.deleted, slices.Clone(key))
}

// watchedTracker returns a tracker on a fixed clock whose store reports to a watcher.
func watchedTracker(t *testing.T, now time.Time, retention time.Duration) (*track.Tracker, *watcher) {
	t.Helper()
	db, err := store.Open(t.TempDir(), trackstore.Options(store.Options{Small: true}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := &watcher{}
	tr := track.New(track.Watch(trackstore.New(db), w), nil, nil, track.Config{
		Now: func() time.Time { return now }, Retention: retention,
		SiteHosts: map[string][]string{"shop": {"shop.example"}},
	})
	return tr, w
}

func TestWatchReportsCommits(t *testing.T) {
	tr, w := watchedTracker(t, time.Now(), 0)
	c := &client{}
	c.send(t, tr, pageview("https://shop.example/", ""), named("add_to_cart"))
	if !slices.Equal(w.states, []string{c.cookie}) || w.bad > 0 || len(w.records) != 2 || w.records[1].Event.Name != "add_to_cart" || w.records[0].VID != c.cookie {
		t.Fatalf("watched %v and %d records; want the state of %s and its 2 events", w.states, len(w.records), c.cookie)
	}
	if _, err := tr.Erase(c.cookie); err != nil {
		t.Fatal(err)
	}
	if last := w.states[len(w.states)-1]; last != "-"+c.cookie {
		t.Errorf("after an erase the watcher heard %q; want the delete of %s", last, c.cookie)
	}
	if w.imports != 0 {
		t.Errorf("%d records of live hits heard as imported; want none", w.imports)
	}
	// The erase reports the deletion of both records, by the keys they were logged under.
	slices.SortFunc(w.deleted, bytes.Compare)
	if !slices.EqualFunc(w.deleted, w.keys, bytes.Equal) {
		t.Errorf("erase reported deleted records %q; want %q", w.deleted, w.keys)
	}
}

func TestVisitorsAndState(t *testing.T) {
	tr, _ := watchedTracker(t, time.Now(), 0)
	var vids []string
	for range 3 {
		c := &client{}
		c.send(t, tr, pageview("https://shop.example/", ""))
		vids = append(vids, c.cookie)
	}
	slices.Sort(vids)
	var seen []string
	if err := tr.Visitors(func(st *journey.State) error {
		if st.Pageviews != 1 {
			return fmt.Errorf("visitor %s has %d pageviews", st.VID, st.Pageviews)
		}
		seen = append(seen, st.VID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seen, vids) {
		t.Errorf("Visitors = %v; want %v in order", seen, vids)
	}
	n := 0
	if err := tr.Visitors(func(*journey.State) error { n++; return track.ErrStop }); err != nil || n != 1 {
		t.Errorf("Visitors stopped with ErrStop after %d, error %v; want 1, nil", n, err)
	}
	var st journey.State
	if ok, err := tr.State(vids[0], &st); !ok || err != nil || st.VID != vids[0] {
		t.Errorf("State(%s) = %v, %v, vid %q", vids[0], ok, err, st.VID)
	}
	if ok, err := tr.State(fmt.Sprintf("%032x", 7), &st); ok || err != nil {
		t.Errorf("State of an unknown visitor = %v, %v; want false, nil", ok, err)
	}
}

func TestImport(t *testing.T) {
	now := time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)
	tr, w := watchedTracker(t, now, 90*24*time.Hour)
	site := func(id string) (string, bool) { return id, id == "shop" }
	var sc track.ImportScratch
	line := func(ts time.Time, body string) []byte {
		return fmt.Appendf(nil, `{"ts":%d,"ua":"Mozilla/5.0 Chrome/124.0","ip":"203.0.113.4","batch":%s}`, ts.UnixMilli(), body)
	}
	// A month old: older than the public endpoint's 48 hours, within the retention.
	old := now.Add(-30 * 24 * time.Hour)
	n, err := tr.Import(line(old, `{"site":"shop","events":[{"id":"i1","type":"pageview","url":"https://shop.example/"}]}`), &sc, site)
	if err != nil || n != (track.ImportCounts{Accepted: 1}) {
		t.Fatalf("Import of a month-old hit = %+v, %v; want 1 accepted", n, err)
	}
	if got := w.records[len(w.records)-1].Time; got != old.UnixMilli() {
		t.Errorf("imported event time = %d; want the line's %d", got, old.UnixMilli())
	}
	if w.imports != len(w.records) || w.imports == 0 {
		t.Errorf("%d of %d imported records heard as imported; want all", w.imports, len(w.records))
	}
	n, err = tr.Import(line(old, `{"site":"shop","events":[{"id":"i1","type":"pageview","url":"https://shop.example/"},{"type":"pageview"}]}`), &sc, site)
	if err != nil || n != (track.ImportCounts{Duplicate: 1, Rejected: 1}) {
		t.Errorf("Import of a duplicate and a bad event = %+v, %v; want 1 duplicate, 1 rejected", n, err)
	}
	bad := []struct {
		line []byte
		why  string
	}{
		{[]byte(`{`), "not JSON"},
		{line(time.UnixMilli(0), `{"site":"shop","events":[]}`), "no time"},
		{line(now.Add(time.Hour), `{"site":"shop","events":[]}`), "in the future"},
		{line(now.Add(-100*24*time.Hour), `{"site":"shop","events":[]}`), "older than the retention"},
		{line(old, `{"site":"blog","events":[]}`), "unknown site"},
		{line(old, `[1]`), "a batch that is not an object"},
		{[]byte(`{"ts":1773000000000,"ip":"nope","batch":{}}`), "a bad ip"},
		{[]byte(`{"ts":1773000000000}`), "no batch"},
	}
	for _, b := range bad {
		if _, err := tr.Import(b.line, &sc, site); !errors.Is(err, track.ErrImportLine) {
			t.Errorf("Import of a line with %s = %v; want ErrImportLine", b.why, err)
		}
	}
}
