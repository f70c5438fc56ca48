package report

import (
	"math"
	"math/bits"
	"slices"
)

// Quantile returns the q-quantile of xs by linear interpolation between order statistics:
// with xs sorted and h = (n−1)q, x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]). This is the
// definition of R's default (type 7) and NumPy's: the median of an even count is the mean of
// the middle two. xs is sorted in place; the quantile of nothing is undefined.
func Quantile(xs []float64, q float64) NullFloat {
	if len(xs) == 0 || math.IsNaN(q) || q < 0 || q > 1 {
		return NullFloat{}
	}
	if !slices.IsSorted(xs) {
		slices.Sort(xs)
	}
	h := float64(len(xs)-1) * q
	lo := int(math.Floor(h))
	if lo+1 >= len(xs) {
		return Some(xs[len(xs)-1])
	}
	return Some(xs[lo] + (h-float64(lo))*(xs[lo+1]-xs[lo]))
}

// mean returns the arithmetic mean of xs, undefined for none.
func mean(xs []float64) NullFloat {
	if len(xs) == 0 {
		return NullFloat{}
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return Some(s / float64(len(xs)))
}

// quantileSelect returns Quantile(xs, q), to the bit, without sorting xs: it selects the two
// order statistics the interpolation needs (quickselect, in time linear in len(xs) on
// average), leaving xs reordered but not sorted. A funnel's median over a year of visitors
// sorted hundreds of thousands of times per step before. xs with a NaN go to Quantile,
// whose order of NaNs is slices.Sort's.
func quantileSelect(xs []float64, q float64) NullFloat {
	if len(xs) == 0 || math.IsNaN(q) || q < 0 || q > 1 {
		return NullFloat{}
	}
	for _, x := range xs {
		if math.IsNaN(x) {
			return Quantile(xs, q)
		}
	}
	h := float64(len(xs)-1) * q
	lo := int(math.Floor(h))
	if lo+1 >= len(xs) {
		return Some(slices.Max(xs))
	}
	selectNth(xs, lo)
	// Every element after lo is at least xs[lo]: the next order statistic is their least.
	next := slices.Min(xs[lo+1:])
	return Some(xs[lo] + (h-float64(lo))*(next-xs[lo]))
}

// selectNth reorders xs so that xs[k] is the element a sort would put there, with none
// greater before it and none less after it. It falls back to sorting the part left when
// the partitions stop shrinking (a bound on rounds of 2·log2 n), so it never takes more
// than n log n.
func selectNth(xs []float64, k int) {
	lo, hi := 0, len(xs)-1
	budget := 2 * bits.Len(uint(len(xs)))
	for hi > lo {
		if hi-lo < 16 || budget == 0 {
			slices.Sort(xs[lo : hi+1])
			return
		}
		budget--
		// Median of three as the pivot, then a three-way partition: [lo, lt) less,
		// [lt, gt] equal, (gt, hi] greater, so runs of equal values end the search.
		mid := lo + (hi-lo)/2
		a, b, c := xs[lo], xs[mid], xs[hi]
		pivot := max(min(a, b), min(max(a, b), c))
		lt, i, gt := lo, lo, hi
		for i <= gt {
			switch {
			case xs[i] < pivot:
				xs[lt], xs[i] = xs[i], xs[lt]
				lt++
				i++
			case xs[i] > pivot:
				xs[i], xs[gt] = xs[gt], xs[i]
				gt--
			default:
				i++
			}
		}
		switch {
		case k < lt:
			hi = lt - 1
		case k > gt:
			lo = gt + 1
		default:
			return
		}
	}
}
