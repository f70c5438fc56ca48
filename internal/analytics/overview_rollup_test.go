package analytics

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/report"
	"github.com/pathlight/pathlight/internal/rules"
)

// directOverview is the overview of js over [from, to) computed from every journey, as it
// was before daily rollups: the reference the rollups must equal.
func directOverview(js []report.Journey, from, to int64) *Overview {
	d0, d1 := dayOf(from), dayOf(to-1)
	res := &Overview{ByDay: make([]DayFigures, d1-d0+1), ByChannel: []ChannelFigures{}}
	for i := range res.ByDay {
		res.ByDay[i].Date = time.UnixMilli((d0 + int64(i)) * dayMS).UTC().Format(time.DateOnly)
	}
	acc := overviewAcc{from: from, to: to, d0: d0, d1: d1, days: res.ByDay, dayMark: make([]int, len(res.ByDay)), chans: map[string]*chanAcc{}}
	pacc := overviewAcc{from: from - (to - from), to: from}
	for i := range js {
		acc.add(&js[i], i+1)
		pacc.add(&js[i], i+1)
	}
	res.Figures = acc.figures()
	res.Previous = pacc.figures()
	res.Change = changes(res.Figures, res.Previous)
	for _, c := range acc.chans {
		res.ByChannel = append(res.ByChannel, c.ChannelFigures)
	}
	slices.SortFunc(res.ByChannel, func(a, b ChannelFigures) int {
		return cmp.Or(cmp.Compare(b.Sessions, a.Sessions), cmp.Compare(b.Conversions, a.Conversions), cmp.Compare(a.Channel, b.Channel))
	})
	return res
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

// overviewJourneys are random journeys over days 0–60, with sessions that run past
// midnight or over days, step arrivals, conversions and unassigned channels.
func overviewJourneys(seed uint64, n int) []report.Journey {
	js := randomJourneys(seed, n)
	r := rand.New(rand.NewPCG(seed, 11))
	for i := range js {
		for k := range js[i].Touches {
			t := &js[i].Touches[k]
			switch r.IntN(8) {
			case 0: // past midnight
				t.LastAt = (dayOf(t.StartedAt)+1)*dayMS + r.Int64N(3_600_000)
			case 1: // over days
				t.LastAt = t.StartedAt + r.Int64N(4*testDay)
			}
		}
	}
	return js
}

// sameOverview reports how got differs from want: counts exactly, values to 1e-9.
func sameOverview(got, want *Overview) error {
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	figs := func(what string, g, w Figures) error {
		gv, wv := g.Value, w.Value
		g.Value, w.Value = 0, 0
		if g != w || !near(gv, wv) {
			g.Value, w.Value = gv, wv
			return fmt.Errorf("%s = %+v; want %+v", what, g, w)
		}
		return nil
	}
	if err := figs("figures", got.Figures, want.Figures); err != nil {
		return err
	}
	if err := figs("previous", got.Previous, want.Previous); err != nil {
		return err
	}
	if len(got.ByDay) != len(want.ByDay) {
		return fmt.Errorf("%d days; want %d", len(got.ByDay), len(want.ByDay))
	}
	for i, g := range got.ByDay {
		w := want.ByDay[i]
		gv, wv := g.Value, w.Value
		g.Value, w.Value = 0, 0
		if g != w || !near(gv, wv) {
			return fmt.Errorf("day %d = %+v (value %v); want %+v (value %v)", i, g, gv, w, wv)
		}
	}
	if len(got.ByChannel) != len(want.ByChannel) {
		return fmt.Errorf("channels %+v; want %+v", got.ByChannel, want.ByChannel)
	}
	for i, g := range got.ByChannel {
		w := want.ByChannel[i]
		gv, wv := g.Value, w.Value
		g.Value, w.Value = 0, 0
		if g != w || !near(gv, wv) {
			return fmt.Errorf("channel %d = %+v (value %v); want %+v (value %v)", i, g, gv, w, wv)
		}
	}
	return nil
}

func overviewOf(t *testing.T, s *Service, rs *reportstore.Store, now time.Time, from, to int64) *Overview {
	t.Helper()
	return siteOverview(t, s, rs, now, "", from, to)
}

func siteOverview(t *testing.T, s *Service, rs *reportstore.Store, now time.Time, site string, from, to int64) *Overview {
	t.Helper()
	rc := &reportCtx{s: s, rs: rs, q: Query{From: from, To: to, Site: site}, now: now}
	res, err := runOverview(rc)
	if err != nil {
		t.Fatal(err)
	}
	return res.(*Overview)
}

// activeDays returns the days a journey is filed as active on (see reportstore's day
// flags): a session overlapping the day, a step arrival or a conversion in it.
func activeDays(j *report.Journey) map[int64]bool {
	m := map[int64]bool{}
	for _, t := range j.Touches {
		for d := dayOf(t.StartedAt); d <= dayOf(max(t.LastAt, t.StartedAt)); d++ {
			m[d] = true
		}
	}
	for _, s := range j.Steps {
		m[dayOf(s.At)] = true
	}
	for _, c := range j.Conversions {
		m[dayOf(c.At)] = true
	}
	return m
}

// TestOverviewRollupsEqualDirect checks the overview summed from daily rollups against the
// overview computed from every journey, for periods that start and end inside a day, that
// hold no whole day, that reach past today, cold (no rollup kept) and warm (every whole
// day kept), and that a warm period decodes only the journeys active on its partial days
// and on those of the period before.
func TestOverviewRollupsEqualDirect(t *testing.T) {
	js := overviewJourneys(5, 4000)
	now := time.UnixMilli(50*testDay + 5*3_600_000) // today is day 50
	s := newService(nil, rules.Empty, nil, Options{Now: func() time.Time { return now }})
	periods := [][2]int64{
		{5*testDay + 3*3_600_000, 40 * testDay},
		{20 * testDay, 50*testDay + 5*3_600_000},
		{10*testDay + 1, 45*testDay + 7*3_600_000},
		{30 * testDay, 31 * testDay},
		{49*testDay + 3_600_000, 50*testDay + 2*3_600_000},
		{0, 62 * testDay},
		{-3 * testDay, 8*testDay + 1},
	}
	for _, p := range periods {
		rs := storeOf(t, js)
		for pass, shift := range []int64{0, 0, 1} {
			from, to := p[0]+shift, p[1]+shift
			_, handed0 := rs.Reads()
			got := overviewOf(t, s, rs, now, from, to)
			_, handed := rs.Reads()
			if err := sameOverview(got, directOverview(js, from, to)); err != nil {
				t.Errorf("%d–%d pass %d: %v", from, to, pass, err)
			}
			if pass == 0 {
				continue
			}
			// The partial days of both periods: the days of the pieces not kept.
			partial := map[int64]bool{}
			for _, pr := range [][2]int64{{from, to}, {from - (to - from), from}} {
				for _, pc := range pieces(pr[0], pr[1], now.UnixMilli()) {
					if pc.day == noDay {
						for d := dayOf(pc.from); d <= dayOf(pc.to-1); d++ {
							partial[d] = true
						}
					}
				}
			}
			want := 0
			for i := range js {
				for d := range activeDays(&js[i]) {
					if partial[d] {
						want++
						break
					}
				}
			}
			if n := handed - handed0; n != uint64(want) {
				t.Errorf("%d–%d pass %d: the warm overview decoded %d journeys; want the %d active on its partial days (of %d)", from, to, pass, n, want, len(js))
			}
		}
	}
}

// TestOverviewRollupsFollowChanges changes journeys after their days' rollups were kept
// (a session backdated, a session that now lasts into the next day, a step arrival
// backdated, the oldest step arrival dropped as a full history drops it, a conversion
// backdated, visitors erased), and checks the overview against the one computed from the
// changed journeys.
func TestOverviewRollupsFollowChanges(t *testing.T) {
	js := overviewJourneys(9, 2000)
	now := time.UnixMilli(50*testDay + 5*3_600_000)
	s := newService(nil, rules.Empty, nil, Options{Now: func() time.Time { return now }})
	rs := reportstore.New(reportstore.NewMemory(), 0)
	vs := make([]*reportstore.Visitor, len(js))
	for i, j := range js {
		vs[i] = &reportstore.Visitor{J: j, HasState: true}
	}
	if _, err := rs.Put(make([]*reportstore.Visitor, len(vs)), vs); err != nil {
		t.Fatal(err)
	}
	from, to := 10*testDay+7, 45*testDay+3_600_000
	overviewOf(t, s, rs, now, from, to) // keeps every whole day
	r := rand.New(rand.NewPCG(3, 3))
	changes := []func(j *report.Journey){
		func(j *report.Journey) { // a session backdated
			at := (5 + r.Int64N(40)) * testDay
			j.Touches = append([]journey.Touchpoint{{StartedAt: at, LastAt: at + 60_000, Channel: "Email"}}, j.Touches...)
			slices.SortFunc(j.Touches, func(a, b journey.Touchpoint) int { return cmp.Compare(a.StartedAt, b.StartedAt) })
		},
		func(j *report.Journey) { // the first session now lasts into the next day
			if len(j.Touches) > 0 {
				t := &j.Touches[0]
				t.LastAt = (dayOf(max(t.LastAt, t.StartedAt))+1)*dayMS + 60_000
			}
		},
		func(j *report.Journey) { // a step arrival backdated
			j.Steps = append([]journey.StepMark{{Step: "landed", At: (5 + r.Int64N(40)) * testDay}}, j.Steps...)
		},
		func(j *report.Journey) { // the oldest step arrival dropped
			if len(j.Steps) > 0 {
				j.Steps = j.Steps[1:]
			}
		},
		func(j *report.Journey) { // a conversion backdated
			at := (5 + r.Int64N(40)) * testDay
			j.Conversions = append([]journey.Conversion{{Step: "purchased", At: at, Value: 7}}, j.Conversions...)
		},
		nil, // erased
	}
	for round, change := range changes {
		var olds, news []*reportstore.Visitor
		for k := 0; k < 20; k++ {
			i := r.IntN(len(js))
			if slices.ContainsFunc(olds, func(v *reportstore.Visitor) bool { return v == vs[i] }) {
				continue
			}
			olds = append(olds, vs[i])
			if change == nil {
				js[i], vs[i] = report.Journey{}, nil
				news = append(news, nil)
				continue
			}
			j := js[i]
			j.Touches, j.Steps, j.Conversions = slices.Clone(j.Touches), slices.Clone(j.Steps), slices.Clone(j.Conversions)
			change(&j)
			js[i] = j
			vs[i] = &reportstore.Visitor{J: j, HasState: true}
			news = append(news, vs[i])
		}
		if _, err := rs.Put(olds, news); err != nil {
			t.Fatal(err)
		}
		got := overviewOf(t, s, rs, now, from, to)
		if err := sameOverview(got, directOverview(js, from, to)); err != nil {
			t.Errorf("after change %d: %v", round, err)
		}
	}
}

// keptOverviewDays returns the overview rollups a store keeps for days [lo, hi].
func keptOverviewDays(t *testing.T, rs *reportstore.Store, lo, hi int64) map[int64]*overviewDay {
	t.Helper()
	out := map[int64]*overviewDay{}
	r := overviewDecoder{names: map[string]string{}}
	err := rs.EachRollup("", lo, hi, []string{overviewKey}, func(day int64, _ string, b []byte) error {
		d, err := r.decode(b)
		out[day] = d
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOverviewRollupsOfTwoStoresAddUp: the overview rollups two stores holding disjoint
// visitors keep for a day add up to the one a store holding all of them keeps, and the
// overview summed from the added-up days is the overview of all the journeys.
func TestOverviewRollupsOfTwoStoresAddUp(t *testing.T) {
	js := overviewJourneys(3, 3000)
	now := time.UnixMilli(70 * testDay)
	s := newService(nil, rules.Empty, nil, Options{Now: func() time.Time { return now }})
	all, a, b := storeOf(t, js), storeOf(t, js[:1100]), storeOf(t, js[1100:])
	from, to := 30*testDay, 60*testDay
	for _, rs := range []*reportstore.Store{all, a, b} {
		overviewOf(t, s, rs, now, from, to) // keeps days 0–59
	}
	da, db, dall := keptOverviewDays(t, a, 0, 59), keptOverviewDays(t, b, 0, 59), keptOverviewDays(t, all, 0, 59)
	if len(dall) != 60 || len(da) != 60 || len(db) != 60 {
		t.Fatalf("kept %d, %d and %d days; want 60 each", len(dall), len(da), len(db))
	}
	merged := &overviewRollups{lo: 0, days: make([]*overviewDay, 60)}
	for d := range int64(60) {
		m := mergeOverviewDays(da[d], db[d])
		w := dall[d]
		if math.Abs(m.value-w.value) > 1e-9*math.Max(1, w.value) {
			t.Errorf("day %d: value %v; want %v", d, m.value, w.value)
		}
		m.value = w.value
		for i := range min(len(m.chans), len(w.chans)) {
			if math.Abs(m.chans[i].value-w.chans[i].value) <= 1e-9*math.Max(1, w.chans[i].value) {
				m.chans[i].value = w.chans[i].value
			}
		}
		if fmt.Sprint(*m) != fmt.Sprint(*w) {
			t.Errorf("day %d: two stores add up to\n%+v\nwant\n%+v", d, *m, *w)
		}
		merged.days[d] = m
	}
	// The overview of the whole days 30–59 from the added-up days.
	cur := newPeriodAcc(from, to, now.UnixMilli(), make([]DayFigures, 30), 30)
	if f, want := cur.figures(merged), directOverview(js, from, to).Figures; f != want {
		t.Errorf("figures from added-up days = %+v; want %+v", f, want)
	}
}

// TestWarmKeepsTheOverviewRollups: the background job that follows a start computes the
// overview's rollups of the last 180 closed days (a 90-day overview and the period before),
// so that the first overview after a start reads them.
func TestWarmKeepsTheOverviewRollups(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "db"))
	defer s.db.Close()
	s.traffic(t, 0, 300)
	s.svc.warm(context.Background())
	today := dayOf(restartEnd.UnixMilli())
	kept := keptOverviewDays(t, s.svc.rs, today-2*warmPeriod, today)
	for d := today - 2*warmPeriod; d < today; d++ {
		if kept[d] == nil {
			t.Errorf("day %d (%d days back) has no overview rollup", d, today-d)
		}
	}
	if kept[today] != nil {
		t.Error("today's overview rollup was kept")
	}
}

// TestOverviewRollupsKeepSitesApart: each site's overview sums rollups of its own visitors,
// kept apart from the other site's and from every site's together.
func TestOverviewRollupsKeepSitesApart(t *testing.T) {
	js := overviewJourneys(13, 3000)
	now := time.UnixMilli(50*testDay + 5*3_600_000)
	s := newService(nil, rules.Empty, nil, Options{Now: func() time.Time { return now }})
	sites := [][]string{{"shop"}, {"blog"}, {"shop", "blog"}}
	rs := reportstore.New(reportstore.NewMemory(), 0)
	vs := make([]*reportstore.Visitor, len(js))
	of := map[string][]report.Journey{}
	for i, j := range js {
		vs[i] = &reportstore.Visitor{J: j, HasState: true, Sites: sites[i%3]}
		for _, site := range append([]string{""}, sites[i%3]...) {
			of[site] = append(of[site], j)
		}
	}
	if _, err := rs.Put(make([]*reportstore.Visitor, len(vs)), vs); err != nil {
		t.Fatal(err)
	}
	from, to := 12*testDay+5, 44*testDay+3_600_000
	for pass := range 2 { // cold, then warm
		for _, site := range []string{"", "shop", "blog"} {
			got := siteOverview(t, s, rs, now, site, from+int64(pass), to+int64(pass))
			if err := sameOverview(got, directOverview(of[site], from+int64(pass), to+int64(pass))); err != nil {
				t.Errorf("site %q, pass %d: %v", site, pass, err)
			}
		}
	}
}
