package report

import "math"

// heuristicWeights returns into w the share of a conversion's credit each path position gets
// under a heuristic model; the shares sum to 1. chans are the positions' channels; ages are
// their times before the conversion in seconds (time decay only) and halfLife the half-life in
// seconds.
func heuristicWeights(m Model, chans []string, ages []float64, o *AttributionOptions, halfLife float64, w []float64) []float64 {
	n := len(chans)
	w = w[:0]
	for range n {
		w = append(w, 0)
	}
	if n == 0 {
		return w
	}
	switch m {
	case FirstTouch:
		w[0] = 1
	case LastTouch:
		w[n-1] = 1
	case LastNonDirect:
		last := n - 1
		for i := n - 1; i >= 0; i-- {
			if chans[i] != Direct {
				last = i
				break
			}
		}
		w[last] = 1
	case Linear:
		for i := range w {
			w[i] = 1 / float64(n)
		}
	case PositionBased:
		positionWeights(w, o.FirstWeight, o.LastWeight)
	case TimeDecay:
		decayWeights(w, ages, halfLife)
	}
	return w
}

// positionWeights fills w with position-based shares: one touch gets everything; two split
// first:last; more give first and last their weights and share the rest equally among the
// middle touches.
func positionWeights(w []float64, first, last float64) {
	n := len(w)
	switch {
	case n == 1:
		w[0] = 1
	case n == 2:
		w[0] = first / (first + last)
		w[1] = last / (first + last)
	default:
		mid := (1 - first - last) / float64(n-2)
		for i := range w {
			w[i] = mid
		}
		w[0], w[n-1] = first, last
	}
}

// decayWeights fills w with 2^(−age/halfLife), normalised to sum to 1. The exponents are
// taken relative to the youngest touch, which keeps old touches from underflowing to a sum
// of zero.
func decayWeights(w, ages []float64, halfLife float64) {
	youngest := math.Inf(1)
	for _, a := range ages {
		youngest = min(youngest, a)
	}
	var sum float64
	for i, a := range ages {
		w[i] = math.Exp2(-(a - youngest) / halfLife)
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
}
