package rules

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

func TestExplain(t *testing.T) {
	set, err := LoadDir(filepath.Join(repoRoot(t), "rules"))
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(set, "visitor-checkout-1")
	s.pageview("/pricing")
	s.pageview("/checkout")
	s.prompt("checkout_help", ActionShown)
	st := s.st // Explain must not change the state
	nSegs := len(st.Segments)

	e := set.Explain(&s.st, nil, "", "", "")
	if e.Version != set.Version() || e.Now != s.now {
		t.Errorf("Explain version %q now %d; want %q, %d", e.Version, e.Now, set.Version(), s.now)
	}
	segs := map[string]RuleResult{}
	for _, r := range e.Segments {
		segs[r.ID] = r
	}
	if r := segs["paid_social"]; r.Matched || r.Failed == nil || *r.Failed != (Clause{Field: "session.channel", Op: "$eq", Want: "Paid Social", Got: "Direct"}) {
		t.Errorf("segment paid_social = %+v; want failed on session.channel with Direct", r)
	}
	var banner *SlotExplain
	for i := range e.Slots {
		if e.Slots[i].Slot == "checkout_banner" {
			banner = &e.Slots[i]
		}
	}
	if banner == nil || len(banner.Experiments) != 1 {
		t.Fatalf("checkout_banner = %+v; want one experiment", banner)
	}
	x := banner.Experiments[0]
	// Evaluated on the last page, /checkout: the hash decides, nothing is sticky yet.
	if !x.Applies || x.Variant != "badges" || x.Sticky || x.Bucket != 0.6339 {
		t.Errorf("experiment = %+v; want badges from bucket 0.6339, not sticky", x)
	}
	if banner.Decision.Variant != "badges" || banner.Decision.Experiment != "checkout_trust" {
		t.Errorf("checkout_banner decision = %+v; want badges of checkout_trust", banner.Decision)
	}
	var help *PromptExplain
	for i := range e.Prompts {
		if e.Prompts[i].ID == "checkout_help" {
			help = &e.Prompts[i]
		}
	}
	if help == nil || help.Offered || help.BlockedBy != "show: cooldown 1d (last shown 0s ago)" {
		t.Errorf("checkout_help = %+v; want blocked by its own cooldown first", help)
	}
	if e.Caps == nil || e.Caps.BlockedBy == "" || e.Caps.ShownSession != 1 {
		t.Errorf("caps = %+v; want the per-session cap reported", e.Caps)
	}
	if s.st.Assignment("checkout_trust") != nil || len(s.st.Segments) != nSegs {
		t.Errorf("Explain changed the state: assignment %+v, segments %v", s.st.Assignment("checkout_trust"), s.st.Segments)
	}
	if _, err := json.Marshal(e); err != nil {
		t.Errorf("json.Marshal(Explanation) = %v", err)
	}

	// Only one slot, then only one prompt.
	if e := set.Explain(&s.st, &s.hit, "", "hero", ""); len(e.Slots) != 1 || e.Slots[0].Slot != "hero" || len(e.Prompts) != 0 {
		t.Errorf("Explain(slot hero) = %d slots, %d prompts; want hero only", len(e.Slots), len(e.Prompts))
	}
	if e := set.Explain(&s.st, &s.hit, "", "", "pricing_exit"); len(e.Slots) != 0 || len(e.Prompts) != 1 || e.Prompts[0].BlockedBy != `segment: not in "pricing_hesitator"` {
		t.Errorf("Explain(prompt pricing_exit) = %+v; want blocked by its segment", e.Prompts)
	}
}

func TestExplainVariantClause(t *testing.T) {
	set := mustLoad(t, slotRules)
	s := newSim(set, "v1")
	s.pageview("/pricing")
	e := set.Explain(&s.st, &s.hit, "", "hero", "")
	vs := e.Slots[0].Variants
	if len(vs) != 3 {
		t.Fatalf("variants = %+v; want 3", vs)
	}
	if vs[0].Reason != `not in segment "paid"` || vs[0].Matched {
		t.Errorf("variant paid_mobile = %+v; want not in segment paid", vs[0])
	}
	want := Clause{Field: "steps.viewed_pricing.count", Op: "$gte", Want: "2", Got: "1"}
	if vs[2].Matched || vs[2].Failed == nil || *vs[2].Failed != want {
		t.Errorf("variant pricing_fan = %+v; want failed clause %+v", vs[2], want)
	}
	if e.Slots[0].Decision.Variant != "default" {
		t.Errorf("decision = %+v; want default", e.Slots[0].Decision)
	}
}

func TestExplainExperimentReasons(t *testing.T) {
	tests := []struct {
		name   string
		set    *Set
		url    string
		wait   int64
		reason string
	}{
		{"outside coverage", experimentSet(t, "0%", 1, 1), "/", 0, "outside coverage (0%)"},
		{"condition", experimentSet(t, "100%", 1, 1), "/excluded", 0, "condition does not match"},
		{"stopped", experimentSet(t, "100%", 1, 1), "/", 40 * dayMS, "stopped 2025-02-01T00:00:00Z"},
	}
	for _, tt := range tests {
		s := newSim(tt.set, "v1")
		s.wait(tt.wait)
		s.pageview(tt.url)
		e := tt.set.Explain(&s.st, &s.hit, "", "banner", "")
		x := e.Slots[0].Experiments[0]
		if x.Applies || x.Reason != tt.reason {
			t.Errorf("%s: experiment = %+v; want reason %q", tt.name, x, tt.reason)
		}
	}
}
