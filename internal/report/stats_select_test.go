package report

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestQuantileSelectEqualsQuantile checks that the selection gives Quantile's value to the
// bit, over sizes from one to many, few and many distinct values, sorted, reversed and
// NaN-holding inputs.
func TestQuantileSelectEqualsQuantile(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	inputs := [][]float64{{7}, {2, 1}, {1, 1, 1, 1}, {3, math.NaN(), 1}}
	for _, n := range []int{2, 3, 15, 16, 17, 100, 1001, 20000} {
		for _, distinct := range []int{1, 3, 50, 1 << 30} {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = float64(r.IntN(distinct)) / 7
			}
			inputs = append(inputs, xs)
			sorted := slices.Clone(xs)
			slices.Sort(sorted)
			inputs = append(inputs, sorted)
			rev := slices.Clone(sorted)
			slices.Reverse(rev)
			inputs = append(inputs, rev)
		}
	}
	for _, xs := range inputs {
		for _, q := range []float64{0, 0.1, 0.5, 0.75, 0.9, 0.999, 1} {
			want := Quantile(slices.Clone(xs), q)
			got := quantileSelect(slices.Clone(xs), q)
			if got.Valid != want.Valid || math.Float64bits(got.Value) != math.Float64bits(want.Value) {
				t.Fatalf("quantileSelect(%d values, %v) = %v, want %v", len(xs), q, got, want)
			}
		}
	}
	if got := quantileSelect(nil, 0.5); got.Valid {
		t.Errorf("quantileSelect(nothing) = %v, want undefined", got)
	}
}

// TestSelectNthPartitions checks that selectNth leaves the k-th order statistic at k with
// nothing greater before it and nothing less after it, on inputs that defeat a median of
// three (organ pipes, many equal values).
func TestSelectNthPartitions(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 1))
	for _, n := range []int{1, 17, 64, 5000} {
		pipes := make([]float64, n)
		for i := range pipes {
			pipes[i] = float64(min(i, n-1-i))
		}
		random := make([]float64, n)
		for i := range random {
			random[i] = float64(r.IntN(4))
		}
		for _, xs := range [][]float64{pipes, random} {
			for _, k := range []int{0, n / 2, n - 1} {
				got := slices.Clone(xs)
				selectNth(got, k)
				want := slices.Clone(xs)
				slices.Sort(want)
				if got[k] != want[k] {
					t.Fatalf("selectNth(n=%d, k=%d) put %v at k, want %v", n, k, got[k], want[k])
				}
				for i, x := range got {
					if (i < k && x > got[k]) || (i > k && x < got[k]) {
						t.Fatalf("selectNth(n=%d, k=%d): %v at %d is on the wrong side of %v", n, k, x, i, got[k])
					}
				}
			}
		}
	}
}
