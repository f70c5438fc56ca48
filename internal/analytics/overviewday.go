package analytics

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math"
	"slices"

	"github.com/pathlight/pathlight/internal/report"
)

// The overview's daily rollup. What adds up over days (sessions, conversions and value, by
// day and by channel) is summed per closed UTC day. What does not (the distinct visitors and
// converters of a period, the distinct visitors of each channel) is kept per day as gap
// counts: for each visitor active on the day, the days since the last day before it they
// were active on (0: none before). A visitor active somewhere in the whole days [s, e] is
// counted exactly once over those days, on the first of them it was active on: on day d, the
// visitors whose gap is 0 or more than d−s. So a period's distinct visitors are a sum over
// its days, as its sessions are, and the visitors of its partial days are read from the
// records (those not active on any of its whole days are added). The same holds for the
// days with a conversion (converters) and the days with a session started from a channel
// (the channel's visitors). A day's gaps depend only on the journeys up to the end of that
// day: a change at time t drops the rollups of t's day and later (see reportstore.FirstDiff).

// overviewKey names the overview's rollup of a day.
const overviewKey = "overview"

// overviewDayVersion begins an encoded overviewDay.
const overviewDayVersion = 1

// maxGap caps a gap: every gap at least maxOverviewDays counts as "none before" in any
// period the overview covers, so they are kept as one.
const maxGap = maxOverviewDays

// overviewDay is the overview's rollup of one UTC day.
type overviewDay struct {
	sessions, conversions int
	value                 float64
	visitors, converters  gaps
	chans                 []overviewChan // by name
}

// overviewChan is one channel's part of a day: sessions started from it, the conversions
// made in its sessions, and the gaps of the visitors who started a session from it.
type overviewChan struct {
	name                  string
	sessions, conversions int
	value                 float64
	visitors              gaps
}

// gaps counts visitors by their gap, ordered by gap.
type gaps []gapCount

type gapCount struct {
	gap int64 // days since the visitor's day before, 0 for none
	n   int64
}

// total is how many visitors the gaps count.
func (g gaps) total() int {
	n := int64(0)
	for _, c := range g {
		n += c.n
	}
	return int(n)
}

// since counts the visitors whose day before is more than k days back (or who have none):
// those for whom this day is the first of a run of whole days that began k days before.
func (g gaps) since(k int64) int {
	n := int64(0)
	for _, c := range g {
		if c.gap == 0 || c.gap > k {
			n += c.n
		}
	}
	return int(n)
}

// AppendBinary appends the day's encoding: its version, then sums, gaps and channels as
// varints, values as the eight bytes of their float64.
func (d *overviewDay) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, overviewDayVersion)
	b = binary.AppendUvarint(b, uint64(d.sessions))
	b = binary.AppendUvarint(b, uint64(d.conversions))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(d.value))
	b = appendGaps(b, d.visitors)
	b = appendGaps(b, d.converters)
	b = binary.AppendUvarint(b, uint64(len(d.chans)))
	for i := range d.chans {
		c := &d.chans[i]
		b = binary.AppendUvarint(b, uint64(len(c.name)))
		b = append(b, c.name...)
		b = binary.AppendUvarint(b, uint64(c.sessions))
		b = binary.AppendUvarint(b, uint64(c.conversions))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.value))
		b = appendGaps(b, c.visitors)
	}
	return b, nil
}

func appendGaps(b []byte, g gaps) []byte {
	b = binary.AppendUvarint(b, uint64(len(g)))
	prev := int64(0)
	for _, c := range g {
		b = binary.AppendUvarint(b, uint64(c.gap-prev))
		b = binary.AppendUvarint(b, uint64(c.n))
		prev = c.gap
	}
	return b
}

// errBadOverviewDay is a kept day that does not decode: it is computed again.
var errBadOverviewDay = errors.New("overview rollup: bad encoding")

// overviewDecoder reads an encoded overviewDay; the first error sticks.
type overviewDecoder struct {
	b     []byte
	err   error
	names map[string]string // channel names, shared across the days of a period
}

func (r *overviewDecoder) uvarint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > math.MaxInt64/2 {
		r.err = errBadOverviewDay
		return 0
	}
	r.b = r.b[n:]
	return int64(v)
}

func (r *overviewDecoder) float() float64 {
	if r.err != nil || len(r.b) < 8 {
		r.err = errBadOverviewDay
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return f
}

func (r *overviewDecoder) count() int {
	n := r.uvarint()
	if n > int64(len(r.b)) {
		r.err = errBadOverviewDay
		return 0
	}
	return int(n)
}

func (r *overviewDecoder) gaps() gaps {
	n := r.count()
	if n == 0 {
		return nil
	}
	g := make(gaps, n)
	prev := int64(0)
	for i := range g {
		prev += r.uvarint()
		g[i] = gapCount{gap: prev, n: r.uvarint()}
	}
	return g
}

// decode reads one day.
func (r *overviewDecoder) decode(b []byte) (*overviewDay, error) {
	if len(b) == 0 || b[0] != overviewDayVersion {
		return nil, errBadOverviewDay
	}
	r.b, r.err = b[1:], nil
	d := &overviewDay{}
	d.sessions, d.conversions = int(r.uvarint()), int(r.uvarint())
	d.value = r.float()
	d.visitors, d.converters = r.gaps(), r.gaps()
	if n := r.count(); n > 0 {
		d.chans = make([]overviewChan, n)
		for i := range d.chans {
			c := &d.chans[i]
			l := r.count()
			if r.err != nil {
				break
			}
			name, ok := r.names[string(r.b[:l])]
			if !ok {
				name = string(r.b[:l])
				r.names[name] = name
			}
			c.name = name
			r.b = r.b[l:]
			c.sessions, c.conversions = int(r.uvarint()), int(r.uvarint())
			c.value = r.float()
			c.visitors = r.gaps()
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errBadOverviewDay
	}
	if r.err != nil {
		return nil, r.err
	}
	return d, nil
}

// dayBuilder adds up one day from the journeys active on it.
type dayBuilder struct {
	sessions, conversions int
	value                 float64
	visitors, converters  gapCounter
	chans                 map[string]*chanBuilder
}

type chanBuilder struct {
	name                  string
	sessions, conversions int
	value                 float64
	visitors              gapCounter
}

func newDayBuilder() *dayBuilder { return &dayBuilder{chans: map[string]*chanBuilder{}} }

// gapCounter counts visitors by gap: the gaps of most visitors (a few days) in an array,
// the others in a map.
type gapCounter struct {
	small [64]int64
	large map[int32]int64
}

// add counts a visitor of gap, every gap from maxGap on as one.
func (g *gapCounter) add(gap int64) {
	gap = min(gap, maxGap)
	if gap < int64(len(g.small)) {
		g.small[gap]++
		return
	}
	if g.large == nil {
		g.large = map[int32]int64{}
	}
	g.large[int32(gap)]++
}

// gaps returns the counts, ordered by gap.
func (g *gapCounter) gaps() gaps {
	var out gaps
	for gap, n := range g.small {
		if n > 0 {
			out = append(out, gapCount{int64(gap), n})
		}
	}
	large := make(gaps, 0, len(g.large))
	for gap, n := range g.large {
		large = append(large, gapCount{int64(gap), n})
	}
	slices.SortFunc(large, func(a, b gapCount) int { return cmp.Compare(a.gap, b.gap) })
	return append(out, large...)
}

func (b *dayBuilder) channel(name string) *chanBuilder {
	c := b.chans[name]
	if c == nil {
		c = &chanBuilder{name: name}
		b.chans[name] = c
	}
	return c
}

// day returns the rollup the builder added up.
func (b *dayBuilder) day() *overviewDay {
	d := &overviewDay{sessions: b.sessions, conversions: b.conversions, value: b.value,
		visitors: b.visitors.gaps(), converters: b.converters.gaps()}
	for _, c := range b.chans {
		d.chans = append(d.chans, overviewChan{name: c.name, sessions: c.sessions, conversions: c.conversions, value: c.value, visitors: c.visitors.gaps()})
	}
	slices.SortFunc(d.chans, func(a, b overviewChan) int { return cmp.Compare(a.name, b.name) })
	return d
}

// daysBuilder adds up the days of [lo, lo+len(at)) that at holds a builder for, a journey at
// a time, in the store's order (so a day's sums are the same however it was asked for).
type daysBuilder struct {
	lo int64
	at []*dayBuilder

	// buffers reused across journeys
	spans []span
	chd   []chanDay
	cd    []int64
}

type span struct{ a, b int64 } // days [a, b]

type chanDay struct {
	name string
	day  int64
}

func (b *daysBuilder) get(d int64) *dayBuilder {
	if i := d - b.lo; i >= 0 && i < int64(len(b.at)) {
		return b.at[i]
	}
	return nil
}

// add counts j on each of its days that the builder adds up.
func (b *daysBuilder) add(j *report.Journey) {
	hi := b.lo + int64(len(b.at)) - 1
	// Active days: a session overlapping the day, or a step arrival in it.
	b.spans = b.spans[:0]
	for k := range j.Touches {
		t := &j.Touches[k]
		b.spans = append(b.spans, span{dayOf(t.StartedAt), dayOf(max(t.LastAt, t.StartedAt))})
	}
	for _, s := range j.Steps {
		d := dayOf(s.At)
		b.spans = append(b.spans, span{d, d})
	}
	slices.SortFunc(b.spans, func(x, y span) int { return cmp.Compare(x.a, y.a) })
	merged := b.spans[:0]
	for _, s := range b.spans {
		if n := len(merged); n > 0 && s.a <= merged[n-1].b+1 {
			merged[n-1].b = max(merged[n-1].b, s.b)
			continue
		}
		merged = append(merged, s)
	}
	before := int64(math.MinInt64) // the last active day before the span
	for _, s := range merged {
		for d := max(s.a, b.lo); d <= min(s.b, hi); d++ {
			db := b.get(d)
			if db == nil {
				continue
			}
			switch {
			case d > s.a:
				db.visitors.add(1)
			case before == math.MinInt64:
				db.visitors.add(0)
			default:
				db.visitors.add(d - before)
			}
		}
		before = s.b
	}
	// Sessions, by the day they started and their channel; a channel's visitors by the days
	// a session started from it.
	b.chd = b.chd[:0]
	for k := range j.Touches {
		t := &j.Touches[k]
		d := dayOf(t.StartedAt)
		name := channelName(t.Channel)
		b.chd = append(b.chd, chanDay{name, d})
		if db := b.get(d); db != nil {
			db.sessions++
			db.channel(name).sessions++
		}
	}
	slices.SortFunc(b.chd, func(x, y chanDay) int { return cmp.Or(cmp.Compare(x.name, y.name), cmp.Compare(x.day, y.day)) })
	for k, c := range b.chd {
		if k > 0 && b.chd[k-1] == c {
			continue
		}
		db := b.get(c.day)
		if db == nil {
			continue
		}
		gap := int64(0)
		if k > 0 && b.chd[k-1].name == c.name {
			gap = c.day - b.chd[k-1].day
		}
		db.channel(c.name).visitors.add(gap)
	}
	// Conversions, by their day and the channel of the session they were made in.
	b.cd = b.cd[:0]
	for k := range j.Conversions {
		c := &j.Conversions[k]
		d := dayOf(c.At)
		b.cd = append(b.cd, d)
		db := b.get(d)
		if db == nil {
			continue
		}
		v := finite(c.Value)
		db.conversions++
		db.value += v
		ch := db.channel(sessionChannel(j.Touches, c.At))
		ch.conversions++
		ch.value += v
	}
	slices.Sort(b.cd)
	for k, d := range b.cd {
		if k > 0 && b.cd[k-1] == d {
			continue
		}
		if db := b.get(d); db != nil {
			gap := int64(0)
			if k > 0 {
				gap = d - b.cd[k-1]
			}
			db.converters.add(gap)
		}
	}
}

// channelName is the channel a session or conversion counts under.
func channelName(c string) string {
	if c == "" {
		return report.Unassigned
	}
	return c
}

// mergeOverviewDays returns the sum of two rollups of one day made from disjoint sets of
// visitors (two servers' visitors): sums and gap counts add up, channel by channel. It is
// what one store holding both sets makes, but for the order the values were added in.
func mergeOverviewDays(a, b *overviewDay) *overviewDay {
	d := &overviewDay{sessions: a.sessions + b.sessions, conversions: a.conversions + b.conversions, value: a.value + b.value,
		visitors: mergeGaps(a.visitors, b.visitors), converters: mergeGaps(a.converters, b.converters)}
	i, j := 0, 0
	for i < len(a.chans) || j < len(b.chans) {
		switch {
		case j == len(b.chans) || i < len(a.chans) && a.chans[i].name < b.chans[j].name:
			d.chans = append(d.chans, a.chans[i])
			i++
		case i == len(a.chans) || b.chans[j].name < a.chans[i].name:
			d.chans = append(d.chans, b.chans[j])
			j++
		default:
			x, y := &a.chans[i], &b.chans[j]
			d.chans = append(d.chans, overviewChan{name: x.name, sessions: x.sessions + y.sessions, conversions: x.conversions + y.conversions,
				value: x.value + y.value, visitors: mergeGaps(x.visitors, y.visitors)})
			i, j = i+1, j+1
		}
	}
	return d
}

// mergeGaps adds up two gap counts.
func mergeGaps(a, b gaps) gaps {
	var out gaps
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].gap < b[j].gap:
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].gap < a[i].gap:
			out = append(out, b[j])
			j++
		default:
			out = append(out, gapCount{a[i].gap, a[i].n + b[j].n})
			i, j = i+1, j+1
		}
	}
	return out
}
