package report

import (
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"testing"
	"time"
)

// TestValueListEqualsSlices checks valueList against the float slices it replaces: the mean
// in the order added, and the mean and quantiles of the sorted values, to the bit, over
// sizes across its blocks' boundaries, few and many distinct values, sorted and reversed
// input, and lists that turn wide (a negative value, or one past 2³²−1) part way.
func TestValueListEqualsSlices(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	var inputs [][]int64
	for _, n := range []int{1, 2, 3, 63, 64, 65, 1000, 3*maxBlock + 5, 50000} {
		for _, distinct := range []int64{1, 3, 50, 1 << 31, 1 << 40} {
			vs := make([]int64, n)
			for i := range vs {
				vs[i] = r.Int64N(distinct)
			}
			inputs = append(inputs, vs)
			sorted := slices.Clone(vs)
			slices.Sort(sorted)
			rev := slices.Clone(sorted)
			slices.Reverse(rev)
			inputs = append(inputs, sorted, rev)
		}
		wide := make([]int64, n)
		for i := range wide {
			wide[i] = r.Int64N(1 << 20)
		}
		wide[n/2] = -1
		late := slices.Clone(wide)
		late[n/2] = math.MaxUint32 + 1
		inputs = append(inputs, wide, late)
	}
	same := func(a, b NullFloat) bool {
		return a.Valid == b.Valid && math.Float64bits(a.Value) == math.Float64bits(b.Value)
	}
	qs := []float64{0, 0.1, 0.5, 0.75, 0.9, 0.999, 1}
	for _, div := range []float64{1, 1000} {
		for _, vs := range inputs {
			xs := make([]float64, len(vs))
			var l valueList
			for i, v := range vs {
				xs[i] = float64(v) / div
				l.add(v)
			}
			if l.len() != len(vs) {
				t.Fatalf("len = %d after %d values", l.len(), len(vs))
			}
			var s float64
			for _, x := range xs {
				s += x
			}
			if got, want := meanOf(&l, div), Some(s/float64(len(xs))); !same(got, want) {
				t.Fatalf("meanOf(%d values, /%v) = %v, want %v", len(vs), div, got, want)
			}
			slices.Sort(xs)
			s = 0
			for _, x := range xs {
				s += x
			}
			if got, want := medianOf(&l, div), Quantile(xs, 0.5); !same(got, want) {
				t.Fatalf("medianOf(%d values, /%v) = %v, want %v", len(vs), div, got, want)
			}
			m, got := quantilesOf(&l, div, qs...)
			if want := Some(s / float64(len(xs))); !same(m, want) {
				t.Fatalf("quantilesOf(%d values, /%v): mean %v, want %v", len(vs), div, m, want)
			}
			for i, q := range qs {
				if want := Quantile(xs, q); !same(got[i], want) {
					t.Fatalf("quantilesOf(%d values, /%v): q %v = %v, want %v", len(vs), div, q, got[i], want)
				}
			}
			var back []int64
			l.sorted(func(v int64) { back = append(back, v) })
			if want := slices.Sorted(slices.Values(vs)); !slices.Equal(back, want) {
				t.Fatalf("sorted(%d values) gave other values", len(vs))
			}
		}
	}
	var none valueList
	if m, q := quantilesOf(&none, 1, 0.5); m.Valid || q[0].Valid || meanOf(&none, 1).Valid || medianOf(&none, 1).Valid {
		t.Errorf("the summary of nothing is defined: %v %v", m, q)
	}
}

// TestValueListAllocatesItsSize checks that a list allocates about the size of its
// values, four bytes each while they fit: no slice that doubles (about twice the final
// size, half of it garbage) comes back.
func TestValueListAllocatesItsSize(t *testing.T) {
	const n = 100000
	allocs := testing.AllocsPerRun(5, func() {
		var l valueList
		for i := range n {
			l.add(int64(i))
		}
	})
	// One block per maxBlock values, the first seven smaller, and the list of blocks.
	if want := float64(n/maxBlock + 7 + 6); allocs > want {
		t.Errorf("adding %d values allocated %.0f times; want at most %.0f", n, allocs, want)
	}
	bytes := bytesOf(func() {
		var l valueList
		for i := range n {
			l.add(int64(i))
		}
	})
	if limit := uint64(4*n + 4*maxBlock + 4096); bytes > limit {
		t.Errorf("adding %d values allocated %d bytes; want at most %d (four a value, one block spare)", n, bytes, limit)
	}
}

// bytesOf returns the bytes fn allocates (the least of three runs: other goroutines of
// the test binary allocate little, but not nothing).
func bytesOf(fn func()) uint64 {
	least := uint64(math.MaxUint64)
	for range 3 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		fn()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

// TestReleasedListsLeaveNothingBehind: a list made after another released its blocks (which
// the next lists take from a pool) holds exactly its own values, in order and sorted; and a
// funnel and a time to conversion built after others give what they give built alone.
func TestReleasedListsLeaveNothingBehind(t *testing.T) {
	const n = 40_000 // beyond the first seven blocks: full-size blocks, pooled
	fill := func(from int64) *valueList {
		l := &valueList{}
		for v := from; v < from+n; v++ {
			l.add((v * 7919) % (3 * n)) // not in order
		}
		return l
	}
	for round := range 3 {
		l := fill(int64(round) * n)
		var got []int64
		l.each(func(v int64) { got = append(got, v) })
		want := make([]int64, 0, n)
		for v := int64(round) * n; v < int64(round+1)*n; v++ {
			want = append(want, (v*7919)%(3*n))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: the list holds %d values, want %d; or others", round, len(got), len(want))
		}
		var sorted []int64
		l.sorted(func(v int64) { sorted = append(sorted, v) })
		slices.Sort(want)
		if !slices.Equal(sorted, want) {
			t.Fatalf("round %d: sorted, the list differs", round)
		}
		l.release()
		if l.len() != 0 {
			t.Fatalf("round %d: a released list holds %d values", round, l.len())
		}
	}

	js := randomJourneys(4, 60_000)
	f := Funnel{Steps: []string{"view", "cart", "checkout", "purchase"}, Window: 30 * 24 * time.Hour, Breakdown: DimDevice}
	alone, err := BuildFunnel(js, f, d(0), d(130))
	if err != nil {
		t.Fatal(err)
	}
	// The first seven blocks hold 8,128 values; the times beyond are in full-size blocks.
	if alone.Steps[1].Visitors < 8_128+maxBlock || len(alone.Groups) < 2 {
		t.Fatalf("the funnel has %d visitors at its second step and %d groups; want its times in full-size blocks (beyond the first seven), and groups", alone.Steps[1].Visitors, len(alone.Groups))
	}
	ttcAlone, err := TimeToConversion(js, PathOptions{From: d(0), To: d(130)})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // builders of other visitors before, their lists released
		if _, err := BuildFunnel(randomJourneys(5, 20_000), f, d(0), d(130)); err != nil {
			t.Fatal(err)
		}
		if _, err := TimeToConversion(randomJourneys(6, 20_000), PathOptions{From: d(0), To: d(130)}); err != nil {
			t.Fatal(err)
		}
	}
	after, err := BuildFunnel(js, f, d(0), d(130))
	if err != nil {
		t.Fatal(err)
	}
	ttcAfter, err := TimeToConversion(js, PathOptions{From: d(0), To: d(130)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(alone, after) || !reflect.DeepEqual(ttcAlone, ttcAfter) {
		t.Error("a funnel or a time to conversion built after others differs from the same built alone")
	}
}
