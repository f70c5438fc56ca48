package analytics

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/store"
)

// recordKeys counts the report store's single records and day packs in a data directory's
// store (keys L day vid, and D day part or, as releases before kept them, L day part).
func recordKeys(t *testing.T, db *store.DB) (singles, packs int) {
	t.Helper()
	for _, prefix := range []byte{'D', 'L'} {
		err := db.Scan([]byte{prefix}, []byte{prefix + 1}, func(key, _ []byte) error {
			switch len(key) {
			case 21:
				singles++
			case 7:
				packs++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return singles, packs
}

// TestOldStoreIsPackedInTheBackground: a data directory whose report store keeps one record
// to a key (as every version before day packs wrote it) answers at once, and the server's
// background job packs its closed days while reports read it; every report gives the same
// figures before, during and after, and after backdated traffic files records under packed
// days.
func TestOldStoreIsPackedInTheBackground(t *testing.T) {
	dir := t.TempDir()
	s1 := startServer(t, dir)
	s1.traffic(t, 0, 600)
	want := s1.reports(t, s1.svc)
	if err := s1.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if singles, packs := recordKeys(t, s1.db); singles == 0 || packs != 0 {
		t.Fatalf("before any packing the store keeps %d single records and %d packs; want single records only", singles, packs)
	}
	s1.db.Close()

	s2 := startServer(t, dir)
	defer s2.db.Close()
	stop := s2.runInBackground(t)
	defer stop()
	deadline := time.Now().Add(time.Minute)
	for {
		// Reports read the store while it is converted.
		sameReports(t, "while the store is packed", s2.reports(t, s2.fresh()), want)
		singles, packs := recordKeys(t, s2.db)
		if packs > 0 && singles == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after the start the store keeps %d single records and %d packs; want packs only (every visitor's last day is closed)", singles, packs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	sameReports(t, "once packed", s2.reports(t, s2.fresh()), want)
	if e, v := s2.src.events.Load(), s2.src.visitors.Load(); e != 0 || v != 0 {
		t.Errorf("packing read the event log %d times and every state %d times; want neither", e, v)
	}

	// Backdated traffic: new visitors filed under packed days, and the same visitors again
	// (their records leave their packs for later days or change inside them).
	s2.traffic(t, 600, 200)
	s2.traffic2(t, 0, 100)
	built := newService(s2.tr, s2.tr.Rules, nil, Options{Now: s2.svc.o.Now}) // from the journeys, in memory
	sameReports(t, "after backdated traffic", s2.reports(t, s2.svc), s2.reports(t, built))
	if singles, _ := recordKeys(t, s2.db); singles != 0 {
		t.Errorf("after backdated traffic on packed days the store keeps %d single records; want them in the days' packs", singles)
	}
}

// runInBackground opens the server's report service and runs its background job every
// 10 ms, until the returned stop.
func (s *server) runInBackground(t *testing.T) (stop func()) {
	t.Helper()
	s.svc.o.RefreshEvery = 10 * time.Millisecond
	if err := s.svc.Open(); err != nil { // before other services mark the store open
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.svc.Run(ctx) })
	return func() { cancel(); wg.Wait() }
}

// fresh returns a report service of its own over the server's report store, so that no
// cached result answers.
func (s *server) fresh() *Service {
	return newService(s.tr, s.tr.Rules, nil, Options{Now: s.svc.o.Now, MaxStaleness: -1, Store: s.svc.o.Store})
}

// packsToLegacy moves the day packs of a data directory's report store to where releases
// before kept them: beside the single records (L day part, not D day part), with the J
// values that pointed there (day and part, 6 bytes, not 7).
func packsToLegacy(t *testing.T, db *store.DB) {
	t.Helper()
	var ops []store.Op
	err := db.Scan([]byte{'D'}, []byte{'E'}, func(key, val []byte) error {
		ops = append(ops, store.Op{Key: bytes.Clone(key), Delete: true},
			store.Op{Key: append([]byte{'L'}, key[1:]...), Value: bytes.Clone(val)})
		return nil
	})
	if err == nil {
		err = db.Scan([]byte{'J'}, []byte{'K'}, func(key, val []byte) error {
			if len(key) == 17 && len(val) == 7 {
				ops = append(ops, store.Op{Key: bytes.Clone(key), Value: bytes.Clone(val[:6])})
			}
			return nil
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) == 0 {
		t.Fatal("no pack to move")
	}
	if err := db.Write(ops); err != nil {
		t.Fatal(err)
	}
}

// legacyPacks counts the packs kept under L, where releases before kept them.
func legacyPacks(t *testing.T, db *store.DB) int {
	t.Helper()
	n := 0
	err := db.Scan([]byte{'L'}, []byte{'M'}, func(key, _ []byte) error {
		if len(key) == 7 {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPacksOfAnEarlierReleaseAreMoved: a data directory whose day packs are kept beside the
// single records (as the releases before day packs had a prefix of their own kept them)
// answers at once; backdated traffic changes its packs where they are, and the background
// job moves them while reports read it; every report gives the same figures throughout.
func TestPacksOfAnEarlierReleaseAreMoved(t *testing.T) {
	dir := t.TempDir()
	s1 := startServer(t, dir)
	s1.traffic(t, 0, 600)
	if err := s1.svc.Pack(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := s1.reports(t, s1.svc)
	if err := s1.svc.Close(); err != nil {
		t.Fatal(err)
	}
	packsToLegacy(t, s1.db)
	s1.db.Close()

	s2 := startServer(t, dir)
	defer s2.db.Close()
	if n := legacyPacks(t, s2.db); n == 0 {
		t.Fatal("no pack under L after the move")
	}
	sameReports(t, "packs under L", s2.reports(t, s2.fresh()), want)
	// Backdated traffic on the days packed under L: records enter, leave and change
	// inside their packs there.
	s2.traffic2(t, 0, 100)
	s2.traffic(t, 600, 50)
	built := newService(s2.tr, s2.tr.Rules, nil, Options{Now: s2.svc.o.Now}) // from the journeys, in memory
	want = s2.reports(t, built)
	sameReports(t, "packs under L, after backdated traffic", s2.reports(t, s2.svc), want)
	if singles, _ := recordKeys(t, s2.db); singles != 0 {
		t.Errorf("after backdated traffic on days packed under L the store keeps %d single records; want them in the days' packs", singles)
	}
	if n := legacyPacks(t, s2.db); n == 0 {
		t.Fatal("the backdated traffic moved the packs under L")
	}
	sameReports(t, "packs under L, after backdated traffic, read again", s2.reports(t, s2.fresh()), want)

	stop := s2.runInBackground(t)
	defer stop()
	deadline := time.Now().Add(time.Minute)
	for legacyPacks(t, s2.db) > 0 {
		sameReports(t, "while the packs move", s2.reports(t, s2.fresh()), want)
		if time.Now().After(deadline) {
			t.Fatalf("a minute after the start %d packs are still under L", legacyPacks(t, s2.db))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if singles, packs := recordKeys(t, s2.db); singles != 0 || packs == 0 {
		t.Errorf("once moved: %d single records, %d packs; want packs only", singles, packs)
	}
	err := s2.db.Scan([]byte{'J'}, []byte{'K'}, func(key, val []byte) error {
		if len(key) == 17 && len(val) != 7 {
			t.Errorf("J key %x says %x; want a day and part under D", key, val)
			return store.ErrStop
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sameReports(t, "once moved", s2.reports(t, s2.fresh()), want)
}

// traffic2 brings visitors first … first+n-1 of traffic back for one more session on
// another day of March before the 19th.
func (s *server) traffic2(t *testing.T, first, n int) {
	t.Helper()
	var lines []string
	for v := first; v < first+n; v++ {
		at := time.Date(2026, 3, 1+(v+5)%18, 15, v%60, 0, 0, time.UTC).UnixMilli()
		b, _ := json.Marshal(map[string]any{"ts": at, "ua": "Mozilla/5.0 Chrome/124.0", "ip": "203.0.113.9",
			"batch": map[string]any{"site": "shop", "vid": fmt.Sprintf("%032x", v+1), "events": []map[string]any{
				{"id": fmt.Sprint("s", v, "a"), "type": "pageview", "url": "https://shop.example/?utm_source=google&utm_medium=cpc", "ts": at}}}})
		lines = append(lines, string(b))
	}
	res, err := s.im.Import([]byte(strings.Join(lines, "\n")))
	if err != nil || res.Rejected > 0 || len(res.Errors) > 0 {
		t.Fatalf("import: %+v, %v", res, err)
	}
}

// TestCrashRebuildOverPackedDays: a server that crashed with packed days rebuilds the
// store over them (records leave, enter and change inside packs) and reports as a store
// built from scratch does.
func TestCrashRebuildOverPackedDays(t *testing.T) {
	dir := t.TempDir()
	s1 := startServer(t, dir)
	s1.traffic(t, 0, 300)
	if err := s1.svc.Pack(context.Background()); err != nil {
		t.Fatal(err)
	}
	if singles, packs := recordKeys(t, s1.db); singles != 0 || packs == 0 {
		t.Fatalf("after Pack: %d single records, %d packs; want packs only", singles, packs)
	}
	if _, err := s1.svc.Report("overview", Query{From: day0(), To: restartEnd.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	// More traffic, never folded in: the server dies before its next report.
	s1.traffic(t, 300, 100)
	s1.traffic2(t, 0, 50)
	s1.db.Close()

	s2 := startServer(t, dir)
	defer s2.db.Close()
	if err := s2.svc.Open(); err != nil {
		t.Fatal(err)
	}
	if e, v := s2.src.events.Load(), s2.src.visitors.Load(); e != 1 || v != 1 {
		t.Errorf("after a crash the service read the event log %d times and every state %d times; want one rebuild", e, v)
	}
	fresh := newService(s2.tr, s2.tr.Rules, nil, Options{Now: s2.svc.o.Now}) // built from scratch, in memory
	sameReports(t, "rebuilt over packed days", s2.reports(t, s2.svc), s2.reports(t, fresh))
}

func day0() int64 { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli() }
