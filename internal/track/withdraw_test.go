package track_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/automate"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// sendConsent sends evs for the visitor of cookie with consent c, as the browser states it.
func sendConsent(t testing.TB, tr *track.Tracker, cookie, bodyVID string, c event.Consent, gpc bool, evs ...event.Event) *track.Result {
	t.Helper()
	b := &event.Batch{Site: "shop", VID: bodyVID, Consent: c, Events: evs}
	res := new(track.Result)
	err := tr.Track(&track.Request{Batch: b, UserAgent: chromeUA, IP: netip.MustParseAddr("203.0.113.9"), CookieVID: cookie, GPC: gpc}, res)
	if err != nil {
		t.Fatalf("Track: %v", err)
	}
	return res
}

// dueTimerKeys returns the timer keys due at now, as the deliverer finds them.
func dueTimerKeys(t testing.TB, db *store.DB, now time.Time) [][]byte {
	t.Helper()
	var keys [][]byte
	start, end := automate.TimersUpTo(now.UnixMilli())
	if err := db.Scan(start, end, func(k, _ []byte) error { keys = append(keys, append([]byte(nil), k...)); return nil }); err != nil {
		t.Fatal(err)
	}
	return keys
}

// A visitor who withdraws consent after arming a timer and firing deliveries: the next hit,
// anonymous, still carries the cookie (or a body vid), and cancels the timer and drops the
// deliveries not yet sent, pending and dead, with the grant ad platforms need; the journey
// stays. A visitor who never withdraws is the control: the same timer fires.
func TestWithdrawnConsentCancelsTimersAndDeliveries(t *testing.T) {
	for _, how := range []struct {
		name     string
		consent  event.Consent
		gpc      bool
		body     bool // the id comes as the body's vid, not the cookie
		required bool // --consent required, and the later hit does not state consent
	}{
		{name: "gpc", gpc: true},
		{name: "denied", consent: event.ConsentDenied},
		{name: "denied with a body vid", consent: event.ConsentDenied, body: true},
		{name: "never"},
		// Without the grant --consent required asks for, the hit is anonymous, but not a
		// refusal: a page that never asked (another subdomain sharing the cookie) says nothing.
		{name: "unstated under required", required: true},
	} {
		t.Run(how.name, func(t *testing.T) {
			db := openStore(t)
			clock := time.UnixMilli(1736164800000)
			cfg := track.Config{Now: func() time.Time { return clock }}
			if how.required {
				cfg.Consent = track.ConsentRequired
			}
			tr := newTrackerOn(t, db, cfg)
			tr.SetRules(autoSet(t, autoTrackRules))
			res := sendConsent(t, tr, "", "", event.ConsentGranted, false, pageview("https://shop.example/pricing", ""), named("add_to_cart"))
			vid := res.VID
			if !res.Tracked || countKeys(t, db, automate.PrefixTimer) != 1 || len(deliveries(t, db, automate.PrefixQueue)) != 2 {
				t.Fatalf("after consent: tracked %v, %d timers, %d deliveries; want a timer and 2", res.Tracked,
					countKeys(t, db, automate.PrefixTimer), len(deliveries(t, db, automate.PrefixQueue)))
			}
			// One of them ran out of attempts: dead, waiting for a replay.
			d := deliveries(t, db, automate.PrefixQueue)[0]
			rec, err := d.MarshalRecord()
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := tr.WriteOwned(vid, nil, []track.OwnedWrite{{Key: d.Key(false), Delete: true}, {Key: d.Key(true), Value: rec}}); !ok || err != nil {
				t.Fatalf("making a dead delivery: %v %v", ok, err)
			}
			due := dueTimerKeys(t, db, clock.Add(2*time.Hour)) // found by a pass that started before the denial
			clock = clock.Add(10 * time.Minute)

			withdrawn := how.gpc || how.consent == event.ConsentDenied
			if how.required {
				res = sendConsent(t, tr, vid, "", event.ConsentUnset, false, pageview("https://shop.example/cart", ""))
				if res.Tracked || res.ClearCookie || countKeys(t, db, automate.PrefixTimer) != 1 {
					t.Fatalf("unstated consent: tracked %v, clear cookie %v, %d timers", res.Tracked, res.ClearCookie, countKeys(t, db, automate.PrefixTimer))
				}
			}
			if withdrawn {
				cookie, body := vid, ""
				if how.body {
					cookie, body = "", vid
				}
				res = sendConsent(t, tr, cookie, body, how.consent, how.gpc, pageview("https://shop.example/cart", ""))
				if res.Tracked || res.VID != "" || res.SetCookie || res.ClearCookie != !how.body {
					t.Fatalf("denied hit: tracked %v vid %q set %v clear %v", res.Tracked, res.VID, res.SetCookie, res.ClearCookie)
				}
				if n := countKeys(t, db, automate.PrefixTimer) + countKeys(t, db, automate.PrefixQueue) + countKeys(t, db, automate.PrefixDead); n != 0 {
					t.Fatalf("%d timers and deliveries left after the withdrawal", n)
				}
				as, err := tr.AutoState(vid)
				if err != nil || len(as.Timers) != 0 || as.Granted != 0 || as.Stat("pricing").N != 1 {
					t.Fatalf("memory after the withdrawal: %+v, %v; want no timer, no grant, the count kept", as, err)
				}
				if _, err := tr.Visitor(vid); err != nil {
					t.Fatalf("the journey went with the withdrawal: %v", err)
				}
			}

			clock = clock.Add(2 * time.Hour)
			n, err := tr.FireDue(vid, clock.UnixMilli(), due)
			if err != nil {
				t.Fatal(err)
			}
			left := len(deliveries(t, db, automate.PrefixQueue))
			if withdrawn && (n != 0 || left != 0) {
				t.Fatalf("after the withdrawal the timer fired %d deliveries; %d pending", n, left)
			}
			// The control: the pending one of the pricing firing, and the timer's.
			if !withdrawn && (n != 1 || left != 2) {
				t.Fatalf("control: the timer fired %d deliveries, %d pending; want 1 and 2", n, left)
			}
		})
	}
}

// countingStore counts the reads a hit makes.
type countingStore struct {
	track.Store
	reads int
}

func (c *countingStore) Get(key, dst []byte) ([]byte, error) {
	c.reads++
	return c.Store.Get(key, dst)
}

func (c *countingStore) GetMany(keys [][]byte, fn func(int, []byte) error) error {
	c.reads++
	return c.Store.GetMany(keys, fn)
}

func (c *countingStore) Scan(start, end []byte, fn func(k, v []byte) error) error {
	c.reads++
	return c.Store.Scan(start, end, fn)
}

// Looking for a withdrawal costs a hit without consent and without a well-formed visitor id
// no store read: it reads what any anonymous hit reads (its event ids, for deduplication),
// also with a malformed cookie (which is still cleared). A well-formed id reads more.
func TestNoConsentWithoutAnIDReadsNothingMore(t *testing.T) {
	st := &countingStore{Store: trackstore.New(openStore(t))}
	tr := track.New(st, nil, autoSet(t, autoTrackRules), track.Config{SiteHosts: map[string][]string{"shop": {"shop.example"}}})
	reads := func(cookie string) (int, bool) {
		before := st.reads
		res := sendConsent(t, tr, cookie, "", event.ConsentDenied, true, pageview("https://shop.example/pricing", ""))
		return st.reads - before, res.ClearCookie
	}
	base, clear := reads("")
	if clear {
		t.Fatal("a hit without a cookie asked to clear it")
	}
	if n, clear := reads("not-a-visitor-id"); n != base || !clear {
		t.Fatalf("a malformed cookie: %d reads (without a cookie %d), clear %v", n, base, clear)
	}
	if n, clear := reads(fmt.Sprintf("%032x", 7)); n <= base || !clear {
		t.Fatalf("a well-formed cookie: %d reads (without a cookie %d), clear %v; the withdrawal was not looked for", n, base, clear)
	}
}
