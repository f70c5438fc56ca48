package track_test

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

const chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"

func newTracker(t testing.TB, cfg track.Config) *track.Tracker {
	t.Helper()
	return newTrackerOn(t, openStore(t), cfg)
}

// openStore opens a store in a temporary directory, closed when the test ends.
func openStore(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(t.TempDir(), trackstore.Options(store.Options{Small: true}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newTrackerOn returns a tracker over db, for tests that also read or write the store itself.
func newTrackerOn(t testing.TB, db *store.DB, cfg track.Config) *track.Tracker {
	t.Helper()
	if cfg.SiteHosts == nil {
		cfg.SiteHosts = map[string][]string{"shop": {"shop.example"}}
	}
	return track.New(trackstore.New(db), nil, nil, cfg)
}

var idSeq int

func pageview(url, ref string) event.Event {
	idSeq++
	return event.Event{ID: fmt.Sprintf("ev-%d", idSeq), Type: event.TypePageview, URL: url, Ref: ref}
}

func named(name string, props ...event.Prop) event.Event {
	idSeq++
	return event.Event{ID: fmt.Sprintf("ev-%d", idSeq), Type: event.TypeEvent, Name: name, URL: "https://shop.example/", Props: props}
}

func identify(uid string) event.Event {
	idSeq++
	return event.Event{ID: fmt.Sprintf("ev-%d", idSeq), Type: event.TypeIdentify, UserID: uid, URL: "https://shop.example/account"}
}

type client struct {
	cookie string
	ua     string
	ip     netip.Addr
	gpc    bool
}

func (c *client) send(t testing.TB, tr *track.Tracker, evs ...event.Event) *track.Result {
	t.Helper()
	b := &event.Batch{Site: "shop", Events: evs, Slots: []string{"hero"}}
	ua := c.ua
	if ua == "" {
		ua = chromeUA
	}
	ip := c.ip
	if !ip.IsValid() {
		ip = netip.MustParseAddr("203.0.113.9")
	}
	res := new(track.Result)
	if err := tr.Track(&track.Request{Batch: b, UserAgent: ua, IP: ip, CookieVID: c.cookie, GPC: c.gpc, Decisions: true}, res); err != nil {
		t.Fatalf("Track: %v", err)
	}
	if res.SetCookie {
		c.cookie = res.VID
	}
	return res
}

func TestNewVisitorPageviewAndChannel(t *testing.T) {
	tr := newTracker(t, track.Config{})
	c := &client{}
	res := c.send(t, tr, pageview("https://shop.example/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring", ""))
	if !track.ValidVID(res.VID) || !res.SetCookie || !res.Tracked || len(res.Accepted) != 1 {
		t.Fatalf("first hit: vid %q cookie %v tracked %v accepted %v", res.VID, res.SetCookie, res.Tracked, res.Accepted)
	}
	st, err := tr.Visitor(res.VID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pageviews != 1 || st.Sessions != 1 {
		t.Fatalf("pageviews %d sessions %d; want 1 and 1", st.Pageviews, st.Sessions)
	}
	s := st.Session()
	if s.Channel != "Paid Social" || s.Source != "facebook" || s.Campaign != "spring" || s.LandingPage != "/" {
		t.Fatalf("session = %+v; want Paid Social facebook spring landing /", s)
	}
	if st.Device.Browser != "Chrome" || st.Device.Type != event.DeviceDesktop {
		t.Fatalf("device = %+v", st.Device)
	}
	res2 := c.send(t, tr, pageview("https://shop.example/pricing", "https://shop.example/"))
	if res2.VID != res.VID {
		t.Fatalf("second hit with the cookie got vid %q; want %q", res2.VID, res.VID)
	}
}

func TestDuplicateChangesNothing(t *testing.T) {
	tr := newTracker(t, track.Config{})
	c := &client{}
	ev := pageview("https://shop.example/a", "")
	res := c.send(t, tr, ev, ev) // a retry inside the same batch
	if len(res.Accepted) != 1 || len(res.Duplicate) != 1 {
		t.Fatalf("accepted %v duplicate %v; want one each", res.Accepted, res.Duplicate)
	}
	res = c.send(t, tr, ev) // a retry later
	if len(res.Accepted) != 0 || len(res.Duplicate) != 1 {
		t.Fatalf("retry: accepted %v duplicate %v; want only a duplicate", res.Accepted, res.Duplicate)
	}
	st, _ := tr.Visitor(res.VID)
	if st.Pageviews != 1 {
		t.Fatalf("pageviews after retries = %d; want 1", st.Pageviews)
	}
	n := 0
	_ = tr.Events(0, 0, func([]byte) error { n++; return nil })
	if n != 1 {
		t.Fatalf("event log has %d records; want 1", n)
	}
}

func TestConcurrentHitsLoseNoUpdate(t *testing.T) {
	tr := newTracker(t, track.Config{})
	first := (&client{}).send(t, tr, pageview("https://shop.example/", ""))
	const workers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				b := &event.Batch{Site: "shop", Events: []event.Event{{ID: fmt.Sprintf("c-%d-%d", w, i), Type: event.TypePageview, URL: "https://shop.example/p"}}}
				var res track.Result
				if err := tr.Track(&track.Request{Batch: b, UserAgent: chromeUA, CookieVID: first.VID}, &res); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st, _ := tr.Visitor(first.VID)
	if want := uint32(1 + workers*each); st.Pageviews != want {
		t.Fatalf("pageviews = %d; want %d (lost updates)", st.Pageviews, want)
	}
}

func TestIdentifyMergesAnonymousIntoKnownUser(t *testing.T) {
	tr := newTracker(t, track.Config{})
	laptop := &client{}
	r1 := laptop.send(t, tr, pageview("https://shop.example/", ""), identify("user-42"))
	phone := &client{ua: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"}
	r2 := phone.send(t, tr, pageview("https://shop.example/pricing", ""))
	if r2.VID == r1.VID {
		t.Fatal("a second device got the same id before identifying")
	}
	anon := r2.VID
	r3 := phone.send(t, tr, identify("user-42"), pageview("https://shop.example/cart", ""))
	if r3.VID != r1.VID || !r3.SetCookie {
		t.Fatalf("after identify the phone is %q (set cookie %v); want the user's journey %q", r3.VID, r3.SetCookie, r1.VID)
	}
	st, err := tr.Visitor(r1.VID)
	if err != nil {
		t.Fatal(err)
	}
	if st.UserID != "user-42" || st.Pageviews != 3 {
		t.Fatalf("merged journey: user %q pageviews %d; want user-42 and 3", st.UserID, st.Pageviews)
	}
	// The old anonymous id now resolves to the user's journey.
	if st2, err := tr.Visitor(anon); err != nil || st2.VID != r1.VID {
		t.Fatalf("Visitor(old id) = %v, %v; want the user's journey", st2, err)
	}
	// Either id names both: the user's id first, then the merged one.
	for _, asked := range []string{r1.VID, anon} {
		ids, err := tr.VisitorIDs(asked)
		if err != nil || len(ids) != 2 || ids[0] != r1.VID || ids[1] != anon {
			t.Errorf("VisitorIDs(%s) = %v, %v; want [%s %s]", asked, ids, err, r1.VID, anon)
		}
	}
	if id, err := tr.JourneyID(anon); err != nil || id != r1.VID {
		t.Errorf("JourneyID(merged id) = %s, %v; want %s", id, err, r1.VID)
	}
	if id, err := tr.JourneyID(r1.VID); err != nil || id != r1.VID {
		t.Errorf("JourneyID(user's id) = %s, %v; want it back", id, err)
	}
	if ids, err := tr.VisitorIDs(r1.VID[:10]); err == nil {
		t.Errorf("VisitorIDs of a malformed id = %v; want an error", ids)
	}
}

func TestNeverMergeTwoKnownUsers(t *testing.T) {
	tr := newTracker(t, track.Config{})
	shared := &client{}
	alice := shared.send(t, tr, pageview("https://shop.example/", ""), identify("alice"))
	bob := shared.send(t, tr, identify("bob"), pageview("https://shop.example/bob", ""))
	if bob.VID == alice.VID {
		t.Fatal("bob was recorded into alice's journey")
	}
	a, _ := tr.Visitor(alice.VID)
	b, _ := tr.Visitor(bob.VID)
	if a.UserID != "alice" || a.Pageviews != 1 {
		t.Fatalf("alice's journey changed: user %q pageviews %d", a.UserID, a.Pageviews)
	}
	if b.UserID != "bob" || b.Pageviews != 1 {
		t.Fatalf("bob's journey: user %q pageviews %d; want bob and 1", b.UserID, b.Pageviews)
	}
	// Alice logs in again on the same device: back to her journey, not merged with bob's.
	again := shared.send(t, tr, identify("alice"))
	if again.VID != alice.VID {
		t.Fatalf("alice again = %q; want %q", again.VID, alice.VID)
	}
}

func TestNoConsentKeepsNoVisitorState(t *testing.T) {
	tr := newTracker(t, track.Config{})
	c := &client{gpc: true}
	res := c.send(t, tr, pageview("https://shop.example/", ""))
	if res.VID != "" || res.SetCookie || res.Tracked || len(res.Accepted) != 1 {
		t.Fatalf("GPC hit: vid %q cookie %v tracked %v accepted %v; want counted only", res.VID, res.SetCookie, res.Tracked, res.Accepted)
	}
	tr2 := newTracker(t, track.Config{Consent: track.ConsentRequired})
	res = (&client{}).send(t, tr2, pageview("https://shop.example/", ""))
	if res.Tracked || res.VID != "" {
		t.Fatalf("consent required, none given: tracked %v vid %q", res.Tracked, res.VID)
	}
	var h event.Hit
	var e event.Event
	n := 0
	_ = tr.Events(0, 0, func(rec []byte) error {
		if err := event.DecodeRecord(rec, &h, &e); err != nil {
			t.Fatal(err)
		}
		if h.VID != "" {
			t.Errorf("anonymous record carries vid %q", h.VID)
		}
		n++
		return nil
	})
	if n != 1 {
		t.Fatalf("anonymous hits logged = %d; want 1 (counted in aggregates)", n)
	}
}

func TestBotsAreKeptApart(t *testing.T) {
	tr := newTracker(t, track.Config{})
	res := (&client{ua: "curl/8.5.0"}).send(t, tr, pageview("https://shop.example/", ""))
	if !res.Bot || res.Tracked || res.VID != "" {
		t.Fatalf("curl: bot %v tracked %v vid %q; want a bot without state", res.Bot, res.Tracked, res.VID)
	}
	for _, d := range res.Decisions.Slots {
		if d.Variant != "default" && d.Variant != "" {
			t.Errorf("bot got variant %q of slot %s", d.Variant, d.Slot)
		}
	}
}

func TestAnonymousHitsAreDeduplicated(t *testing.T) {
	tr := newTracker(t, track.Config{})
	gpc := &client{gpc: true}
	ev := pageview("https://shop.example/", "")
	res := gpc.send(t, tr, ev, ev) // a retry inside the batch
	if len(res.Accepted) != 1 || len(res.Duplicate) != 1 {
		t.Fatalf("accepted %v duplicate %v; want one each", res.Accepted, res.Duplicate)
	}
	res = gpc.send(t, tr, ev) // a retry later
	if len(res.Accepted) != 0 || len(res.Duplicate) != 1 {
		t.Fatalf("retry: accepted %v duplicate %v; want only a duplicate", res.Accepted, res.Duplicate)
	}
	n := 0
	_ = tr.Events(0, 0, func([]byte) error { n++; return nil })
	if n != 1 {
		t.Fatalf("event log has %d records; want 1", n)
	}
}

func TestCookielessDailyID(t *testing.T) {
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := day
	tr := newTracker(t, track.Config{Identity: track.IdentityCookieless, Now: func() time.Time { return now }})
	a := (&client{}).send(t, tr, pageview("https://shop.example/", ""))
	b := (&client{}).send(t, tr, pageview("https://shop.example/x", ""))
	if a.SetCookie || a.VID == "" || a.VID != b.VID {
		t.Fatalf("cookieless: set cookie %v, ids %q %q; want no cookie and one id", a.SetCookie, a.VID, b.VID)
	}
	other := (&client{ua: "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"}).send(t, tr, pageview("https://shop.example/", ""))
	if other.VID == a.VID {
		t.Fatal("a different browser got the same cookieless id")
	}
	now = day.Add(24 * time.Hour)
	next := (&client{}).send(t, tr, pageview("https://shop.example/", ""))
	if next.VID == a.VID {
		t.Fatal("the cookieless id did not change the next day")
	}
}

func TestEraseRemovesEverything(t *testing.T) {
	tr := newTracker(t, track.Config{})
	c := &client{}
	r := c.send(t, tr, pageview("https://shop.example/", ""), named("add_to_cart"), identify("erase-me"))
	other := (&client{}).send(t, tr, pageview("https://shop.example/other", ""))
	n, err := tr.Erase(r.VID)
	if err != nil || n < 4 {
		t.Fatalf("Erase = %d, %v; want at least state, 3 events and a link", n, err)
	}
	if _, err := tr.Visitor(r.VID); err == nil {
		t.Fatal("visitor still readable after erase")
	}
	var h event.Hit
	var e event.Event
	var vids []string
	_ = tr.Events(0, 0, func(rec []byte) error {
		_ = event.DecodeRecord(rec, &h, &e)
		vids = append(vids, h.VID)
		return nil
	})
	if len(vids) != 1 || vids[0] != other.VID {
		t.Fatalf("event log after erase = %v; want only the other visitor's event", vids)
	}
	// The identity link is gone: identifying again starts a fresh journey.
	again := (&client{}).send(t, tr, identify("erase-me"))
	if again.VID == r.VID {
		t.Fatal("the erased identity link still pointed at the erased journey")
	}
	if _, err := tr.Erase(r.VID); err == nil {
		t.Fatal("erasing twice succeeded; want ErrUnknownVisitor")
	}
	// The browser still has the old cookie: its next hit starts a fresh journey, not one
	// served from the state cache.
	c.send(t, tr, pageview("https://shop.example/back", ""))
	if st, err := tr.Visitor(r.VID); err != nil || st.Pageviews != 1 || len(st.Events) != 0 {
		t.Fatalf("journey after erase and a new hit = %+v, %v; want one pageview and nothing older", st, err)
	}
}

func TestEventsInTimeOrder(t *testing.T) {
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	now := base
	tr := newTracker(t, track.Config{Now: func() time.Time { return now }})
	c := &client{}
	for i := 0; i < 5; i++ {
		now = base.Add(time.Duration(4-i) * time.Minute) // written newest first
		c.send(t, tr, pageview(fmt.Sprintf("https://shop.example/%d", i), ""))
	}
	var last int64
	var h event.Hit
	var e event.Event
	n := 0
	_ = tr.Events(base.UnixMilli(), base.Add(3*time.Minute).UnixMilli(), func(rec []byte) error {
		_ = event.DecodeRecord(rec, &h, &e)
		if h.Time < last {
			t.Errorf("record at %d after %d: not in time order", h.Time, last)
		}
		last = h.Time
		n++
		return nil
	})
	if n != 3 {
		t.Fatalf("events in [base, base+3m) = %d; want 3", n)
	}
}
