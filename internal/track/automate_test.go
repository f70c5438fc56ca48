package track_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pathlight/pathlight/internal/automate"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/track"
)

const autoTrackRules = `
steps:
  - {id: viewed_pricing, stage: consideration, when: {page.path: /pricing}}
  - {id: added_to_cart, stage: decision, when: {event.name: add_to_cart}}
  - {id: purchased, stage: retention, when: {event.name: purchase}, conversion: true, value: value}
destinations:
  crm: {url: "http://127.0.0.1:9/hook"}
  cdp: {url: "http://127.0.0.1:9/batch", format: segment}
automations:
  pricing:
    on: {reaches: viewed_pricing}
    cap: once
    to: [crm, cdp]
  abandoned:
    on: {after: added_to_cart, wait: 1h, unless: purchased}
    to: crm
`

func autoSet(t testing.TB, src string) *rules.Set {
	t.Helper()
	set, err := rules.Load(fstest.MapFS{"r/a.yaml": {Data: []byte(src)}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// deliveries returns the pending (q) or dead (k) deliveries in the store.
func deliveries(t testing.TB, db *store.DB, p byte) []automate.Delivery {
	t.Helper()
	var out []automate.Delivery
	start, end := automate.Range(p, "")
	if err := db.Scan(start, end, func(_, v []byte) error {
		var d automate.Delivery
		if err := automate.UnmarshalRecord(v, &d); err != nil {
			return err
		}
		out = append(out, d)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func countKeys(t testing.TB, db *store.DB, p byte) int {
	t.Helper()
	n := 0
	if err := db.Scan([]byte{p}, []byte{p + 1}, func(_, _ []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAutomationOutboxInTheHitsCommit(t *testing.T) {
	db := openStore(t)
	clock := time.UnixMilli(1736164800000)
	woke := 0
	tr := newTrackerOn(t, db, track.Config{Now: func() time.Time { return clock }, OnOutbox: func() { woke++ }})
	tr.SetRules(autoSet(t, autoTrackRules))
	c := &client{}
	pv := pageview("https://shop.example/pricing", "")
	res := c.send(t, tr, pv)
	ds := deliveries(t, db, automate.PrefixQueue)
	if len(ds) != 2 || woke != 1 {
		t.Fatalf("after the pricing page: %d deliveries, woke %d; want 2 and 1", len(ds), woke)
	}
	var env automate.Envelope
	if err := json.Unmarshal(ds[0].Body, &env); err != nil {
		t.Fatal(err)
	}
	byDest := map[string]automate.Delivery{}
	for _, d := range ds {
		byDest[d.Destination] = d
	}
	crm := byDest["crm"]
	if err := json.Unmarshal(crm.Body, &env); err != nil {
		t.Fatal(err)
	}
	if crm.VID != res.VID || crm.Automation != "pricing" || env.ID != crm.ID || env.Visitor.VID != res.VID ||
		env.Journey.Stage != "consideration" || len(env.Journey.Steps) != 1 || env.Site != "shop" {
		t.Fatalf("crm delivery %+v, envelope %+v", crm, env)
	}
	if crm.ID != automate.MessageID(res.VID, "pricing", 1, "crm") || byDest["cdp"].ID == crm.ID {
		t.Fatalf("ids %q %q", crm.ID, byDest["cdp"].ID)
	}

	// The same event again is a duplicate: it fires nothing. Another visit is capped (once).
	c.send(t, tr, pv)
	c.send(t, tr, pageview("https://shop.example/pricing", ""))
	if n := len(deliveries(t, db, automate.PrefixQueue)); n != 2 {
		t.Fatalf("after a retry and a capped visit: %d deliveries; want 2", n)
	}

	// A cart arms a timer; it fires when due, once, and the timer key goes with it.
	c.send(t, tr, named("add_to_cart"))
	if n := countKeys(t, db, automate.PrefixTimer); n != 1 {
		t.Fatalf("timers after add_to_cart: %d; want 1", n)
	}
	var keys [][]byte
	start, end := automate.TimersUpTo(clock.Add(2 * time.Hour).UnixMilli())
	_ = db.Scan(start, end, func(k, _ []byte) error { keys = append(keys, append([]byte(nil), k...)); return nil })
	if len(keys) != 1 {
		t.Fatalf("due timers: %d", len(keys))
	}
	if n, err := tr.FireDue(res.VID, clock.Add(30*time.Minute).UnixMilli(), nil); err != nil || n != 0 {
		t.Fatalf("FireDue before due = %d, %v", n, err)
	}
	if n, err := tr.FireDue(res.VID, clock.Add(2*time.Hour).UnixMilli(), keys); err != nil || n != 1 {
		t.Fatalf("FireDue = %d, %v; want 1", n, err)
	}
	if n, err := tr.FireDue(res.VID, clock.Add(3*time.Hour).UnixMilli(), keys); err != nil || n != 0 {
		t.Fatalf("FireDue again = %d, %v; want 0", n, err)
	}
	if countKeys(t, db, automate.PrefixTimer) != 0 || len(deliveries(t, db, automate.PrefixQueue)) != 3 {
		t.Fatal("the timer was not replaced by its delivery")
	}

	// A purchase cancels a waiting timer.
	c.send(t, tr, named("add_to_cart"))
	c.send(t, tr, named("purchase", event.Prop{Key: "value", Val: event.NumberValue(30)}))
	if n := countKeys(t, db, automate.PrefixTimer); n != 0 {
		t.Fatalf("timers after the purchase: %d; want 0", n)
	}

	// Erase drops the visitor's pending deliveries, timers and automation memory.
	c.send(t, tr, named("add_to_cart"))
	if _, err := tr.Erase(res.VID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []byte{automate.PrefixQueue, automate.PrefixTimer, automate.PrefixAuto} {
		if n := countKeys(t, db, p); n != 0 {
			t.Errorf("%d %c keys left after the erase", n, p)
		}
	}
}

func TestAutomationsNeedConsent(t *testing.T) {
	db := openStore(t)
	tr := newTrackerOn(t, db, track.Config{})
	tr.SetRules(autoSet(t, autoTrackRules))
	c := &client{gpc: true}
	c.send(t, tr, pageview("https://shop.example/pricing", ""), named("add_to_cart"))
	if countKeys(t, db, automate.PrefixQueue)+countKeys(t, db, automate.PrefixTimer)+countKeys(t, db, automate.PrefixAuto) != 0 {
		t.Fatal("a visitor without consent set off an automation")
	}
}

// A timer armed by an anonymous visitor who then merged into a known user's journey does
// not fire on the empty journey the anonymous id leaves behind.
func TestTimerOfAMergedVisitorDoesNotFireEmpty(t *testing.T) {
	db := openStore(t)
	clock := time.UnixMilli(1736164800000)
	tr := newTrackerOn(t, db, track.Config{Now: func() time.Time { return clock }})
	tr.SetRules(autoSet(t, autoTrackRules))
	known := &client{}
	known.send(t, tr, identify("u-1"))
	anon := &client{}
	res := anon.send(t, tr, named("add_to_cart"))
	anonVID := res.VID
	anon.send(t, tr, identify("u-1")) // merges into the known user's journey
	var keys [][]byte
	start, end := automate.TimersUpTo(clock.Add(2 * time.Hour).UnixMilli())
	_ = db.Scan(start, end, func(k, _ []byte) error { keys = append(keys, append([]byte(nil), k...)); return nil })
	if len(keys) != 1 {
		t.Fatalf("timers: %d; want the anonymous visitor's one", len(keys))
	}
	n, err := tr.FireDue(anonVID, clock.Add(2*time.Hour).UnixMilli(), keys)
	if err != nil || n != 0 {
		t.Fatalf("FireDue on the merged id = %d, %v; want nothing", n, err)
	}
	if countKeys(t, db, automate.PrefixTimer) != 0 || countKeys(t, db, automate.PrefixQueue) != 0 {
		t.Fatal("the orphaned timer is still there, or fired")
	}
}

// Imported history (a request with its own clock) fires no automation and arms no timer.
func TestImportFiresNothing(t *testing.T) {
	db := openStore(t)
	tr := newTrackerOn(t, db, track.Config{})
	tr.SetRules(autoSet(t, autoTrackRules))
	b := &event.Batch{Site: "shop", VID: fmt.Sprintf("%032x", 5), Events: []event.Event{pageview("https://shop.example/pricing", ""), named("add_to_cart")}}
	var res track.Result
	if err := tr.Track(&track.Request{Batch: b, UserAgent: chromeUA, Now: time.Now().Add(-24 * time.Hour).UnixMilli()}, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Accepted) != 2 {
		t.Fatalf("accepted %v", res.Accepted)
	}
	for _, p := range []byte{automate.PrefixQueue, automate.PrefixTimer, automate.PrefixAuto, automate.PrefixFired} {
		if n := countKeys(t, db, p); n != 0 {
			t.Errorf("%d %c keys after an import", n, p)
		}
	}
}

// The automation memory is cached with the journey and leaves with it: after an erase, the
// same visitor id starts with no memory, so a once-capped automation fires again.
func TestEraseForgetsTheCachedAutomationMemory(t *testing.T) {
	db := openStore(t)
	tr := newTrackerOn(t, db, track.Config{})
	tr.SetRules(autoSet(t, autoTrackRules))
	c := &client{}
	res := c.send(t, tr, pageview("https://shop.example/pricing", ""))
	c.send(t, tr, pageview("https://shop.example/pricing", ""))
	if n := len(deliveries(t, db, automate.PrefixQueue)); n != 2 {
		t.Fatalf("deliveries %d; want 2 (once, to two destinations)", n)
	}
	if _, err := tr.Erase(res.VID); err != nil {
		t.Fatal(err)
	}
	c.send(t, tr, pageview("https://shop.example/pricing", ""))
	if n := len(deliveries(t, db, automate.PrefixQueue)); n != 2 {
		t.Fatalf("deliveries after the erase and a new visit: %d; want 2 (fired afresh)", n)
	}
	as, err := tr.AutoState(res.VID)
	if err != nil || as.Stat("pricing").N != 1 {
		t.Fatalf("memory after the erase: %+v, %v", as, err)
	}
}
