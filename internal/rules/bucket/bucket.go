// Package bucket is GrowthBook-compatible hashing and bucketing for experiments: a visitor
// id and an experiment seed land in the same variation here as in GrowthBook's SDKs, so an
// experiment can move between Pathlight and GrowthBook without reshuffling its visitors.
//
// The functions are pure and safe for concurrent use. Hash and InNamespace do not allocate,
// even for non-ASCII ids: they run per visitor and experiment on the decision path.
package bucket

import (
	"strconv"
	"unicode/utf8"
)

// FNV-1a, 32-bit.
const (
	fnvOffset = 0x811c9dc5
	fnvPrime  = 16777619
)

// fnv1a continues a 32-bit FNV-1a hash over s. Like GrowthBook's JavaScript hashFnv32a,
// it folds in UTF-16 code units, not bytes: a character outside ASCII is one unit (or two,
// a surrogate pair, above U+FFFF), so that non-ASCII ids hash as in the browser. Invalid
// UTF-8 counts as U+FFFD per byte, as a JSON decoder would have replaced it.
func fnv1a(h uint32, s string) uint32 {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			h = (h ^ uint32(c)) * fnvPrime
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r > 0xffff {
			r -= 0x10000
			h = (h ^ (0xd800 + uint32(r>>10))) * fnvPrime
			h = (h ^ (0xdc00 + uint32(r&0x3ff))) * fnvPrime
			continue
		}
		h = (h ^ uint32(r)) * fnvPrime
	}
	return h
}

// Hash returns a number in [0, 1) for a seed (the experiment's seed or key) and a value
// (the visitor's id), as GrowthBook's hash does. Version 2, the default of current
// GrowthBook experiments, hashes seed+value, then the decimal form of that hash, and keeps
// four decimals: it has no bias between experiments. Version 1, GrowthBook's original,
// hashes value+seed once and keeps three decimals. ok is false for any other version.
func Hash(seed, value string, version int) (n float64, ok bool) {
	switch version {
	case 1:
		h := fnv1a(fnv1a(fnvOffset, value), seed)
		return float64(h%1000) / 1000, true
	case 2:
		h := fnv1a(fnv1a(fnvOffset, seed), value)
		var buf [10]byte // a uint32 has at most 10 digits
		digits := strconv.AppendUint(buf[:0], uint64(h), 10)
		h = fnvOffset
		for _, d := range digits {
			h = (h ^ uint32(d)) * fnvPrime
		}
		return float64(h%10000) / 10000, true
	}
	return 0, false
}

// EqualWeights returns n equal weights that sum to 1, or an empty slice when n ≤ 0.
func EqualWeights(n int) []float64 {
	if n <= 0 {
		return []float64{}
	}
	w := make([]float64, n)
	for i := range w {
		w[i] = 1 / float64(n)
	}
	return w
}

// BucketRanges returns the [start, end) range of the hash space each variation owns, as
// GrowthBook's getBucketRanges does. Variation i owns a slice of width weights[i] starting
// at the sum of the weights before it, of which only the first coverage share is used: the
// rest of the traffic is excluded from the experiment. Coverage is clamped to [0, 1];
// weights that are missing, of the wrong length, negative, or do not sum to 1 (±0.01) are
// replaced by equal weights, so a bad configuration never leaves gaps or overlaps.
func BucketRanges(numVariations int, coverage float64, weights []float64) [][2]float64 {
	switch {
	case coverage < 0 || coverage != coverage: // NaN counts as no coverage
		coverage = 0
	case coverage > 1:
		coverage = 1
	}
	if !validWeights(numVariations, weights) {
		weights = EqualWeights(numVariations)
	}
	ranges := make([][2]float64, len(weights))
	cumulative := 0.0
	for i, w := range weights {
		ranges[i] = [2]float64{cumulative, cumulative + coverage*w}
		cumulative += w
	}
	return ranges
}

func validWeights(n int, weights []float64) bool {
	if len(weights) != n || n == 0 {
		return false
	}
	total := 0.0
	for _, w := range weights {
		if w < 0 || w != w { // negative or NaN
			return false
		}
		total += w
	}
	return total >= 0.99 && total <= 1.01
}

// ChooseVariation returns the index of the range that holds n (start inclusive, end
// exclusive), or -1 when n falls outside every range: the visitor is not in the experiment.
func ChooseVariation(n float64, ranges [][2]float64) int {
	for i, r := range ranges {
		if n >= r[0] && n < r[1] {
			return i
		}
	}
	return -1
}

// Namespace reserves a share of traffic for mutually exclusive experiments: experiments in
// the same namespace ID with disjoint [Start, End) ranges never share a visitor.
type Namespace struct {
	ID         string
	Start, End float64
}

// InNamespace reports whether a visitor id falls in the namespace's range, hashing with
// version 1 and the seed "__" + ID as GrowthBook does.
func InNamespace(userID string, ns Namespace) bool {
	// Hash("__"+ns.ID, userID, 1), without building the seed.
	h := fnv1a(fnv1a(fnv1a(fnvOffset, userID), "__"), ns.ID)
	n := float64(h%1000) / 1000
	return n >= ns.Start && n < ns.End
}
