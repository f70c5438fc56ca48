package rules

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// scopedFiles are two rule files: the demo's, scoped by the file, and a shop's, scoped rule
// by rule, with a rule of its own that serves every site.
var scopedFiles = fstest.MapFS{
	"r/demo.yaml": {Data: []byte(`
sites: [demo]
steps:
  - {id: viewed_pricing, stage: consideration, when: {page.path: /pricing}}
segments:
  pricing_fan: {when: {steps.viewed_pricing.count: {$gte: 1}}}
slots:
  hero:
    default: {content: Demo hero}
    variants:
      - {id: fan_hero, segment: pricing_fan, content: Demo fan hero}
experiments:
  demo_banner:
    slot: banner
    variants: [{id: control, weight: 1}, {id: loud, weight: 1, content: LOUD}]
surveys:
  demo_survey: {question: Why?, type: text}
holdout: 100%
caps: {per_session: 1}
funnels:
  pricing: {steps: [viewed_pricing, viewed_pricing_shop]}
`)},
	"r/shop.yaml": {Data: []byte(`
steps:
  - {id: viewed_pricing_shop, stage: consideration, when: {page.path: /pricing}, sites: [shop, demo]}
  - {id: landed, stage: awareness, when: {session.pageviews: 1}}
slots:
  hero:
    sites: shop
    default: {content: Shop hero}
chat:
  shop_chat: {message: Hi, sites: [shop], show: always}
  everywhere_chat: {message: Hello, show: always}
`)},
}

func TestScopedHoldoutIsAnError(t *testing.T) {
	// A 100% holdout is refused whatever its scope: the fixture above must not load as is.
	if _, err := Load(scopedFiles, "r"); err == nil || !strings.Contains(err.Error(), "holdout of 100%") {
		t.Fatalf("Load = %v; want the 100%% holdout refused", err)
	}
}

// scopedSet is scopedFiles with a holdout of 99.99 %: every demo visitor is in it, almost
// surely, and nobody of another site is.
func scopedSet(t *testing.T) *Set {
	t.Helper()
	fsys := fstest.MapFS{}
	for k, v := range scopedFiles {
		fsys[k] = &fstest.MapFile{Data: []byte(strings.Replace(string(v.Data), "holdout: 100%", "holdout: 0.9999", 1))}
	}
	set, err := Load(fsys, "r")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestScopeDecide(t *testing.T) {
	set := scopedSet(t)
	slotsOf := func(d *Decisions) []string {
		var out []string
		for _, s := range d.Slots {
			out = append(out, s.Slot+"="+s.Variant+":"+s.Content)
		}
		return out
	}
	for _, tc := range []struct {
		site    string
		slots   []string
		prompts []string
		steps   []string
		holdout bool
	}{
		// The shop gets its own hero, no banner (the demo's experiment owns it), its own
		// chat and the one for every site, its steps and the shared one; no caps.
		{"shop", []string{"hero=default:Shop hero"}, []string{"shop_chat", "everywhere_chat"}, []string{"landed", "viewed_pricing_shop"}, false},
		// Another site gets only the rules without sites.
		{"blog", nil, []string{"everywhere_chat"}, []string{"landed"}, false},
		// The demo's visitor is in its holdout: defaults of the demo's slots only.
		{"demo", []string{"hero=default:Demo hero", "banner=default:"}, nil, []string{"landed", "viewed_pricing", "viewed_pricing_shop"}, true},
	} {
		t.Run(tc.site, func(t *testing.T) {
			s := newSim(set, "v-"+tc.site)
			s.site = tc.site
			s.pageview("/pricing")
			d := s.decide("hero", "banner")
			if got := slotsOf(d); !slices.Equal(got, tc.slots) {
				t.Errorf("slots = %q; want %q", got, tc.slots)
			}
			if got := d.promptIDs(); !slices.Equal(got, tc.prompts) && !(len(got) == 0 && len(tc.prompts) == 0) {
				t.Errorf("prompts = %q; want %q", got, tc.prompts)
			}
			var steps []string
			for _, st := range s.st.Steps {
				steps = append(steps, st.Key)
			}
			slices.Sort(steps)
			if !slices.Equal(steps, tc.steps) {
				t.Errorf("steps reached = %q; want %q", steps, tc.steps)
			}
			if d.Holdout != tc.holdout || len(d.Exposures) != 0 {
				t.Errorf("holdout %v, exposures %v; want holdout %v and no exposure", d.Holdout, d.Exposures, tc.holdout)
			}
			if tc.site != "demo" && (slices.Contains(s.st.Segments, "pricing_fan") || s.st.Assignment("demo_banner") != nil) {
				t.Errorf("segments %q, assignment %v: the demo's segment and experiment apply to %s", s.st.Segments, s.st.Assignment("demo_banner"), tc.site)
			}
		})
	}
	// The demo's segment holds on the demo's own hits, whatever the site's holdout.
	s := newSim(set, "v-demo-2")
	s.site = "demo"
	s.pageview("/pricing")
	s.decide()
	if !slices.Equal(s.st.Segments, []string{"pricing_fan"}) {
		t.Errorf("demo segments = %q; want [pricing_fan]", s.st.Segments)
	}
}

func TestScopeInfo(t *testing.T) {
	set := scopedSet(t)
	var got []string
	for _, r := range set.Scopes() {
		got = append(got, r.Kind+" "+r.ID+" "+strings.Join(r.Sites, ","))
	}
	want := []string{
		"step viewed_pricing demo", "step viewed_pricing_shop shop,demo", "step landed ",
		"segment pricing_fan demo", "slot hero demo", "slot hero shop", "slot banner demo",
		"experiment demo_banner demo", "survey demo_survey demo", "chat shop_chat shop", "chat everywhere_chat ",
		"funnel pricing demo", "holdout  demo", "caps  demo",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Scopes() =\n%q\nwant\n%q", got, want)
	}
	if got := set.Sites(); !slices.Equal(got, []string{"demo", "shop"}) {
		t.Errorf("Sites() = %q; want demo and shop", got)
	}
	if got := set.Slots(); !slices.Equal(got, []string{"hero", "banner"}) {
		t.Errorf("Slots() = %q; want each slot id once", got)
	}
	if f := set.Funnels(); len(f) != 1 || !slices.Equal(f[0].Sites, []string{"demo"}) {
		t.Errorf("Funnels() = %+v; want the pricing funnel of demo", f)
	}
	if x := set.Experiments(); len(x) != 1 || !slices.Equal(x[0].Sites, []string{"demo"}) {
		t.Errorf("Experiments() = %+v; want demo_banner of demo", x)
	}
	if !Serves(nil, "blog") || !Serves([]string{"demo"}, "demo") || Serves([]string{"demo"}, "blog") {
		t.Error("Serves: want every site for no sites, and only the listed ones otherwise")
	}
}

func TestScopeExplain(t *testing.T) {
	set := scopedSet(t)
	s := newSim(set, "v-explain")
	s.site = "shop"
	s.pageview("/pricing")
	e := set.Explain(&s.st, nil, "shop", "", "")
	if e.Site != "shop" || e.Holdout {
		t.Fatalf("explain site %q, holdout %v; want shop, outside the demo's holdout", e.Site, e.Holdout)
	}
	if len(e.Slots) != 1 || e.Slots[0].Decision.Content != "Shop hero" || !slices.Equal(e.Slots[0].Sites, []string{"shop"}) {
		t.Errorf("slots = %+v; want the shop's hero only, with its sites", e.Slots)
	}
	if len(e.Segments) != 1 || e.Segments[0].Matched || e.Segments[0].Reason != "serves only demo" {
		t.Errorf("segments = %+v; want pricing_fan not matched: serves only demo", e.Segments)
	}
	var blocked []string
	for _, p := range e.Prompts {
		blocked = append(blocked, p.ID+": "+p.BlockedBy)
	}
	if want := []string{"demo_survey: sites: serves only demo", "shop_chat: ", "everywhere_chat: "}; !slices.Equal(blocked, want) {
		t.Errorf("prompts = %q; want %q", blocked, want)
	}
	// Without a site, every rule applies, as before sites existed.
	if e := set.Explain(&s.st, nil, "", "", ""); len(e.Slots) != 3 || e.Site != "" {
		t.Errorf("explain without a site: %d slots; want all 3 (two heroes and the banner)", len(e.Slots))
	}
}

func TestScopeErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"sites: []\nslots: {a: {default: x}}\n", "r/r.yaml:1:1: sites must name at least one site"},
		{"sites: [demo, demo]\n", "r/r.yaml:1:15: site \"demo\" is listed twice"},
		{"sites: [\"bad id\"]\n", "r/r.yaml:1:9: site id \"bad id\": use letters, digits, - and _"},
		{"slots:\n  a: {default: x}\n  b: {default: y, sites: [{x: 1}]}\n", "r/r.yaml:3:27: site must be text, not a mapping"},
		{"segments:\n  s: {when: {page.path: /}, sites: [demo]}\nslots:\n  a:\n    sites: [shop]\n    variants: [{id: v, segment: s, content: x}]\n",
			"r/r.yaml:6:33: segment \"s\" serves only demo, and slot \"a\" only shop: the visitor can never be in it there"},
		{"steps:\n  - {id: a, stage: awareness, when: {page.path: /}, sites: [demo]}\n  - {id: b, stage: awareness, when: {page.path: /b}}\nfunnels:\n  f: {steps: [a, b], sites: shop}\n",
			"r/r.yaml:5:15: step \"a\" serves only demo, and funnel \"f\" only shop: it can never be reached there"},
		{"slots:\n  a: {default: x, sites: [demo]}\nexperiments:\n  x: {slot: a, sites: [shop], variants: [{id: c}, {id: t}]}\n", ""},
	} {
		_, err := Load(fstest.MapFS{"r/r.yaml": {Data: []byte(tc.src)}}, "r")
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v; want it to load (the experiment gets a slot a of its own for shop)", tc.src, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v; want %q", tc.src, err, tc.want)
		}
	}
	// Slots of one id (in two files: YAML keys are unique in one) for overlapping sites are
	// duplicates.
	_, err := Load(fstest.MapFS{
		"r/a.yaml": {Data: []byte("slots:\n  a: {default: x, sites: [demo, shop]}\n")},
		"r/b.yaml": {Data: []byte("slots:\n  a: {default: y, sites: [shop]}\n")},
	}, "r")
	if err == nil || err.Error() != `r/b.yaml:2:3: duplicate slot "a" for shop (first defined at r/a.yaml:2:3)` {
		t.Fatalf("two slots a for shop: %v", err)
	}
}

func TestScopeRuleTestSite(t *testing.T) {
	fsys := fstest.MapFS{
		"r/rules.yaml": {Data: []byte("sites: [demo]\nslots:\n  hero: {default: Demo hero}\n")},
		"r/tests/t.yaml": {Data: []byte(`site: demo
cases:
  - name: the demo gets its hero
    hits: [{pageview: /, expect: {slots: {hero: default}}}]
  - name: another site gets none
    site: shop
    hits: [{pageview: /, expect: {slots: {hero: default}}}]
`)},
	}
	res, err := CheckFS(fsys, "r")
	if err != nil {
		t.Fatal(err)
	}
	if res.Passed != 1 || len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Error(), `t.yaml:7:43: case "another site gets none", hit 1 (pageview /): slot "hero" serves other sites, not shop`) {
		t.Fatalf("check = %+v; want the demo case to pass and the shop case to find no hero", res)
	}
}

// TestDefaultConversionPerSite: purchases count as conversions on a site that no conversion
// step serves, and not on a site whose own conversion step counts them.
func TestDefaultConversionPerSite(t *testing.T) {
	load := func(files fstest.MapFS) *Set {
		t.Helper()
		set, err := Load(files, "r")
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	none := load(fstest.MapFS{"r/a.yaml": {Data: []byte(`
steps:
  - {id: landed, stage: awareness, when: {session.pageviews: 1}}
`)}})
	scoped := load(fstest.MapFS{"r/a.yaml": {Data: []byte(`
sites: [demo]
steps:
  - {id: bought, stage: decision, conversion: true, when: {event.name: purchase}}
`)}})
	everywhere := load(fstest.MapFS{"r/a.yaml": {Data: []byte(`
steps:
  - {id: bought, stage: decision, conversion: true, when: {event.name: purchase}}
`)}})
	for _, c := range []struct {
		name string
		set  *Set
		site string
		want bool
	}{
		{"no conversion step, any site", none, "shop", true},
		{"no conversion step, every site", none, "", true},
		{"the demo's step, on the demo", scoped, "demo", false},
		{"the demo's step, on another site", scoped, "shop", true},
		{"the demo's step, every site", scoped, "", false},
		{"an unscoped step, any site", everywhere, "shop", false},
	} {
		if got := c.set.DefaultConversion(c.site); got != c.want {
			t.Errorf("%s: DefaultConversion(%q) = %v; want %v", c.name, c.site, got, c.want)
		}
	}
}

// TestAnswerOnlyWhereTheSurveyServes: an answer to a survey of other sites is refused, as
// the survey would never have been offered there.
func TestAnswerOnlyWhereTheSurveyServes(t *testing.T) {
	set := scopedSet(t)
	if err := set.CheckAnswer("demo", "demo_survey", "too dear"); err != nil {
		t.Errorf("answer on the survey's own site: %v", err)
	}
	if err := set.CheckAnswer("", "demo_survey", "too dear"); err != nil {
		t.Errorf("answer without a site (rule tests, explain): %v", err)
	}
	err := set.CheckAnswer("shop", "demo_survey", "too dear")
	if err == nil || !strings.Contains(err.Error(), `serves only demo, not site "shop"`) {
		t.Errorf("answer on another site: %v; want it refused, naming the survey's sites", err)
	}
}
