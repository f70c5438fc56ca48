package rules

import (
	"fmt"
	"slices"
	"testing"

	"github.com/pathlight/pathlight/internal/journey"
)

const slotRules = `
steps:
  - {id: viewed_pricing, stage: consideration, when: {page.path: /pricing}}
  - {id: bought, stage: retention, when: {event.name: purchase}, conversion: true, value: value}
segments:
  paid: {when: {session.channel: {$in: [Paid Social, Paid Search]}}}
  mobile: {when: {device.type: mobile}}
slots:
  hero:
    default: {content: Default hero}
    variants:
      - {id: paid_mobile, segment: paid, when: {device.type: mobile}, content: Paid on mobile}
      - {id: paid, segment: paid, content: Paid}
      - {id: pricing_fan, when: {steps.viewed_pricing.count: {$gte: 2}}, content: Pricing again}
  banner:
    variants:
      - {id: mobile_banner, segment: mobile, content: Get the app}
`

func TestDecideSlots(t *testing.T) {
	set := mustLoad(t, slotRules)
	tests := []struct {
		name    string
		device  string
		urls    []string
		hero    string
		content string
		banner  string
		segs    []string
	}{
		{"direct desktop", "desktop", []string{"/"}, "default", "Default hero", "default", nil},
		{"paid social mobile: first match wins", "mobile", []string{"/?utm_source=facebook&utm_medium=cpc"}, "paid_mobile", "Paid on mobile", "mobile_banner", []string{"paid", "mobile"}},
		{"paid search desktop", "desktop", []string{"/?gclid=abc"}, "paid", "Paid", "default", []string{"paid"}},
		{"two pricing views", "desktop", []string{"/pricing", "/pricing"}, "pricing_fan", "Pricing again", "default", nil},
		{"one pricing view", "desktop", []string{"/pricing"}, "default", "Default hero", "default", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(set, "v-"+tt.name)
			s.vis.device = tt.device
			for _, u := range tt.urls {
				s.pageview(u)
			}
			d := s.decide("hero", "unknown_slot", "banner")
			if len(d.Slots) != 2 || d.Slots[0].Slot != "hero" || d.Slots[1].Slot != "banner" {
				t.Fatalf("Decide slots = %+v; want hero then banner (unknown slots skipped)", d.Slots)
			}
			if got := d.Slots[0]; got.Variant != tt.hero || got.Content != tt.content || got.Experiment != "" {
				t.Errorf("hero = %+v; want variant %q content %q", got, tt.hero, tt.content)
			}
			if got := d.Slots[1]; got.Variant != tt.banner {
				t.Errorf("banner = %q; want %q", got.Variant, tt.banner)
			}
			if got := d.Slots[1]; got.Variant == "default" && got.Content != "" {
				t.Errorf("banner default content = %q; want empty (no default content)", got.Content)
			}
			if !slices.Equal(s.st.Segments, tt.segs) && !(len(tt.segs) == 0 && len(s.st.Segments) == 0) {
				t.Errorf("State.Segments = %v; want %v", s.st.Segments, tt.segs)
			}
		})
	}
}

const experimentRules = `
segments:
  everyone: {when: {visitor.pageviews: {$gte: 0}}}
slots:
  banner:
    default: {content: Plain}
    variants:
      - {id: targeted, segment: everyone, content: Targeted}
experiments:
  %s:
    slot: banner
    when: {page.path: {$ne: /excluded}}
    coverage: %s
    variants:
      - {id: control, weight: %d}
      - {id: treatment, weight: %d, content: Treatment}
    start: 2025-01-01
    stop: 2025-02-01
`

func experimentSet(t *testing.T, coverage string, wControl, wTreatment int) *Set {
	return mustLoad(t, fmt.Sprintf(experimentRules, "exp", coverage, wControl, wTreatment))
}

func TestExperimentPrecedence(t *testing.T) {
	tests := []struct {
		name       string
		coverage   string
		wc, wt     int
		url        string
		wait       int64
		variant    string
		content    string
		experiment string
	}{
		{"treatment beats the targeted variant", "100%", 0, 100, "/", 0, "treatment", "Treatment", "exp"},
		{"control shows the slot's own decision", "100%", 100, 0, "/", 0, "control", "Targeted", "exp"},
		{"outside coverage: the slot's variants", "0%", 0, 100, "/", 0, "targeted", "Targeted", ""},
		{"condition fails: the slot's variants", "100%", 0, 100, "/excluded", 0, "targeted", "Targeted", ""},
		{"after stop: the slot's variants", "100%", 0, 100, "/", 40 * dayMS, "targeted", "Targeted", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(experimentSet(t, tt.coverage, tt.wc, tt.wt), "v1")
			s.wait(tt.wait)
			s.pageview(tt.url)
			d := s.decide("banner")
			got := d.Slots[0]
			if got.Variant != tt.variant || got.Content != tt.content || got.Experiment != tt.experiment {
				t.Errorf("banner = %+v; want variant %q content %q experiment %q", got, tt.variant, tt.content, tt.experiment)
			}
			wantExposures := 0
			if tt.experiment != "" {
				wantExposures = 1
			}
			if len(d.Exposures) != wantExposures {
				t.Errorf("Exposures = %+v; want %d", d.Exposures, wantExposures)
			}
		})
	}
}

func TestExperimentNotStarted(t *testing.T) {
	s := newSim(experimentSet(t, "100%", 0, 1), "v1")
	s.now = 1704067200000 // 2024-01-01, before the start
	s.pageview("/")
	if got := s.decide("banner").variant("banner"); got != "targeted" {
		t.Errorf("banner before start = %q; want targeted", got)
	}
}

func TestExperimentStickyAndExposedOnce(t *testing.T) {
	s := newSim(experimentSet(t, "100%", 0, 1), "v1")
	s.pageview("/")
	d := s.decide("banner")
	if got := d.variant("banner"); got != "treatment" {
		t.Fatalf("first decision = %q; want treatment", got)
	}
	want := []Exposure{{Experiment: "exp", Variant: "treatment", Slot: "banner", At: s.now}}
	if !slices.Equal(d.Exposures, want) {
		t.Errorf("Exposures = %+v; want %+v", d.Exposures, want)
	}
	if a := s.st.Assignment("exp"); a == nil || a.Variant != "treatment" || !a.Exposed {
		t.Errorf("Assignment = %+v; want treatment, exposed", a)
	}

	// The weights flip: the visitor keeps the arm they saw, and is not exposed again.
	s.set = experimentSet(t, "100%", 1, 0)
	s.pageview("/")
	d = s.decide("banner")
	if got := d.variant("banner"); got != "treatment" {
		t.Errorf("after the weights changed = %q; want the sticky treatment", got)
	}
	if len(d.Exposures) != 0 {
		t.Errorf("Exposures = %+v; want none the second time", d.Exposures)
	}
	// Coverage drops to 0: the sticky assignment still holds.
	s.set = experimentSet(t, "0%", 1, 0)
	if got := s.decide("banner").variant("banner"); got != "treatment" {
		t.Errorf("after coverage 0 = %q; want the sticky treatment", got)
	}
	// A slot not requested assigns nothing.
	s2 := newSim(experimentSet(t, "100%", 0, 1), "v2")
	s2.pageview("/")
	if d := s2.decide("hero"); len(d.Exposures) != 0 || s2.st.Assignment("exp") != nil {
		t.Errorf("deciding other slots exposed %+v, assigned %+v; want nothing", d.Exposures, s2.st.Assignment("exp"))
	}
}

// TestExperimentSplit checks that hashing spreads visitors by weight, deterministically.
func TestExperimentSplit(t *testing.T) {
	set := experimentSet(t, "50%", 1, 3)
	counts := map[string]int{}
	for i := range 4000 {
		s := newSim(set, fmt.Sprintf("visitor-%d", i))
		s.pageview("/")
		counts[s.decide("banner").Slots[0].Experiment+"/"+s.d.variant("banner")]++
	}
	// 50% coverage: 12.5% control, 37.5% treatment, 50% outside (the targeted variant).
	for key, want := range map[string]int{"exp/control": 500, "exp/treatment": 1500, "/targeted": 2000} {
		if got := counts[key]; got < want*85/100 || got > want*115/100 {
			t.Errorf("%s: %d of 4000 visitors; want about %d (counts %v)", key, got, want, counts)
		}
	}
}

const holdoutRules = `
slots:
  hero:
    default: {content: Default}
    variants:
      - {id: all, when: {visitor.pageviews: {$gte: 1}}, content: Everyone}
experiments:
  exp:
    slot: banner
    variants: [{id: a}, {id: b}]
surveys:
  ask:
    question: Why?
    type: text
holdout: 50%
`

func TestHoldout(t *testing.T) {
	set := mustLoad(t, holdoutRules)
	var in, out *sim
	for i := 0; in == nil || out == nil; i++ {
		s := newSim(set, fmt.Sprintf("visitor-%d", i))
		if set.inHoldout(&journey.State{VID: s.vid}, &s.hit) {
			in = s
		} else {
			out = s
		}
	}
	in.pageview("/")
	d := in.decide("hero", "banner")
	if !d.Holdout || d.variant("hero") != "default" || d.variant("banner") != "default" || len(d.Prompts) != 0 || len(d.Exposures) != 0 {
		t.Errorf("holdout decisions = %+v; want holdout, defaults, no prompts, no exposures", d)
	}
	if in.st.Assignment("exp") != nil {
		t.Errorf("holdout visitor was assigned %+v; want no assignment", in.st.Assignment("exp"))
	}
	w := d.WouldHave
	if w == nil || w.variant("hero") != "all" || w.Slots[1].Experiment != "exp" || !slices.Equal(w.promptIDs(), []string{"ask"}) {
		t.Errorf("WouldHave = %+v; want hero all, the experiment and the survey", w)
	}
	out.pageview("/")
	d = out.decide("hero", "banner")
	if d.Holdout || d.WouldHave != nil || d.variant("hero") != "all" || len(d.Exposures) != 1 {
		t.Errorf("non-holdout decisions = %+v; want personalized, one exposure, no WouldHave", d)
	}
	// Decisions are reused: a holdout decision after a normal one, and back, leaves nothing behind.
	in.d = out.d
	in.decide("hero")
	if !in.d.Holdout || len(in.d.Slots) != 1 || len(in.d.Exposures) != 0 {
		t.Errorf("reused Decisions = %+v; want only this decision", in.d)
	}
}

func TestDefaultsOnly(t *testing.T) {
	set := mustLoad(t, holdoutRules)
	s := newSim(set, "v1")
	s.pageview("/")
	var d Decisions
	set.Decide(&s.st, &s.hit, Request{Slots: []string{"hero", "banner"}, DefaultsOnly: true}, &d)
	if d.Holdout || d.WouldHave != nil || d.variant("hero") != "default" || d.Slots[0].Content != "Default" || len(d.Prompts) != 0 || len(d.Exposures) != 0 {
		t.Errorf("DefaultsOnly decisions = %+v; want defaults only", d)
	}
	if s.st.Assignment("exp") != nil {
		t.Errorf("DefaultsOnly assigned %+v; want nothing", s.st.Assignment("exp"))
	}
}

func TestDecideNilHit(t *testing.T) {
	set := mustLoad(t, slotRules)
	st := journey.State{VID: "v1", LastSeen: defaultTestStart}
	var d Decisions
	set.Decide(&st, nil, Request{Slots: []string{"hero"}}, &d)
	if d.variant("hero") != "default" {
		t.Errorf("Decide(nil hit) hero = %q; want default", d.variant("hero"))
	}
}

func TestObserve(t *testing.T) {
	set := mustLoad(t, `
stages: [a, b, c]
steps:
  - {id: pricing, stage: b, when: {page.path: /pricing}}
  - {id: signup, stage: c, when: {event.name: signup}}
  - {id: any_pricing_hit, stage: a, when: {event.type: {$exists: true}, page.path: /pricing}}
  - {id: after_signup, stage: a, when: {$sequence: [pricing, signup]}}
  - {id: order, stage: c, when: {event.name: order}, conversion: true, value: total}
`)
	s := newSim(set, "v1")
	s.pageview("/pricing")
	s.send(testHit{typ: "engagement", engagedMS: 5000})
	s.event("signup")
	s.pageview("/")
	s.event("order", kv{"total", "49.5"})
	s.event("order", kv{"total", 10.0})
	s.event("order")
	s.event("order", kv{"total", "1e308"}) // a string past 2^53 counts the conversion, not its value
	// any_pricing_hit names event.type, so it counts every hit on /pricing: the pageview,
	// the engagement ping and the signup event; pricing counts the pageview only.
	want := map[string]uint32{"pricing": 1, "signup": 1, "any_pricing_hit": 3, "after_signup": 1, "order": 4}
	for id, n := range want {
		if got := s.st.Step(id).N; got != n {
			t.Errorf("steps.%s.count = %d; want %d", id, got, n)
		}
	}
	if s.st.Stage != "c" {
		t.Errorf("Stage = %q; want c", s.st.Stage)
	}
	if s.st.Conversions != 4 || s.st.Value != 59.5 {
		t.Errorf("Conversions, Value = %d, %v; want 4, 59.5", s.st.Conversions, s.st.Value)
	}
	if !set.HasConversions() {
		t.Errorf("HasConversions() = false; want true")
	}
	if mustLoad(t, slotRules).HasConversions() != true || Empty().HasConversions() {
		t.Errorf("HasConversions: want true for a set with a conversion step, false for Empty")
	}
}

func TestEmpty(t *testing.T) {
	s := Empty()
	st := journey.State{VID: "v"}
	var d Decisions
	s.Decide(&st, nil, Request{Slots: []string{"hero"}}, &d)
	if len(d.Slots) != 0 || len(d.Prompts) != 0 || d.Holdout {
		t.Errorf("Empty().Decide = %+v; want nothing", d)
	}
	s.Observe(&st, nil)
	if s.Version() == "" || len(s.Files()) != 0 {
		t.Errorf("Empty() version %q files %v", s.Version(), s.Files())
	}
}

// TestConcurrentUse shares one Set between goroutines, each with its own visitor, as the
// server does; run with -race.
func TestConcurrentUse(t *testing.T) {
	set := mustLoad(t, hundredRules())
	done := make(chan []string)
	for g := range 4 {
		go func() {
			s := newSim(set, fmt.Sprintf("visitor-%d", g%2))
			s.vis.tz = []string{"Europe/Berlin", "Asia/Tokyo"}[g%2]
			var got []string
			for i := range 50 {
				s.pageview(fmt.Sprintf("/page%d", i%4))
				d := s.decide("slot0", "slot1")
				got = append(got, d.variant("slot0")+d.variant("slot1"))
				set.Explain(&s.st, nil, "", "", "")
			}
			done <- got
		}()
	}
	var results [][]string
	for range 4 {
		results = append(results, <-done)
	}
	// Goroutines with the same visitor id and hits decide the same.
	same := 0
	for i := range results {
		for j := i + 1; j < len(results); j++ {
			if slices.Equal(results[i], results[j]) {
				same++
			}
		}
	}
	if same < 2 {
		t.Errorf("only %d pairs of identical visitors decided alike; want 2", same)
	}
}
