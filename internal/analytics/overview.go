package analytics

import (
	"cmp"
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
	acc := overviewAcc{from: from, to: to, d0: d0, d1: d1, days: res.ByDay, dayMark: make([]int, len(res.ByDay)), chans: map[string]*chanAcc{}}
	pacc := overviewAcc{from: prev, to: from}
	stamp := 0
	err := rc.each(reportstore.PartTouches|reportstore.PartMarks|reportstore.PartConversions, []reportstore.Range{days(prev, to, reportstore.FlagActive)}, func(vs []*reportstore.Visitor) error {
		for _, v := range vs {
			stamp++
			acc.add(&v.J, stamp)
			pacc.add(&v.J, stamp)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Figures = acc.figures()
	res.Previous = pacc.figures()
	res.Change = changes(res.Figures, res.Previous)
	res.Currency = rc.currency
	for _, c := range acc.chans {
		res.ByChannel = append(res.ByChannel, c.ChannelFigures)
	}
	slices.SortFunc(res.ByChannel, func(a, b ChannelFigures) int {
		return cmp.Or(cmp.Compare(b.Sessions, a.Sessions), cmp.Compare(b.Conversions, a.Conversions), cmp.Compare(a.Channel, b.Channel))
	})
	return res, nil
}

// overviewAcc adds up the figures of one period; days and chans are nil for the previous
// period, which has no breakdowns.
type overviewAcc struct {
	from, to int64
	f        Figures
	d0, d1   int64 // the period's first and last days (days only)
	days     []DayFigures
	dayMark  []int // the stamp of the last visitor counted on each day
	chans    map[string]*chanAcc
}

type chanAcc struct {
	ChannelFigures
	mark int // the stamp of the last visitor counted in the channel
}

func (a *overviewAcc) channel(name string) *chanAcc {
	if name == "" {
		name = report.Unassigned
	}
	c := a.chans[name]
	if c == nil {
		c = &chanAcc{ChannelFigures: ChannelFigures{Channel: name}}
		a.chans[name] = c
	}
	return c
}

// activeOn counts the visitor (stamp) on the days of [lo, hi] inside the period.
func (a *overviewAcc) activeOn(lo, hi int64, stamp int) {
	if a.days == nil {
		return
	}
	for d := max(dayOf(lo), a.d0); d <= min(dayOf(hi), a.d1); d++ {
		if i := d - a.d0; a.dayMark[i] != stamp {
			a.dayMark[i] = stamp
			a.days[i].Visitors++
		}
	}
}

func (a *overviewAcc) add(j *report.Journey, stamp int) {
	active, converted := false, false
	for k := range j.Touches {
		t := &j.Touches[k]
		last := max(t.LastAt, t.StartedAt)
		if t.StartedAt < a.to && last >= a.from {
			active = true
			a.activeOn(t.StartedAt, last, stamp)
		}
		if t.StartedAt < a.from || t.StartedAt >= a.to {
			continue
		}
		a.f.Sessions++
		if a.days != nil {
			a.days[dayOf(t.StartedAt)-a.d0].Sessions++
			c := a.channel(t.Channel)
			c.Sessions++
			if c.mark != stamp {
				c.mark = stamp
				c.Visitors++
			}
		}
	}
	for _, s := range j.Steps {
		if s.At >= a.from && s.At < a.to {
			active = true
			a.activeOn(s.At, s.At, stamp)
		}
	}
	for k := range j.Conversions {
		c := &j.Conversions[k]
		if c.At < a.from || c.At >= a.to {
			continue
		}
		v := finite(c.Value)
		converted = true
		a.f.Conversions++
		a.f.Value += v
		if a.days != nil {
			d := &a.days[dayOf(c.At)-a.d0]
			d.Conversions++
			d.Value += v
			ch := a.channel(sessionChannel(j.Touches, c.At))
			ch.Conversions++
			ch.Value += v
		}
	}
	if active {
		a.f.Visitors++
	}
	if converted {
		a.f.Converters++
	}
}

func (a *overviewAcc) figures() Figures {
	f := a.f
	if f.Visitors > 0 {
		f.ConversionRate = report.Some(float64(f.Converters) / float64(f.Visitors))
	}
	return f
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
