package report

import (
	"fmt"
	"math"
)

// SRMThreshold is the p-value below which the arms' exposures are flagged as a sample ratio
// mismatch: traffic was not split as designed, and the comparison cannot be trusted.
const SRMThreshold = 0.001

// Arm is one arm of an experiment (or the holdout or exposed group of a prompt).
type Arm struct {
	Name        string
	Exposures   int
	Conversions int
	// Weight is the arm's designed share of traffic, for the sample ratio check; arms
	// without weights are expected to be equal.
	Weight float64
}

// Comparison compares a treatment arm with a control.
type Comparison struct {
	// Diff is p_t − p_c.
	Diff NullFloat `json:"diff"`
	// DiffLow and DiffHigh bound its 95% interval with the unpooled standard error
	// √(p_c(1−p_c)/n_c + p_t(1−p_t)/n_t).
	DiffLow  NullFloat `json:"diff_low"`
	DiffHigh NullFloat `json:"diff_high"`
	// Z is Diff over the pooled standard error √(p̂(1−p̂)(1/n_c + 1/n_t)), p̂ = (x_c+x_t) /
	// (n_c+n_t); P is its two-sided p-value.
	Z NullFloat `json:"z"`
	P NullFloat `json:"p"`
	// Lift is p_t/p_c − 1; LiftLow and LiftHigh bound its 95% delta-method interval, with
	// Var ≈ Var(p_t)/p_c² + p_t²·Var(p_c)/p_c⁴.
	Lift     NullFloat `json:"lift"`
	LiftLow  NullFloat `json:"lift_low"`
	LiftHigh NullFloat `json:"lift_high"`
	// ChanceToBeat is P(θ_t > θ_c) with Beta(1+x, 1+n−x) posteriors, computed exactly.
	ChanceToBeat NullFloat `json:"chance_to_beat"`
}

// Compare compares treatment with control.
func Compare(control, treatment Arm) Comparison {
	var c Comparison
	nc, nt := float64(control.Exposures), float64(treatment.Exposures)
	if nc <= 0 || nt <= 0 {
		return c
	}
	pc, pt := float64(control.Conversions)/nc, float64(treatment.Conversions)/nt
	c.Diff = Some(pt - pc)
	se := math.Sqrt(pc*(1-pc)/nc + pt*(1-pt)/nt)
	c.DiffLow, c.DiffHigh = Some(pt-pc-z95*se), Some(pt-pc+z95*se)
	pool := float64(control.Conversions+treatment.Conversions) / (nc + nt)
	if sp := math.Sqrt(pool * (1 - pool) * (1/nc + 1/nt)); sp > 0 {
		c.Z = Some((pt - pc) / sp)
		c.P = Some(2 * normalSF(math.Abs(c.Z.Value)))
	}
	if pc > 0 {
		c.Lift = Some(pt/pc - 1)
		v := pt*(1-pt)/nt/(pc*pc) + pt*pt*pc*(1-pc)/nc/(pc*pc*pc*pc)
		sl := math.Sqrt(v)
		c.LiftLow, c.LiftHigh = Some(c.Lift.Value-z95*sl), Some(c.Lift.Value+z95*sl)
	}
	if validArm(control) && validArm(treatment) {
		c.ChanceToBeat = Some(chanceToBeat(control, treatment))
	}
	return c
}

// validArm reports whether an arm's counts make a posterior.
func validArm(a Arm) bool {
	return a.Exposures > 0 && a.Conversions >= 0 && a.Conversions <= a.Exposures
}

// HoldoutLift compares the visitors who saw a survey or chat prompt with the holdout: the
// visitors who would have seen it but were held back.
func HoldoutLift(exposed, holdout Arm) Comparison { return Compare(holdout, exposed) }

// ArmResult is one arm's figures.
type ArmResult struct {
	Arm         string    `json:"arm"`
	Exposures   int       `json:"exposures"`
	Conversions int       `json:"conversions"`
	Rate        NullFloat `json:"rate"`
	// Low and High bound the Wilson 95% interval of the rate.
	Low  NullFloat `json:"low"`
	High NullFloat `json:"high"`
	// VsControl compares the arm with the control; nil for the control itself.
	VsControl *Comparison `json:"vs_control,omitempty"`
	// ChanceToBeBest is the probability that the arm has the highest rate.
	ChanceToBeBest NullFloat `json:"chance_to_be_best"`
}

// SRM is the sample ratio mismatch check: a χ² goodness-of-fit test of the exposures
// against the designed split.
type SRM struct {
	ChiSquare NullFloat `json:"chi_square"`
	DF        int       `json:"df"`
	P         NullFloat `json:"p"`
	Mismatch  bool      `json:"mismatch"` // P < SRMThreshold
}

// ExperimentResult is the experiment report.
type ExperimentResult struct {
	Control string      `json:"control"`
	Arms    []ArmResult `json:"arms"`
	SRM     SRM         `json:"srm"`
	// BestMethod says how ChanceToBeBest was computed: "exact" for two arms, "simulation"
	// (seeded posterior draws) for more.
	BestMethod string `json:"best_method"`
}

// AnalyzeExperiment computes per-arm rates, each arm against the control, the chance of each
// arm to be best and the sample ratio check. seed makes the simulation reproducible.
func AnalyzeExperiment(arms []Arm, control string, seed uint64) (*ExperimentResult, error) {
	ci := -1
	seen := make(map[string]bool, len(arms))
	for i, a := range arms {
		if seen[a.Name] {
			return nil, fmt.Errorf("experiment: arm %q appears twice", a.Name)
		}
		seen[a.Name] = true
		if a.Exposures < 0 || a.Conversions < 0 || a.Conversions > a.Exposures {
			return nil, fmt.Errorf("experiment: arm %q: %d conversions of %d exposures: want 0 ≤ conversions ≤ exposures", a.Name, a.Conversions, a.Exposures)
		}
		if a.Weight < 0 || math.IsNaN(a.Weight) || math.IsInf(a.Weight, 0) {
			return nil, fmt.Errorf("experiment: arm %q: weight %v: want a share of at least 0", a.Name, a.Weight)
		}
		if a.Name == control {
			ci = i
		}
	}
	if ci < 0 {
		return nil, fmt.Errorf("experiment: control arm %q not among the arms", control)
	}
	res := &ExperimentResult{Control: control, SRM: sampleRatio(arms)}
	for i, a := range arms {
		r := ArmResult{Arm: a.Name, Exposures: a.Exposures, Conversions: a.Conversions}
		r.Rate = ratio(float64(a.Conversions), float64(a.Exposures))
		r.Low, r.High = Wilson(a.Conversions, a.Exposures)
		if i != ci {
			c := Compare(arms[ci], a)
			r.VsControl = &c
		}
		res.Arms = append(res.Arms, r)
	}
	switch {
	case len(arms) == 2:
		res.BestMethod = "exact"
		other := 1 - ci
		if validArm(arms[0]) && validArm(arms[1]) {
			p := chanceToBeat(arms[ci], arms[other])
			res.Arms[other].ChanceToBeBest = Some(p)
			res.Arms[ci].ChanceToBeBest = Some(1 - p)
		}
	case len(arms) > 2:
		res.BestMethod = "simulation"
		for _, a := range arms {
			if !validArm(a) {
				return res, nil
			}
		}
		for i, p := range chanceToBeBest(arms, DefaultDraws, seed) {
			res.Arms[i].ChanceToBeBest = Some(p)
		}
	}
	return res, nil
}

// sampleRatio tests the arms' exposures against their weights (equal when none is set):
// χ² = Σ (O − E)² / E with E = N·w/Σw, on k−1 degrees of freedom.
func sampleRatio(arms []Arm) SRM {
	s := SRM{DF: len(arms) - 1}
	var n, wsum float64
	equal := true
	for _, a := range arms {
		n += float64(a.Exposures)
		wsum += a.Weight
		if a.Weight != 0 {
			equal = false
		}
	}
	if n == 0 || s.DF < 1 || (!equal && wsum == 0) {
		return s
	}
	var chi float64
	for _, a := range arms {
		w := 1 / float64(len(arms))
		if !equal {
			w = a.Weight / wsum
		}
		e := n * w
		if e == 0 {
			if a.Exposures > 0 {
				// Traffic where none was designed: an infinite statistic.
				s.P, s.Mismatch = Some(0), true
				return s
			}
			continue
		}
		d := float64(a.Exposures) - e
		chi += d * d / e
	}
	s.ChiSquare = Some(chi)
	s.P = Some(ChiSquareSF(chi, s.DF))
	s.Mismatch = s.P.Value < SRMThreshold
	return s
}
