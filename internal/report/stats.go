package report

import (
	"math"
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
