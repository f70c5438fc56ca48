package analytics

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/rules/rulestest"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// refusing is a byte-level store whose writes can be refused, as a full disk refuses them.
type refusing struct {
	track.Store
	refuse atomic.Bool
}

func (r *refusing) Write(ops []track.Op) error {
	if r.refuse.Load() {
		return errors.New("disk full")
	}
	return r.Store.Write(ops)
}

// TestRefusedWritesCostOnlySpeed: while the report store refuses writes, reports still
// answer (from the store as it is), and what the folds could not write is written by the
// first fold after the store takes writes again.
func TestRefusedWritesCostOnlySpeed(t *testing.T) {
	db, err := store.Open(t.TempDir(), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	set := rulestest.Example(t, "shop") // the demo's rules, for the test's site
	clock := func() time.Time { return restartEnd }
	feed := NewFeed(clock)
	tr := track.New(track.Watch(trackstore.New(db), feed), nil, set, track.Config{Now: clock,
		SiteHosts: map[string][]string{"shop": {"shop.example"}}})
	kv := &refusing{Store: trackstore.New(db)}
	s := &server{db: db, tr: tr, svc: newService(tr, tr.Rules, feed, Options{Now: clock, MaxStaleness: -1, Store: kv}),
		im: NewImporter(tr, func(id string) (string, bool) { return id, id == "shop" })}
	s.traffic(t, 0, 50)
	before := s.reports(t, s.svc)

	kv.refuse.Store(true)
	s.traffic(t, 50, 50)
	during := s.reports(t, s.svc) // no error: the store as it was
	sameReports(t, "while writes are refused", during, before)

	kv.refuse.Store(false)
	fresh := newService(tr, tr.Rules, nil, Options{Now: clock})
	sameReports(t, "once writes are taken again", s.reports(t, s.svc), s.reports(t, fresh))
}
