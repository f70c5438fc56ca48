package reportstore

import (
	"cmp"
	"encoding/hex"
	"math"
	"slices"
	"strings"

	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/report"
)

// Visitor is what reports keep of one visitor: the journey as reports read it (only the
// fields they use), the per-step counts, the sites the visitor's events name and the
// visitor's prompt events. A Visitor read from the store is the caller's; one handed to
// Apply is not changed.
type Visitor struct {
	J report.Journey
	// Steps are the visitor's per-step counts: first and last arrival even when the step
	// history no longer holds them (the stage at a past time, an experiment's goal).
	Steps []journey.Count
	// Sites are the sites the visitor's events name, in the order first seen.
	Sites []string
	// Prompts are the visitor's prompt events, in the order they were logged.
	Prompts []Prompt
	// HasState is false for a visitor known only from prompt or site records, whose
	// journey state is not (or no longer) stored: reports count its prompt events but no
	// journey, and segment reach leaves it out.
	HasState bool

	filed   int64 // the day its record is filed under, for a record read from the store
	filedOK bool  // filed is set
	packed  bool  // the record is in one of its day's packs
	// id is the visitor's id, for a record Each read (hasID), with or without J.VID.
	id    [vidBytes]byte
	hasID bool
}

// ID returns the visitor's id: J.VID, or for a record Each read without ids (see
// Interner.NoIDs) its 32 hex digits, made on each call: for the few records a report names.
func (v *Visitor) ID() string {
	if v.J.VID != "" || !v.hasID {
		return v.J.VID
	}
	return hex.EncodeToString(v.id[:])
}

// filedDay returns the day the record of v (an old version) is filed under.
func (v *Visitor) filedDay() int64 {
	if v.filedOK {
		return v.filed
	}
	return v.lastDay()
}

// lastDay returns the day the visitor's record is filed under: the last of its days, or
// day 0 when it has none (then no report reads it).
func (v *Visitor) lastDay() int64 {
	last := int64(0)
	first := true
	for d := range v.days() {
		if first || d > last {
			last, first = d, false
		}
	}
	return last
}

// Prompt is one prompt event of the log: shown, dismissed, answered, or ActionHoldout for
// a prompt a holdout visitor would have been offered.
type Prompt struct {
	Site, ID, Prompt, Action, Answer string
	At                               int64
	// Segments are the visitor's segments when the event was logged; nil for events logged
	// before the tracker recorded them.
	Segments []string
}

// ActionHoldout is the action of a prompt record made from a holdout record.
const ActionHoldout = "$would_have_seen"

// InSite reports whether the visitor belongs to site ("" is every site).
func (v *Visitor) InSite(site string) bool {
	return site == "" || slices.Contains(v.Sites, site)
}

// FromState returns the Visitor of a stored state, with the given sites and prompts. It
// shares nothing with st.
func FromState(st *journey.State, sites []string, prompts []Prompt) *Visitor {
	v := &Visitor{Sites: sites, Prompts: prompts, HasState: true}
	j := &v.J
	j.VID = strings.Clone(st.VID)
	if len(st.Touchpoints) > 0 {
		j.Touches = make([]journey.Touchpoint, len(st.Touchpoints))
		for i := range st.Touchpoints {
			tp := &st.Touchpoints[i]
			j.Touches[i] = journey.Touchpoint{
				StartedAt: tp.StartedAt, LastAt: tp.LastAt,
				Channel: strings.Clone(tp.Channel), Source: strings.Clone(tp.Source),
				Medium: strings.Clone(tp.Medium), Campaign: strings.Clone(tp.Campaign),
			}
		}
	}
	if len(st.StepHistory) > 0 {
		j.Steps = make([]journey.StepMark, len(st.StepHistory))
		for i, m := range st.StepHistory {
			j.Steps[i] = journey.StepMark{Step: strings.Clone(m.Step), At: m.At}
		}
	}
	if len(st.ConversionList) > 0 {
		j.Conversions = make([]journey.Conversion, len(st.ConversionList))
		for i, c := range st.ConversionList {
			j.Conversions[i] = journey.Conversion{Step: strings.Clone(c.Step), At: c.At, Value: c.Value}
		}
	}
	j.EarlierConversions = max(0, int(st.Conversions)-len(st.ConversionList))
	j.Device = st.Device.Type
	j.Country = strings.Clone(st.Geo.Country)
	if len(st.Segments) > 0 {
		j.Segments = make([]string, len(st.Segments))
		for i, s := range st.Segments {
			j.Segments[i] = strings.Clone(s)
		}
	}
	if len(st.Experiments) > 0 {
		j.Arms = make([]journey.Assignment, len(st.Experiments))
		for i, a := range st.Experiments {
			j.Arms[i] = journey.Assignment{Experiment: strings.Clone(a.Experiment), Variant: strings.Clone(a.Variant), At: a.At, Exposed: a.Exposed}
		}
	}
	if len(st.Steps) > 0 {
		v.Steps = make([]journey.Count, len(st.Steps))
		for i, c := range st.Steps {
			v.Steps[i] = journey.Count{Key: strings.Clone(c.Key), N: c.N, FirstAt: c.FirstAt, LastAt: c.LastAt}
		}
	}
	return v
}

// Day flags: what a visitor did on a UTC day, as its bucket key records it.
const (
	// FlagActive: a session overlapped the day, or a step arrival or a conversion was in it.
	FlagActive = 1 << iota
	// FlagTouch: a session started that day.
	FlagTouch
	// FlagStep: a step arrival that day.
	FlagStep
	// FlagConversion: a conversion that day.
	FlagConversion
	// FlagExposure: an experiment exposure that day.
	FlagExposure
	// FlagPrompt: a prompt event that day.
	FlagPrompt
)

// DayMS is one UTC day in milliseconds.
const DayMS = 24 * 60 * 60 * 1000

// DayOf returns the UTC day of t, in days since 1970-01-01.
func DayOf(t int64) int64 {
	d := t / DayMS
	if t%DayMS < 0 {
		d--
	}
	return d
}

// maxSessionDays bounds the days one session marks active, against bad data: every day of
// a longer session is not marked, only its first days and its last.
const maxSessionDays = 1000

// days returns the visitor's UTC days and what it did on each.
func (v *Visitor) days() map[int64]byte {
	m := map[int64]byte{}
	j := &v.J
	for i := range j.Touches {
		t := &j.Touches[i]
		d0, d1 := DayOf(t.StartedAt), DayOf(max(t.LastAt, t.StartedAt))
		m[d0] |= FlagTouch | FlagActive
		for d := d0 + 1; d <= min(d1, d0+maxSessionDays); d++ {
			m[d] |= FlagActive
		}
		if d1 > d0+maxSessionDays {
			m[d1] |= FlagActive
		}
	}
	for _, s := range j.Steps {
		m[DayOf(s.At)] |= FlagStep | FlagActive
	}
	for _, c := range j.Conversions {
		m[DayOf(c.At)] |= FlagConversion | FlagActive
	}
	for _, a := range j.Arms {
		if a.Exposed {
			m[DayOf(a.At)] |= FlagExposure
		}
	}
	for _, p := range v.Prompts {
		m[DayOf(p.At)] |= FlagPrompt
	}
	return m
}

// FirstDiff returns the earliest time at which two versions of a visitor differ in what
// the daily rollups read (touches, conversions, sites, and the days the visitor was active
// on), or MaxInt64 when they do not. Either may be nil (a new or a removed visitor). The
// active days (a session overlapping the day, a step arrival in it: the overview's) are
// compared as days: a session running past midnight changes the days after the one it
// lasted to before, not that one, and the oldest step arrival a full history drops changes
// nothing when a session of the visitor covers its day.
func FirstDiff(a, b *Visitor) int64 {
	var aj, bj report.Journey
	if a != nil {
		aj = a.J
	}
	if b != nil {
		bj = b.J
	}
	t := int64(math.MaxInt64)
	if aj.EarlierConversions != bj.EarlierConversions {
		t = math.MinInt64 // the first conversion moved: every day may change
	}
	t = min(t, diffAt(aj.Touches, bj.Touches, func(x, y *journey.Touchpoint) bool {
		return x.StartedAt == y.StartedAt && x.Channel == y.Channel && x.Campaign == y.Campaign
	}, func(x *journey.Touchpoint) int64 { return x.StartedAt }))
	if d, ok := firstActiveDiff(activeSpans(&aj), activeSpans(&bj)); ok {
		t = min(t, d*DayMS)
	}
	t = min(t, diffAt(aj.Conversions, bj.Conversions, func(x, y *journey.Conversion) bool {
		return *x == *y || (x.At == y.At && x.Step == y.Step && math.IsNaN(x.Value) && math.IsNaN(y.Value))
	}, func(x *journey.Conversion) int64 { return x.At }))
	if a != nil && b != nil && !slices.Equal(a.Sites, b.Sites) {
		t = min(t, a.lo(), b.lo())
	}
	return t
}

// lo returns the earliest time of the visitor's touches, steps and conversions.
func (v *Visitor) lo() int64 {
	lo := int64(math.MaxInt64)
	for _, t := range v.J.Touches {
		lo = min(lo, t.StartedAt)
	}
	for _, s := range v.J.Steps {
		lo = min(lo, s.At)
	}
	for _, c := range v.J.Conversions {
		lo = min(lo, c.At)
	}
	return lo
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

// daySpan is a run of days [from, to].
type daySpan struct{ from, to int64 }

// activeSpans returns the days j was active on (a session overlapping the day, a step
// arrival in it) as runs of days, in order, no two touching.
func activeSpans(j *report.Journey) []daySpan {
	spans := make([]daySpan, 0, len(j.Touches)+len(j.Steps))
	for i := range j.Touches {
		t := &j.Touches[i]
		spans = append(spans, daySpan{DayOf(t.StartedAt), DayOf(max(t.LastAt, t.StartedAt))})
	}
	for _, m := range j.Steps {
		d := DayOf(m.At)
		spans = append(spans, daySpan{d, d})
	}
	slices.SortFunc(spans, func(a, b daySpan) int { return cmp.Compare(a.from, b.from) })
	out := spans[:0]
	for _, s := range spans {
		if n := len(out); n > 0 && s.from <= out[n-1].to+1 {
			out[n-1].to = max(out[n-1].to, s.to)
			continue
		}
		out = append(out, s)
	}
	return out
}

// firstActiveDiff returns the first day on which one of two runs of active days has the
// visitor active and the other not.
func firstActiveDiff(a, b []daySpan) (int64, bool) {
	i, j := 0, 0
	for ; i < len(a) && j < len(b); i, j = i+1, j+1 {
		switch {
		case a[i] == b[j]:
		case a[i].from != b[j].from:
			return min(a[i].from, b[j].from), true
		default:
			return min(a[i].to, b[j].to) + 1, true
		}
	}
	switch {
	case i < len(a):
		return a[i].from, true
	case j < len(b):
		return b[j].from, true
	}
	return 0, false
}
