package analytics

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/report"
)

// maxOverviewDays bounds the by-day rows of the overview: ten years.
const maxOverviewDays = 3660

// Overview is the headline figures of a period, the same figures for the period of equal
// length just before it, and their breakdowns by UTC day and by channel.
type Overview struct {
	Figures
	Previous Figures `json:"previous"`
	// Change is each figure's relative change against the previous period, null where the
	// previous period is too thin to compare (see Comparable).
	Change Changes `json:"change"`
	// Currency is the currency of the spend, which values are shown in; "" without spend.
	Currency  string           `json:"currency"`
	ByDay     []DayFigures     `json:"by_day"`
	ByChannel []ChannelFigures `json:"by_channel"`
}

// Figures are the headline figures of a period:
//
//   - Visitors: visitors active in the period, with a session that overlaps it or a step
//     arrival in it (the denominator of the micro-conversion rates);
//   - Sessions: sessions that started in the period;
//   - Conversions and Value: conversions in the period (every conversion step), and their
//     value;
//   - Converters: visitors with a conversion in the period;
//   - ConversionRate: Converters / Visitors, null without visitors.
type Figures struct {
	Visitors       int              `json:"visitors"`
	Sessions       int              `json:"sessions"`
	Conversions    int              `json:"conversions"`
	Converters     int              `json:"converters"`
	ConversionRate report.NullFloat `json:"conversion_rate"`
	Value          float64          `json:"value"`
}

// Changes are the relative changes of the headline figures against the previous period:
// (this − previous) / previous, or null when the two periods cannot be compared.
type Changes struct {
	Visitors       report.NullFloat `json:"visitors"`
	Sessions       report.NullFloat `json:"sessions"`
	Conversions    report.NullFloat `json:"conversions"`
	Converters     report.NullFloat `json:"converters"`
	ConversionRate report.NullFloat `json:"conversion_rate"`
	Value          report.NullFloat `json:"value"`
}

// Thresholds of Comparable.
const (
	// MinCompareBase is the smallest count of the previous period a change is shown against.
	MinCompareBase = 20
	// MinCompareShare is the smallest share of this period's count the previous period must
	// have: below it, the previous period is mostly before the data began.
	MinCompareShare = 0.1
)

// Comparable reports whether a figure whose base count is now in this period and before in
// the previous one can be shown as a percentage change: the previous period has at least
// MinCompareBase of it and at least MinCompareShare of this period's. A period that the
// data only began in (right after a first import, say) would otherwise show thousands of
// per cent.
func Comparable(now, before int) bool {
	return before >= MinCompareBase && float64(before) >= MinCompareShare*float64(now)
}

// changes compares cur with prev. The base count of visitors and the conversion rate is
// visitors; of sessions, sessions; of conversions and value, conversions; of converters,
// converters.
func changes(cur, prev Figures) Changes {
	rel := func(now, before float64, ok bool) report.NullFloat {
		if !ok || before == 0 {
			return report.NullFloat{}
		}
		return report.Some((now - before) / before)
	}
	visitors := Comparable(cur.Visitors, prev.Visitors)
	conversions := Comparable(cur.Conversions, prev.Conversions)
	c := Changes{
		Visitors:    rel(float64(cur.Visitors), float64(prev.Visitors), visitors),
		Sessions:    rel(float64(cur.Sessions), float64(prev.Sessions), Comparable(cur.Sessions, prev.Sessions)),
		Conversions: rel(float64(cur.Conversions), float64(prev.Conversions), conversions),
		Converters:  rel(float64(cur.Converters), float64(prev.Converters), Comparable(cur.Converters, prev.Converters)),
		Value:       rel(cur.Value, prev.Value, conversions),
	}
	if cur.ConversionRate.Valid && prev.ConversionRate.Valid {
		c.ConversionRate = rel(cur.ConversionRate.Value, prev.ConversionRate.Value, visitors)
	}
	return c
}

// DayFigures are the figures of one UTC day of the period (its first and last day may be
// partial). A visitor counts on each day they were active.
type DayFigures struct {
	Date        string  `json:"date"`
	Visitors    int     `json:"visitors"`
	Sessions    int     `json:"sessions"`
	Conversions int     `json:"conversions"`
	Value       float64 `json:"value"`
}

// ChannelFigures are the figures of one channel: sessions that started from it, the
// distinct visitors of those sessions, and the conversions made in a session of the channel
// (the visitor's latest session started by the time of the conversion).
type ChannelFigures struct {
	Channel     string  `json:"channel"`
	Visitors    int     `json:"visitors"`
	Sessions    int     `json:"sessions"`
	Conversions int     `json:"conversions"`
	Value       float64 `json:"value"`
}

func runOverview(rc *reportCtx) (any, error) {
	from, to := rc.q.From, rc.q.To
	d0, d1 := dayOf(from), dayOf(to-1)
	if d1-d0+1 > maxOverviewDays {
		return nil, &QueryError{"from", "the overview covers at most ten years"}
	}
	prev := from - (to - from)
	res := &Overview{ByDay: make([]DayFigures, d1-d0+1), ByChannel: []ChannelFigures{}}
	for i := range res.ByDay {
		res.ByDay[i].Date = time.UnixMilli((d0 + int64(i)) * dayMS).UTC().Format(time.DateOnly)
	}
	now := rc.now.UnixMilli()
	cur := newPeriodAcc(from, to, now, res.ByDay, d0)
	before := newPeriodAcc(prev, from, now, nil, 0)
	days, err := overviewDays(rc, cur, before)
	if err != nil {
		return nil, err
	}
	res.Figures = cur.figures(days)
	res.Previous = before.figures(days)
	res.Change = changes(res.Figures, res.Previous)
	res.Currency = rc.currency
	res.ByChannel = cur.channels(days)
	slices.SortFunc(res.ByChannel, func(a, b ChannelFigures) int {
		return cmp.Or(cmp.Compare(b.Sessions, a.Sessions), cmp.Compare(b.Conversions, a.Conversions), cmp.Compare(a.Channel, b.Channel))
	})
	return res, nil
}

// overviewRollups holds the rollups of the whole days of a report's periods: day lo+i at i.
type overviewRollups struct {
	lo   int64
	days []*overviewDay
}

func (k *overviewRollups) at(day int64) *overviewDay { return k.days[day-k.lo] }

// overviewDays reads the rollups of the whole days of both periods, and in one scan of the
// store computes (and keeps) those the store lacks and adds up the partial days of both
// periods into their accumulators. A warm period then reads only the records of its
// partial first and last days and of those of the period before.
func overviewDays(rc *reportCtx, periods ...*periodAcc) (*overviewRollups, error) {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, p := range periods {
		if p.ws <= p.we {
			lo, hi = min(lo, p.ws), max(hi, p.we)
		}
	}
	k := &overviewRollups{lo: lo}
	if lo <= hi {
		k.days = make([]*overviewDay, hi-lo+1)
		r := overviewDecoder{names: map[string]string{}}
		err := rc.rs.EachRollup(rc.q.Site, lo, hi, []string{overviewKey}, func(day int64, _ string, b []byte) error {
			if d, err := r.decode(b); err == nil { // else an older encoding: computed again
				k.days[day-lo] = d
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	b := &daysBuilder{lo: lo, at: make([]*dayBuilder, len(k.days))}
	var ranges []reportstore.Range
	missing := false
	for _, p := range periods {
		for _, pc := range p.ps {
			if pc.day == noDay {
				ranges = append(ranges, days(pc.from, pc.to, reportstore.FlagActive))
			} else if k.at(pc.day) == nil {
				b.at[pc.day-lo] = newDayBuilder()
				ranges = append(ranges, reportstore.Range{From: pc.day, To: pc.day, Flags: reportstore.FlagActive})
				missing = true
			}
		}
	}
	if len(ranges) == 0 {
		return k, nil
	}
	slices.SortFunc(ranges, func(a, b reportstore.Range) int { return cmp.Compare(a.From, b.From) })
	joined := ranges[:1]
	for _, r := range ranges[1:] {
		if last := &joined[len(joined)-1]; r.From <= last.To+1 {
			last.To = max(last.To, r.To)
			continue
		}
		joined = append(joined, r)
	}
	stamp := 0
	err := rc.each(reportstore.PartTouches|reportstore.PartMarks|reportstore.PartConversions, joined, func(vs []*reportstore.Visitor) error {
		for _, v := range vs {
			stamp++
			for _, p := range periods {
				p.add(&v.J, stamp)
			}
			if missing {
				b.add(&v.J)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, db := range b.at {
		if db == nil {
			continue
		}
		k.days[i] = db.day()
		// Kept for later reports; a store refusing writes (a full disk) only costs speed.
		_ = rc.rs.PutRollup(rc.q.Site, lo+int64(i), overviewKey, k.days[i])
	}
	return k, nil
}

// periodAcc adds up the figures of one period: its whole closed days from their rollups,
// its partial days (a part of a day, today) from the records. days and chanVis are nil
// for the previous period, which has no breakdowns.
type periodAcc struct {
	from, to   int64
	ps         []piece
	ws, we     int64      // the whole days (ws > we: none)
	wFrom, wTo int64      // the whole days, in ms
	sums       []partSums // by piece, for the partial ones
	partial    []int      // the positions of the partial pieces in ps
	// visitors and converters of the partial days active or converting on no whole day
	visitors, converters int
	// breakdowns
	days    []DayFigures
	d0      int64
	dayMark []int          // the stamp of the last visitor counted on each day
	chanVis map[string]int // like visitors, per channel
	chanBuf []string       // the channels of one visitor's sessions in the partial days
	wBuf    []string       // and in the whole days
}

// partSums are the sums of a partial day: sessions, conversions and their value, and per
// channel for the breakdowns.
type partSums struct {
	sessions, conversions int
	value                 float64
	chans                 map[string]*ChannelFigures
}

func newPeriodAcc(from, to, now int64, days []DayFigures, d0 int64) *periodAcc {
	a := &periodAcc{from: from, to: to, ps: pieces(from, to, now), ws: 1, we: 0, days: days, d0: d0}
	for i, p := range a.ps {
		if p.day == noDay {
			a.partial = append(a.partial, i)
			continue
		}
		if a.ws > a.we {
			a.ws = p.day
		}
		a.we = p.day
	}
	a.wFrom, a.wTo = a.ws*dayMS, (a.we+1)*dayMS
	a.sums = make([]partSums, len(a.ps))
	if days != nil {
		a.dayMark = make([]int, len(days))
		a.chanVis = map[string]int{}
		for i := range a.sums {
			a.sums[i].chans = map[string]*ChannelFigures{}
		}
	}
	return a
}

func (a *periodAcc) hasWhole() bool { return a.ws <= a.we }

// activeOn counts the visitor (stamp) on the days of [lo, hi] inside piece p.
func (a *periodAcc) activeOn(lo, hi int64, p piece, stamp int) {
	if a.days == nil {
		return
	}
	for d := max(dayOf(lo), dayOf(p.from)); d <= min(dayOf(hi), dayOf(p.to-1)); d++ {
		if i := d - a.d0; a.dayMark[i] != stamp {
			a.dayMark[i] = stamp
			a.days[i].Visitors++
		}
	}
}

func (s *partSums) channel(name string) *ChannelFigures {
	c := s.chans[name]
	if c == nil {
		c = &ChannelFigures{Channel: name}
		s.chans[name] = c
	}
	return c
}

// add adds up j in the period's partial days: their sums, and j among the distinct
// visitors, converters and channel visitors when it is one of them there and on none of the
// whole days (those count it in their rollups).
func (a *periodAcc) add(j *report.Journey, stamp int) {
	if !a.touches(j) {
		return // read for a whole day of either period, or for the other period
	}
	active, activeW, converted, convertedW := false, false, false, false
	a.chanBuf, a.wBuf = a.chanBuf[:0], a.wBuf[:0]
	whole := a.hasWhole()
	for k := range j.Touches {
		t := &j.Touches[k]
		last := max(t.LastAt, t.StartedAt)
		if whole && t.StartedAt < a.wTo && last >= a.wFrom {
			activeW = true
			if a.days != nil && t.StartedAt >= a.wFrom {
				a.wBuf = append(a.wBuf, channelName(t.Channel))
			}
		}
		for _, i := range a.partial {
			if p := a.ps[i]; t.StartedAt >= p.to || last < p.from {
				continue
			}
			p := a.ps[i]
			active = true
			a.activeOn(t.StartedAt, last, p, stamp)
			if t.StartedAt < p.from {
				continue
			}
			s := &a.sums[i]
			s.sessions++
			if a.days != nil {
				a.days[dayOf(t.StartedAt)-a.d0].Sessions++
				name := channelName(t.Channel)
				s.channel(name).Sessions++
				a.chanBuf = append(a.chanBuf, name)
			}
		}
	}
	for _, m := range j.Steps {
		if whole && m.At >= a.wFrom && m.At < a.wTo {
			activeW = true
		}
		for _, i := range a.partial {
			if p := a.ps[i]; m.At >= p.from && m.At < p.to {
				active = true
				a.activeOn(m.At, m.At, p, stamp)
			}
		}
	}
	for k := range j.Conversions {
		c := &j.Conversions[k]
		if whole && c.At >= a.wFrom && c.At < a.wTo {
			convertedW = true
		}
		for _, i := range a.partial {
			if p := a.ps[i]; c.At < p.from || c.At >= p.to {
				continue
			}
			v := finite(c.Value)
			converted = true
			s := &a.sums[i]
			s.conversions++
			s.value += v
			if a.days != nil {
				d := &a.days[dayOf(c.At)-a.d0]
				d.Conversions++
				d.Value += v
				ch := s.channel(sessionChannel(j.Touches, c.At))
				ch.Conversions++
				ch.Value += v
			}
		}
	}
	if active && !activeW {
		a.visitors++
	}
	if converted && !convertedW {
		a.converters++
	}
	for i, name := range a.chanBuf {
		if !slices.Contains(a.chanBuf[:i], name) && !slices.Contains(a.wBuf, name) {
			a.chanVis[name]++
		}
	}
}

// touches reports whether j has a session, a step arrival or a conversion in one of the
// period's partial days: all add reads of a journey outside them is whether it is
// active there.
func (a *periodAcc) touches(j *report.Journey) bool {
	for _, i := range a.partial {
		p := a.ps[i]
		for k := range j.Touches {
			if t := &j.Touches[k]; t.StartedAt < p.to && max(t.LastAt, t.StartedAt) >= p.from {
				return true
			}
		}
		for _, m := range j.Steps {
			if m.At >= p.from && m.At < p.to {
				return true
			}
		}
		for k := range j.Conversions {
			if c := j.Conversions[k].At; c >= p.from && c < p.to {
				return true
			}
		}
	}
	return false
}

// figures returns the period's headline figures, and fills its by-day figures of the whole
// days: the pieces' sums in the period's order, the whole days' distinct visitors and
// converters counted on the first whole day each was active (converting) on.
func (a *periodAcc) figures(k *overviewRollups) Figures {
	f := Figures{Visitors: a.visitors, Converters: a.converters}
	for i, p := range a.ps {
		if p.day == noDay {
			s := &a.sums[i]
			f.Sessions += s.sessions
			f.Conversions += s.conversions
			f.Value += s.value
			continue
		}
		d := k.at(p.day)
		f.Sessions += d.sessions
		f.Conversions += d.conversions
		f.Value += d.value
		f.Visitors += d.visitors.since(p.day - a.ws)
		f.Converters += d.converters.since(p.day - a.ws)
		if a.days != nil {
			a.days[p.day-a.d0] = DayFigures{Date: a.days[p.day-a.d0].Date, Visitors: d.visitors.total(), Sessions: d.sessions, Conversions: d.conversions, Value: d.value}
		}
	}
	if f.Visitors > 0 {
		f.ConversionRate = report.Some(float64(f.Converters) / float64(f.Visitors))
	}
	return f
}

// channels returns the period's figures by channel, unordered.
func (a *periodAcc) channels(k *overviewRollups) []ChannelFigures {
	m := map[string]*ChannelFigures{}
	get := func(name string) *ChannelFigures {
		c := m[name]
		if c == nil {
			c = &ChannelFigures{Channel: name}
			m[name] = c
		}
		return c
	}
	for i, p := range a.ps {
		if p.day == noDay {
			// In name order, so that a channel's value adds up in the same order every time.
			for _, name := range slices.Sorted(maps.Keys(a.sums[i].chans)) {
				s := a.sums[i].chans[name]
				c := get(name)
				c.Sessions += s.Sessions
				c.Conversions += s.Conversions
				c.Value += s.Value
			}
			continue
		}
		for _, dc := range k.at(p.day).chans {
			c := get(dc.name)
			c.Sessions += dc.sessions
			c.Conversions += dc.conversions
			c.Value += dc.value
			c.Visitors += dc.visitors.since(p.day - a.ws)
		}
	}
	out := make([]ChannelFigures, 0, len(m))
	for name, c := range m {
		c.Visitors += a.chanVis[name]
		out = append(out, *c)
	}
	return out
}

// sessionChannel returns the channel of the latest session started by t, Unassigned when
// none. ts is ordered by start time.
func sessionChannel(ts []journey.Touchpoint, t int64) string {
	i := sort.Search(len(ts), func(i int) bool { return ts[i].StartedAt > t })
	if i == 0 || ts[i-1].Channel == "" {
		return report.Unassigned
	}
	return ts[i-1].Channel
}

// finite returns v, or 0 when it is not a finite number, as the report package counts
// values.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
