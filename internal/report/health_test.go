package report

import (
	"math"
	"strings"
	"testing"
)

func TestWilson(t *testing.T) {
	tests := []struct {
		x, n      int
		low, high float64
	}{
		{20, 100, 0.13336693333103253, 0.28882916559315885},
		{0, 10, 0, 0.2775327998628892},
		{10, 10, 0.7224672001371107, 1},
	}
	for _, tt := range tests {
		lo, hi := Wilson(tt.x, tt.n)
		if !near(lo.Value, tt.low, 1e-12) || !near(hi.Value, tt.high, 1e-12) {
			t.Errorf("Wilson(%d, %d) = [%v, %v]; want [%v, %v]", tt.x, tt.n, lo, hi, tt.low, tt.high)
		}
	}
	if lo, hi := Wilson(0, 0); lo.Valid || hi.Valid {
		t.Errorf("Wilson(0, 0) = [%v, %v]; want undefined", lo, hi)
	}
}

func TestLaney(t *testing.T) {
	// p̄ = 0.5; σ_i = 0.05; z = 0, −2, 2, 0; moving ranges 2, 4, 2: σ_z = (8/3)/1.128.
	base := []Rate{{100, 50}, {100, 40}, {100, 60}, {100, 50}}
	sigmaZ := 8.0 / 3 / 1.128
	tests := []struct {
		name       string
		cur        Rate
		base       []Rate
		wantZ      NullFloat
		wantStatus HealthStatus
		wantReason string
	}{
		{"healthy", Rate{100, 40}, base, Some(-2 / sigmaZ), Healthy, ""},
		{"better than usual", Rate{100, 70}, base, Some(4 / sigmaZ), Healthy, ""},
		{"needs attention", Rate{100, 20}, base, Some(-6 / sigmaZ), NeedsAttention, ""},
		{"broken", Rate{100, 10}, base, Some(-8 / sigmaZ), Broken, ""},
		{"empty baseline weeks are skipped", Rate{100, 20}, []Rate{{100, 50}, {0, 0}, {100, 40}, {100, 60}, {100, 50}}, Some(-6 / sigmaZ), NeedsAttention, ""},
		// z′ is still shown: (0 − 0.5) / (√(0.25/29) · σ_z) = −√29 / σ_z.
		{"too few visitors", Rate{29, 0}, base, Some(-math.Sqrt(29) / sigmaZ), InsufficientData, "29 visitors"},
		{"too few baseline weeks", Rate{100, 20}, base[:3], Some(-6 / (3.0 / 1.128)), InsufficientData, "3 baseline weeks"},
		{"no variation in rate", Rate{100, 20}, []Rate{{100, 0}, {100, 0}, {100, 0}, {100, 0}}, NullFloat{}, InsufficientData, "rate is 0 or 1"},
		{"no spread between weeks", Rate{100, 20}, []Rate{{100, 50}, {100, 50}, {100, 50}, {100, 50}}, NullFloat{}, InsufficientData, "do not vary"},
	}
	for _, tt := range tests {
		c := Laney(tt.cur, tt.base)
		if c.Z.Valid != tt.wantZ.Valid || !near(c.Z.Value, tt.wantZ.Value, 1e-12) || c.Status != tt.wantStatus || !strings.Contains(c.Reason, tt.wantReason) {
			t.Errorf("%s: Laney(%v) = z′ %v, %s (%s); want %v, %s (%s)", tt.name, tt.cur, c.Z, c.Status, c.Reason, tt.wantZ, tt.wantStatus, tt.wantReason)
		}
	}
	c := Laney(Rate{100, 20}, base)
	if c.Baseline != Some(.5) || c.BaselineWeeks != 4 || !near(c.SigmaZ.Value, sigmaZ, 1e-15) || c.Rate != Some(.2) {
		t.Errorf("Laney() = %+v; want p̄ 0.5 over 4 weeks, σ_z %v, rate 0.2", c, sigmaZ)
	}
}

// weekFunnel returns a funnel result with the given visitors per step.
func weekFunnel(counts ...int) *FunnelResult {
	names := []string{"view", "cart", "buy"}
	f := &FunnelResult{}
	for i, c := range counts {
		f.Steps = append(f.Steps, FunnelStep{Step: names[i], Visitors: c})
	}
	return f
}

func TestStepHealth(t *testing.T) {
	baseline := []*FunnelResult{
		weekFunnel(100, 100, 100), // nine weeks ago: outside the baseline
		weekFunnel(0, 0, 0), weekFunnel(0, 0, 0), weekFunnel(0, 0, 0), weekFunnel(0, 0, 0),
		weekFunnel(100, 50, 25), weekFunnel(100, 40, 16), weekFunnel(100, 60, 36), weekFunnel(100, 50, 25),
	}
	res, err := StepHealth(weekFunnel(100, 40, 10), baseline)
	if err != nil {
		t.Fatalf("StepHealth() = %v", err)
	}
	// view → cart: p̄ 0.5, p 0.4, z′ −2/σ_z: healthy; lost 10; intent = p̄(cart → buy) = 102/200.
	// cart → buy: p̄ 0.51, p 0.25, z′ −1.99757…: healthy; lost 40 × 0.26 = 10.4; intent 1.
	t0, t1 := res.Transitions[0], res.Transitions[1]
	if t0.Status != Healthy || !near(t0.Lost, 10, 1e-12) || !near(t0.Intent.Value, .51, 1e-15) || !near(t0.Score.Value, 5.1, 1e-12) {
		t.Errorf("view → cart = %+v; want healthy, lost 10, intent 0.51, score 5.1", t0)
	}
	if t1.Status != Healthy || !near(t1.Z.Value, -1.9975748806581386, 1e-12) || !near(t1.Lost, 10.4, 1e-12) || t1.Intent != Some(1) {
		t.Errorf("cart → buy = %+v; want healthy, z′ −1.99757, lost 10.4, intent 1", t1)
	}
	if len(res.FixFirst) != 2 || res.FixFirst[0].From != "cart" || res.FixFirst[1].From != "view" {
		t.Errorf("fix first = %+v; want cart → buy, then view → cart", res.FixFirst)
	}
	// A week with too few carts is not ranked.
	res, _ = StepHealth(weekFunnel(100, 20, 10), baseline)
	if res.Transitions[1].Status != InsufficientData || len(res.FixFirst) != 1 || res.FixFirst[0].From != "view" || res.Transitions[0].Status != NeedsAttention {
		t.Errorf("StepHealth(20 carts) = %+v; want cart → buy insufficient, view → cart needing attention and ranked alone", res)
	}
	if _, err := StepHealth(weekFunnel(1, 1), baseline); err == nil {
		t.Errorf("StepHealth(mismatched steps) = nil error; want one")
	}
}
