//go:build !race

package rules

import "testing"

// TestDecideAllocs guards the request path: deciding for a visitor with a pooled Decisions,
// and writing the decisions as JSON, allocate nothing when the content has no placeholders.
func TestDecideAllocs(t *testing.T) {
	set, err := Load(exampleFS(t), "rules")
	if err != nil {
		t.Fatal(err)
	}
	s := exampleVisitor(t, set)
	req := Request{Slots: []string{"hero", "cart_message", "checkout_banner", "pricing_offer"}, Now: s.now}
	var d Decisions
	set.Decide(&s.st, &s.hit, req, &d)
	if n := testing.AllocsPerRun(100, func() { set.Decide(&s.st, &s.hit, req, &d) }); n != 0 {
		t.Errorf("Decide allocates %v times per run; want 0", n)
	}
	buf := d.AppendJSON(nil)
	if n := testing.AllocsPerRun(100, func() { buf = d.AppendJSON(buf[:0]) }); n != 0 {
		t.Errorf("AppendJSON allocates %v times per run; want 0", n)
	}
	// A pageview the example capture rules sample (site demo, a shop page): the sampling
	// hash allocates nothing either.
	demo := exampleVisitor(t, set)
	demo.site = "demo"
	demo.pageview("/pricing")
	set.Decide(&demo.st, &demo.hit, req, &d)
	if !d.Capture.Any() {
		t.Fatalf("the demo pageview was not sampled for capture: %+v", d.Capture)
	}
	if n := testing.AllocsPerRun(100, func() { set.Decide(&demo.st, &demo.hit, req, &d) }); n != 0 {
		t.Errorf("Decide of a sampled pageview allocates %v times per run; want 0", n)
	}
	set100 := mustLoad(t, hundredRules())
	s100 := newSim(set100, "visitor-100")
	s100.pageview("/page1?utm_source=newsletter&utm_medium=email")
	req100 := Request{Slots: []string{"slot0", "slot1", "slot2"}, Now: s100.now}
	set100.Decide(&s100.st, &s100.hit, req100, &d)
	if n := testing.AllocsPerRun(100, func() { set100.Decide(&s100.st, &s100.hit, req100, &d) }); n != 0 {
		t.Errorf("Decide (100 rules) allocates %v times per run; want 0", n)
	}
}
