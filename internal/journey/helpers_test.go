package journey

import (
	"math"

	"github.com/pathlight/pathlight/internal/event"
)

// t0 is the time tests start at, Unix ms; at(m) is m minutes later.
const t0 = int64(1_700_000_000_000)

func at(minutes int) int64 { return t0 + int64(minutes)*60_000 }

var (
	direct  = event.Source{Source: "(direct)", Medium: "(none)", Channel: "Direct"}
	organic = event.Source{Source: "google", Medium: "organic", Channel: "Organic Search",
		RefHost: "www.google.com"}
	paid = event.Source{Source: "google", Medium: "cpc", Campaign: "spring_sale",
		Channel: "Paid Search", ClickIDs: []event.ClickID{{Name: "gclid", Value: "Cj0KCQ"}}}
	email = event.Source{Source: "newsletter", Medium: "email", Campaign: "may",
		Channel: "Email"}
	referral = event.Source{Source: "news.example.org", Medium: "referral",
		Channel: "Referral", RefHost: "news.example.org"}
)

// newHit returns a direct hit of type typ at time ms on page "/".
func newHit(typ event.Type, ms int64) *event.Hit {
	return &event.Hit{
		Event:  &event.Event{Type: typ},
		Site:   "example.com",
		VID:    "v-1",
		Time:   ms,
		Device: event.Device{Type: event.DeviceDesktop, OS: "macOS", Browser: "Chrome"},
		Geo:    event.Geo{Country: "GB", Region: "ENG", City: "London", TimeZone: "Europe/London"},
		Page:   event.Page{URL: "https://example.com/", Host: "example.com", Path: "/"},
		Source: direct,
	}
}

func pageview(ms int64, path string) *event.Hit {
	h := newHit(event.TypePageview, ms)
	h.Page.Path = path
	h.Page.URL = "https://example.com" + path
	return h
}

func from(h *event.Hit, src event.Source) *event.Hit {
	h.Source = src
	return h
}

func custom(ms int64, name string, props ...event.Prop) *event.Hit {
	h := newHit(event.TypeEvent, ms)
	h.Event.Name = name
	h.Event.Props = props
	return h
}

func engagement(ms, engaged int64) *event.Hit {
	h := newHit(event.TypeEngagement, ms)
	h.Event.EngagedMS = engaged
	return h
}

func identify(ms int64, user string, traits ...event.Prop) *event.Hit {
	h := newHit(event.TypeIdentify, ms)
	h.Event.UserID = user
	h.Event.Traits = traits
	return h
}

func prompt(ms int64, id, action string) *event.Hit {
	h := newHit(event.TypePrompt, ms)
	h.Event.Prompt = id
	h.Event.Action = action
	return h
}

func prop(key string, v event.Value) event.Prop { return event.Prop{Key: key, Val: v} }

// applyAll applies hits in order and returns the changes.
func applyAll(s *State, opt Options, hits ...*event.Hit) []Change {
	cs := make([]Change, len(hits))
	for i, h := range hits {
		cs[i] = Apply(s, h, opt)
	}
	return cs
}

// typicalState returns the visitor the size target is set for: 5 sessions, 20 pageviews
// over 8 paths, 6 event names, 4 steps, one identify with 3 traits, one experiment and one
// prompt.
func typicalState() *State {
	s := &State{VID: "3f9a1c2e-7b8d-4a6f-9e0c-1b2a3c4d5e6f"} // a uuid, as the snippet makes
	opt := Options{DefaultConversion: true}
	paths := []string{"/", "/pricing", "/features", "/blog/how-to-track-journeys", "/signup",
		"/docs/getting-started", "/checkout", "/thank-you"}
	sources := []event.Source{organic, direct, paid, email, direct}
	events := []string{"cta_click", "video_play", "scroll_90", "add_to_cart", "signup", "purchase"}
	steps := []string{"visit", "consider", "signup", "purchase"}
	n := 0
	for sess, src := range sources {
		start := sess * 24 * 60 // one session a day
		for i := range 4 {
			ms := at(start + i*3)
			Apply(s, from(pageview(ms, paths[n%len(paths)]), src), opt)
			n++
		}
		Apply(s, engagement(at(start+12), 45_000), opt)
		Apply(s, custom(at(start+10), events[sess]), opt)
		s.ReachStep(steps[min(sess, len(steps)-1)], at(start+10))
	}
	Apply(s, custom(at(4*24*60+11), events[5], prop("value", event.NumberValue(49.99))), opt)
	Apply(s, identify(at(2*24*60+5), "u-12345",
		prop("email", event.StringValue("jane@example.com")),
		prop("plan", event.StringValue("pro")),
		prop("employees", event.NumberValue(42))), opt)
	s.SetAssignment("hero-test", "b", at(5)).Exposed = true
	Apply(s, prompt(at(4*24*60+11), "nps", event.ActionShown), opt)
	s.Stage = "customer"
	s.Segments = []string{"returning", "paid-search"}
	// The events of the last two days are still inside the tracker's dedup window.
	for i := range 12 {
		s.AddRecent(uint64(i)*0x9e3779b97f4a7c15, at(3*24*60+i*90)/1000)
	}
	// The tracker indexes event-log keys in packs of 16; the last few wait in the journey.
	for i := range 5 {
		s.Logged = append(s.Logged, LogRef{TS: at(4*24*60 + i), Seq: 1_780_000_000_000_000_000 + uint64(i)*977})
	}
	return s
}

func nan() float64 { return math.NaN() }
