package rules

import (
	"testing"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules/cond"
)

// fieldFixture is a visitor on their second visit, on a Saturday evening in London.
func fieldFixture() (*journey.State, *event.Hit) {
	const now = 1736622000000 // Saturday 11 January 2025, 19:00 UTC
	st := &journey.State{
		VID: "v1", UserID: "u1", FirstSeen: now - 3*dayMS - 1, LastSeen: now,
		Sessions: 2, Pageviews: 7,
		Touchpoints: []journey.Touchpoint{
			{StartedAt: now - 3*dayMS, Channel: "Organic Search", Source: "google", Medium: "organic"},
			{StartedAt: now - 600000, Channel: "Paid Social", Source: "facebook", Medium: "cpc", Campaign: "spring", Term: "jacket",
				Content: "video", RefHost: "facebook.com", LandingPage: "/", Pageviews: 3},
		},
		Events:      []journey.Count{{Key: "add_to_cart", N: 2, FirstAt: now - dayMS, LastAt: now - 1000}},
		Traits:      event.Props{{Key: "plan", Val: event.StringValue("pro")}, {Key: "seats", Val: event.NumberValue(5)}},
		Stage:       "decision",
		Steps:       []journey.Count{{Key: "viewed_pricing", N: 3, FirstAt: now - 2*dayMS, LastAt: now - 5000}},
		Conversions: 1, Value: 120.5,
		Experiments: []journey.Assignment{{Experiment: "exp", Variant: "b"}},
		Prompts:     []journey.PromptStat{{ID: "ask", Shown: 2, Dismissed: 1, LastShown: now - hour}},
		Device:      event.Device{Type: event.DeviceMobile, OS: "iOS", Browser: "Safari"},
	}
	h := &event.Hit{
		Event: &event.Event{Type: event.TypeEvent, Name: "add_to_cart", Title: "Jacket", Ref: "https://m.facebook.com/",
			Props: event.Props{{Key: "sku", Val: event.StringValue("JKT")}, {Key: "value", Val: event.NumberValue(99)}, {Key: "gift", Val: event.BoolValue(true)}}},
		VID: "v1", Time: now,
		Page: event.Page{URL: "https://shop.example/products/jacket?color=red", Host: "shop.example", Path: "/products/jacket",
			Query: event.Props{{Key: "color", Val: event.StringValue("red")}}},
		Geo: event.Geo{Country: "GB", Region: "ENG", City: "London", TimeZone: "Europe/London"},
	}
	return st, h
}

func TestFields(t *testing.T) {
	set := mustLoad(t, `
steps:
  - {id: viewed_pricing, stage: consideration, when: {page.path: /pricing}}
segments:
  mobile: {when: {device.type: mobile}}
  desktop: {when: {device.type: desktop}}
experiments:
  exp: {slot: s, variants: [{id: a}, {id: b}]}
surveys:
  ask: {question: Q, type: text}
`)
	st, h := fieldFixture()
	var c Context
	c.reset(set, st, h, 0)
	str, num, boolean, missing := cond.StringValue, cond.NumberValue, cond.BoolValue, cond.Value{}
	const now = 1736622000000
	tests := []struct {
		path string
		want cond.Value
	}{
		{"event.type", str("event")},
		{"event.name", str("add_to_cart")},
		{"event.props.sku", str("JKT")},
		{"event.props.value", num(99)},
		{"event.props.gift", boolean(true)},
		{"event.props.nope", missing},
		{"page.url", str("https://shop.example/products/jacket?color=red")},
		{"page.path", str("/products/jacket")},
		{"page.host", str("shop.example")},
		{"page.query.color", str("red")},
		{"page.title", str("Jacket")},
		{"page.referrer", str("https://m.facebook.com/")},
		{"session.channel", str("Paid Social")},
		{"session.source", str("facebook")},
		{"session.medium", str("cpc")},
		{"session.campaign", str("spring")},
		{"session.term", str("jacket")},
		{"session.content", str("video")},
		{"session.referrer_host", str("facebook.com")},
		{"session.number", num(2)},
		{"session.pageviews", num(3)},
		{"session.landing_page", str("/")},
		{"session.started_at", num(now - 600000)},
		{"visitor.id", str("v1")},
		{"visitor.user_id", str("u1")},
		{"visitor.known", boolean(true)},
		{"visitor.sessions", num(2)},
		{"visitor.pageviews", num(7)},
		{"visitor.first_seen", num(now - 3*dayMS - 1)},
		{"visitor.last_seen", num(now)},
		{"visitor.days_since_first_seen", num(3)},
		{"visitor.converted", boolean(true)},
		{"visitor.conversions", num(1)},
		{"visitor.value", num(120.5)},
		{"visitor.stage", str("decision")},
		{"visitor.first_channel", str("Organic Search")},
		{"visitor.traits.plan", str("pro")},
		{"visitor.traits.seats", num(5)},
		{"visitor.traits.nope", missing},
		{"steps.viewed_pricing.count", num(3)},
		{"steps.viewed_pricing.first_at", num(now - 2*dayMS)},
		{"steps.viewed_pricing.last_at", num(now - 5000)},
		{"events.add_to_cart.count", num(2)},
		{"events.add_to_cart.last_at", num(now - 1000)},
		{"events.never.count", num(0)},
		{"events.never.last_at", missing},
		{"prompts.ask.shown", num(2)},
		{"prompts.ask.dismissed", num(1)},
		{"prompts.ask.answered", num(0)},
		{"prompts.ask.last_shown", num(now - hour)},
		{"experiments.exp", str("b")},
		{"device.type", str("mobile")}, // the hit has no device: the state's
		{"device.os", str("iOS")},
		{"device.browser", str("Safari")},
		{"device.bot", boolean(false)},
		{"geo.country", str("GB")},
		{"geo.region", str("ENG")},
		{"geo.city", str("London")},
		{"geo.timezone", str("Europe/London")},
		{"time.now", num(now)},
		{"time.hour", num(19)}, // London is on UTC in January
		{"time.weekday", num(6)},
		{"time.day", str("saturday")},
	}
	comp := &compiler{set: set, stepIndex: map[string]int{"viewed_pricing": 0}, experimentIDs: map[string]bool{"exp": true}, promptIDs: map[string]bool{"ask": true}}
	for _, tt := range tests {
		g, err := comp.field(tt.path, scopeRule)
		if err != nil {
			t.Errorf("field(%q) error = %v", tt.path, err)
			continue
		}
		got := g(&c)
		if got.Kind != tt.want.Kind || got.Str != tt.want.Str || got.Num != tt.want.Num || got.Bool != tt.want.Bool {
			t.Errorf("field(%q) = %v (%v); want %v (%v)", tt.path, got, got.Kind, tt.want, tt.want.Kind)
		}
	}
	g, _ := comp.field("segments", scopeRule)
	if got := g(&c); got.Kind != cond.KindArray || len(got.Arr) != 1 || got.Arr[0].Str != "mobile" {
		t.Errorf("field(segments) = %v; want [mobile]", got)
	}
}

func TestFieldTimeZone(t *testing.T) {
	set := Empty()
	st, h := fieldFixture()
	tests := []struct {
		tz      string
		hour    int
		weekday int
	}{
		{"Europe/London", 19, 6},
		{"Asia/Tokyo", 4, 0}, // already Sunday
		{"America/New_York", 14, 6},
		{"", 19, 6},          // unknown: UTC
		{"Not/AZone", 19, 6}, // not a zone: UTC
	}
	for _, tt := range tests {
		h.Geo.TimeZone = tt.tz
		var c Context
		c.reset(set, st, h, 0)
		c.clock()
		if c.hour != tt.hour || c.weekday != tt.weekday {
			t.Errorf("time in %q = %d h, day %d; want %d h, day %d", tt.tz, c.hour, c.weekday, tt.hour, tt.weekday)
		}
	}
}

func TestFieldErrors(t *testing.T) {
	comp := &compiler{set: Empty(), stepIndex: map[string]int{"landed": 0}, stepIDs: []string{"landed"}, experimentIDs: map[string]bool{}, promptIDs: map[string]bool{}}
	tests := []struct {
		path  string
		scope fieldScope
		want  string
	}{
		{"page.pth", scopeRule, `unknown field; did you mean "page.path"?`},
		{"visitor.trait.plan", scopeRule, `unknown field; did you mean "visitor.traits.plan"?`},
		{"event.prop.sku", scopeRule, `unknown field; did you mean "event.props.sku"?`},
		{"steps.landd.count", scopeRule, `unknown step "landd"; did you mean "landed"?`},
		{"steps.landed.total", scopeRule, `unknown field: want steps.<name>.count, .first_at or .last_at`},
		{"steps.landed", scopeRule, `unknown field: want steps.<name>.count, .first_at or .last_at`},
		{"events.x.total", scopeRule, `unknown field: want events.<name>.count, .first_at or .last_at`},
		{"prompts.x.shown", scopeRule, `unknown prompt "x"`},
		{"experiments.x", scopeRule, `unknown experiment "x"`},
		{"visitor.traits.", scopeRule, `unknown field`},
		{"segments", scopeSegment, `segments cannot be used in a segment's condition`},
		{"segments", scopeStep, `segments cannot be used in a step's condition`},
		{"zzz", scopeRule, `unknown field`},
	}
	for _, tt := range tests {
		_, err := comp.field(tt.path, tt.scope)
		if err == nil || err.Error() != tt.want {
			t.Errorf("field(%q) error = %v; want %q", tt.path, err, tt.want)
		}
	}
}
