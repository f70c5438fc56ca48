package rules

import "github.com/pathlight/pathlight/internal/rules/bucket"

// Experiments and the holdout hash visitors as GrowthBook does (hash version 2), so that an
// experiment assigns the same arms here as a GrowthBook SDK given the same seed and id.

// bucketRange is the [start, end) share of the hash space one experiment arm owns.
type bucketRange = [2]float64

// hashVersion is GrowthBook's current, unbiased hash.
const hashVersion = 2

func bucketRanges(n int, coverage float64, weights []float64) []bucketRange {
	return bucket.BucketRanges(n, coverage, weights)
}

// hashUnit hashes a visitor id with a seed into [0, 1); false when there is no id to hash.
func hashUnit(seed, id string) (float64, bool) {
	if id == "" {
		return 0, false
	}
	return bucket.Hash(seed, id, hashVersion)
}

// choose returns the arm the visitor id hashes into, or -1 when it falls outside the
// experiment's coverage (or there is no id to hash).
func (x *experiment) choose(id string) int {
	n, ok := hashUnit(x.seed, id)
	if !ok {
		return -1
	}
	return bucket.ChooseVariation(n, x.ranges)
}
