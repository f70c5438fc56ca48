package report

import (
	"fmt"
	"math/bits"
)

// MaxRateGameChannels bounds the exact conversion-rate game, whose Shapley values sum over
// all 2^n sets of channels.
const MaxRateGameChannels = 20

// shapleyAttribution shares credit by the Shapley values of a game of channels.
//
// The counting game values a set S of channels by the conversions of the journeys whose
// channels all lie in S. It is a sum of unanimity games, one per journey, so the Shapley
// value of each journey's conversions is shared equally by its distinct channels; this is
// exact and linear in the table's size.
//
// The conversion-rate game values S by the conversion rate of the journeys whose channels
// all lie in S, C(S) / (C(S) + N(S)), and 0 when there are none. Its Shapley values sum to
// the rate of all journeys; they are scaled to the total conversions (and, in the same game
// played with value per journey, to the total value). A channel that lowers the rate of the
// journeys it joins gets negative credit.
func shapleyAttribution(t *PathTable, ao AttributionOptions) (*Attribution, error) {
	res := &Attribution{Model: Shapley, Game: ao.Game}
	res.Conversions, res.Value, _ = t.Totals()
	var cs credits
	if ao.Game == CountingGame {
		var uniq []string
		for _, r := range t.Rows {
			if r.Conversions == 0 && r.Value == 0 {
				continue
			}
			uniq = distinct(rowPath(r.Path), uniq)
			n := float64(len(uniq))
			for _, ch := range uniq {
				cs.add(ch, "", r.Conversions/n, r.Value/n)
			}
		}
		res.Channels = cs.result(res.Conversions)
		return res, nil
	}
	phi, phiV, names, err := rateGame(t)
	if err != nil {
		return nil, err
	}
	var sum, sumV float64
	for i := range phi {
		sum += phi[i]
		sumV += phiV[i]
	}
	for i, name := range names {
		var conv, val float64
		if sum != 0 {
			conv = phi[i] / sum * res.Conversions
		}
		if sumV != 0 {
			val = phiV[i] / sumV * res.Value
		}
		cs.add(name, "", conv, val)
	}
	res.Channels = cs.result(res.Conversions)
	return res, nil
}

// distinct returns the distinct elements of p in order of first appearance.
func distinct(p []string, dst []string) []string {
	dst = dst[:0]
	for _, s := range p {
		seen := false
		for _, d := range dst {
			if d == s {
				seen = true
				break
			}
		}
		if !seen {
			dst = append(dst, s)
		}
	}
	return dst
}

// rateGame returns the Shapley values of the conversion-rate game and of the value-per-journey
// game, per channel, with the channel names.
func rateGame(t *PathTable) (phi, phiV []float64, names []string, err error) {
	id := make(map[string]int)
	for _, r := range t.Rows {
		for _, ch := range rowPath(r.Path) {
			if _, ok := id[ch]; !ok {
				id[ch] = len(names)
				names = append(names, ch)
			}
		}
	}
	n := len(names)
	if n > MaxRateGameChannels {
		return nil, nil, nil, fmt.Errorf("shapley %s game: %d channels, more than the %d it solves exactly", RateGame, n, MaxRateGameChannels)
	}
	size := 1 << n
	conv := make([]float64, size)
	jour := make([]float64, size)
	val := make([]float64, size)
	for _, r := range t.Rows {
		var m int
		for _, ch := range rowPath(r.Path) {
			m |= 1 << id[ch]
		}
		conv[m] += r.Conversions
		jour[m] += r.Conversions + r.Nulls
		val[m] += r.Value
	}
	// Subset sums: afterwards x[S] sums x over all sets contained in S.
	for i := range n {
		bit := 1 << i
		for m := range size {
			if m&bit != 0 {
				conv[m] += conv[m^bit]
				jour[m] += jour[m^bit]
				val[m] += val[m^bit]
			}
		}
	}
	// The games' values, in place: rate and value per journey.
	for m := range size {
		if jour[m] > 0 {
			conv[m] /= jour[m]
			val[m] /= jour[m]
		} else {
			conv[m], val[m] = 0, 0
		}
	}
	// w[s] = s! (n−s−1)! / n!, the weight of a set of size s not containing the player.
	w := make([]float64, n)
	for s := range n {
		w[s] = 1 / (float64(n) * binomial(n-1, s))
	}
	phi = make([]float64, n)
	phiV = make([]float64, n)
	for m := range size {
		k := bits.OnesCount(uint(m))
		if k == n {
			continue
		}
		ws := w[k]
		for i := range n {
			bit := 1 << i
			if m&bit == 0 {
				phi[i] += ws * (conv[m|bit] - conv[m])
				phiV[i] += ws * (val[m|bit] - val[m])
			}
		}
	}
	return phi, phiV, names, nil
}

// binomial returns n choose k as a float64 (exact for the sizes used here).
func binomial(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}
