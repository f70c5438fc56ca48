package report

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExperimentReference(t *testing.T) {
	res, err := AnalyzeExperiment([]Arm{
		{Name: "control", Exposures: 10000, Conversions: 500},
		{Name: "treatment", Exposures: 10000, Conversions: 570},
	}, "control", 1)
	if err != nil {
		t.Fatalf("AnalyzeExperiment() = %v", err)
	}
	c := res.Arms[1].VsControl
	round := func(x float64, places int) float64 { s := math.Pow(10, float64(places)); return math.Round(x*s) / s }
	checks := []struct {
		name   string
		got    float64
		places int
		want   float64
	}{
		{"z", c.Z.Value, 2, 2.20},
		{"p", c.P.Value, 3, 0.028},
		{"diff low", c.DiffLow.Value, 4, 0.0008},
		{"diff high", c.DiffHigh.Value, 4, 0.0132},
		{"lift", c.Lift.Value, 3, 0.140},
		{"chance to beat", c.ChanceToBeat.Value, 3, 0.986},
		{"chance to be best", res.Arms[1].ChanceToBeBest.Value, 3, 0.986},
	}
	for _, ck := range checks {
		if round(ck.got, ck.places) != ck.want {
			t.Errorf("%s = %v; want %v to %d places", ck.name, ck.got, ck.want, ck.places)
		}
	}
	// The lift's delta-method interval: SE² = p_t(1−p_t)/n_t/p_c² + p_t²·p_c(1−p_c)/n_c/p_c⁴.
	se := math.Sqrt(0.057*0.943/10000/0.0025 + 0.057*0.057*0.05*0.95/10000/(0.05*0.05*0.05*0.05))
	if !near(c.LiftLow.Value, 0.14-1.959963984540054*se, 1e-12) || !near(c.LiftHigh.Value, 0.14+1.959963984540054*se, 1e-12) {
		t.Errorf("lift interval = [%v, %v]; want 0.14 ± 1.96 × %v", c.LiftLow, c.LiftHigh, se)
	}
	if res.BestMethod != "exact" || res.Arms[0].VsControl != nil || res.SRM.Mismatch || res.SRM.P != Some(1) {
		t.Errorf("AnalyzeExperiment() = %+v; want exact best, no comparison for the control, no SRM (p 1)", res)
	}
}

func TestProbBeats(t *testing.T) {
	// Symmetry and known values: equal posteriors → ½; Beta(2,1) vs Beta(1,1):
	// P(U < X) with X ~ Beta(2,1) is 2/3.
	tests := []struct {
		aa, ba, ab, bb, want float64
	}{
		{1, 1, 1, 1, .5},
		{1, 1, 2, 1, 2.0 / 3},
		{2, 1, 1, 1, 1.0 / 3},
		{3, 5, 3, 5, .5},
	}
	for _, tt := range tests {
		if got := ProbBeats(tt.aa, tt.ba, tt.ab, tt.bb); !near(got, tt.want, 1e-13) {
			t.Errorf("ProbBeats(%v, %v, %v, %v) = %v; want %v", tt.aa, tt.ba, tt.ab, tt.bb, got, tt.want)
		}
	}
	if !math.IsNaN(ProbBeats(1, 1, 1.5, 1)) {
		t.Errorf("ProbBeats(αb = 1.5) = a number; want NaN")
	}
	// Against a seeded simulation.
	r := rand.New(rand.NewPCG(3, 4))
	a, b := Arm{Exposures: 300, Conversions: 30}, Arm{Exposures: 250, Conversions: 31}
	wins, n := 0, 400000
	for range n {
		if betaSample(r, 32, 220) > betaSample(r, 31, 271) {
			wins++
		}
	}
	if got, sim := chanceToBeat(a, b), float64(wins)/float64(n); math.Abs(got-sim) > 0.004 {
		t.Errorf("chanceToBeat(30/300, 31/250) = %v; simulation says %v", got, sim)
	}
	if chanceToBeat(b, a)+chanceToBeat(a, b) < 1-1e-12 || chanceToBeat(b, a)+chanceToBeat(a, b) > 1+1e-12 {
		t.Errorf("chanceToBeat both ways does not sum to 1")
	}
}

func TestExperimentManyArmsAndSRM(t *testing.T) {
	arms := []Arm{
		{Name: "a", Exposures: 1000, Conversions: 100},
		{Name: "b", Exposures: 1000, Conversions: 130},
		{Name: "c", Exposures: 1000, Conversions: 90},
	}
	r1, err := AnalyzeExperiment(arms, "a", 7)
	if err != nil {
		t.Fatalf("AnalyzeExperiment() = %v", err)
	}
	r2, _ := AnalyzeExperiment(arms, "a", 7)
	var sum float64
	for i := range r1.Arms {
		sum += r1.Arms[i].ChanceToBeBest.Value
		if r1.Arms[i].ChanceToBeBest != r2.Arms[i].ChanceToBeBest {
			t.Errorf("arm %s: chance to be best %v then %v with the same seed; want equal", r1.Arms[i].Arm, r1.Arms[i].ChanceToBeBest, r2.Arms[i].ChanceToBeBest)
		}
	}
	if r1.BestMethod != "simulation" || !near(sum, 1, 1e-12) || r1.Arms[1].ChanceToBeBest.Value < .9 {
		t.Errorf("AnalyzeExperiment(3 arms) = %+v; want simulated chances summing to 1, b the likely best", r1)
	}
	// Sample ratio: 1000/1100/900 against equal weights: χ² = (0 + 10000 + 10000)/1000 = 20
	// on 2 degrees of freedom, p = e^{−10}.
	arms[1].Exposures, arms[2].Exposures = 1100, 900
	res, _ := AnalyzeExperiment(arms, "a", 1)
	if !near(res.SRM.ChiSquare.Value, 20, 1e-12) || !near(res.SRM.P.Value, math.Exp(-10), 1e-12) || !res.SRM.Mismatch {
		t.Errorf("SRM = %+v; want χ² 20, p e^−10, mismatch", res.SRM)
	}
	// Designed 50/25/25, expected 1000/500/500: 1000/550/450 gives χ² = 2500/500 × 2 = 10,
	// p = e^{−5} ≈ 0.0067: not a mismatch.
	weighted := []Arm{{Name: "a", Exposures: 1000, Weight: 2}, {Name: "b", Exposures: 550, Weight: 1}, {Name: "c", Exposures: 450, Weight: 1}}
	res, _ = AnalyzeExperiment(weighted, "a", 1)
	if !near(res.SRM.ChiSquare.Value, 10, 1e-12) || !near(res.SRM.P.Value, math.Exp(-5), 1e-12) || res.SRM.Mismatch {
		t.Errorf("SRM(weighted) = %+v; want χ² 10, p e^−5, no mismatch", res.SRM)
	}
	for _, bad := range [][]Arm{
		{{Name: "a", Exposures: 1, Conversions: 2}},
		{{Name: "a", Exposures: 1}, {Name: "a", Exposures: 1}},
		{{Name: "b", Exposures: 1}},
	} {
		if _, err := AnalyzeExperiment(bad, "a", 1); err == nil {
			t.Errorf("AnalyzeExperiment(%+v) = nil error; want one", bad)
		}
	}
}

func TestChiSquareSF(t *testing.T) {
	for _, x := range []float64{0.001, 0.5, 1, 3.84, 10, 30, 80} {
		// df 1: erfc(√(x/2)); df 2: e^{−x/2}; df 4: e^{−x/2}(1 + x/2).
		if got, want := ChiSquareSF(x, 1), math.Erfc(math.Sqrt(x/2)); !near(got, want, 1e-13) && math.Abs(got-want) > 1e-300 {
			t.Errorf("ChiSquareSF(%v, 1) = %v; want %v", x, got, want)
		}
		if got, want := ChiSquareSF(x, 2), math.Exp(-x/2); !near(got, want, 1e-13) {
			t.Errorf("ChiSquareSF(%v, 2) = %v; want %v", x, got, want)
		}
		if got, want := ChiSquareSF(x, 4), math.Exp(-x/2)*(1+x/2); !near(got, want, 1e-13) {
			t.Errorf("ChiSquareSF(%v, 4) = %v; want %v", x, got, want)
		}
	}
	if ChiSquareSF(0, 3) != 1 || !math.IsNaN(ChiSquareSF(1, 0)) {
		t.Errorf("ChiSquareSF edge cases wrong")
	}
}

func TestHoldoutLift(t *testing.T) {
	c := HoldoutLift(Arm{Exposures: 2000, Conversions: 120}, Arm{Exposures: 1000, Conversions: 50})
	if !near(c.Lift.Value, .2, 1e-12) || !near(c.Diff.Value, .01, 1e-12) {
		t.Errorf("HoldoutLift(6%% vs 5%%) = %+v; want lift 0.2, diff 0.01", c)
	}
	if z := Compare(Arm{}, Arm{Exposures: 1}); z.Diff.Valid || z.ChanceToBeat.Valid {
		t.Errorf("Compare(no control exposures) = %+v; want undefined", z)
	}
}
