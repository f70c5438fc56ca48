package report

import (
	"slices"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/journey"
)

// visitor returns a journey with the given step arrivals.
func visitor(marks ...journey.StepMark) Journey { return Journey{Steps: marks} }

func TestFunnel(t *testing.T) {
	vcb := []string{"view", "cart", "buy"}
	tests := []struct {
		name         string
		f            Funnel
		js           []Journey
		wantCounts   []int
		wantExcluded int
		wantMean     []float64 // seconds from the previous step, per step after the first; -1 undefined
		wantMedian   []float64
	}{
		{
			name: "ordered",
			f:    Funnel{Steps: vcb},
			js: []Journey{
				visitor(mark(d(1), "view"), mark(d(1.1), "faq"), mark(d(2), "cart"), mark(d(3), "buy")),
				visitor(mark(d(1), "view"), mark(d(2), "buy")),
				visitor(mark(d(1), "cart"), mark(d(2), "view")),
				visitor(mark(d(1), "view"), mark(d(40), "cart")), // after the 30-day window
				visitor(mark(d(1), "view"), mark(d(4), "cart")),
			},
			wantCounts: []int{5, 2, 1},
			wantMean:   []float64{2 * 86400, 86400},
			wantMedian: []float64{2 * 86400, 86400},
		},
		{
			name: "strict: another step breaks the attempt, a repeat does not",
			f:    Funnel{Steps: vcb, Mode: Strict},
			js: []Journey{
				visitor(mark(d(1), "view"), mark(d(1.5), "faq"), mark(d(2), "cart")),
				visitor(mark(d(1), "view"), mark(d(1.25), "view"), mark(d(2), "cart")),
				visitor(mark(d(1), "view"), mark(d(2), "cart"), mark(d(2.5), "view"), mark(d(3), "buy")),
			},
			wantCounts: []int{3, 2, 0},
			wantMean:   []float64{86400, -1},
			wantMedian: []float64{86400, -1},
		},
		{
			name: "ordered on the strict cases",
			f:    Funnel{Steps: vcb},
			js: []Journey{
				visitor(mark(d(1), "view"), mark(d(1.5), "faq"), mark(d(2), "cart")),
				visitor(mark(d(1), "view"), mark(d(1.25), "view"), mark(d(2), "cart")),
				visitor(mark(d(1), "view"), mark(d(2), "cart"), mark(d(2.5), "view"), mark(d(3), "buy")),
			},
			wantCounts: []int{3, 3, 1},
		},
		{
			name: "unordered: later steps in any order after the first",
			f:    Funnel{Steps: vcb, Mode: Unordered},
			js: []Journey{
				visitor(mark(d(1), "view"), mark(d(2), "buy"), mark(d(3), "cart")),
				visitor(mark(d(1), "buy"), mark(d(2), "view"), mark(d(3), "cart")),
			},
			// The first reaches buy when it has done cart too: at d3, 0 s after cart.
			wantCounts: []int{2, 2, 1},
			wantMean:   []float64{1.5 * 86400, 0},
			wantMedian: []float64{1.5 * 86400, 0},
		},
		{
			name:       "ordered on the unordered cases",
			f:          Funnel{Steps: vcb},
			js:         []Journey{visitor(mark(d(1), "view"), mark(d(2), "buy"), mark(d(3), "cart"))},
			wantCounts: []int{1, 1, 0},
		},
		{
			name: "the best attempt counts, with its own times",
			f:    Funnel{Steps: vcb},
			js: []Journey{visitor(
				mark(d(1), "view"), mark(d(2), "cart"),
				mark(d(40), "view"), mark(d(40.5), "cart"), mark(d(41), "buy"),
			)},
			wantCounts: []int{1, 1, 1},
			wantMean:   []float64{43200, 43200},
			wantMedian: []float64{43200, 43200},
		},
		{
			name: "equal attempts: the earliest gives the times",
			f:    Funnel{Steps: vcb},
			js: []Journey{visitor(
				mark(d(1), "view"), mark(d(2), "cart"),
				mark(d(40), "view"), mark(d(40.5), "cart"),
			)},
			wantCounts: []int{1, 1, 0},
			wantMean:   []float64{86400, -1},
		},
		{
			name: "exclusions inside an attempt remove the visitor; outside do not",
			f:    Funnel{Steps: vcb, Exclusions: []string{"refund"}},
			js: []Journey{
				visitor(mark(d(1), "view"), mark(d(1.5), "refund"), mark(d(2), "cart")),
				visitor(mark(d(1), "view"), mark(d(2), "cart"), mark(d(3), "buy"), mark(d(4), "refund")),
				visitor(mark(d(1), "view"), mark(d(40), "refund")),
				visitor(mark(d(0.5), "refund"), mark(d(1), "view")),
			},
			wantCounts:   []int{3, 1, 1},
			wantExcluded: 1,
		},
		{
			name: "window: a custom 1-day window",
			f:    Funnel{Steps: vcb, Window: 24 * time.Hour},
			js: []Journey{
				visitor(mark(d(1), "view"), mark(d(2), "cart"), mark(d(2.5), "buy")),
			},
			// cart exactly one window after view is in; buy is not.
			wantCounts: []int{1, 1, 0},
		},
		{
			name: "period: only attempts starting in it; later steps may fall after it",
			f:    Funnel{Steps: vcb},
			js: []Journey{
				visitor(mark(d(-1), "view"), mark(d(1), "cart")),
				visitor(mark(d(99), "view"), mark(d(101), "cart")),
			},
			wantCounts: []int{1, 1, 0},
		},
		{
			name:       "mean and median over three visitors",
			f:          Funnel{Steps: []string{"view", "cart"}},
			js:         []Journey{visitor(mark(d(1), "view"), mark(d(2), "cart")), visitor(mark(d(1), "view"), mark(d(3), "cart")), visitor(mark(d(1), "view"), mark(d(11), "cart"))},
			wantCounts: []int{3, 3},
			wantMean:   []float64{13.0 / 3 * 86400},
			wantMedian: []float64{2 * 86400},
		},
	}
	for _, tt := range tests {
		res, err := BuildFunnel(tt.js, tt.f, d(0), d(100))
		if err != nil {
			t.Errorf("%s: BuildFunnel() = %v", tt.name, err)
			continue
		}
		var counts []int
		for _, s := range res.Steps {
			counts = append(counts, s.Visitors)
		}
		if !slices.Equal(counts, tt.wantCounts) || res.Excluded != tt.wantExcluded || res.Entered != tt.wantCounts[0] {
			t.Errorf("%s: BuildFunnel() counts %v, excluded %d, entered %d; want %v, %d", tt.name, counts, res.Excluded, res.Entered, tt.wantCounts, tt.wantExcluded)
		}
		checkTimes := func(what string, want []float64, got func(FunnelStep) NullFloat) {
			for k, w := range want {
				g := got(res.Steps[k+1])
				if w < 0 && g.Valid || w >= 0 && (!g.Valid || !near(g.Value, w, 1e-12)) {
					t.Errorf("%s: %s time to step %d = %v; want %v", tt.name, what, k+2, g, w)
				}
			}
		}
		checkTimes("mean", tt.wantMean, func(s FunnelStep) NullFloat { return s.MeanTime })
		checkTimes("median", tt.wantMedian, func(s FunnelStep) NullFloat { return s.MedianTime })
	}
}

func TestFunnelRates(t *testing.T) {
	js := []Journey{
		visitor(mark(d(1), "view"), mark(d(2), "cart"), mark(d(3), "buy")),
		visitor(mark(d(1), "view"), mark(d(2), "cart")),
		visitor(mark(d(1), "view")),
		visitor(mark(d(1), "view")),
	}
	res, err := BuildFunnel(js, Funnel{Steps: []string{"view", "cart", "buy"}}, d(0), d(100))
	if err != nil {
		t.Fatalf("BuildFunnel() = %v", err)
	}
	want := []FunnelStep{
		{Step: "view", Visitors: 4, FromFirst: Some(1)},
		{Step: "cart", Visitors: 2, FromPrevious: Some(.5), FromFirst: Some(.5), DropOff: 2, MeanTime: Some(86400), MedianTime: Some(86400)},
		{Step: "buy", Visitors: 1, FromPrevious: Some(.5), FromFirst: Some(.25), DropOff: 1, MeanTime: Some(86400), MedianTime: Some(86400)},
	}
	if !slices.Equal(res.Steps, want) {
		t.Errorf("BuildFunnel() steps = %+v; want %+v", res.Steps, want)
	}
	empty, err := BuildFunnel(nil, Funnel{Steps: []string{"view", "cart"}}, d(0), d(100))
	if err != nil || empty.Steps[1].FromPrevious.Valid || empty.Steps[0].FromFirst.Valid {
		t.Errorf("BuildFunnel(no visitors) = %+v, %v; want undefined rates", empty, err)
	}
}

func TestFunnelBreakdown(t *testing.T) {
	js := []Journey{
		{
			Touches: []journey.Touchpoint{tp(d(0.9), "Email", ""), tp(d(5), "Paid Search", "")},
			Steps:   []journey.StepMark{mark(d(1), "view"), mark(d(5.1), "cart")},
			Arms:    []journey.Assignment{{Experiment: "hero", Variant: "b"}},
		},
		{
			Touches:  []journey.Touchpoint{tp(d(0.9), "Paid Search", "")},
			Steps:    []journey.StepMark{mark(d(1), "view")},
			Segments: []string{"vip", "new"},
		},
	}
	f := Funnel{Steps: []string{"view", "cart"}}
	tests := []struct {
		dim  Dimension
		want map[string][]int
	}{
		// The channel of the session the best attempt started in.
		{DimChannel, map[string][]int{"Email": {1, 1}, "Paid Search": {1, 0}}},
		{DimSegment, map[string][]int{NoneKey: {1, 1}, "vip": {1, 0}, "new": {1, 0}}},
		{DimDevice, map[string][]int{"unknown": {2, 1}}},
		{DimCountry, map[string][]int{UnknownKey: {2, 1}}},
		{ArmDimension("hero"), map[string][]int{"b": {1, 1}, NoneKey: {1, 0}}},
	}
	for _, tt := range tests {
		f.Breakdown = tt.dim
		res, err := BuildFunnel(js, f, d(0), d(100))
		if err != nil {
			t.Fatalf("BuildFunnel(%s) = %v", tt.dim, err)
		}
		got := make(map[string][]int)
		for _, g := range res.Groups {
			for _, s := range g.Steps {
				got[g.Key] = append(got[g.Key], s.Visitors)
			}
		}
		if len(got) != len(tt.want) {
			t.Errorf("BuildFunnel(%s) groups = %v; want %v", tt.dim, got, tt.want)
		}
		for k, w := range tt.want {
			if !slices.Equal(got[k], w) {
				t.Errorf("BuildFunnel(%s) group %q = %v; want %v", tt.dim, k, got[k], w)
			}
		}
	}
}

func TestFunnelErrors(t *testing.T) {
	for _, f := range []Funnel{
		{},
		{Steps: []string{"a", "a"}},
		{Steps: []string{"a", "b"}, Exclusions: []string{"b"}},
		{Steps: []string{"a"}, Mode: "loose"},
		{Steps: []string{"a"}, Window: -time.Hour},
		{Steps: []string{"a"}, Breakdown: "browser"},
		{Steps: []string{"a"}, Breakdown: "arm:"},
	} {
		if _, err := BuildFunnel(nil, f, 0, 1); err == nil {
			t.Errorf("BuildFunnel(%+v) = nil error; want one", f)
		}
	}
	if _, err := BuildFunnel(nil, Funnel{Steps: []string{"a"}}, 1, 1); err == nil {
		t.Errorf("BuildFunnel(empty period) = nil error; want one")
	}
}
