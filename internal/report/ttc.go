package report

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/pathlight/pathlight/internal/journey"
)

// Summary describes a distribution: mean, median and upper percentiles (see Quantile).
type Summary struct {
	Mean   NullFloat `json:"mean"`
	Median NullFloat `json:"median"`
	P75    NullFloat `json:"p75"`
	P90    NullFloat `json:"p90"`
}

// summaryOf describes the values of l, each as float64(v)/div: to the bit what mean and
// Quantile give for them sorted. It sorts l.
func summaryOf(l *valueList, div float64) Summary {
	m, q := quantilesOf(l, div, 0.5, 0.75, 0.9)
	return Summary{Mean: m, Median: q[0], P75: q[1], P90: q[2]}
}

// TTCGroup is the time to conversion of the conversions whose first touch came from one
// channel.
type TTCGroup struct {
	Channel     string  `json:"channel"`
	Conversions int     `json:"conversions"`
	Seconds     Summary `json:"seconds"`
	Touches     Summary `json:"touches"`
}

// TTC is the time-to-conversion report.
type TTC struct {
	// Conversions is how many counted conversions in the period were measured.
	Conversions int `json:"conversions"`
	// NoTouch is how many had no touchpoint in their lookback and are left out.
	NoTouch int `json:"no_touch"`
	// Seconds is the time from the first touch in the lookback to the conversion.
	Seconds Summary `json:"seconds"`
	// Touches is the number of touchpoints (sessions) in the lookback, repeats included.
	Touches Summary `json:"touches"`
	// ByFirstChannel breaks the figures down by the channel of that first touch.
	ByFirstChannel []TTCGroup `json:"by_first_channel"`
}

// TimeToConversion measures, for every counted conversion in the period (see PathOptions),
// the time from the first touchpoint in its lookback window to the conversion, and how many
// touchpoints that window holds.
func TimeToConversion(js []Journey, o PathOptions) (*TTC, error) {
	b, err := NewTTCBuilder(o)
	if err != nil {
		return nil, err
	}
	b.Add(js)
	return b.Result(), nil
}

// TTCBuilder measures the time to conversion over visitors handed to it in parts (see
// TimeToConversion): it keeps every conversion's time and touch count, so the quantiles
// of the parts together are exact.
type TTCBuilder struct {
	o   PathOptions
	res TTC
	all ttcAcc
	by  map[string]*ttcAcc
}

// ttcAcc keeps the milliseconds and the touches of each conversion.
type ttcAcc struct{ ms, touches valueList }

// add counts one conversion.
func (a *ttcAcc) add(ms, touches int64) {
	a.ms.add(ms)
	a.touches.add(touches)
}

// NewTTCBuilder validates the options.
func NewTTCBuilder(o PathOptions) (*TTCBuilder, error) {
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("time to conversion: %w", err)
	}
	return &TTCBuilder{o: o, by: map[string]*ttcAcc{}}, nil
}

// Add measures the conversions of js.
func (b *TTCBuilder) Add(js []Journey) {
	for i := range js {
		ts := sortedTouches(js[i].Touches)
		b.o.eachConversion(ts, sortedConversions(js[i].Conversions), js[i].EarlierConversions, func(c *journey.Conversion, win []journey.Touchpoint) {
			if len(win) == 0 {
				b.res.NoTouch++
				return
			}
			b.res.Conversions++
			ms, n := c.At-win[0].StartedAt, int64(len(win))
			b.all.add(ms, n)
			ch := channelOf(&win[0])
			g := b.by[ch]
			if g == nil {
				g = &ttcAcc{}
				b.by[ch] = g
			}
			g.add(ms, n)
		})
	}
}

// Result returns the figures of every conversion measured so far. The builder must not be
// used after it.
func (b *TTCBuilder) Result() *TTC {
	res := b.res
	res.Seconds, res.Touches = summaryOf(&b.all.ms, 1000), summaryOf(&b.all.touches, 1)
	res.ByFirstChannel = []TTCGroup{}
	for ch, g := range b.by {
		res.ByFirstChannel = append(res.ByFirstChannel, TTCGroup{
			Channel: ch, Conversions: g.ms.len(), Seconds: summaryOf(&g.ms, 1000), Touches: summaryOf(&g.touches, 1),
		})
	}
	slices.SortFunc(res.ByFirstChannel, func(a, b TTCGroup) int {
		if c := cmp.Compare(b.Conversions, a.Conversions); c != 0 {
			return c
		}
		return cmp.Compare(a.Channel, b.Channel)
	})
	// The lists' memory goes to the builders after this one.
	b.all.ms.release()
	b.all.touches.release()
	for _, g := range b.by {
		g.ms.release()
		g.touches.release()
	}
	b.by = nil
	return &res
}

// MicroConversion is the micro-conversion rate of one step.
type MicroConversion struct {
	Step     string    `json:"step"`
	Visitors int       `json:"visitors"` // visitors who reached the step in the period
	Rate     NullFloat `json:"rate"`     // Visitors / MicroConversions.Visitors
}

// MicroConversions is the micro-conversion report.
type MicroConversions struct {
	// Visitors is the denominator: visitors active in the period, that is with a session
	// that overlaps it (started before its end and had its last hit at or after its start)
	// or a step arrival in it.
	Visitors int               `json:"visitors"`
	Steps    []MicroConversion `json:"steps"`
}

// MicroConversionRates returns, for each step, the share of the period's active visitors who
// reached it in the period. With no steps given, every step reached is listed, most reached
// first.
func MicroConversionRates(js []Journey, steps []string, from, to int64) (*MicroConversions, error) {
	b, err := NewMicroBuilder(steps, from, to)
	if err != nil {
		return nil, err
	}
	b.Add(js)
	return b.Result(), nil
}

// MicroBuilder counts micro-conversions over visitors handed to it in parts (see
// MicroConversionRates): every figure is a count of visitors, so parts add up. Steps are
// numbered in the order first seen, and a visitor's steps already counted are found among
// the few numbers of that visitor, with a step name hashed once per arrival.
type MicroBuilder struct {
	steps    []string
	from, to int64
	ids      map[string]int32
	names    []string // by number
	counts   []int    // by number
	seen     []int32  // the steps of the visitor being counted
	visitors int
}

// NewMicroBuilder validates the period.
func NewMicroBuilder(steps []string, from, to int64) (*MicroBuilder, error) {
	if to <= from {
		return nil, fmt.Errorf("micro-conversions: period: to (%d) must be after from (%d)", to, from)
	}
	return &MicroBuilder{steps: steps, from: from, to: to, ids: map[string]int32{}}, nil
}

// Add counts the visitors of js.
func (b *MicroBuilder) Add(js []Journey) {
	from, to := b.from, b.to
	for i := range js {
		j := &js[i]
		active := touchesOverlap(j.Touches, from, to)
		b.seen = b.seen[:0]
		for _, s := range j.Steps {
			if s.At >= from && s.At < to {
				active = true
				id, ok := b.ids[s.Step]
				if !ok {
					id = int32(len(b.names))
					b.ids[s.Step] = id
					b.names = append(b.names, s.Step)
					b.counts = append(b.counts, 0)
				}
				// A visitor reaches at most every step there is: few numbers to look through.
				if !slices.Contains(b.seen, id) {
					b.seen = append(b.seen, id)
					b.counts[id]++
				}
			}
		}
		if active {
			b.visitors++
		}
	}
}

// touchesOverlap reports whether a session of ts overlaps [from, to): started before its
// end, with its last hit at or after its start.
func touchesOverlap(ts []journey.Touchpoint, from, to int64) bool {
	for _, t := range ts {
		if t.StartedAt < to && max(t.LastAt, t.StartedAt) >= from {
			return true
		}
	}
	return false
}

// Result returns the rates of every visitor counted so far.
func (b *MicroBuilder) Result() *MicroConversions {
	counts := make(map[string]int, len(b.names))
	for id, name := range b.names {
		counts[name] = b.counts[id]
	}
	return microResult(b.steps, counts, b.visitors)
}

// microResult returns the rates of steps (nil: every step of counts, most reached first)
// given the visitors who reached each step and the active visitors.
func microResult(steps []string, counts map[string]int, visitors int) *MicroConversions {
	steps = slices.Clone(steps)
	res := &MicroConversions{Visitors: visitors}
	if len(steps) == 0 {
		for s := range counts {
			steps = append(steps, s)
		}
		slices.SortFunc(steps, func(a, b string) int {
			if c := cmp.Compare(counts[b], counts[a]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
	}
	res.Steps = make([]MicroConversion, 0, len(steps))
	for _, s := range steps {
		res.Steps = append(res.Steps, MicroConversion{
			Step: s, Visitors: counts[s], Rate: ratio(float64(counts[s]), float64(res.Visitors)),
		})
	}
	return res
}
