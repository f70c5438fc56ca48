package analytics

import (
	"math"
	"slices"
	"strings"

	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/report"
)

// entry is one visitor in the index: the journey as reports read it, compacted (only the
// fields reports use, repeated strings shared), and the sites the visitor's events name.
// An entry is immutable once in the index: a change replaces it, so snapshots can share it.
type entry struct {
	j report.Journey
	// steps are the visitor's per-step counts: first and last arrival even when the step
	// history no longer holds them (the stage at a past time, an experiment's goal).
	steps []journey.Count
	sites []string
	// lo and hi bound the times of the journey's touches, steps and conversions, to skip
	// journeys that cannot matter to a period.
	lo, hi int64
}

// inSite reports whether the visitor belongs to site ("" is every site).
func (e *entry) inSite(site string) bool {
	return site == "" || slices.Contains(e.sites, site)
}

// interner shares one copy of each repeated string (channels, campaigns, steps, countries)
// among the journeys of the index.
type interner map[string]string

func (in interner) get(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := in[s]; ok {
		return v
	}
	v := strings.Clone(s)
	in[v] = v
	return v
}

// compact returns the entry of a visitor state. The entry shares nothing with st.
func compact(st *journey.State, sites []string, in interner) *entry {
	e := &entry{sites: sites, lo: math.MaxInt64, hi: math.MinInt64}
	j := &e.j
	j.VID = strings.Clone(st.VID)
	if len(st.Touchpoints) > 0 {
		j.Touches = make([]journey.Touchpoint, len(st.Touchpoints))
		for i := range st.Touchpoints {
			tp := &st.Touchpoints[i]
			j.Touches[i] = journey.Touchpoint{
				StartedAt: tp.StartedAt, LastAt: tp.LastAt,
				Channel: in.get(tp.Channel), Source: in.get(tp.Source),
				Medium: in.get(tp.Medium), Campaign: in.get(tp.Campaign),
			}
			e.span(tp.StartedAt)
			e.span(max(tp.LastAt, tp.StartedAt))
		}
	}
	if len(st.StepHistory) > 0 {
		j.Steps = make([]journey.StepMark, len(st.StepHistory))
		for i, m := range st.StepHistory {
			j.Steps[i] = journey.StepMark{Step: in.get(m.Step), At: m.At}
			e.span(m.At)
		}
	}
	if len(st.ConversionList) > 0 {
		j.Conversions = make([]journey.Conversion, len(st.ConversionList))
		for i, c := range st.ConversionList {
			j.Conversions[i] = journey.Conversion{Step: in.get(c.Step), At: c.At, Value: c.Value}
			e.span(c.At)
		}
	}
	j.EarlierConversions = max(0, int(st.Conversions)-len(st.ConversionList))
	j.Device = st.Device.Type
	j.Country = in.get(st.Geo.Country)
	if len(st.Segments) > 0 {
		j.Segments = make([]string, len(st.Segments))
		for i, s := range st.Segments {
			j.Segments[i] = in.get(s)
		}
	}
	if len(st.Experiments) > 0 {
		j.Arms = make([]journey.Assignment, len(st.Experiments))
		for i, a := range st.Experiments {
			j.Arms[i] = journey.Assignment{Experiment: in.get(a.Experiment), Variant: in.get(a.Variant), At: a.At, Exposed: a.Exposed}
		}
	}
	if len(st.Steps) > 0 {
		e.steps = make([]journey.Count, len(st.Steps))
		for i, c := range st.Steps {
			e.steps[i] = journey.Count{Key: in.get(c.Key), N: c.N, FirstAt: c.FirstAt, LastAt: c.LastAt}
		}
	}
	if e.lo > e.hi {
		e.lo, e.hi = 0, 0
	}
	return e
}

func (e *entry) span(t int64) {
	e.lo, e.hi = min(e.lo, t), max(e.hi, t)
}

// withSites returns a copy of e that belongs to sites.
func (e *entry) withSites(sites []string) *entry {
	c := *e
	c.sites = sites
	return &c
}

// firstDiff returns the earliest time at which two versions of a journey differ in what the
// daily rollups read (touches and conversions), or MaxInt64 when they do not. Either may be
// nil (a new or a removed visitor).
func firstDiff(a, b *entry) int64 {
	var aj, bj report.Journey
	if a != nil {
		aj = a.j
	}
	if b != nil {
		bj = b.j
	}
	t := int64(math.MaxInt64)
	if aj.EarlierConversions != bj.EarlierConversions {
		t = math.MinInt64 // the first conversion moved: every day may change
	}
	t = min(t, diffAt(aj.Touches, bj.Touches, func(x, y *journey.Touchpoint) bool {
		return x.StartedAt == y.StartedAt && x.Channel == y.Channel && x.Campaign == y.Campaign
	}, func(x *journey.Touchpoint) int64 { return x.StartedAt }))
	t = min(t, diffAt(aj.Conversions, bj.Conversions, func(x, y *journey.Conversion) bool {
		return *x == *y || (x.At == y.At && x.Step == y.Step && math.IsNaN(x.Value) && math.IsNaN(y.Value))
	}, func(x *journey.Conversion) int64 { return x.At }))
	if a != nil && b != nil && !slices.Equal(a.sites, b.sites) {
		t = min(t, a.lo, b.lo)
	}
	return t
}

// diffAt returns the time of the first position where two time-ordered lists differ: the
// earlier of the two items there, or the extra item of the longer list.
func diffAt[T any](a, b []T, same func(x, y *T) bool, at func(*T) int64) int64 {
	n := min(len(a), len(b))
	for i := range n {
		if !same(&a[i], &b[i]) {
			return min(at(&a[i]), at(&b[i]))
		}
	}
	switch {
	case len(a) > n:
		return at(&a[n])
	case len(b) > n:
		return at(&b[n])
	}
	return math.MaxInt64
}
