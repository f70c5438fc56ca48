package rules

import (
	"fmt"
	"strings"
	"testing"
)

const captureRules = `
segments:
  paid: {when: {session.channel: Paid Social}}
capture:
  products:
    pages: [/pricing, "/products/*"]
    share: 50%
    heatmap: true
  paid_everywhere:
    segments: [paid]
    share: 100%
    heatmap: true
    sites: [shop]
`

func TestCaptureSamplesPagesAndShare(t *testing.T) {
	set := mustLoad(t, captureRules)
	sampled, seen := 0, 0
	for i := range 400 {
		s := newSim(set, fmt.Sprintf("visitor-%d", i))
		s.pageview("/about")
		if d := s.decide(); d.Capture.Any() {
			t.Fatalf("/about sampled for %s: %+v; no rule names the page", s.vid, d.Capture)
		}
		s.pageview("/products/jacket")
		first := s.decide().Capture
		s.pageview("/pricing")
		again := s.decide().Capture
		if first != again {
			t.Fatalf("visitor %s sampled %+v on one page and %+v on the next; want the same", s.vid, first, again)
		}
		seen++
		if first.Heatmap {
			sampled++
			if first.Rule != "products" || first.Replay {
				t.Fatalf("capture = %+v; want rule products, heatmap only", first)
			}
		}
	}
	// 50% of 400: a binomial with a standard deviation of 10.
	if sampled < 150 || sampled > 250 {
		t.Errorf("%d of %d visitors sampled; want about half", sampled, seen)
	}
}

func TestCaptureSegmentsAndSites(t *testing.T) {
	set := mustLoad(t, captureRules)
	s := newSim(set, "v-paid")
	s.site = "shop"
	s.pageview("/about?utm_source=facebook&utm_medium=paid_social")
	if d := s.decide(); !d.Capture.Heatmap || d.Capture.Rule != "paid_everywhere" {
		t.Errorf("paid visitor on shop: capture %+v; want paid_everywhere", d.Capture)
	}
	b := string(s.decide().AppendJSON(nil))
	if !strings.Contains(b, `"capture":{"rule":"paid_everywhere","heatmap":true,"replay":false}`) {
		t.Errorf("decisions JSON %s; want the capture member", b)
	}
	o := newSim(set, "v-paid-demo")
	o.site = "demo"
	o.pageview("/about?utm_source=facebook&utm_medium=paid_social")
	if d := o.decide(); d.Capture.Any() {
		t.Errorf("paid visitor on demo: capture %+v; want none (the rule serves shop)", d.Capture)
	}
	u := newSim(set, "v-direct")
	u.site = "shop"
	u.pageview("/about")
	if d := u.decide(); d.Capture.Any() {
		t.Errorf("direct visitor: capture %+v; want none (not in segment paid)", d.Capture)
	}
	if b := string(u.decide().AppendJSON(nil)); strings.Contains(b, "capture") {
		t.Errorf("decisions JSON %s; want no capture member when nothing is sampled", b)
	}
	if got := set.Captures(); len(got) != 2 || got[1].Segments[0] != "paid" || got[1].Sites[0] != "shop" || got[0].Share != 0.5 {
		t.Errorf("Captures() = %+v", got)
	}
}

func TestCaptureNotWithoutConsent(t *testing.T) {
	set := mustLoad(t, captureRules)
	s := newSim(set, "v1")
	s.site = "shop"
	s.pageview("/pricing?utm_source=facebook&utm_medium=paid_social")
	var d Decisions
	set.Decide(&s.st, &s.hit, Request{DefaultsOnly: true}, &d)
	if d.Capture.Any() {
		t.Errorf("DefaultsOnly capture = %+v; want none", d.Capture)
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"/pricing", "/pricing", true},
		{"/pricing", "/pricing/x", false},
		{"/products/*", "/products/jacket", true},
		{"/products/*", "/products/", true},
		{"/products/*", "/product", false},
		{"/blog/*/comments", "/blog/a/b/comments", true},
		{"/blog/*/comments", "/blog/a/b/comment", false},
		{"*", "/", true},
		{"/a*b*c", "/aXbYbZc", true},
		{"/a*b*c", "/aXbYbZ", false},
	} {
		if got := globMatch(c.p, c.s); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v; want %v", c.p, c.s, got, c.want)
		}
	}
}

// A rule may ask for replay, alone or beside heatmap data; the kinds of every rule that
// samples the pageview add up, and the first names the capture.
func TestCaptureReplayRules(t *testing.T) {
	set := mustLoad(t, `
capture:
  checkout_replays:
    pages: [/checkout]
    share: 100%
    replay: true
  everything:
    share: 100%
    heatmap: true
`)
	s := newSim(set, "v-replay")
	s.pageview("/checkout")
	d := s.decide()
	if d.Capture != (Capture{Rule: "checkout_replays", Heatmap: true, Replay: true}) {
		t.Errorf("/checkout: capture %+v; want checkout_replays with heatmap and replay", d.Capture)
	}
	if b := string(d.AppendJSON(nil)); !strings.Contains(b, `"capture":{"rule":"checkout_replays","heatmap":true,"replay":true}`) {
		t.Errorf("decisions JSON %s; want replay true", b)
	}
	s.pageview("/pricing")
	if d := s.decide(); d.Capture != (Capture{Rule: "everything", Heatmap: true}) {
		t.Errorf("/pricing: capture %+v; want heatmap only", d.Capture)
	}
	if got := set.Captures(); len(got) != 2 || !got[0].Replay || got[0].Heatmap {
		t.Errorf("Captures() = %+v; want the replay rule first, replay only", got)
	}
}
