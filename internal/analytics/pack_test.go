package analytics

import (
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
// store (keys L day vid and L day part).
func recordKeys(t *testing.T, db *store.DB) (singles, packs int) {
	t.Helper()
	err := db.Scan([]byte{'L'}, []byte{'M'}, func(key, _ []byte) error {
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
	s2.svc.o.RefreshEvery = 10 * time.Millisecond
	if err := s2.svc.Open(); err != nil { // before the services below mark the store open
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s2.svc.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	deadline := time.Now().Add(time.Minute)
	for {
		// Reports read the store while it is converted (each from a service of its own,
		// so that no cached result answers).
		fresh := newService(s2.tr, s2.tr.Rules, nil, Options{Now: s2.svc.o.Now, MaxStaleness: -1, Store: s2.svc.o.Store})
		sameReports(t, "while the store is packed", s2.reports(t, fresh), want)
		singles, packs := recordKeys(t, s2.db)
		if packs > 0 && singles == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after the start the store keeps %d single records and %d packs; want packs only (every visitor's last day is closed)", singles, packs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fresh := newService(s2.tr, s2.tr.Rules, nil, Options{Now: s2.svc.o.Now, MaxStaleness: -1, Store: s2.svc.o.Store})
	sameReports(t, "once packed", s2.reports(t, fresh), want)
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
