package rules

import (
	"slices"

	"github.com/goccy/go-yaml/ast"
)

// A rule test file holds cases: a visitor's hits and what the rules must decide for them.
// The format is documented in rules/README.md.

type testFile struct {
	name    string
	baseURL string
	site    string // the site of every case that names none; empty: every rule applies
	cases   []*testCase
}

type testCase struct {
	at      pos
	site    string // the site of the case's hits; empty: the file's
	name    string
	vid     string
	start   int64 // Unix ms of the first hit
	holdout int   // holdoutOut unless the case says holdout: true
	visitor testHit
	hits    []*testHit
	expect  *expectation
}

// testHit is one hit of a case, or the visitor defaults every hit starts from.
type testHit struct {
	at     pos
	typ    string
	name   string
	url    string
	ref    string
	title  string
	props  []kv
	traits []kv
	userID string
	prompt string
	action string
	answer string

	offset    int64 // ms from the case start; -1 when not given
	wait      int64 // ms after the previous hit; -1 when not given
	engagedMS int64
	scroll    int

	device, os, browser, userAgent string
	country, region, city, tz      string
	channel, source, medium        string
	campaign                       string
	consent                        string
	slots                          []string
	expect                         *expectation
}

type kv struct {
	key string
	val any
}

type expectation struct {
	at          pos
	stage       *string
	stageAt     pos
	segments    []string
	hasSegs     bool
	segsAt      pos
	steps       []expectCount
	slots       []expectSlot
	prompts     []string
	hasPrompts  bool
	promptsAt   pos
	holdout     *bool
	holdoutAt   pos
	conversions *int64
	convAt      pos
	value       *float64
	valueAt     pos
	experiments []expectSlot // slot = experiment id, variant = arm
	automations []string     // the automations that fired at this hit (or timer), in order
	hasAutos    bool
	autosAt     pos
}

type expectCount struct {
	at    pos
	id    string
	count int64
}

type expectSlot struct {
	at         pos
	slot       string
	variant    *string
	content    *string
	experiment *string
}

var (
	testFileKeys = []string{"base_url", "site", "cases"}
	caseKeys     = []string{"name", "site", "vid", "start", "holdout", "visitor", "hits", "expect"}
	visitorKeys  = []string{"device", "os", "browser", "user_agent", "country", "region", "city", "timezone", "consent", "ref", "channel", "source", "medium", "campaign"}
	hitKeys      = []string{
		"type", "pageview", "event", "identify", "prompt", "engagement",
		"name", "url", "ref", "title", "props", "traits", "user_id", "action", "answer",
		"at", "wait", "engaged", "scroll",
		"device", "os", "browser", "user_agent", "country", "region", "city", "timezone", "consent",
		"channel", "source", "medium", "campaign", "slots", "expect",
	}
	expectKeys     = []string{"stage", "segments", "steps", "slots", "prompts", "holdout", "conversions", "value", "experiments", "automations"}
	expectSlotKeys = []string{"variant", "content", "experiment"}
)

func parseTestFile(name string, src []byte) (*testFile, []PosError) {
	d, f, pe := parseYAML(name, src)
	if pe != nil {
		return nil, []PosError{*pe}
	}
	tf := &testFile{name: name, baseURL: "https://www.example.com"}
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		d.object(doc.Body, "the test file", testFileKeys, func(e entry) {
			switch e.key {
			case "base_url":
				if s, ok := d.str(e.v, "base_url"); ok {
					if !validActionURL(s) || s[0] == '/' {
						d.errorf(e.v, "base_url %q must be an absolute http(s) URL", s)
					}
					tf.baseURL = s
				}
			case "site":
				tf.site = d.siteID(e.v)
			case "cases":
				items, _ := d.list(e.v, "cases")
				for _, it := range items {
					if tc := d.testCase(it); tc != nil {
						tf.cases = append(tf.cases, tc)
					}
				}
			}
		})
	}
	return tf, d.errs
}

func (d *dec) testCase(n ast.Node) *testCase {
	tc := &testCase{at: d.at(n), holdout: holdoutOut, start: defaultTestStart}
	have := map[string]bool{}
	if !d.object(n, "test case", caseKeys, func(e entry) {
		have[e.key] = true
		switch e.key {
		case "name":
			tc.name, _ = d.text(e.v, "name")
		case "site":
			tc.site = d.siteID(e.v)
		case "vid":
			tc.vid, _ = d.text(e.v, "vid")
		case "start":
			tc.start, _ = d.date(e.v, "start")
		case "holdout":
			if b, ok := d.boolean(e.v, "holdout"); ok && b {
				tc.holdout = holdoutIn
			}
		case "visitor":
			d.object(e.v, "visitor", visitorKeys, func(f entry) { d.hitField(&tc.visitor, f) })
		case "hits":
			items, _ := d.list(e.v, "hits")
			for _, it := range items {
				tc.hits = append(tc.hits, d.testHit(it))
			}
		case "expect":
			tc.expect = d.expectation(e)
		}
	}) {
		return nil
	}
	d.require(n, "test case", have, "name", "hits")
	if have["hits"] && len(tc.hits) == 0 {
		d.errorf(n, "test case needs at least one hit")
	}
	if tc.vid == "" {
		tc.vid = "test-" + tc.name
	}
	return tc
}

// defaultTestStart is when a case's first hit happens unless it says otherwise: Monday
// 6 January 2025, 12:00 UTC.
const defaultTestStart = 1736164800000

func (d *dec) testHit(n ast.Node) *testHit {
	h := &testHit{at: d.at(n), offset: -1, wait: -1}
	d.object(n, "hit", hitKeys, func(e entry) { d.hitField(h, e) })
	if h.typ == "" && h.wait < 0 && h.offset < 0 {
		d.errorf(n, "a hit needs a type: pageview: <url>, event: <name>, identify: <user id>, prompt: <id> or type: …; or only wait: (or at:) to move the clock")
	}
	if h.offset >= 0 && h.wait >= 0 {
		d.errorf(n, "a hit takes at or wait, not both")
	}
	return h
}

// hitField decodes one key of a hit or of the visitor defaults.
func (d *dec) hitField(h *testHit, e entry) {
	setType := func(t string) {
		if h.typ != "" && h.typ != t {
			d.errorf(e.k, "a hit has one type; %q conflicts with %q", t, h.typ)
		}
		h.typ = t
	}
	switch e.key {
	case "type":
		if s, ok := d.str(e.v, "type"); ok {
			switch s {
			case "pageview", "event", "identify", "prompt", "engagement":
				setType(s)
			default:
				d.errorf(e.v, "unknown hit type %q (want pageview, event, identify, prompt or engagement)", s)
			}
		}
	case "pageview":
		setType("pageview")
		h.url, _ = d.str(e.v, "pageview url")
	case "event":
		setType("event")
		h.name, _ = d.str(e.v, "event name")
	case "identify":
		setType("identify")
		h.userID, _ = d.text(e.v, "identify user id")
	case "prompt":
		setType("prompt")
		h.prompt, _ = d.str(e.v, "prompt id")
	case "engagement":
		setType("engagement")
		if !isNull(d.resolve(e.v)) {
			d.errorf(e.v, "engagement takes no value; give engaged: and scroll: on the hit")
		}
	case "name":
		h.name, _ = d.str(e.v, "name")
	case "url":
		h.url, _ = d.str(e.v, "url")
	case "ref":
		h.ref, _ = d.str(e.v, "ref")
	case "title":
		h.title, _ = d.text(e.v, "title")
	case "props":
		h.props = d.flatProps(e.v, "props")
	case "traits":
		h.traits = d.flatProps(e.v, "traits")
	case "user_id":
		h.userID, _ = d.text(e.v, "user_id")
	case "action":
		if s, ok := d.str(e.v, "action"); ok {
			if s != ActionShown && s != ActionDismissed && s != ActionAnswered {
				d.errorf(e.v, "action must be shown, dismissed or answered, not %q", s)
			}
			h.action = s
		}
	case "answer":
		h.answer, _ = d.text(e.v, "answer")
	case "at":
		h.offset, _ = d.duration(e.v, "at")
	case "wait":
		h.wait, _ = d.duration(e.v, "wait")
	case "engaged":
		h.engagedMS, _ = d.duration(e.v, "engaged")
	case "scroll":
		h.scroll, _ = d.scrollPercent(e.v)
	case "device":
		if s, ok := d.str(e.v, "device"); ok {
			if !slices.Contains([]string{"desktop", "mobile", "tablet", "bot"}, s) {
				d.errorf(e.v, "device must be desktop, mobile, tablet or bot, not %q", s)
			}
			h.device = s
		}
	case "os":
		h.os, _ = d.text(e.v, "os")
	case "browser":
		h.browser, _ = d.text(e.v, "browser")
	case "user_agent":
		h.userAgent, _ = d.str(e.v, "user_agent")
	case "country":
		h.country, _ = d.str(e.v, "country")
	case "region":
		h.region, _ = d.text(e.v, "region")
	case "city":
		h.city, _ = d.text(e.v, "city")
	case "timezone":
		h.tz, _ = d.str(e.v, "timezone")
	case "consent":
		if s, ok := d.str(e.v, "consent"); ok {
			if s != "granted" && s != "denied" {
				d.errorf(e.v, "consent must be granted or denied, not %q", s)
			}
			h.consent = s
		}
	case "channel":
		h.channel, _ = d.str(e.v, "channel")
	case "source":
		h.source, _ = d.str(e.v, "source")
	case "medium":
		h.medium, _ = d.str(e.v, "medium")
	case "campaign":
		h.campaign, _ = d.text(e.v, "campaign")
	case "slots":
		h.slots, _ = d.idList(e.v, "slot")
	case "expect":
		h.expect = d.expectation(e)
	}
}

// flatProps decodes a flat mapping of scalars, as event props and traits are on the wire.
func (d *dec) flatProps(n ast.Node, what string) []kv {
	es, _ := d.entries(n, what)
	out := make([]kv, 0, len(es))
	for _, e := range es {
		switch v := d.value(e.v).(type) {
		case map[string]any, []any:
			d.errorf(e.v, "%s are flat: %q must be a string, number, boolean or null", what, e.key)
		default:
			out = append(out, kv{key: e.key, val: v})
		}
	}
	return out
}

func (d *dec) expectation(e entry) *expectation {
	x := &expectation{at: d.at(e.k)}
	d.object(e.v, "expect", expectKeys, func(f entry) {
		at := d.at(f.k)
		switch f.key {
		case "stage":
			if s, ok := d.str(f.v, "stage"); ok {
				x.stage, x.stageAt = &s, at
			}
		case "segments":
			x.segments, _ = d.idList(f.v, "segment")
			x.hasSegs, x.segsAt = true, at
		case "prompts":
			x.prompts, _ = d.idList(f.v, "prompt")
			x.hasPrompts, x.promptsAt = true, at
		case "automations":
			x.automations, _ = d.idList(f.v, "automation")
			x.hasAutos, x.autosAt = true, at
		case "holdout":
			if b, ok := d.boolean(f.v, "holdout"); ok {
				x.holdout, x.holdoutAt = &b, at
			}
		case "conversions":
			if n, ok := d.integer(f.v, "conversions"); ok {
				x.conversions, x.convAt = &n, at
			}
		case "value":
			if v, ok := d.number(f.v, "value"); ok {
				x.value, x.valueAt = &v, at
			}
		case "steps":
			es, _ := d.entries(f.v, "steps")
			for _, se := range es {
				if n, ok := d.integer(se.v, "step count"); ok {
					x.steps = append(x.steps, expectCount{at: d.at(se.k), id: se.key, count: n})
				}
			}
		case "slots":
			es, _ := d.entries(f.v, "slots")
			for _, se := range es {
				x.slots = append(x.slots, d.expectSlot(se))
			}
		case "experiments":
			es, _ := d.entries(f.v, "experiments")
			for _, se := range es {
				es := expectSlot{at: d.at(se.k), slot: se.key}
				if isNull(d.resolve(se.v)) {
					none := ""
					es.variant = &none
				} else if s, ok := d.str(se.v, "experiment variant"); ok {
					es.variant = &s
				}
				x.experiments = append(x.experiments, es)
			}
		}
	})
	return x
}

// expectSlot decodes `hero: variant_id` or `hero: {variant: …, content: …, experiment: …}`.
func (d *dec) expectSlot(e entry) expectSlot {
	es := expectSlot{at: d.at(e.k), slot: e.key}
	if s, ok := scalarText(d.resolve(e.v)); ok {
		es.variant = &s
		return es
	}
	d.object(e.v, "expected slot", expectSlotKeys, func(f entry) {
		s, ok := d.text(f.v, f.key)
		if !ok {
			return
		}
		switch f.key {
		case "variant":
			es.variant = &s
		case "content":
			es.content = &s
		case "experiment":
			es.experiment = &s
		}
	})
	return es
}
