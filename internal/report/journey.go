package report

import (
	"cmp"
	"slices"
	"sort"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

// Names the reports use for missing marketing facts, as GA4 names them, so that Pathlight's
// figures line up with the analytics tools marketers already read.
const (
	// Direct is the channel of visits without campaign information or external referrer.
	Direct = "Direct"
	// Unassigned is the channel of a touchpoint without a channel, and the path of a
	// conversion with no touchpoint in its lookback window.
	Unassigned = "Unassigned"
	// NotSet is the campaign of a touchpoint without a campaign.
	NotSet = "(not set)"
)

// Journey is one visitor's history as the reports read it. The lists are ordered oldest
// first; functions that need the order sort a copy when they find it otherwise, never the
// caller's slices.
type Journey struct {
	VID string
	// Touches are the visitor's sessions: start time, channel, source, medium, campaign.
	Touches []journey.Touchpoint
	// Steps are the visitor's step arrivals, each a tracked rule step.
	Steps []journey.StepMark
	// Conversions are the visitor's conversions.
	Conversions []journey.Conversion
	// EarlierConversions is how many conversions the visitor had before Conversions[0] that
	// the list no longer holds. When it is not zero the visitor's first conversion is gone:
	// reports of first conversions (new customers) treat the visitor as an existing customer.
	EarlierConversions int

	// Dimensions for breakdowns.
	Device   event.DeviceType
	Country  string
	Segments []string
	Arms     []journey.Assignment
}

// FromState returns the Journey of a stored visitor state. The Journey shares the state's
// slices: the state must not change while the Journey is in use.
func FromState(s *journey.State) Journey {
	return Journey{
		VID:                s.VID,
		Touches:            s.Touchpoints,
		Steps:              s.StepHistory,
		Conversions:        s.ConversionList,
		EarlierConversions: max(0, int(s.Conversions)-len(s.ConversionList)),
		Device:             s.Device.Type,
		Country:            s.Geo.Country,
		Segments:           s.Segments,
		Arms:               s.Experiments,
	}
}

// sortedByTime returns xs ordered by the time at gives each, copying only when they are out
// of order. The sort is stable: entries logged at the same millisecond (step arrivals, say)
// keep their logged order.
func sortedByTime[T any](xs []T, at func(*T) int64) []T {
	sorted := true
	for i := 1; i < len(xs) && sorted; i++ {
		sorted = at(&xs[i-1]) <= at(&xs[i])
	}
	if sorted {
		return xs
	}
	c := slices.Clone(xs)
	slices.SortStableFunc(c, func(a, b T) int { return cmp.Compare(at(&a), at(&b)) })
	return c
}

// sortedTouches returns touchpoints ordered by start time; see sortedByTime.
func sortedTouches(ts []journey.Touchpoint) []journey.Touchpoint {
	return sortedByTime(ts, func(t *journey.Touchpoint) int64 { return t.StartedAt })
}

// sortedSteps returns step arrivals ordered by time; see sortedByTime.
func sortedSteps(ss []journey.StepMark) []journey.StepMark {
	return sortedByTime(ss, func(m *journey.StepMark) int64 { return m.At })
}

// sortedConversions returns conversions ordered by time; see sortedByTime.
func sortedConversions(cs []journey.Conversion) []journey.Conversion {
	return sortedByTime(cs, func(c *journey.Conversion) int64 { return c.At })
}

// window returns the touchpoints that started in (t − lookback, t]: the touches a
// conversion at t credits. ts must be sorted by start time.
func window(ts []journey.Touchpoint, t, lookback int64) []journey.Touchpoint {
	lo := sort.Search(len(ts), func(i int) bool { return ts[i].StartedAt > t-lookback })
	hi := sort.Search(len(ts), func(i int) bool { return ts[i].StartedAt > t })
	if hi < lo {
		hi = lo
	}
	return ts[lo:hi]
}

// channelOf returns a touchpoint's channel, Unassigned when it has none.
func channelOf(tp *journey.Touchpoint) string {
	if tp.Channel == "" {
		return Unassigned
	}
	return tp.Channel
}

// campaignOf returns a touchpoint's campaign, NotSet when it has none.
func campaignOf(tp *journey.Touchpoint) string {
	if tp.Campaign == "" {
		return NotSet
	}
	return tp.Campaign
}

// position is one place in an attribution path: a run of consecutive touches of the same
// channel when repeats collapse, or a single touch when they are kept.
type position struct {
	channel     string
	first, last int   // the run's touches, as indices into the window
	at          int64 // start time of the run's last touch: its most recent exposure
}

// positions splits a window of touches into path positions, collapsing consecutive touches of
// the same channel unless keepRepeats is set.
func positions(ts []journey.Touchpoint, keepRepeats bool, dst []position) []position {
	dst = dst[:0]
	for i := range ts {
		ch := channelOf(&ts[i])
		if !keepRepeats && len(dst) > 0 && dst[len(dst)-1].channel == ch {
			p := &dst[len(dst)-1]
			p.last, p.at = i, ts[i].StartedAt
			continue
		}
		dst = append(dst, position{channel: ch, first: i, last: i, at: ts[i].StartedAt})
	}
	return dst
}
