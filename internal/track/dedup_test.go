package track_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/track"
)

// clock is a settable clock for the dedup window.
type clock struct{ ms atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ms.Store(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC).UnixMilli())
	return c
}

func (c *clock) now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *clock) advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// wantAll checks that res acknowledged every event of evs the same way.
func wantAll(t *testing.T, what string, res *track.Result, evs []event.Event, duplicate bool) {
	t.Helper()
	got, other := res.Accepted, res.Duplicate
	if duplicate {
		got, other = res.Duplicate, res.Accepted
	}
	if len(got) != len(evs) || len(other) != 0 {
		t.Fatalf("%s: accepted %d, duplicate %d of %d events; want all %s", what,
			len(res.Accepted), len(res.Duplicate), len(evs), map[bool]string{true: "duplicate", false: "accepted"}[duplicate])
	}
}

func pageviews(n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = pageview("https://shop.example/p", "")
	}
	return evs
}

// TestDedupPastTheRecentBound sends more events than a journey remembers itself, so the
// oldest move to spill keys, and retries every one of them: all are duplicates within the
// window, with and without the state cache, and new again after it.
func TestDedupPastTheRecentBound(t *testing.T) {
	for _, cache := range []int{0, -1} {
		clk := newClock()
		tr := newTracker(t, track.Config{Now: clk.now, StateCache: cache})
		c := &client{}
		evs := pageviews(journey.MaxRecent + 40)
		for i := 0; i < len(evs); i += 10 {
			clk.advance(time.Minute)
			wantAll(t, "first send", c.send(t, tr, evs[i:min(i+10, len(evs))]...), evs[i:min(i+10, len(evs))], false)
		}
		clk.advance(47 * time.Hour)
		for i := 0; i < len(evs); i += 25 {
			batch := evs[i:min(i+25, len(evs))]
			wantAll(t, "retry within the window", c.send(t, tr, batch...), batch, true)
		}
		st, err := tr.Visitor(c.cookie)
		if err != nil {
			t.Fatal(err)
		}
		if st.Pageviews != uint32(len(evs)) {
			t.Fatalf("cache %d: pageviews after retries = %d; want %d", cache, st.Pageviews, len(evs))
		}
		clk.advance(2 * time.Hour)
		wantAll(t, "a resend after the window", c.send(t, tr, evs[0], evs[len(evs)-1]), evs[:2], false)
	}
}

// TestDedupWhenTheFirstAnswerWasLost: the first hit of a visitor is stored, but its answer,
// and with it the cookie, never arrives; the retry comes without a cookie.
func TestDedupWhenTheFirstAnswerWasLost(t *testing.T) {
	tr := newTracker(t, track.Config{})
	evs := pageviews(3)
	first := (&client{}).send(t, tr, evs...)
	wantAll(t, "first send", first, evs, false)
	wantAll(t, "retry without the cookie", (&client{}).send(t, tr, evs...), evs, true)
	wantAll(t, "retry with the cookie", (&client{cookie: first.VID}).send(t, tr, evs...), evs, true)
}

// TestDedupAcrossASharedDeviceSwitch: a batch that starts in one known user's journey and,
// after an identify as another user, ends in a second journey is a duplicate when retried
// under either visitor id.
func TestDedupAcrossASharedDeviceSwitch(t *testing.T) {
	tr := newTracker(t, track.Config{})
	c := &client{}
	alice := c.send(t, tr, identify("alice"))
	evs := []event.Event{pageview("https://shop.example/a", ""), identify("bob"), pageview("https://shop.example/b", "")}
	bob := c.send(t, tr, evs...)
	if bob.VID == alice.VID {
		t.Fatal("bob was recorded into alice's journey")
	}
	wantAll(t, "retry under alice's id", (&client{cookie: alice.VID}).send(t, tr, evs...), evs, true)
	wantAll(t, "retry under bob's id", (&client{cookie: bob.VID}).send(t, tr, evs...), evs, true)
	a, _ := tr.Visitor(alice.VID)
	b, _ := tr.Visitor(bob.VID)
	if a.Pageviews != 1 || b.Pageviews != 1 {
		t.Fatalf("pageviews after retries: alice %d, bob %d; want 1 and 1", a.Pageviews, b.Pageviews)
	}
}

// TestDedupAfterAMerge: an anonymous journey merged into a known user's brings its recent
// ids along, past the bound of one journey: every old event retried under either id is a
// duplicate.
func TestDedupAfterAMerge(t *testing.T) {
	tr := newTracker(t, track.Config{})
	laptop, phone := &client{}, &client{}
	known := pageviews(journey.MaxRecent - 10)
	laptop.send(t, tr, identify("carol"))
	for i := 0; i < len(known); i += 20 {
		laptop.send(t, tr, known[i:min(i+20, len(known))]...)
	}
	anon := pageviews(40)
	for i := 0; i < len(anon); i += 20 {
		phone.send(t, tr, anon[i:min(i+20, len(anon))]...)
	}
	anonVID := phone.cookie
	if merged := phone.send(t, tr, identify("carol")); merged.VID != laptop.cookie {
		t.Fatalf("after identify the phone is %q; want carol's journey %q", merged.VID, laptop.cookie)
	}
	for i := 0; i < len(known); i += 20 {
		batch := known[i:min(i+20, len(known))]
		wantAll(t, "retry of the known user's events", laptop.send(t, tr, batch...), batch, true)
	}
	for i := 0; i < len(anon); i += 20 {
		batch := anon[i:min(i+20, len(anon))]
		wantAll(t, "retry under the anonymous id", (&client{cookie: anonVID}).send(t, tr, batch...), batch, true)
	}
	st, _ := tr.Visitor(laptop.cookie)
	if want := uint32(len(known) + len(anon)); st.Pageviews != want {
		t.Fatalf("pageviews after retries = %d; want %d", st.Pageviews, want)
	}
}

// TestDedupAfterAnUpgrade: a journey stored by a release that kept every event id in a
// site-wide key (journey version 1) still catches a retry of an event accepted then.
func TestDedupAfterAnUpgrade(t *testing.T) {
	db := openStore(t)
	tr := newTrackerOn(t, db, track.Config{})
	c := &client{}
	first := c.send(t, tr, pageview("https://shop.example/", ""))
	// Rewrite the journey as version 1 (no recent ids: the last three bytes are SpillUntil and
	// two empty lists), with the id accepted then in a site-wide key, as that release did.
	old := pageview("https://shop.example/old", "")
	st, err := tr.Visitor(first.VID)
	if err != nil {
		t.Fatal(err)
	}
	st.Recent, st.SpillUntil, st.Logged = nil, st.FirstSeen/1000, nil
	v2 := st.AppendBinary(nil)
	v1 := append([]byte{1}, v2[1:len(v2)-3]...)
	err = db.Write([]store.Op{
		{Key: append([]byte{'v'}, first.VID...), Value: v1},
		{Key: append([]byte("dshop\x00"), old.ID...), Value: []byte{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	fresh := newTrackerOn(t, db, track.Config{}) // an empty state cache, as after the upgrade
	wantAll(t, "retry of an event the earlier release accepted", c.send(t, fresh, old), []event.Event{old}, true)
	wantAll(t, "a new event", c.send(t, fresh, pageview("https://shop.example/new", "")), []event.Event{{}}, false)
}
