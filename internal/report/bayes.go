package report

import (
	"math"
	"math/rand/v2"
)

// ProbBeats returns P(θ_b > θ_a) for θ_a ~ Beta(aa, ba) and θ_b ~ Beta(ab, bb), with ab a
// positive whole number, exactly, by the finite sum (αa = aa, βa = ba, αb = ab, βb = bb)
//
//	Σ_{i=0}^{αb−1} B(αa+i, βa+βb) / ((βb+i) · B(1+i, βb) · B(αa, βa)).
//
// The first term is computed from log-gamma functions and each next one from the ratio of
// consecutive terms, summed in log space so that no term underflows. It returns NaN when ab
// is not a positive whole number or a parameter is not positive.
func ProbBeats(aa, ba, ab, bb float64) float64 {
	n := int(ab)
	if float64(n) != ab || n < 1 || aa <= 0 || ba <= 0 || bb <= 0 {
		return math.NaN()
	}
	// log term_0 = log B(αa, βa+βb) − log B(αa, βa), since (βb+0) · B(1, βb) = 1.
	l := lbeta(aa, ba+bb) - lbeta(aa, ba)
	m, s := l, 1.0 // running log-sum-exp: the sum is s·e^m
	for i := range n - 1 {
		fi := float64(i)
		// term_{i+1} / term_i = (αa+i)/(αa+βa+βb+i) · (βb+i)/(βb+i+1) · (βb+i+1)/(1+i).
		l += math.Log((aa+fi)/(aa+ba+bb+fi)) + math.Log((bb+fi)/(1+fi))
		if l > m {
			s = s*math.Exp(m-l) + 1
			m = l
		} else {
			s += math.Exp(l - m)
		}
	}
	return clamp01(s * math.Exp(m))
}

// chanceToBeat returns P(θ_t > θ_c) under Beta(1+x, 1+n−x) posteriors, summing over
// whichever arm has fewer conversions.
func chanceToBeat(control, treatment Arm) float64 {
	ac, bc := 1+float64(control.Conversions), 1+float64(control.Exposures-control.Conversions)
	at, bt := 1+float64(treatment.Conversions), 1+float64(treatment.Exposures-treatment.Conversions)
	if treatment.Conversions <= control.Conversions {
		return ProbBeats(ac, bc, at, bt)
	}
	return 1 - ProbBeats(at, bt, ac, bc)
}

// DefaultDraws is how many posterior draws estimate the chance to be best of three or more
// arms.
const DefaultDraws = 200_000

// chanceToBeBest estimates for each arm the probability that its rate is the highest, by
// drawing from the Beta(1+x, 1+n−x) posteriors with a generator seeded by seed.
func chanceToBeBest(arms []Arm, draws int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	wins := make([]int, len(arms))
	for range draws {
		best, bestV := 0, -1.0
		for i, a := range arms {
			v := betaSample(rng, 1+float64(a.Conversions), 1+float64(a.Exposures-a.Conversions))
			if v > bestV {
				best, bestV = i, v
			}
		}
		wins[best]++
	}
	out := make([]float64, len(arms))
	for i, w := range wins {
		out[i] = float64(w) / float64(draws)
	}
	return out
}

// betaSample draws from Beta(a, b) as X/(X+Y) with X ~ Gamma(a), Y ~ Gamma(b).
func betaSample(rng *rand.Rand, a, b float64) float64 {
	x := gammaSample(rng, a)
	y := gammaSample(rng, b)
	return x / (x + y)
}

// gammaSample draws from Gamma(a, 1) for a ≥ 1 by Marsaglia and Tsang's method (the
// posteriors here always have a ≥ 1).
func gammaSample(rng *rand.Rand, a float64) float64 {
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v
		}
	}
}
