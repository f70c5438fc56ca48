package analytics_test

import (
	"slices"
	"testing"
	"testing/fstest"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/report"
	"github.com/pathlight/pathlight/internal/rules"
)

// scopedRules have a funnel without a window, and definitions for the shop only.
const scopedRules = `
steps:
  - {id: home, stage: awareness, when: {page.path: /}}
  - {id: cart, stage: decision, when: {event.name: add_to_cart}}
  - {id: blog_read, stage: awareness, when: {page.path: /post}, sites: [blog]}
funnels:
  home_to_cart: {steps: [home, cart], sites: [shop]}
  blog_funnel: {steps: [blog_read, cart], sites: [blog]}
surveys:
  shop_survey: {question: Why?, type: text, sites: [shop]}
experiments:
  blog_x: {slot: teaser, sites: [blog], variants: [{id: a}, {id: b}]}
`

func scopedEnv(t *testing.T) *env {
	t.Helper()
	set, err := rules.Load(fstest.MapFS{"r/r.yaml": {Data: []byte(scopedRules)}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	return newEnvRules(t, at(30, 12, 0), set)
}

// TestFunnelWindowDefault: a funnel of the rules without a window and an ad-hoc funnel
// without one get the same default, report.DefaultFunnelWindow (30 days): a visitor who
// reaches the cart 20 days after the home page completes both.
func TestFunnelWindowDefault(t *testing.T) {
	e := scopedEnv(t)
	e.send(t,
		hit{at: at(1, 10, 0), n: 1, evs: []ev{pv("/", "")}},
		hit{at: at(21, 10, 0), n: 1, evs: []ev{named("add_to_cart", nil)}},
	)
	fromRules := run[*analytics.FunnelReport](t, e, "funnel", day(1), day(29), "funnel", "home_to_cart")
	adhoc := run[*analytics.FunnelReport](t, e, "funnel", day(1), day(29), "steps", "home,cart")
	want := report.DefaultFunnelWindow.Seconds()
	if want != 30*24*3600 {
		t.Fatalf("the default funnel window is %v s; the docs say 30 days", want)
	}
	for name, f := range map[string]*analytics.FunnelReport{"rules": fromRules, "ad-hoc": adhoc} {
		if f.Funnel == nil || f.Funnel.Window != want {
			t.Fatalf("%s funnel = %+v; want a window of %v s", name, f.Funnel, want)
		}
		if s := f.Funnel.Steps; s[0].Visitors != 1 || s[1].Visitors != 1 {
			t.Errorf("%s funnel counts %d, %d; want 1 and 1 (the cart 20 days after home is inside the window)", name, s[0].Visitors, s[1].Visitors)
		}
	}
}

// TestReportsShowTheSiteDefinitions: a report of one site lists the funnels, steps and
// surveys that serve it; a report of every site lists them all.
func TestReportsShowTheSiteDefinitions(t *testing.T) {
	e := scopedEnv(t)
	e.send(t, hit{at: at(2, 10, 0), n: 1, evs: []ev{pv("/", "")}},
		hit{at: at(2, 11, 0), n: 2, site: "blog", evs: []ev{pv("/post", "")}})
	for _, tc := range []struct {
		site                                string
		funnels, survey, experiments, micro []string
	}{
		{"", []string{"home_to_cart", "blog_funnel"}, []string{"shop_survey"}, []string{"blog_x"}, []string{"home", "cart", "blog_read"}},
		{"shop", []string{"home_to_cart"}, []string{"shop_survey"}, nil, []string{"home", "cart"}},
		{"blog", []string{"blog_funnel"}, nil, []string{"blog_x"}, []string{"home", "cart", "blog_read"}},
	} {
		f := run[*analytics.FunnelReport](t, e, "funnel", day(1), day(29), "site", tc.site)
		if !slices.Equal(f.Funnels, tc.funnels) || (len(tc.funnels) > 0 && f.ID != tc.funnels[0]) {
			t.Errorf("site %q: funnels %q, drawn %q; want %q", tc.site, f.Funnels, f.ID, tc.funnels)
		}
		s := run[*analytics.SurveysReport](t, e, "surveys", day(1), day(29), "site", tc.site)
		var ids []string
		for _, x := range s.Surveys {
			ids = append(ids, x.ID)
		}
		if !slices.Equal(ids, tc.survey) {
			t.Errorf("site %q: surveys %q; want %q", tc.site, ids, tc.survey)
		}
		x := run[*analytics.ExperimentsReport](t, e, "experiments", day(1), day(29), "site", tc.site)
		ids = nil
		for _, r := range x.Experiments {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, tc.experiments) {
			t.Errorf("site %q: experiments %q; want %q", tc.site, ids, tc.experiments)
		}
		m := run[*report.MicroConversions](t, e, "micro", day(1), day(29), "site", tc.site)
		ids = nil
		for _, r := range m.Steps {
			ids = append(ids, r.Step)
		}
		if !slices.Equal(ids, tc.micro) {
			t.Errorf("site %q: micro-conversion steps %q; want %q", tc.site, ids, tc.micro)
		}
	}
}
