package rules

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pathlight/pathlight/internal/journey"
)

const autoRules = `
steps:
  - {id: viewed_pricing, stage: consideration, when: {page.path: /pricing}}
  - {id: added_to_cart, stage: decision, when: {event.name: add_to_cart}}
  - {id: purchased, stage: retention, when: {event.name: purchase}, conversion: true, value: value}
segments:
  hesitator: {when: {steps.viewed_pricing.count: {$gte: 3}, steps.purchased.count: 0}}
destinations:
  crm: {url: "http://127.0.0.1:9/hook", secret_env: CRM_SECRET}
  ads: {url: "https://ads.example/conv", format: segment, timeout: 5s, concurrency: 2, rate: 10}
automations:
  demo_offer:
    on: {enters: hesitator}
    cap: once
    to: crm
  pricing_views:
    on: {reaches: viewed_pricing}
    when: {page.query.plan: pro}
    cap: {max: 2, cooldown: 1h}
    to: [crm]
  deciding:
    on: {stage: decision}
    to: [crm]
  bought:
    on: {converts: purchased}
    to: [crm, ads]
  recovered:
    on: {leaves: hesitator}
    to: [crm]
  cart_abandoned:
    on: {after: added_to_cart, wait: 1h, unless: purchased}
    to: [crm]
  lapsed:
    on: {inactive: 30d}
    cap: once
    to: [crm]
`

const autoTests = `
cases:
  - name: segment entered once, reaches with condition and caps
    hits:
      - pageview: /pricing?plan=pro
        expect: {automations: [pricing_views]}
      - pageview: /pricing?plan=pro
        expect: {automations: []}
      - pageview: /pricing?plan=pro
        wait: 2h
        expect: {automations: [demo_offer, pricing_views]}
      - pageview: /pricing?plan=pro
        wait: 2h
        expect: {automations: []}
  - name: stage, conversion, leaving and a cancelled timer
    hits:
      - pageview: /pricing
      - pageview: /pricing
      - pageview: /pricing
        expect: {automations: [demo_offer]}
      - event: add_to_cart
        expect: {automations: [deciding]}
      - event: purchase
        props: {value: 30}
        wait: 10m
        expect: {automations: [bought, recovered]}
      - wait: 2h
        expect: {automations: []}
  - name: abandoned cart fires after the wait
    hits:
      - event: add_to_cart
        expect: {automations: [deciding]}
      - wait: 59m
        expect: {automations: []}
      - wait: 2m
        expect: {automations: [cart_abandoned]}
      - wait: 31d
        expect: {automations: [lapsed]}
      - wait: 31d
        expect: {automations: []}
  - name: a visit moves the inactivity timer to a wait after it
    hits:
      - pageview: /
      - pageview: /
        wait: 20d
        expect: {automations: []}
      - wait: 11d
        expect: {automations: []}
      - wait: 20d
        expect: {automations: [lapsed]}
  - name: no consent, no automation
    visitor: {consent: denied}
    hits:
      - event: add_to_cart
        expect: {automations: []}
      - wait: 2h
        expect: {automations: []}
`

func TestAutomationRuleTests(t *testing.T) {
	fsys := fstest.MapFS{
		"r/rules.yaml":      {Data: []byte(autoRules)},
		"r/tests/auto.yaml": {Data: []byte(autoTests)},
	}
	r, err := CheckFS(fsys, "r")
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Cases != 5 {
		t.Fatalf("report:\n%s", r)
	}
	// The same cases with the expectations turned around must fail, at their lines.
	bad := strings.Replace(autoTests, "expect: {automations: [cart_abandoned]}", "expect: {automations: []}", 1)
	fsys["r/tests/auto.yaml"] = &fstest.MapFile{Data: []byte(bad)}
	r, err = CheckFS(fsys, "r")
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || len(r.Failures) != 1 || !strings.Contains(r.Failures[0].Msg, "automations fired = [cart_abandoned]; want []") {
		t.Fatalf("want one failure about cart_abandoned, got:\n%s", r)
	}
}

func TestAutomationInfo(t *testing.T) {
	set, err := Load(fstest.MapFS{"r/rules.yaml": {Data: []byte(autoRules)}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	as := set.Automations()
	if len(as) != 7 || as[5].Trigger() != "after added_to_cart + 1h unless purchased" || as[1].Max != 2 || as[1].Cooldown != 3_600_000 {
		t.Fatalf("automations = %+v", as)
	}
	d, ok := set.Destination("ads")
	if !ok || d.Format != FormatSegment || d.Timeout != 5000 || d.Concurrency != 2 || d.Rate != 10 {
		t.Fatalf("ads = %+v", d)
	}
	if d, _ := set.Destination("crm"); d.Format != FormatPathlight || d.SecretEnv != "CRM_SECRET" || d.Timeout != DefaultTimeout {
		t.Fatalf("crm = %+v", d)
	}
}

func TestAutomationErrors(t *testing.T) {
	const bad = `steps:
  - {id: s1, stage: awareness, when: {page.path: /}}
destinations:
  crm: {url: "ftp://x", secret_env: "whsec_abc=", formt: json}
  hook: {secret_file: /x}
automations:
  a1: {on: {reaches: nope}, to: [crm, nowhere]}
  a2: {on: {after: s1}, to: crm}
  a3: {on: {reaches: s1, enters: seg}, to: crm}
  a4: {on: {stage: nirvana}, cap: sometimes, to: crm}
  a5: {on: {converts: s1}, to: crm}
  a6: {on: {reaches: s1, wait: 1h}}
`
	_, err := Load(fstest.MapFS{"r/rules.yaml": {Data: []byte(bad)}}, "r")
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		`r/rules.yaml:4:14: url "ftp://x" must be an absolute http or https URL`,
		`r/rules.yaml:4:37: secret_env "whsec_abc=" must name an environment variable`,
		`r/rules.yaml:4:51: unknown key "formt" in destination "crm"; did you mean "format"?`,
		`r/rules.yaml:5:3: destination "hook" needs "url"`,
		`r/rules.yaml:7:22: unknown step "nope"`,
		`r/rules.yaml:7:39: unknown destination "nowhere"`,
		`r/rules.yaml:8:13: after needs a wait, such as wait: 1h`,
		`r/rules.yaml:9:13: on takes one trigger; reaches conflicts with enters`,
		`r/rules.yaml:10:20: unknown stage "nirvana"`,
		`r/rules.yaml:10:35: unknown cap "sometimes"`,
		`r/rules.yaml:11:23: step "s1" is not a conversion step`,
		`r/rules.yaml:12:3: automation "a6" needs "to"`,
		`r/rules.yaml:12:26: wait belongs to an after trigger, not reaches`,
	}
	got := err.Error()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
}

func TestAdPlatformDestinationErrors(t *testing.T) {
	const bad = `destinations:
  fb: {url: "https://graph.facebook.com/v21.0/1/events", format: meta_capi, currency: eur}
  ga: {url: "https://googleads.googleapis.com/v17/customers/1:uploadClickConversions", format: google_ads, currency: EUR, conversion_action: "123"}
  gb: {url: "https://x.example", format: google_ads}
  hook: {url: "https://x.example", currency: EUR}
`
	_, err := Load(fstest.MapFS{"r/rules.yaml": {Data: []byte(bad)}}, "r")
	if err == nil {
		t.Fatal("loaded")
	}
	for _, w := range []string{
		`r/rules.yaml:2:87: currency "eur" must be an ISO 4217 code`,
		`conversion_action "123" must be a resource name`,
		`r/rules.yaml:4:3: destination "gb" (format google_ads) needs "currency"`,
		`r/rules.yaml:4:3: destination "gb" (format google_ads) needs "conversion_action"`,
		`r/rules.yaml:5:3: destination "hook": currency belongs to the ad platform formats`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in:\n%v", w, err)
		}
	}
}

// An automation serves the sites of its own sites key, else of its file's: another site's
// hits neither fire it nor arm its timers, and it may only watch steps and segments that
// serve its sites.
func TestAutomationSiteScopes(t *testing.T) {
	const shop = `sites: [shop]
steps:
  - {id: added, stage: decision, when: {event.name: add_to_cart}}
destinations:
  crm: {url: "https://crm.example/hook"}
automations:
  cart_added: {on: {reaches: added}, to: crm}
`
	const every = `steps:
  - {id: signed_up, stage: decision, when: {event.name: signup}}
automations:
  signup_blog: {on: {reaches: signed_up}, sites: blog, to: crm}
  cart_late:
    sites: [shop]
    on: {after: signed_up, wait: 1h}
    to: crm
`
	const tests = `
cases:
  - name: the shop's automation fires on the shop
    site: shop
    hits:
      - event: add_to_cart
        expect: {automations: [cart_added]}
      - event: signup
        expect: {automations: []}
      - wait: 2h
        expect: {automations: [cart_late]}
  - name: and not on the blog
    site: blog
    hits:
      - event: add_to_cart
        expect: {automations: []}
      - event: signup
        expect: {automations: [signup_blog]}
      - wait: 2h
        expect: {automations: []}
`
	fsys := fstest.MapFS{"r/shop.yaml": {Data: []byte(shop)}, "r/every.yaml": {Data: []byte(every)}, "r/tests/t.yaml": {Data: []byte(tests)}}
	r, err := CheckFS(fsys, "r")
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Cases != 2 {
		t.Fatalf("report:\n%s", r)
	}
	set, _ := Load(fsys, "r")
	if a := set.Automations(); len(a) != 3 || strings.Join(a[0].Sites, ",") != "blog" || strings.Join(a[2].Sites, ",") != "shop" {
		t.Fatalf("automations = %+v", a)
	}
	bad := strings.Replace(every, "signup_blog: {on: {reaches: signed_up}, sites: blog, to: crm}", "signup_blog: {on: {reaches: added}, sites: blog, to: crm}", 1)
	_, err = Load(fstest.MapFS{"r/shop.yaml": {Data: []byte(shop)}, "r/every.yaml": {Data: []byte(bad)}}, "r")
	if err == nil || !strings.Contains(err.Error(), `step "added" serves only shop, and automation "signup_blog" only blog`) {
		t.Fatalf("err = %v", err)
	}
}

func TestExplainAutomations(t *testing.T) {
	set, err := Load(fstest.MapFS{"r/rules.yaml": {Data: []byte(autoRules)}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	st := &journey.State{VID: "v", LastSeen: 1736164800000, FirstSeen: 1736164800000}
	as := &AutoState{Fired: []FireStat{{ID: "demo_offer", N: 1, Last: 1736164000000}, {ID: "pricing_views", N: 1, Last: 1736164700000}},
		Timers: []Timer{{ID: "cart_abandoned", Due: 1736168400000, From: 1736164800000}}}
	ex := set.ExplainAutomations(st, as, 0, "")
	by := map[string]AutomationExplain{}
	for _, e := range ex {
		by[e.ID] = e
	}
	if e := by["demo_offer"]; e.Fired != 1 || e.Ready || !strings.Contains(e.BlockedBy, "once") {
		t.Errorf("demo_offer = %+v; want fired once and capped", e)
	}
	if e := by["pricing_views"]; e.Ready || !strings.Contains(e.BlockedBy, "cooldown 1h") {
		t.Errorf("pricing_views = %+v; want the cooldown", e)
	}
	if e := by["cart_abandoned"]; !e.Ready || e.Due != 1736168400000 {
		t.Errorf("cart_abandoned = %+v; want ready with its timer", e)
	}
	if e := by["bought"]; !e.Ready || e.Fired != 0 {
		t.Errorf("bought = %+v", e)
	}
}
