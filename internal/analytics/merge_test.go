package analytics

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/report"
	"github.com/pathlight/pathlight/internal/rules"
)

const testDay = int64(dayMS)

// randomJourneys returns n visitors' journeys over days 0 … 60 (Unix ms from 0): sessions
// from a few channels and campaigns, step arrivals and conversions.
func randomJourneys(seed uint64, n int) []report.Journey {
	chans := []string{"Direct", "Organic Search", "Paid Search", "Email", "Paid Social", ""}
	camps := []string{"", "spring", "brand"}
	steps := []string{"landed", "viewed_product", "added_to_cart", "began_checkout", "purchased", "viewed_pricing"}
	r := rand.New(rand.NewPCG(seed, 7))
	js := make([]report.Journey, n)
	for i := range js {
		j := &js[i]
		j.VID = fmt.Sprintf("%032x", i)
		t := r.Int64N(60 * testDay)
		for range 1 + r.IntN(5) {
			j.Touches = append(j.Touches, journey.Touchpoint{StartedAt: t, LastAt: t + 600_000, Channel: chans[r.IntN(len(chans))], Campaign: camps[r.IntN(len(camps))]})
			at := t
			for range r.IntN(6) {
				at += r.Int64N(300_000)
				st := steps[r.IntN(len(steps))]
				j.Steps = append(j.Steps, journey.StepMark{Step: st, At: at})
				if st == "purchased" {
					j.Conversions = append(j.Conversions, journey.Conversion{Step: st, At: at, Value: float64(r.IntN(100))})
				}
			}
			t += r.Int64N(20 * testDay)
		}
	}
	return js
}

// storeOf puts journeys into a report store in memory, as folds would.
func storeOf(t testing.TB, js []report.Journey) *reportstore.Store {
	rs := reportstore.New(reportstore.NewMemory(), 0)
	news := make([]*reportstore.Visitor, len(js))
	for i, j := range js {
		news[i] = &reportstore.Visitor{J: j, HasState: true}
	}
	if _, err := rs.Put(make([]*reportstore.Visitor, len(js)), news); err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestDailyRollupsEqualDirect checks that attribution and path tables summed from daily
// rollups (kept, then read again) equal the report package's result over all journeys, for
// every model and for periods that start and end inside a day.
func TestDailyRollupsEqualDirect(t *testing.T) {
	js := randomJourneys(1, 8000) // several hundred a day: a day's rollup adds up parts of pieceBatch journeys
	s := newService(nil, rules.Empty, nil, Options{Now: func() time.Time { return time.UnixMilli(70 * testDay) }})
	rs := storeOf(t, js)
	periods := [][2]int64{{5 * testDay, 40 * testDay}, {5*testDay + 3_600_000, 40*testDay - 1}, {10 * testDay, 10*testDay + 5}}
	for _, p := range periods {
		for pass := range 2 { // the second pass reads the kept rollups
			rc := &reportCtx{s: s, rs: rs, q: Query{From: p[0], To: p[1]}, now: time.UnixMilli(70 * testDay)}
			po := report.PathOptions{From: p[0], To: p[1], Lookback: 7 * 24 * time.Hour}
			got, err := rc.pathTable(po)
			if err != nil {
				t.Fatal(err)
			}
			want, err := report.BuildPaths(js, po)
			if err != nil {
				t.Fatal(err)
			}
			if !sameTables(got, want) {
				t.Errorf("pass %d: path table of %v from rollups = %d rows, totals %v; want %d rows, totals %v", pass, p, len(got.Rows), fmt.Sprint(got.Totals()), len(want.Rows), fmt.Sprint(want.Totals()))
			}
			for _, m := range AllModels() {
				ao := report.AttributionOptions{Model: m, FirstWeight: report.DefaultFirstWeight, LastWeight: report.DefaultLastWeight, HalfLife: report.DefaultHalfLife}
				got, err := rc.attribution(po, ao)
				if err != nil {
					t.Fatal(err)
				}
				want, err := report.AttributeJourneys(js, po, ao)
				if err != nil {
					t.Fatal(err)
				}
				if !sameAttribution(got, want) {
					g, _ := json.Marshal(got)
					w, _ := json.Marshal(want)
					t.Errorf("pass %d: %s over %v from rollups =\n%s\nwant\n%s", pass, m, p, g, w)
				}
			}
		}
	}
}

func sameTables(a, b *report.PathTable) bool {
	if len(a.Rows) != len(b.Rows) {
		return false
	}
	for i := range a.Rows {
		x, y := a.Rows[i], b.Rows[i]
		if !reflect.DeepEqual(x.Path, y.Path) || !close(x.Conversions, y.Conversions) || !close(x.Value, y.Value) || !close(x.Nulls, y.Nulls) {
			return false
		}
	}
	return true
}

func sameAttribution(a, b *report.Attribution) bool {
	if a.Model != b.Model || !close(a.Conversions, b.Conversions) || !close(a.Value, b.Value) || !close(a.Nulls, b.Nulls) || len(a.Channels) != len(b.Channels) {
		return false
	}
	for _, x := range b.Channels {
		y := a.Channel(x.Channel)
		if !close(x.Conversions, y.Conversions) || !close(x.Value, y.Value) || !close(x.Share, y.Share) || len(x.Campaigns) != len(y.Campaigns) {
			return false
		}
		for _, c := range x.Campaigns {
			found := false
			for _, d := range y.Campaigns {
				if d.Campaign == c.Campaign {
					found = close(c.Conversions, d.Conversions) && close(c.Value, d.Value)
				}
			}
			if !found {
				return false
			}
		}
	}
	return true
}

func close(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestChunkedJourneyMapEqualsDirect checks that the journey map added up from chunks of
// visitors is the report package's map of all the journeys, order included, and that the
// micro-conversions the builder gives are those computed apart.
func TestChunkedJourneyMapEqualsDirect(t *testing.T) {
	js := randomJourneys(2, 20000)
	stages := map[string]string{"landed": "awareness", "viewed_product": "consideration", "added_to_cart": "decision", "purchased": "retention"}
	for _, top := range []int{3, 10, 1000} {
		o := report.JourneyMapOptions{From: 3 * testDay, To: 50 * testDay, Stages: stages, TopPaths: top, PathSteps: 3}
		want, err := report.BuildJourneyMap(js, o)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := json.Marshal(want)
		for _, chunk := range []int{len(js), 7000, 2048, 333} {
			b, err := report.NewJourneyMapBuilder(o)
			if err != nil {
				t.Fatal(err)
			}
			for lo := 0; lo < len(js); lo += chunk {
				b.Add(js[lo:min(lo+chunk, len(js))])
			}
			if g, _ := json.Marshal(b.Result()); string(g) != string(w) {
				t.Errorf("journey map (top %d) from chunks of %d =\n%s\nwant\n%s", top, chunk, g, w)
			}
			for _, steps := range [][]string{nil, {"purchased", "nowhere", "landed"}} {
				want, err := report.MicroConversionRates(js, steps, o.From, o.To)
				if err != nil {
					t.Fatal(err)
				}
				g, _ := json.Marshal(b.Micro(steps))
				if w, _ := json.Marshal(want); string(g) != string(w) || want.Visitors == 0 {
					t.Errorf("micro-conversions of steps %q from the map's chunks of %d =\n%s\nwant (not empty)\n%s", steps, chunk, g, w)
				}
			}
		}
	}
}

// TestPieces checks the split of periods into kept days and direct ranges.
func TestPieces(t *testing.T) {
	now := 10*testDay + 5
	cases := []struct {
		from, to int64
		want     []piece
	}{
		{2 * testDay, 4 * testDay, []piece{{2 * testDay, 3 * testDay, 2}, {3 * testDay, 4 * testDay, 3}}},
		{2*testDay + 1, 4*testDay - 1, []piece{{2*testDay + 1, 4*testDay - 1, noDay}}},
		{2*testDay + 1, 5*testDay - 1, []piece{{2*testDay + 1, 3 * testDay, noDay}, {3 * testDay, 4 * testDay, 3}, {4 * testDay, 5*testDay - 1, noDay}}},
		{8 * testDay, 12 * testDay, []piece{{8 * testDay, 9 * testDay, 8}, {9 * testDay, 10 * testDay, 9}, {10 * testDay, 12 * testDay, noDay}}},
		{testDay + 5, testDay + 9, []piece{{testDay + 5, testDay + 9, noDay}}},
		{-testDay, 0, []piece{{-testDay, 0, -1}}},
	}
	for _, c := range cases {
		if got := pieces(c.from, c.to, now); !reflect.DeepEqual(got, c.want) {
			t.Errorf("pieces(%d, %d) = %v; want %v", c.from, c.to, got, c.want)
		}
	}
}

// TestRollupsOfTwoStoresAddUp: the daily rollups two servers make from disjoint visitors add
// up to the rollups one server makes from all of them, as a cluster will need.
func TestRollupsOfTwoStoresAddUp(t *testing.T) {
	js := randomJourneys(3, 2000)
	now := time.UnixMilli(70 * testDay)
	s := newService(nil, rules.Empty, nil, Options{Now: func() time.Time { return now }})
	all, a, b := storeOf(t, js), storeOf(t, js[:700]), storeOf(t, js[700:])
	po := report.PathOptions{Lookback: 7 * 24 * time.Hour}
	ao := report.AttributionOptions{Model: report.Linear, FirstWeight: report.DefaultFirstWeight, LastWeight: report.DefaultLastWeight, HalfLife: report.DefaultHalfLife}
	for d := int64(10); d < 40; d += 7 {
		q := Query{From: d * testDay, To: (d + 1) * testDay}
		ctx := func(rs *reportstore.Store) *reportCtx { return &reportCtx{s: s, rs: rs, q: q, now: now} }
		want, err := ctx(all).pathTable(po)
		if err != nil {
			t.Fatal(err)
		}
		ta, _ := ctx(a).pathTable(po)
		tb, _ := ctx(b).pathTable(po)
		ta.Merge(tb)
		ta.Sort()
		if !sameTables(ta, want) {
			t.Errorf("day %d: path tables of two stores add up to %v; want %v", d, fmt.Sprint(ta.Totals()), fmt.Sprint(want.Totals()))
		}
		wa, _ := ctx(all).attribution(po, ao)
		aa, _ := ctx(a).attribution(po, ao)
		ab, _ := ctx(b).attribution(po, ao)
		if got := report.MergeAttributions(ao.Model, []*report.Attribution{aa, ab}); !sameAttribution(got, wa) {
			t.Errorf("day %d: linear credits of two stores do not add up to one store's", d)
		}
	}
}

// TestPrefetchedRollupsEqualDirect: the rollups one scan computes for every model at once
// give the same credits and path tables as the report package over all the journeys.
func TestPrefetchedRollupsEqualDirect(t *testing.T) {
	js := randomJourneys(4, 8000)
	now := time.UnixMilli(70 * testDay)
	s := newService(nil, rules.Empty, nil, Options{Now: func() time.Time { return now }})
	po := report.PathOptions{From: 5*testDay + 3_600_000, To: 40 * testDay, Lookback: 7 * 24 * time.Hour}
	rc := &reportCtx{s: s, rs: storeOf(t, js), q: Query{From: po.From, To: po.To}, now: now}
	specs := []rollupSpec{pathSpec(po)}
	var aos []report.AttributionOptions
	for _, m := range AllModels()[:6] {
		ao := report.AttributionOptions{Model: m, FirstWeight: report.DefaultFirstWeight, LastWeight: report.DefaultLastWeight, HalfLife: report.DefaultHalfLife}
		aos = append(aos, ao)
		specs = append(specs, attributionSpec(po, ao))
	}
	if err := prefetchRollups(rc, specs); err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		ok := false
		err := rc.rs.EachRollup("", 20, 20, []string{sp.key}, func(int64, string, []byte) error { ok = true; return nil })
		if !ok || err != nil {
			t.Fatalf("after the prefetch, %s of day 20 kept = %v, %v; want it kept", sp.key, ok, err)
		}
	}
	got, err := rc.pathTable(po)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := report.BuildPaths(js, po); !sameTables(got, want) {
		t.Errorf("path table from prefetched rollups: totals %v; want %v", fmt.Sprint(got.Totals()), fmt.Sprint(want.Totals()))
	}
	for _, ao := range aos {
		got, err := rc.attribution(po, ao)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := report.AttributeJourneys(js, po, ao); !sameAttribution(got, want) {
			t.Errorf("%s from prefetched rollups differs from the direct credits", ao.Model)
		}
	}
}

// TestWarmPeriodReadsOnlyItsPartialDays: once a period's whole days are kept as rollups, the
// same period a millisecond later lacks only its partial first day and today, and decodes
// only the journeys attributable in those (a conversion on one of them, or a touch whose
// lookback expires on one), not every journey of the period; its figures stay those of all
// the journeys.
func TestWarmPeriodReadsOnlyItsPartialDays(t *testing.T) {
	js := randomJourneys(3, 8000)
	now := time.UnixMilli(40*testDay + 7_200_000) // today is day 40
	s := newService(nil, rules.Empty, nil, Options{Now: func() time.Time { return now }})
	rs := storeOf(t, js)
	const lookback = 7 * 24 * time.Hour
	for pass, from := range []int64{5*testDay + 3_600_000, 5*testDay + 3_600_001} {
		to := now.UnixMilli() + int64(pass)
		rc := &reportCtx{s: s, rs: rs, q: Query{From: from, To: to}, now: now}
		po := report.PathOptions{From: from, To: to, Lookback: lookback}
		_, handed0 := rs.Reads()
		got, err := rc.pathTable(po)
		if err != nil {
			t.Fatal(err)
		}
		_, handed := rs.Reads()
		if want, _ := report.BuildPaths(js, po); !sameTables(got, want) {
			t.Errorf("pass %d: path table totals %v; want %v", pass, fmt.Sprint(got.Totals()), fmt.Sprint(want.Totals()))
		}
		if pass == 0 {
			continue
		}
		// Attributable in day 5 (its partial piece) or day 40 (today): a conversion on
		// that day, or a touch on the day its lookback expires.
		want := 0
		for i := range js {
			hit := false
			for _, c := range js[i].Conversions {
				d := c.At / testDay
				hit = hit || d == 5 || d == 40
			}
			for _, tc := range js[i].Touches {
				d := tc.StartedAt / testDay
				hit = hit || d == 5-7 || d == 40-7
			}
			if hit {
				want++
			}
		}
		if n := handed - handed0; n != uint64(want) {
			t.Errorf("the warm period decoded %d journeys; want the %d attributable in its partial first day and today (of %d)", n, want, len(js))
		}
	}
}
