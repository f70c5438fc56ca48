package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// exampleFS reads the repository's example rules into memory, so that BenchmarkCompile
// measures compiling, not the disk.
func exampleFS(b testing.TB) fstest.MapFS {
	dir := filepath.Join(repoRoot(b), "rules")
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(names) == 0 {
		b.Fatalf("no example rules in %s: %v", dir, err)
	}
	fsys := fstest.MapFS{}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			b.Fatal(err)
		}
		fsys["rules/"+filepath.Base(n)] = &fstest.MapFile{Data: data}
	}
	return fsys
}

func BenchmarkCompile(b *testing.B) {
	fsys := exampleFS(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(fsys, "rules"); err != nil {
			b.Fatal(err)
		}
	}
}

// exampleVisitor is a returning visitor deep in the example journey, on the checkout page.
func exampleVisitor(b testing.TB, set *Set) *sim {
	s := newSim(set, "visitor-checkout-1")
	s.pageview("/?utm_source=facebook&utm_medium=paid_social")
	s.pageview("/products/jacket")
	s.event("add_to_cart", kv{"value", 120.0})
	s.pageview("/pricing")
	s.wait(26 * hour)
	s.pageview("/pricing")
	s.pageview("/pricing")
	s.pageview("/cart")
	s.pageview("/checkout")
	return s
}

func BenchmarkDecide(b *testing.B) {
	set, err := Load(exampleFS(b), "rules")
	if err != nil {
		b.Fatal(err)
	}
	s := exampleVisitor(b, set)
	req := Request{Slots: []string{"hero", "cart_message", "checkout_banner"}, Now: s.now}
	var d Decisions
	set.Decide(&s.st, &s.hit, req, &d) // the first decision assigns the experiment
	b.ReportAllocs()
	for b.Loop() {
		set.Decide(&s.st, &s.hit, req, &d)
	}
}

func BenchmarkObserve(b *testing.B) {
	set, err := Load(exampleFS(b), "rules")
	if err != nil {
		b.Fatal(err)
	}
	s := exampleVisitor(b, set)
	for range 300 { // fill the bounded step history, as for a long-lived visitor
		set.Observe(&s.st, &s.hit)
	}
	b.ReportAllocs()
	for b.Loop() {
		set.Observe(&s.st, &s.hit)
	}
}

// hundredRules generates a set of 100 rules: 10 steps, 20 segments, 10 slots of 4 variants,
// 10 experiments (one per slot) and 20 prompts.
func hundredRules() string {
	var b strings.Builder
	b.WriteString("steps:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  - {id: step%d, stage: consideration, when: {page.path: /page%d}}\n", i, i)
	}
	b.WriteString("segments:\n")
	for i := range 20 {
		fmt.Fprintf(&b, "  seg%d: {when: {steps.step%d.count: {$gte: %d}, visitor.pageviews: {$gt: %d}, session.channel: {$in: [Paid Social, Email, Organic Search]}}}\n", i, i%10, i%3+1, i)
	}
	b.WriteString("slots:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  slot%d:\n    default: {content: Default %d}\n    variants:\n", i, i)
		for j := range 4 {
			fmt.Fprintf(&b, "      - {id: v%d, segment: seg%d, when: {page.path: {$regex: \"^/page%d\"}, device.type: {$ne: bot}}, content: Variant %d}\n", j, (i+j)%20, j, j)
		}
	}
	b.WriteString("experiments:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  exp%d:\n    slot: slot%d\n    when: {page.path: {$regex: \"^/page\"}}\n    coverage: 50%%\n    variants: [{id: a}, {id: b, content: B}]\n", i, i)
	}
	b.WriteString("surveys:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  survey%d: {question: Q%d, type: rating, segment: seg%d, when: {page.path: /page%d}, trigger: exit_intent, show: once}\n", i, i, i, i)
	}
	b.WriteString("chat:\n")
	for i := range 10 {
		fmt.Fprintf(&b, "  chat%d: {message: M%d, when: {page.path: /page%d, time.hour: {$gte: 8, $lt: 20}}, trigger: {idle: 30s}, show: {max: 2, cooldown: 1d}}\n", i, i, i)
	}
	b.WriteString("caps: {per_session: 2, cooldown: 1h, never: {page.path: /checkout/pay}}\n")
	return b.String()
}

func BenchmarkDecide100Rules(b *testing.B) {
	set := mustLoad(b, hundredRules())
	s := newSim(set, "visitor-100")
	s.vis.tz = "Europe/Berlin"
	for i := range 10 {
		s.pageview(fmt.Sprintf("/page%d?utm_source=newsletter&utm_medium=email", i%4))
	}
	slots := make([]string, 10)
	for i := range slots {
		slots[i] = fmt.Sprintf("slot%d", i)
	}
	req := Request{Slots: slots, Now: s.now}
	var d Decisions
	set.Decide(&s.st, &s.hit, req, &d)
	b.ReportAllocs()
	for b.Loop() {
		set.Decide(&s.st, &s.hit, req, &d)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	set, err := Load(exampleFS(b), "rules")
	if err != nil {
		b.Fatal(err)
	}
	s := exampleVisitor(b, set)
	d := s.decide("hero", "cart_message", "checkout_banner", "pricing_offer", "home_returning")
	buf := d.AppendJSON(nil)
	b.ReportAllocs()
	for b.Loop() {
		buf = d.AppendJSON(buf[:0])
	}
}
