package track_test

import (
	"errors"
	"net/netip"
	"testing"
	"testing/fstest"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// TestDecidesForTheLastAcceptedHit: decisions answer the batch's last accepted hit, whatever
// its type, as rule tests make them after every hit; a slot can react to an add_to_cart
// event, and a pageview after it takes its place again.
func TestDecidesForTheLastAcceptedHit(t *testing.T) {
	set, err := rules.Load(fstest.MapFS{"content.yaml": {Data: []byte(`
slots:
  hero:
    default: {content: "<h1>Hello</h1>"}
    variants:
      - id: after_cart
        when: {event.name: add_to_cart, page.path: /cart}
        content: "<p>Added! Gloves are 10% off with it.</p>"
`)}}, ".")
	if err != nil {
		t.Fatalf("rules: %v", err)
	}
	tr := track.New(trackstore.New(openStore(t)), nil, set, track.Config{SiteHosts: map[string][]string{"shop": {"shop.example"}}})
	c := &client{}
	hero := func(res *track.Result) string {
		t.Helper()
		for _, d := range res.Decisions.Slots {
			if d.Slot == "hero" {
				return d.Variant
			}
		}
		t.Fatalf("no decision for the hero slot: %+v", res.Decisions.Slots)
		return ""
	}
	cart := named("add_to_cart")
	cart.URL = "https://shop.example/cart"
	for _, tt := range []struct {
		name  string
		batch []event.Event
		want  string
	}{
		{"a pageview", []event.Event{pageview("https://shop.example/cart", "")}, "default"},
		{"an add_to_cart event", []event.Event{cart}, "after_cart"},
		{"a pageview after the event", func() []event.Event {
			e := named("add_to_cart")
			e.URL = "https://shop.example/cart"
			return []event.Event{e, pageview("https://shop.example/cart", "")}
		}(), "default"},
		{"a retried event (duplicate): decided for its page", []event.Event{cart}, "default"},
		{"an event on another page (another tab's): decided for the pageview", func() []event.Event {
			e := named("add_to_cart")
			e.URL = "https://shop.example/cart?tab=2"
			return []event.Event{pageview("https://shop.example/cart", ""), e}
		}(), "default"},
	} {
		res := c.send(t, tr, tt.batch...)
		c.cookie = res.VID
		if got := hero(res); got != tt.want {
			t.Errorf("%s: hero = %q; want %q", tt.name, got, tt.want)
		}
	}
}

// TestDecidingAloneStoresNoNewVisitor: a decision for a visitor without an id (a back end
// calling /v1/decide, or a hit with no events) mints an id for the cookie but stores no
// empty journey; a known visitor's journey is still kept up to date.
func TestDecidingAloneStoresNoNewVisitor(t *testing.T) {
	set, err := rules.Load(fstest.MapFS{"x.yaml": {Data: []byte(`
slots:
  hero:
    default: {content: "<h1>Hello</h1>"}
experiments:
  hero_test:
    slot: hero
    variants:
      - {id: control}
      - {id: bold, content: "<h1>HELLO</h1>"}
`)}}, ".")
	if err != nil {
		t.Fatalf("rules: %v", err)
	}
	db := openStore(t)
	tr := track.New(trackstore.New(db), nil, set, track.Config{SiteHosts: map[string][]string{"shop": {"shop.example"}}})
	logged := func() int {
		t.Helper()
		n := 0
		if err := tr.Events(0, 0, func([]byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	decide := func(cookie string) *track.Result {
		t.Helper()
		res := new(track.Result)
		req := &track.Request{Batch: &event.Batch{Site: "shop", Slots: []string{"hero"}}, UserAgent: chromeUA,
			IP: netip.MustParseAddr("203.0.113.9"), CookieVID: cookie, Decisions: true,
			DecideOnly: true, DecideURL: "https://shop.example/checkout"}
		if err := tr.Track(req, res); err != nil {
			t.Fatalf("Track: %v", err)
		}
		return res
	}
	for range 3 {
		res := decide("")
		if res.VID == "" || !res.SetCookie {
			t.Fatalf("decide without an id: vid %q, set cookie %v; want a minted id in a cookie", res.VID, res.SetCookie)
		}
		if _, err := tr.Visitor(res.VID); !errors.Is(err, track.ErrUnknownVisitor) {
			t.Fatalf("Visitor(%s) after a decision alone = %v; want ErrUnknownVisitor", res.VID, err)
		}
		if len(res.Decisions.Slots) != 1 || res.Decisions.Slots[0].Experiment != "hero_test" {
			t.Fatalf("decisions = %+v; want the hero from the experiment", res.Decisions.Slots)
		}
	}
	if n := logged(); n != 0 {
		t.Fatalf("%d records logged for decisions alone; want none (no exposure for an unstored visitor)", n)
	}
	// A hit with no events is the same.
	c := &client{}
	if res := c.send(t, tr); res.VID == "" {
		t.Fatal("hit without events: no visitor id")
	} else if _, err := tr.Visitor(res.VID); !errors.Is(err, track.ErrUnknownVisitor) {
		t.Fatalf("Visitor after a hit without events = %v; want ErrUnknownVisitor", err)
	}
	// A known visitor deciding keeps their journey.
	res := c.send(t, tr, pageview("https://shop.example/", ""))
	if got := decide(res.VID); got.VID != res.VID {
		t.Fatalf("decide with the cookie of %s answered for %s", res.VID, got.VID)
	}
	if _, err := tr.Visitor(res.VID); err != nil {
		t.Fatalf("Visitor(%s) = %v; want the journey", res.VID, err)
	}
}
