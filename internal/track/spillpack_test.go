package track_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/track"
)

// keysWithPrefix counts the keys of db that start with prefix.
func keysWithPrefix(t *testing.T, db *store.DB, prefix string) int {
	t.Helper()
	n := 0
	end := []byte(prefix)
	end[len(end)-1]++
	if err := db.Scan([]byte(prefix), end, func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// sendOneByOne sends evs a hit each, a second apart.
func sendOneByOne(t *testing.T, tr *track.Tracker, clk *clock, c *client, evs []event.Event) {
	t.Helper()
	for i := range evs {
		clk.advance(time.Second)
		wantAll(t, "first send", c.send(t, tr, evs[i]), evs[i:i+1], false)
	}
}

// retryAll retries evs in batches of ten and wants every one a duplicate.
func retryAll(t *testing.T, what string, tr *track.Tracker, c *client, evs []event.Event) {
	t.Helper()
	for i := 0; i < len(evs); i += 10 {
		batch := evs[i:min(i+10, len(evs))]
		wantAll(t, what, c.send(t, tr, batch...), batch, true)
	}
}

// TestSpillPacksOneKeyPerPush: a busy visitor's journey pushes its oldest ids out half a list
// at a time, each push one key of the visitor's (no key per id), and every id pushed out
// is still a duplicate when retried, from memory and, after a restart, from the packs.
func TestSpillPacksOneKeyPerPush(t *testing.T) {
	clk := newClock()
	db := openStore(t)
	cfg := track.Config{Now: clk.now}
	tr := newTrackerOn(t, db, cfg)
	c := &client{}
	const n = 200
	evs := pageviews(n)
	sendOneByOne(t, tr, clk, c, evs)
	// The list fills to MaxRecent+1, then keeps RecentAfterSpill and takes MaxRecent -
	// RecentAfterSpill + 1 more before the next push.
	pushes := 1 + (n-journey.MaxRecent-1)/(journey.MaxRecent-journey.RecentAfterSpill+1)
	if got := keysWithPrefix(t, db, "i"+c.cookie); got != pushes {
		t.Errorf("%d spill packs after %d events; want one per push, %d", got, n, pushes)
	}
	if got := keysWithPrefix(t, db, "r"); got != 0 {
		t.Errorf("%d single spill keys; want none", got)
	}
	retryAll(t, "retry", tr, c, evs)
	restarted := newTrackerOn(t, db, cfg)
	retryAll(t, "retry after a restart", restarted, c, evs)
	clk.advance(49 * time.Hour)
	wantAll(t, "a resend after the window", c.send(t, restarted, evs[0]), evs[:1], false)
}

// TestSpillPacksMoveWithAMerge: an anonymous visitor whose journey pushed ids out into packs
// identifies as a known user: its packs move to the user's journey, its retries are
// duplicates under either id (also after a restart), and nothing is left under its own id.
func TestSpillPacksMoveWithAMerge(t *testing.T) {
	clk := newClock()
	db := openStore(t)
	cfg := track.Config{Now: clk.now}
	tr := newTrackerOn(t, db, cfg)
	laptop, phone := &client{}, &client{}
	laptop.send(t, tr, identify("dana"))
	anon := pageviews(150)
	sendOneByOne(t, tr, clk, phone, anon)
	anonVID := phone.cookie
	if keysWithPrefix(t, db, "i"+anonVID) == 0 {
		t.Fatal("the anonymous journey pushed out no ids; the test needs it to")
	}
	if merged := phone.send(t, tr, identify("dana")); merged.VID != laptop.cookie {
		t.Fatalf("after identify the phone is %q; want dana's journey %q", merged.VID, laptop.cookie)
	}
	if got := keysWithPrefix(t, db, "i"+anonVID); got != 0 {
		t.Errorf("%d spill packs left under the anonymous id after the merge; want 0", got)
	}
	if keysWithPrefix(t, db, "i"+laptop.cookie) == 0 {
		t.Error("no spill packs under the known user after the merge")
	}
	retryAll(t, "retry under the user's id", tr, laptop, anon)
	retryAll(t, "retry under the anonymous id", tr, &client{cookie: anonVID}, anon)
	restarted := newTrackerOn(t, db, cfg)
	retryAll(t, "retry under the anonymous id after a restart", restarted, &client{cookie: anonVID}, anon)
	st, err := restarted.Visitor(laptop.cookie)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pageviews != uint32(len(anon)) {
		t.Fatalf("pageviews after retries = %d; want %d", st.Pageviews, len(anon))
	}
}

// TestEraseDeletesSpillPacks: an erase leaves none of the visitor's spill packs.
func TestEraseDeletesSpillPacks(t *testing.T) {
	clk := newClock()
	db := openStore(t)
	tr := newTrackerOn(t, db, track.Config{Now: clk.now})
	c := &client{}
	sendOneByOne(t, tr, clk, c, pageviews(120))
	if keysWithPrefix(t, db, "i"+c.cookie) == 0 {
		t.Fatal("no spill packs to erase; the test needs some")
	}
	if _, err := tr.Erase(c.cookie); err != nil {
		t.Fatal(err)
	}
	if got := keysWithPrefix(t, db, "i"+c.cookie); got != 0 {
		t.Errorf("%d spill packs after the erase; want 0", got)
	}
}

// TestDedupReadsSpillKeysOfEarlierReleases: an id that an earlier release pushed out of the
// journey into a key of its own ("r" and the id's hash) is still a duplicate within its
// window, for a tracker that never saw it, and for one whose memo began from the packs.
func TestDedupReadsSpillKeysOfEarlierReleases(t *testing.T) {
	clk := newClock()
	db := openStore(t)
	cfg := track.Config{Now: clk.now}
	tr := newTrackerOn(t, db, cfg)
	c := &client{}
	sendOneByOne(t, tr, clk, c, pageviews(3))
	old := pageview("https://shop.example/old", "")
	h := track.IDHashForTest("shop", old.ID)
	var k [8]byte
	binary.LittleEndian.PutUint64(k[:], h)
	// The journey of that release: the id pushed out, and SpillUntil to the end of its window.
	st, err := tr.Visitor(c.cookie)
	if err != nil {
		t.Fatal(err)
	}
	st.SpillUntil = clk.now().Unix() + 40*3600
	err = db.Write([]store.Op{
		{Key: append([]byte{'v'}, c.cookie...), Value: st.AppendBinary(nil)},
		{Key: append([]byte{'r'}, k[:6]...), Value: []byte{}, TTL: 40 * time.Hour},
	})
	if err != nil {
		t.Fatal(err)
	}
	fresh := newTrackerOn(t, db, cfg)
	clk.advance(time.Second)
	wantAll(t, "a new event", c.send(t, fresh, pageview("https://shop.example/new", "")), []event.Event{{}}, false)
	// The memo began from the packs on that hit; the old key is still read.
	wantAll(t, "retry of an id the earlier release pushed out", c.send(t, fresh, old), []event.Event{old}, true)
}

// TestSpillPacksBounded: past maxPacked ids in packs, a visitor's pushed-out ids go to keys
// of their own, so that a hit that must read the visitor's packs (after a restart) reads a
// bounded number; every id, packed or not, is still a duplicate when retried, before and
// after a restart.
func TestSpillPacksBounded(t *testing.T) {
	defer track.SetMaxPackedForTest(100)()
	clk := newClock()
	db := openStore(t)
	cfg := track.Config{Now: clk.now}
	tr := newTrackerOn(t, db, cfg)
	c := &client{}
	evs := pageviews(400)
	sendOneByOne(t, tr, clk, c, evs)
	packed := 0
	start := append([]byte{'i'}, c.cookie...)
	end := append([]byte{'i'}, c.cookie...)
	end[len(end)-1]++
	if err := db.Scan(start, end, func(_, v []byte) error { packed += len(v) / 10; return nil }); err != nil {
		t.Fatal(err)
	}
	// Packs take ids until the visitor has 100 or more stored outside its journey (the
	// first hit's id, without a cookie, went to a site-wide key): pushes are whole.
	if packed < 100-journey.MaxRecent || packed >= 100+journey.MaxRecent {
		t.Errorf("%d ids in packs; want about 100", packed)
	}
	if single := keysWithPrefix(t, db, "r"); single == 0 || packed+single+journey.MaxRecent < len(evs) {
		t.Errorf("%d ids in packs, %d in keys of their own, of %d events; want every pushed-out id in one or the other", packed, single, len(evs))
	}
	retryAll(t, "retry", tr, c, evs)
	restarted := newTrackerOn(t, db, cfg)
	retryAll(t, "retry after a restart", restarted, c, evs)
	// After the restart the memo began from the packs, and the count with them: new ids still
	// go to keys of their own.
	before := keysWithPrefix(t, db, "r")
	sendOneByOne(t, restarted, clk, c, pageviews(80))
	if after := keysWithPrefix(t, db, "r"); after <= before {
		t.Errorf("keys of their own: %d before 80 more events after a restart, %d after; want more", before, after)
	}
}

// TestSpillPacksOfTheMergingBatchMove: a batch that pushes ids of an anonymous journey out
// into a pack and then identifies as a known user moves that pack too, though it is not
// stored yet when the merge reads the anonymous visitor's packs.
func TestSpillPacksOfTheMergingBatchMove(t *testing.T) {
	clk := newClock()
	db := openStore(t)
	cfg := track.Config{Now: clk.now}
	tr := newTrackerOn(t, db, cfg)
	laptop, phone := &client{}, &client{}
	laptop.send(t, tr, identify("erin"))
	phone.send(t, tr, pageview("https://shop.example/", ""))
	anonVID := phone.cookie
	evs := append(pageviews(100), identify("erin"))
	clk.advance(time.Second)
	res := phone.send(t, tr, evs...)
	wantAll(t, "first send", res, evs, false)
	if res.VID != laptop.cookie {
		t.Fatalf("after identify the phone is %q; want erin's journey %q", res.VID, laptop.cookie)
	}
	if got := keysWithPrefix(t, db, "i"+anonVID); got != 0 {
		t.Errorf("%d spill packs left under the anonymous id; want 0", got)
	}
	restarted := newTrackerOn(t, db, cfg)
	retryAll(t, "retry under the user's id after a restart", restarted, laptop, evs[:100])
}
