package journey

import (
	"fmt"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
)

// session is what TestSessions checks of a touchpoint; times are minutes after t0.
type session struct {
	start, last int
	source      string
	campaign    string
	landing     string
	pageviews   uint32
	engagedMS   int64
}

func summarize(tps []Touchpoint) []session {
	out := make([]session, len(tps))
	for i, tp := range tps {
		out[i] = session{
			start:     int((tp.StartedAt - t0) / 60_000),
			last:      int((tp.LastAt - t0) / 60_000),
			source:    tp.Source,
			campaign:  tp.Campaign,
			landing:   tp.LandingPage,
			pageviews: tp.Pageviews,
			engagedMS: tp.EngagedMS,
		}
	}
	return out
}

func TestSessions(t *testing.T) {
	tests := []struct {
		name      string
		hits      []*event.Hit
		want      []session
		sessions  uint32
		newFlags  string // per hit: N for NewSession, L for Late, . for neither
		firstSeen int
		lastSeen  int
	}{{
		name:     "hits within the timeout",
		hits:     []*event.Hit{pageview(at(0), "/"), pageview(at(10), "/a"), pageview(at(39), "/b")},
		want:     []session{{0, 39, "(direct)", "", "/", 3, 0}},
		sessions: 1, newFlags: "N..", firstSeen: 0, lastSeen: 39,
	}, {
		name:     "timeout",
		hits:     []*event.Hit{pageview(at(0), "/"), pageview(at(31), "/a")},
		want:     []session{{0, 0, "(direct)", "", "/", 1, 0}, {31, 31, "(direct)", "", "/a", 1, 0}},
		sessions: 2, newFlags: "NN", lastSeen: 31,
	}, {
		name:     "exactly the timeout continues",
		hits:     []*event.Hit{pageview(at(0), "/"), pageview(at(30), "/a")},
		want:     []session{{0, 30, "(direct)", "", "/", 2, 0}},
		sessions: 1, newFlags: "N.", lastSeen: 30,
	}, {
		name: "new campaign",
		hits: []*event.Hit{from(pageview(at(0), "/"), paid), from(pageview(at(5), "/b"), email)},
		want: []session{{0, 0, "google", "spring_sale", "/", 1, 0},
			{5, 5, "newsletter", "may", "/b", 1, 0}},
		sessions: 2, newFlags: "NN", lastSeen: 5,
	}, {
		name:     "same campaign again",
		hits:     []*event.Hit{from(pageview(at(0), "/"), paid), from(pageview(at(5), "/b"), paid)},
		want:     []session{{0, 5, "google", "spring_sale", "/", 2, 0}},
		sessions: 1, newFlags: "N.", lastSeen: 5,
	}, {
		name:     "direct inside a session keeps its source",
		hits:     []*event.Hit{from(pageview(at(0), "/"), paid), pageview(at(20), "/b")},
		want:     []session{{0, 20, "google", "spring_sale", "/", 2, 0}},
		sessions: 1, newFlags: "N.", lastSeen: 20,
	}, {
		name:     "referral inside a direct session",
		hits:     []*event.Hit{pageview(at(0), "/"), from(pageview(at(5), "/b"), referral)},
		want:     []session{{0, 0, "(direct)", "", "/", 1, 0}, {5, 5, "news.example.org", "", "/b", 1, 0}},
		sessions: 2, newFlags: "NN", lastSeen: 5,
	}, {
		name:     "direct after the timeout",
		hits:     []*event.Hit{from(pageview(at(0), "/"), paid), pageview(at(45), "/")},
		want:     []session{{0, 0, "google", "spring_sale", "/", 1, 0}, {45, 45, "(direct)", "", "/", 1, 0}},
		sessions: 2, newFlags: "NN", lastSeen: 45,
	}, {
		name:     "engagement inside a session extends it",
		hits:     []*event.Hit{pageview(at(0), "/"), engagement(at(20), 4000), pageview(at(45), "/b")},
		want:     []session{{0, 45, "(direct)", "", "/", 2, 4000}},
		sessions: 1, newFlags: "N..", lastSeen: 45,
	}, {
		name:     "engagement after the timeout belongs to the page left",
		hits:     []*event.Hit{pageview(at(0), "/"), engagement(at(40), 5000)},
		want:     []session{{0, 0, "(direct)", "", "/", 1, 5000}},
		sessions: 1, newFlags: "N.", lastSeen: 40,
	}, {
		name: "engagement after the timeout does not revive the session",
		hits: []*event.Hit{pageview(at(0), "/"), engagement(at(40), 5000), pageview(at(45), "/b")},
		want: []session{{0, 0, "(direct)", "", "/", 1, 5000},
			{45, 45, "(direct)", "", "/b", 1, 0}},
		sessions: 2, newFlags: "N.N", lastSeen: 45,
	}, {
		name:     "identify and prompt after the timeout open no session",
		hits:     []*event.Hit{pageview(at(0), "/"), identify(at(40), "u1"), prompt(at(50), "nps", event.ActionShown)},
		want:     []session{{0, 0, "(direct)", "", "/", 1, 0}},
		sessions: 1, newFlags: "N..", lastSeen: 50,
	}, {
		name:     "custom event after the timeout opens a session",
		hits:     []*event.Hit{pageview(at(0), "/"), custom(at(40), "click")},
		want:     []session{{0, 0, "(direct)", "", "/", 1, 0}, {40, 40, "(direct)", "", "", 0, 0}},
		sessions: 2, newFlags: "NN", lastSeen: 40,
	}, {
		name:     "landing page is the first pageview after an event",
		hits:     []*event.Hit{custom(at(0), "click"), pageview(at(1), "/x"), pageview(at(2), "/y")},
		want:     []session{{0, 2, "(direct)", "", "/x", 2, 0}},
		sessions: 1, newFlags: "N..", lastSeen: 2,
	}, {
		name:     "engagement before any session",
		hits:     []*event.Hit{engagement(at(0), 3000), pageview(at(1), "/")},
		want:     []session{{1, 1, "(direct)", "", "/", 1, 0}},
		sessions: 1, newFlags: ".N", lastSeen: 1,
	}, {
		name:     "out of order within a session",
		hits:     []*event.Hit{pageview(at(0), "/"), pageview(at(10), "/a"), pageview(at(5), "/b")},
		want:     []session{{0, 10, "(direct)", "", "/", 3, 0}},
		sessions: 1, newFlags: "N.L", lastSeen: 10,
	}, {
		name: "late hit goes to the session live at its time",
		hits: []*event.Hit{pageview(at(0), "/"), pageview(at(40), "/a"),
			from(pageview(at(20), "/b"), email)},
		want: []session{{0, 20, "(direct)", "", "/", 2, 0},
			{40, 40, "(direct)", "", "/a", 1, 0}},
		sessions: 2, newFlags: "NNL", lastSeen: 40,
	}, {
		name:     "late hit long after its session does not extend it",
		hits:     []*event.Hit{pageview(at(0), "/"), pageview(at(100), "/a"), pageview(at(50), "/b")},
		want:     []session{{0, 0, "(direct)", "", "/", 2, 0}, {100, 100, "(direct)", "", "/a", 1, 0}},
		sessions: 2, newFlags: "NNL", lastSeen: 100,
	}, {
		name:     "late hit before every session",
		hits:     []*event.Hit{pageview(at(10), "/"), pageview(at(5), "/a")},
		want:     []session{{10, 10, "(direct)", "", "/", 2, 0}},
		sessions: 1, newFlags: "NL", firstSeen: 5, lastSeen: 10,
	}, {
		name: "late hit after a late engagement opens no session",
		hits: []*event.Hit{pageview(at(0), "/"), engagement(at(60), 1000),
			from(pageview(at(50), "/a"), paid)},
		want:     []session{{0, 0, "(direct)", "", "/", 2, 1000}},
		sessions: 1, newFlags: "N.L", lastSeen: 60,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &State{}
			changes := applyAll(s, Options{}, tt.hits...)
			var flags []byte
			for _, c := range changes {
				switch {
				case c.NewSession:
					flags = append(flags, 'N')
				case c.Late:
					flags = append(flags, 'L')
				default:
					flags = append(flags, '.')
				}
			}
			if string(flags) != tt.newFlags {
				t.Errorf("Apply changes = %q; want %q (N new session, L late)", flags, tt.newFlags)
			}
			if got := summarize(s.Touchpoints); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Touchpoints = %+v; want %+v", got, tt.want)
			}
			if s.Sessions != tt.sessions {
				t.Errorf("Sessions = %d; want %d", s.Sessions, tt.sessions)
			}
			if s.FirstSeen != at(tt.firstSeen) || s.LastSeen != at(tt.lastSeen) {
				t.Errorf("FirstSeen, LastSeen = %d, %d; want %d, %d",
					s.FirstSeen, s.LastSeen, at(tt.firstSeen), at(tt.lastSeen))
			}
		})
	}
}

func TestApplyNewVisitorAndIgnored(t *testing.T) {
	s := &State{}
	if c := Apply(s, nil, Options{}); !c.Ignored {
		t.Errorf("Apply(nil hit) = %+v; want Ignored", c)
	}
	if c := Apply(s, &event.Hit{Time: at(0)}, Options{}); !c.Ignored {
		t.Errorf("Apply(hit without event) = %+v; want Ignored", c)
	}
	if c := Apply(s, newHit(event.TypeInvalid, at(0)), Options{}); !c.Ignored {
		t.Errorf("Apply(invalid type) = %+v; want Ignored", c)
	}
	if c := Apply(nil, pageview(at(0), "/"), Options{}); !c.Ignored {
		t.Errorf("Apply(nil state) = %+v; want Ignored", c)
	}
	if s.FirstSeen != 0 || s.VID != "" {
		t.Errorf("ignored hits changed the state: %+v", s)
	}
	if c := Apply(s, pageview(at(0), "/"), Options{}); !c.NewVisitor || !c.NewSession {
		t.Errorf("Apply(first pageview) = %+v; want NewVisitor and NewSession", c)
	}
	if c := Apply(s, pageview(at(1), "/"), Options{}); c.NewVisitor || c.NewSession {
		t.Errorf("Apply(second pageview) = %+v; want neither NewVisitor nor NewSession", c)
	}
	if s.VID != "v-1" {
		t.Errorf("VID = %q; want %q", s.VID, "v-1")
	}
}

func TestApplyDeviceGeo(t *testing.T) {
	s := &State{}
	Apply(s, pageview(at(0), "/"), Options{})
	backEnd := custom(at(1), "invoice_paid")
	backEnd.Device, backEnd.Geo = event.Device{}, event.Geo{}
	Apply(s, backEnd, Options{})
	if s.Device.OS != "macOS" || s.Geo.City != "London" {
		t.Errorf("after a hit without device and geo: Device, Geo = %+v, %+v; want the last known",
			s.Device, s.Geo)
	}
	phone := pageview(at(2), "/")
	phone.Device = event.Device{Type: event.DeviceMobile, OS: "iOS", Browser: "Safari"}
	phone.Geo = event.Geo{Country: "FR", City: "Paris"}
	Apply(s, phone, Options{})
	late := pageview(at(1), "/")
	Apply(s, late, Options{})
	if s.Device.OS != "iOS" || s.Geo.Country != "FR" {
		t.Errorf("after a late hit: Device, Geo = %+v, %+v; want the newest", s.Device, s.Geo)
	}
}

func TestApplyCounts(t *testing.T) {
	s := &State{}
	changes := applyAll(s, Options{DefaultConversion: true},
		pageview(at(0), "/"),
		pageview(at(1), "/pricing"),
		pageview(at(2), "/"),
		custom(at(3), "add_to_cart"),
		custom(at(4), "add_to_cart"),
		pageview(at(5), ""),
		custom(at(6), "purchase", prop("value", event.NumberValue(19.5))),
		custom(at(7), "purchase", prop("value", event.StringValue("12"))),
		pageview(at(0), "/pricing"), // late: counted, first time moves back
	)
	if s.Pageviews != 5 {
		t.Errorf("Pageviews = %d; want 5", s.Pageviews)
	}
	if got, want := s.Session().Pageviews, uint32(5); got != want {
		t.Errorf("Session().Pageviews = %d; want %d", got, want)
	}
	checkCount := func(name string, got, want Count) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %+v; want %+v", name, got, want)
		}
	}
	checkCount(`Path("/")`, s.Path("/"), Count{Key: "/", N: 2, FirstAt: at(0), LastAt: at(2)})
	checkCount(`Path("/pricing")`, s.Path("/pricing"), Count{Key: "/pricing", N: 2, FirstAt: at(0), LastAt: at(1)})
	checkCount(`Path(OtherPath)`, s.Path(OtherPath), Count{Key: OtherPath, N: 1, FirstAt: at(5), LastAt: at(5)})
	checkCount(`Event("add_to_cart")`, s.Event("add_to_cart"), Count{Key: "add_to_cart", N: 2, FirstAt: at(3), LastAt: at(4)})
	checkCount(`Event("purchase")`, s.Event("purchase"), Count{Key: "purchase", N: 2, FirstAt: at(6), LastAt: at(7)})
	if s.Conversions != 2 || s.Value != 19.5 {
		t.Errorf("Conversions, Value = %d, %v; want 2, 19.5", s.Conversions, s.Value)
	}
	if c := changes[6]; !c.Converted || c.Value != 19.5 {
		t.Errorf("Apply(purchase value 19.5) = %+v; want Converted with Value 19.5", c)
	}
	if c := changes[7]; !c.Converted || c.Value != 0 {
		t.Errorf(`Apply(purchase value "12") = %+v; want Converted with Value 0`, c)
	}
	if !changes[8].Late {
		t.Errorf("Apply(late pageview) = %+v; want Late", changes[8])
	}

	s2 := &State{}
	if c := Apply(s2, custom(at(0), "purchase"), Options{}); c.Converted || s2.Conversions != 0 {
		t.Errorf("Apply(purchase) without DefaultConversion = %+v, Conversions %d; want no conversion",
			c, s2.Conversions)
	}
}

func TestApplyIdentify(t *testing.T) {
	s := &State{}
	c1 := Apply(s, identify(at(0), "u1",
		prop("plan", event.StringValue("free")),
		prop("seats", event.NumberValue(3)),
		prop("", event.StringValue("ignored"))), Options{})
	c2 := Apply(s, identify(at(1), "u1",
		prop("plan", event.StringValue("pro")),
		prop("seats", event.Value{}),
		prop("beta", event.BoolValue(true))), Options{})
	c3 := Apply(s, identify(at(2), ""), Options{})
	if !c1.Identified || c2.Identified || c3.Identified {
		t.Errorf("Identified = %v, %v, %v; want true, false, false", c1.Identified, c2.Identified, c3.Identified)
	}
	if s.UserID != "u1" {
		t.Errorf("UserID = %q; want %q", s.UserID, "u1")
	}
	want := event.Props{prop("plan", event.StringValue("pro")), prop("beta", event.BoolValue(true))}
	if fmt.Sprint(s.Traits) != fmt.Sprint(want) {
		t.Errorf("Traits = %v; want %v", s.Traits, want)
	}
	if c := Apply(s, identify(at(3), "u2"), Options{}); !c.Identified || s.UserID != "u2" {
		t.Errorf("Apply(identify u2) = %+v, UserID %q; want Identified, u2", c, s.UserID)
	}

	many := make([]event.Prop, MaxTraits+5)
	for i := range many {
		many[i] = prop(fmt.Sprintf("t%d", i), event.NumberValue(float64(i)))
	}
	Apply(s, identify(at(4), "u2", many...), Options{})
	if len(s.Traits) != MaxTraits {
		t.Errorf("len(Traits) = %d; want %d", len(s.Traits), MaxTraits)
	}
	if _, ok := s.Traits.Get("plan"); !ok {
		t.Errorf("Traits lost %q, set before the bound was reached", "plan")
	}
}

func TestApplyPrompts(t *testing.T) {
	s := &State{}
	Apply(s, pageview(at(0), "/"), Options{})
	applyAll(s, Options{},
		prompt(at(1), "nps", event.ActionShown),
		prompt(at(2), "nps", event.ActionDismissed),
		prompt(at(3), "chat", event.ActionShown),
		prompt(at(4), "chat", "clicked"), // unknown action: ignored
		prompt(at(5), "", event.ActionShown),
	)
	if got, want := *s.Prompt("nps"), (PromptStat{ID: "nps", Shown: 1, Dismissed: 1, LastShown: at(1), LastSession: 1}); got != want {
		t.Errorf(`Prompt("nps") = %+v; want %+v`, got, want)
	}
	if len(s.Prompts) != 2 || s.PromptSession != 2 || s.PromptLast != at(3) {
		t.Errorf("len(Prompts), PromptSession, PromptLast = %d, %d, %d; want 2, 2, %d",
			len(s.Prompts), s.PromptSession, s.PromptLast, at(3))
	}

	Apply(s, pageview(at(60), "/"), Options{}) // session 2
	if s.PromptSession != 0 {
		t.Errorf("PromptSession after a new session = %d; want 0", s.PromptSession)
	}
	applyAll(s, Options{},
		prompt(at(61), "nps", event.ActionShown),
		prompt(at(62), "nps", event.ActionAnswered),
		prompt(at(20), "chat", event.ActionShown), // late, in session 1
	)
	if got, want := *s.Prompt("nps"), (PromptStat{ID: "nps", Shown: 2, Dismissed: 1, Answered: 1, LastShown: at(61), LastSession: 2}); got != want {
		t.Errorf(`Prompt("nps") = %+v; want %+v`, got, want)
	}
	if got, want := *s.Prompt("chat"), (PromptStat{ID: "chat", Shown: 2, LastShown: at(20), LastSession: 1}); got != want {
		t.Errorf(`Prompt("chat") = %+v; want %+v`, got, want)
	}
	if s.PromptSession != 1 || s.PromptLast != at(61) {
		t.Errorf("PromptSession, PromptLast = %d, %d; want 1, %d (a late prompt counts in its own session)",
			s.PromptSession, s.PromptLast, at(61))
	}
}

func TestApplyEngagedTime(t *testing.T) {
	s := &State{}
	applyAll(s, Options{},
		pageview(at(0), "/"),
		engagement(at(1), 1500),
		engagement(at(2), -20), // invalid: ignored
		engagement(at(3), 2500),
	)
	if got := s.Session().EngagedMS; got != 4000 {
		t.Errorf("EngagedMS = %d; want 4000", got)
	}
}
