package track_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// dedupReadCounter counts the point reads of dedup keys (d) and old spill keys (r), and the
// range reads of spill packs (i).
type dedupReadCounter struct {
	track.Store
	dedupReads atomic.Int64
}

func (s *dedupReadCounter) Scan(start, end []byte, fn func(key, val []byte) error) error {
	if len(start) > 0 && start[0] == 'i' {
		s.dedupReads.Add(1)
	}
	return s.Store.Scan(start, end, fn)
}

func (s *dedupReadCounter) GetMany(keys [][]byte, fn func(i int, val []byte) error) error {
	for _, k := range keys {
		if len(k) > 0 && (k[0] == 'd' || k[0] == 'r') {
			s.dedupReads.Add(1)
		}
	}
	return s.Store.GetMany(keys, fn)
}

// TestSpilledIDsFromMemory: a busy visitor whose journey spills ids every 33 events is
// deduplicated from memory, without a read of spill packs or site-wide keys per hit, and
// still exactly: every spilled id retried is a duplicate. A tracker started afresh over the
// same store (a restart: nothing in memory) finds them in storage, reading the packs once
// and then answering new ids from memory again.
func TestSpilledIDsFromMemory(t *testing.T) {
	clk := newClock()
	db := openStore(t)
	cs := &dedupReadCounter{Store: trackstore.New(db)}
	tr := track.New(cs, nil, nil, track.Config{Now: clk.now, SiteHosts: map[string][]string{"shop": {"shop.example"}}})
	c := &client{}
	evs := pageviews(journey.MaxRecent + 100)
	for i, e := range evs {
		clk.advance(time.Second)
		wantAll(t, "first send", c.send(t, tr, e), evs[i:i+1], false)
		if i == 0 {
			// The first hit, without a cookie, checks the site-wide keys (a retry whose
			// answer was lost comes without one); its cookie's hits need not.
			cs.dedupReads.Store(0)
		}
	}
	if n := cs.dedupReads.Load(); n != 0 {
		t.Errorf("%d reads of dedup or spill keys for %d new events of a visitor known in memory; want 0", n, len(evs)-1)
	}
	// Every id, spilled or recent, retried: all duplicates, and only ids the memo may hold
	// are read.
	for i := 0; i < len(evs); i += 10 {
		batch := evs[i:min(i+10, len(evs))]
		wantAll(t, "retry", c.send(t, tr, batch...), batch, true)
	}
	// A restart: a tracker without memory reads storage and still finds every spilled id.
	cs2 := &dedupReadCounter{Store: trackstore.New(db)}
	tr2 := track.New(cs2, nil, nil, track.Config{Now: clk.now, SiteHosts: map[string][]string{"shop": {"shop.example"}}})
	more := pageviews(50)
	for i, e := range more {
		clk.advance(time.Second)
		wantAll(t, "new event after a restart", c.send(t, tr2, e), more[i:i+1], false)
		if i == 0 && cs2.dedupReads.Load() == 0 {
			t.Error("the first hit after a restart read no spill pack; want its ids read")
		}
		if i == 0 {
			cs2.dedupReads.Store(0)
		}
	}
	// Until the window of the ids marked before the restart ends, each event is looked up at
	// its site-wide and old spill key (two point reads), but the packs are not read again.
	if n, want := cs2.dedupReads.Load(), int64(2*(len(more)-1)); n != want {
		t.Errorf("%d reads for %d new events after a restart; want %d, no pack read", n, len(more)-1, want)
	}
	for i := 0; i < len(evs); i += 10 {
		batch := evs[i:min(i+10, len(evs))]
		wantAll(t, "retry after a restart", c.send(t, tr2, batch...), batch, true)
	}
}
