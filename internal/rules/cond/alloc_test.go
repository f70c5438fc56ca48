//go:build !race

package cond

import "testing"

// TestEvalNoAllocs guards the decision path: evaluating a condition on a typed context
// allocates nothing, whatever the operators. (The race detector adds allocations, hence
// the build tag.)
func TestEvalNoAllocs(t *testing.T) {
	conds := []string{
		"{page.path: /pricing, session.channel: {$in: [Paid Social, Paid Search]}, visitor.pageviews: {$gte: 3}}",
		"{device.user_agent: {$regex: (iPhone|Android).*Mobile}}",
		"{visitor.traits.plan: {$regexi: ^PRO}}",
		"{session.channel: {$ini: [PAID SOCIAL, email]}, visitor.segments: {$nini: [CHURNED]}}",
		"{session.channel: {$in: [a, b, c, d, e, f, g, h, i, Paid Social]}}", // hashed set
		"{visitor.segments: {$alli: [HIGH-INTENT], $size: {$gte: 1}}}",
		"{visitor.segments: {$elemMatch: {$eq: returning}}}",
		"{app.version: {$vgte: 2.9.0, $vlt: v3.0.0-rc.1}}",
		"{visitor.pageviews: '4', page.path: {$ne: /}, visitor.traits.plan: {$exists: true}}",
		"{visitor.pageviews: {$gt: '3', $lt: '10'}}", // loose comparisons
		"{$or: [{page.path: /}, {$not: {visitor.pageviews: 0}}], $nor: [{session.channel: Email}]}",
		"{visitor.last_seen: {$within: 14d, $before: 1h, $after: 2025-01-01}}",
		"{$sequence: {steps: [viewed_pricing, started_trial, invited_team], within: 7d}}",
		"{$count: {step: viewed_pricing, within: 7d, $gte: 2}}",
	}
	v := pricingVisit()
	for _, src := range conds {
		c := compileVisit(t, src)
		if !c.Eval(v) {
			t.Errorf("Eval(%s) = false; want true", src)
		}
		if got := testing.AllocsPerRun(100, func() { c.Eval(v) }); got != 0 {
			t.Errorf("Eval(%s): AllocsPerRun = %v; want 0", src, got)
		}
	}
}
