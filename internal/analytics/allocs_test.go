package analytics_test

import (
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
)

// TestReportsAllocateLittlePerVisitor holds what the reports that keep something per
// visitor allocate for each visitor of the period: the bytes of a report over a period of
// 2N visitors less those over a period of N, per added visitor. Allocations, not time: a
// report's garbage is what makes the collector run beside the hits. A slice that doubles
// (about twice its final size allocated) or every event of the period collected whole
// fails it.
func TestReportsAllocateLittlePerVisitor(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts under the race detector measure the detector; make test runs this without it")
	}
	// More than a chunk of records (reportstore.ChunkSize): the scan's memory for a chunk
	// is the same for N and 2N.
	const n = 2500
	e := newEnv(t, day(20))
	// Visitors 1 … n come on days 1–7, n+1 … 2n on days 8–14: each lands, views a
	// product, adds it to the cart, checks out, buys, and answers the survey after the
	// purchase, minutes apart.
	var hits []hit
	for v := 1; v <= 2*n; v++ {
		t0 := at(1+v%7+7*((v-1)/n), 8+v%10, v%60)
		step := func(i int, evs ...ev) hit { return hit{at: t0.Add(time.Duration(i) * time.Minute), n: v, evs: evs} }
		hits = append(hits,
			step(0, pv("/", []string{"", "https://www.google.com/", "https://blog.example.org/"}[v%3])),
			step(1, pv("/products/jacket", "")),
			step(2+v%5, named("add_to_cart", nil)),
			step(9, pv("/checkout", "")),
			step(10+v%7, named("purchase", map[string]any{"value": 20 + v%100})),
			step(20, pv("/thanks", ""), prompt("post_purchase_nps", "shown", "")),
			step(21, prompt("post_purchase_nps", "answered", []string{"9", "10", "6", "7"}[v%4])),
		)
	}
	e.send(t, hits...)
	// allocated returns the least bytes of five runs of report name over [day 1, to)
	// (each for a period a millisecond apart: no cached result), and its payload. Both
	// periods' scans start on day 1: they read the same keys, in Badger and among the
	// writes still on their way to it.
	allocated := func(name string, to time.Time) (uint64, any) {
		q := analytics.Query{From: day(1).UnixMilli(), To: to.UnixMilli(), Options: map[string]string{}}
		least := uint64(math.MaxUint64)
		var data any
		for range 5 {
			q.To++
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r, err := e.svc.Report(name, q)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("Report(%q): %v", name, err)
			}
			least, data = min(least, after.TotalAlloc-before.TotalAlloc), r.Data
		}
		return least, data
	}
	allocated("micro", day(15)) // folds the visitors sent into the report store
	// The most each report may allocate for a visitor (one funnel entry, one conversion,
	// two prompt events). The funnel keeps four bytes a step reached, in the funnel and in
	// its channel's group, in blocks that double up to 8,192 values: about 48 bytes a
	// visitor between these two sizes (227 when it kept eight bytes a step in slices that
	// double). The time to conversion keeps eight bytes a conversion, twice (in all and in
	// its channel's): about 24 (113 before). The surveys keep nothing per event, and read
	// the records without their ids (an open answer makes its visitor's): about 0 (1,058
	// when they collected every event of the period and a map of visitors, with ids).
	// The process's counts also take in what its other goroutines allocate meanwhile
	// (Badger flushing and compacting what was just written): a run of the surveys once
	// measured 26 bytes a visitor of it. So each bound leaves about 32 bytes a visitor
	// for that, the least of five runs is taken, and each is still several times below
	// what the report took when it kept a value per visitor in a doubling slice.
	reports := []struct {
		name string
		most uint64
	}{{"funnel", 80}, {"ttc", 56}, {"surveys", 32}}
	for _, r := range reports {
		small, _ := allocated(r.name, day(8))
		large, data := allocated(r.name, day(15))
		per := (max(large, small) - small) / n
		t.Logf("%s: %d bytes over %d visitors, %d over %d: %d a visitor", r.name, small, n, large, 2*n, per)
		if per > r.most {
			t.Errorf("%s allocates %d bytes a visitor of the period; want at most %d", r.name, per, r.most)
		}
		switch d := data.(type) {
		case *analytics.FunnelReport:
			if d.Funnel == nil || d.Funnel.Entered != 2*n || d.Funnel.Steps[4].Visitors != 2*n {
				t.Fatalf("funnel over %d visitors who all bought: %+v", 2*n, d.Funnel)
			}
		case *analytics.SurveysReport:
			for _, s := range d.Surveys {
				if s.ID == "post_purchase_nps" && (s.VisitorsShown != 2*n || s.Answered != 2*n) {
					t.Fatalf("survey over %d visitors who all answered: %+v", 2*n, s.SurveyResult)
				}
			}
		}
	}
}
