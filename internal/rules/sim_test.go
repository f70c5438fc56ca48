package rules

import (
	"testing"
	"testing/fstest"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

// mustLoad compiles one rules file given as text.
func mustLoad(t testing.TB, src string) *Set {
	t.Helper()
	s, err := Load(fstest.MapFS{"rules/rules.yaml": {Data: []byte(src)}}, "rules")
	if err != nil {
		t.Fatalf("Load:\n%v", err)
	}
	return s
}

// sim replays a visitor's hits as the server does: journey.Apply, then Observe.
type sim struct {
	set  *Set
	st   journey.State
	vid  string
	site string // the site of every hit; empty: every rule applies
	now  int64
	page string // the URL of the last pageview
	ev   event.Event
	hit  event.Hit
	vis  testHit // defaults for every hit: device, country, channel …
	d    Decisions
}

func newSim(set *Set, vid string) *sim {
	return &sim{set: set, vid: vid, now: defaultTestStart, page: "https://shop.example/"}
}

// wait moves the clock forward by ms.
func (s *sim) wait(ms int64) *sim { s.now += ms; return s }

// send applies a hit described as in a rule test.
func (s *sim) send(th testHit) *event.Hit {
	s.now += 1000
	if th.url != "" {
		s.page = resolveURL("https://shop.example", th.url)
	}
	buildHit(&th, &s.vis, s.page, s.vid, s.now, &s.ev, &s.hit)
	s.hit.Site = s.site
	journey.Apply(&s.st, &s.hit, journey.Options{DefaultConversion: !s.set.HasConversions()})
	s.set.Observe(&s.st, &s.hit)
	return &s.hit
}

func (s *sim) pageview(url string) *event.Hit { return s.send(testHit{typ: "pageview", url: url}) }

func (s *sim) event(name string, props ...kv) *event.Hit {
	return s.send(testHit{typ: "event", name: name, props: props})
}

func (s *sim) prompt(id, action string) *event.Hit {
	return s.send(testHit{typ: "prompt", prompt: id, action: action})
}

// decide decides for the last hit.
func (s *sim) decide(slots ...string) *Decisions {
	s.set.Decide(&s.st, &s.hit, Request{Slots: slots, Now: s.now}, &s.d)
	return &s.d
}

// variant returns the variant served in slot, or "(none)".
func (d *Decisions) variant(slot string) string {
	sd, ok := d.Slot(slot)
	if !ok {
		return "(none)"
	}
	return sd.Variant
}

func (d *Decisions) promptIDs() []string {
	ids := []string{}
	for _, p := range d.Prompts {
		ids = append(ids, p.ID)
	}
	return ids
}
