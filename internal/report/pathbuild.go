package report

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/pathlight/pathlight/internal/journey"
)

// DefaultLookback is how far before a conversion touchpoints are credited, unless the
// conversion step sets its own lookback.
const DefaultLookback = 30 * 24 * time.Hour

// PathOptions say which conversions a path report counts and which touchpoints each credits.
type PathOptions struct {
	// From and To bound the period, Unix ms, [From, To). A conversion belongs to the period
	// of its time; a non-converting journey to the period in which its lookback expires. The
	// journeys must be complete up to To: a later touch or conversion would change which
	// journeys expired.
	From, To int64
	// Lookback is the default window before a conversion; zero means DefaultLookback. It
	// also decides when a journey without conversion expires.
	Lookback time.Duration
	// StepLookback overrides Lookback for the conversions of a step.
	StepLookback map[string]time.Duration
	// Steps are the conversion steps counted; empty counts every conversion.
	Steps []string
	// KeepRepeats keeps consecutive touchpoints of the same channel as separate path
	// positions; by default they collapse into one.
	KeepRepeats bool
	// FirstOnly counts only each visitor's first counted conversion (new customers), and
	// non-converting journeys only before it.
	FirstOnly bool
}

// validate reports options that cannot describe a period or a window.
func (o *PathOptions) validate() error {
	if o.To <= o.From {
		return fmt.Errorf("period: to (%d) must be after from (%d)", o.To, o.From)
	}
	if o.Lookback < 0 {
		return fmt.Errorf("lookback %v: must not be negative", o.Lookback)
	}
	for s, d := range o.StepLookback {
		if d <= 0 {
			return fmt.Errorf("lookback of step %q: %v must be positive", s, d)
		}
	}
	return nil
}

// lookback returns the window of conversions of step, in ms.
func (o *PathOptions) lookback(step string) int64 {
	if d, ok := o.StepLookback[step]; ok {
		return d.Milliseconds()
	}
	return o.LookbackMS()
}

// LookbackMS returns Lookback or its default, in ms: how far before a conversion touches
// count, unless StepLookback says otherwise for its step.
func (o *PathOptions) LookbackMS() int64 {
	if o.Lookback == 0 {
		return DefaultLookback.Milliseconds()
	}
	return o.Lookback.Milliseconds()
}

// counts reports whether conversions of step count.
func (o *PathOptions) counts(step string) bool {
	return len(o.Steps) == 0 || slices.Contains(o.Steps, step)
}

// conversionTimes appends the times of j's counted conversions, sorted, to dst.
func (o *PathOptions) conversionTimes(cs []journey.Conversion, dst []int64) []int64 {
	dst = dst[:0]
	for i := range cs {
		if o.counts(cs[i].Step) {
			dst = append(dst, cs[i].At)
		}
	}
	slices.Sort(dst)
	return dst
}

// eachConversion calls fn for each counted conversion of a journey in the period, with the
// touches in its lookback window. ts and cs are the journey's touches and conversions,
// sorted; earlier is its EarlierConversions.
func (o *PathOptions) eachConversion(ts []journey.Touchpoint, cs []journey.Conversion, earlier int, fn func(c *journey.Conversion, win []journey.Touchpoint)) {
	if o.FirstOnly && earlier > 0 {
		return
	}
	for i := range cs {
		c := &cs[i]
		if !o.counts(c.Step) {
			continue
		}
		if c.At >= o.From && c.At < o.To {
			fn(c, window(ts, c.At, o.lookback(c.Step)))
		}
		if o.FirstOnly {
			return
		}
	}
}

// eachNull calls fn for each journey of the visitor that ended without a counted conversion
// and whose lookback expired in the period, with its touches.
//
// Touch i ends a journey when no touch follows within the lookback L (the next touch starts
// at least L later, or there is none). The journey expires at E = t_i + L and counts as
// non-converting when no counted conversion happened in [t_i, E). Its touches are those in
// (t_i − L, t_i] that came after the visitor's last conversion before t_i. With FirstOnly, a
// visitor who has converted before E (or has earlier conversions) has no more non-converting
// journeys.
func (o *PathOptions) eachNull(ts []journey.Touchpoint, convs []int64, earlier int, fn func(win []journey.Touchpoint)) {
	if o.FirstOnly && earlier > 0 {
		return
	}
	l := o.LookbackMS()
	for i := range ts {
		t := ts[i].StartedAt
		if i+1 < len(ts) && ts[i+1].StartedAt-t < l {
			continue
		}
		e := t + l
		if e < o.From || e >= o.To {
			continue
		}
		next := sort.Search(len(convs), func(k int) bool { return convs[k] >= t })
		if next < len(convs) && convs[next] < e {
			continue
		}
		if o.FirstOnly && len(convs) > 0 && convs[0] < e {
			continue
		}
		after := t - l
		if next > 0 {
			after = max(after, convs[next-1])
		}
		lo := sort.Search(i+1, func(k int) bool { return ts[k].StartedAt > after })
		fn(ts[lo : i+1])
	}
}

// BuildPaths aggregates journeys into a path table: one converting journey per counted
// conversion in the period, one non-converting journey per journey that expired in the
// period (see PathOptions), and the campaign weights of the converting journeys. Rows are
// sorted (see PathTable.Sort).
func BuildPaths(js []Journey, o PathOptions) (*PathTable, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("build paths: %w", err)
	}
	t := &PathTable{}
	var (
		pos   []position
		path  []string
		times []int64
	)
	for k := range js {
		ts := sortedTouches(js[k].Touches)
		cs := sortedConversions(js[k].Conversions)
		o.eachConversion(ts, cs, js[k].EarlierConversions, func(c *journey.Conversion, win []journey.Touchpoint) {
			pos = positions(win, o.KeepRepeats, pos)
			path = pathOf(pos, path)
			v := valueOf(c)
			t.Add(path, 1, v, 0)
			addCampaigns(t, win, pos, 1, v)
		})
		times = o.conversionTimes(cs, times)
		o.eachNull(ts, times, js[k].EarlierConversions, func(win []journey.Touchpoint) {
			pos = positions(win, o.KeepRepeats, pos)
			t.Add(pathOf(pos, path), 0, 0, 1)
		})
	}
	t.Sort()
	return t, nil
}

// pathOf returns the channels of positions, or the Unassigned path when there are none.
func pathOf(pos []position, dst []string) []string {
	dst = dst[:0]
	for _, p := range pos {
		dst = append(dst, p.channel)
	}
	if len(dst) == 0 {
		dst = append(dst, Unassigned)
	}
	return dst
}

// addCampaigns adds the linear credit of one converting journey to the campaign weights:
// each position gets 1/P, shared equally by the touches of its run.
func addCampaigns(t *PathTable, win []journey.Touchpoint, pos []position, conv, value float64) {
	if len(pos) == 0 {
		t.AddCampaign(Unassigned, NotSet, conv, value)
		return
	}
	share := 1 / float64(len(pos))
	for _, p := range pos {
		n := float64(p.last - p.first + 1)
		for i := p.first; i <= p.last; i++ {
			t.AddCampaign(p.channel, campaignOf(&win[i]), conv*share/n, value*share/n)
		}
	}
}

// valueOf returns a conversion's value, or 0 when it is not a finite number, so that one bad
// beacon cannot turn a report's sums into NaN.
func valueOf(c *journey.Conversion) float64 {
	if math.IsNaN(c.Value) || math.IsInf(c.Value, 0) {
		return 0
	}
	return c.Value
}

// Errors about the numbers of a path table.
var (
	errCount  = errors.New("must be a finite number, not negative")
	errFinite = errors.New("must be a finite number")
)

// checkCount reports a count that is negative, infinite or NaN.
func checkCount(name string, v float64) error {
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s %v: %w", name, v, errCount)
	}
	return nil
}

// checkFinite reports a value that is infinite or NaN. Values may be negative (refunds).
func checkFinite(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%s %v: %w", name, v, errFinite)
	}
	return nil
}
