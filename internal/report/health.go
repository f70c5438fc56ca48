package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Step health thresholds and sizes.
const (
	BaselineWeeks    = 8     // weeks before the current one that form the baseline
	MinBaselineWeeks = 4     // fewer baseline weeks with visitors is insufficient data
	MinVisitors      = 30    // fewer visitors at the step this week is insufficient data
	d2               = 1.128 // the bias constant d₂ of moving ranges of two
	z95              = 1.959963984540054
)

// HealthStatus is the verdict of a step's control chart.
type HealthStatus string

// The statuses.
const (
	Healthy          HealthStatus = "healthy"           // z′ ≥ −2
	NeedsAttention   HealthStatus = "attention"         // −3 ≤ z′ < −2
	Broken           HealthStatus = "broken"            // z′ < −3
	InsufficientData HealthStatus = "insufficient_data" // too few visitors or baseline weeks, or no variation
)

// Rate is one week of a step transition: the visitors at the step and how many of them
// reached the next.
type Rate struct {
	N int `json:"n"`
	X int `json:"x"`
}

// Chart is a Laney p′ control chart of the current week against its baseline.
type Chart struct {
	Visitors  int       `json:"visitors"`  // current week's n
	Converted int       `json:"converted"` // current week's x
	Rate      NullFloat `json:"rate"`      // p = x / n
	// Low and High bound the Wilson 95% interval of the current rate.
	Low  NullFloat `json:"low"`
	High NullFloat `json:"high"`
	// Baseline is p̄, pooled over the baseline weeks: Σx / Σn.
	Baseline      NullFloat `json:"baseline"`
	BaselineWeeks int       `json:"baseline_weeks"` // baseline weeks with visitors
	// SigmaZ is σ_z: the mean moving range of the baseline weeks' z-scores over 1.128.
	SigmaZ NullFloat `json:"sigma_z"`
	// Z is z′ = (p − p̄) / (σ · σ_z) with σ = √(p̄(1−p̄)/n).
	Z      NullFloat    `json:"z"`
	Status HealthStatus `json:"status"`
	Reason string       `json:"reason,omitempty"` // why the data is insufficient
}

// Laney computes the p′ chart of current against the baseline weeks, oldest first. Weeks
// without visitors are skipped; moving ranges are taken between consecutive weeks that have
// visitors.
func Laney(current Rate, baseline []Rate) Chart {
	c := Chart{Visitors: current.N, Converted: current.X}
	c.Rate = ratio(float64(current.X), float64(current.N))
	c.Low, c.High = Wilson(current.X, current.N)
	var sx, sn int
	for _, w := range baseline {
		if w.N > 0 {
			c.BaselineWeeks++
			sx += w.X
			sn += w.N
		}
	}
	c.Baseline = ratio(float64(sx), float64(sn))
	switch {
	case current.N < MinVisitors:
		c.Status, c.Reason = InsufficientData, fmt.Sprintf("%d visitors this week, fewer than %d", current.N, MinVisitors)
	case c.BaselineWeeks < MinBaselineWeeks:
		c.Status, c.Reason = InsufficientData, fmt.Sprintf("%d baseline weeks with visitors, fewer than %d", c.BaselineWeeks, MinBaselineWeeks)
	}
	if !c.Baseline.Valid {
		return c
	}
	pbar := c.Baseline.Value
	v := pbar * (1 - pbar)
	if v == 0 {
		if c.Status == "" {
			c.Status, c.Reason = InsufficientData, "the baseline rate is 0 or 1: no variation to judge by"
		}
		return c
	}
	var (
		mr    float64
		nmr   int
		prevZ float64
		first = true
	)
	for _, w := range baseline {
		if w.N == 0 {
			continue
		}
		z := (float64(w.X)/float64(w.N) - pbar) / math.Sqrt(v/float64(w.N))
		if !first {
			mr += math.Abs(z - prevZ)
			nmr++
		}
		prevZ, first = z, false
	}
	if nmr > 0 {
		c.SigmaZ = Some(mr / float64(nmr) / d2)
	}
	if !c.SigmaZ.Valid || c.SigmaZ.Value == 0 {
		if c.Status == "" {
			c.Status, c.Reason = InsufficientData, "the baseline weeks do not vary: no spread to judge by"
		}
		return c
	}
	if current.N > 0 {
		sigma := math.Sqrt(v / float64(current.N))
		c.Z = Some((c.Rate.Value - pbar) / (sigma * c.SigmaZ.Value))
	}
	if c.Status != "" || !c.Z.Valid {
		return c
	}
	switch z := c.Z.Value; {
	case z >= -2:
		c.Status = Healthy
	case z >= -3:
		c.Status = NeedsAttention
	default:
		c.Status = Broken
	}
	return c
}

// Wilson returns the Wilson score 95% interval of x successes in n trials, undefined for
// n = 0.
func Wilson(x, n int) (low, high NullFloat) {
	if n <= 0 {
		return NullFloat{}, NullFloat{}
	}
	p, fn := float64(x)/float64(n), float64(n)
	z2 := z95 * z95
	d := 1 + z2/fn
	centre := (p + z2/(2*fn)) / d
	half := z95 / d * math.Sqrt(p*(1-p)/fn+z2/(4*fn*fn))
	return Some(math.Max(0, centre-half)), Some(math.Min(1, centre+half))
}

// TransitionHealth is the health of one funnel transition and what its drop costs.
type TransitionHealth struct {
	From string `json:"from"`
	To   string `json:"to"`
	Chart
	// Lost is the visitors lost this week against the baseline rate: max(0, n·(p̄ − p)).
	Lost float64 `json:"lost"`
	// Intent is the baseline probability that a visitor who made this transition goes on
	// to complete the funnel: the product of the later transitions' baseline rates (1 for
	// the last transition).
	Intent NullFloat `json:"intent"`
	// Score is Lost × Intent: the funnel completions lost this week.
	Score NullFloat `json:"score"`
}

// HealthReport is the step health report of a funnel.
type HealthReport struct {
	Transitions []TransitionHealth `json:"transitions"`
	// FixFirst lists the transitions that lost visitors, with sufficient data, by Score
	// descending (later transitions first among equals).
	FixFirst []TransitionHealth `json:"fix_first"`
}

// StepHealth judges each transition of a funnel this week against the weeks before. current
// is this week's funnel and baseline the weeks before it, oldest first (the last
// BaselineWeeks are used); all must have the same steps. Transition k goes from step k to
// step k+1: its n is step k's visitors and its x step k+1's.
func StepHealth(current *FunnelResult, baseline []*FunnelResult) (*HealthReport, error) {
	if len(baseline) > BaselineWeeks {
		baseline = baseline[len(baseline)-BaselineWeeks:]
	}
	m := len(current.Steps)
	for i, b := range baseline {
		if len(b.Steps) != m {
			return nil, fmt.Errorf("step health: baseline week %d has %d steps, the current week %d", i+1, len(b.Steps), m)
		}
		for k := range b.Steps {
			if b.Steps[k].Step != current.Steps[k].Step {
				return nil, fmt.Errorf("step health: baseline week %d step %d is %q, the current week's %q", i+1, k+1, b.Steps[k].Step, current.Steps[k].Step)
			}
		}
	}
	res := &HealthReport{Transitions: []TransitionHealth{}, FixFirst: []TransitionHealth{}}
	if m < 2 {
		return res, nil
	}
	weeks := make([]Rate, len(baseline))
	for k := range m - 1 {
		for i, b := range baseline {
			weeks[i] = Rate{N: b.Steps[k].Visitors, X: b.Steps[k+1].Visitors}
		}
		cur := Rate{N: current.Steps[k].Visitors, X: current.Steps[k+1].Visitors}
		t := TransitionHealth{From: current.Steps[k].Step, To: current.Steps[k+1].Step, Chart: Laney(cur, weeks)}
		if t.Baseline.Valid && t.Rate.Valid {
			t.Lost = math.Max(0, float64(cur.N)*(t.Baseline.Value-t.Rate.Value))
		}
		res.Transitions = append(res.Transitions, t)
	}
	// Intent, from the last transition backwards.
	intent := Some(1)
	for k := len(res.Transitions) - 1; k >= 0; k-- {
		t := &res.Transitions[k]
		t.Intent = intent
		if intent.Valid {
			t.Score = Some(t.Lost * intent.Value)
		}
		if t.Baseline.Valid && intent.Valid {
			intent = Some(intent.Value * t.Baseline.Value)
		} else {
			intent = NullFloat{}
		}
	}
	for k := len(res.Transitions) - 1; k >= 0; k-- {
		if t := res.Transitions[k]; t.Status != InsufficientData && t.Lost > 0 && t.Score.Valid {
			res.FixFirst = append(res.FixFirst, t)
		}
	}
	slices.SortStableFunc(res.FixFirst, func(a, b TransitionHealth) int {
		return cmp.Compare(b.Score.Value, a.Score.Value)
	})
	return res, nil
}
