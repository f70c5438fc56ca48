package report

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
)

// MaxOrder is the highest Markov chain order accepted: beyond it nearly every path is a
// state of its own and the model says nothing.
const MaxOrder = 8

// Labels of the Markov chain's special states, as the ChannelAttribution package names them.
const (
	StateStart      = "(start)"
	StateConversion = "(conversion)"
	StateNull       = "(null)"
)

// MarkovDetail is what the Markov model computed besides the credits.
type MarkovDetail struct {
	Order int `json:"order"`
	// MaxSteps is the cut-off of walks, 0 when the chain was solved exactly.
	MaxSteps int `json:"max_steps"`
	// States is the number of transient states: distinct windows of Order channels.
	States int `json:"states"`
	// ConversionProbability is the probability that a walk from (start) ends in
	// (conversion).
	ConversionProbability float64 `json:"conversion_probability"`
	// RemovalEffects are per channel, in the order of the credits.
	RemovalEffects []RemovalEffect `json:"removal_effects"`
	// Transitions is the transition matrix, when asked for: every non-zero transition.
	Transitions []Transition `json:"transitions,omitempty"`
}

// RemovalEffect is how much of the conversions (and of the conversion value) the chain loses
// when a channel is removed: 1 − P(conversion without the channel) / P(conversion). Removing
// a channel sends every walk that reaches a state containing it to (null).
type RemovalEffect struct {
	Channel    string    `json:"channel"`
	Conversion NullFloat `json:"conversion"`
	Value      NullFloat `json:"value"`
}

// Transition is one entry of the transition matrix: the journeys counted from one state to
// the next and the probability they give.
type Transition struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	Count       float64 `json:"count"`
	Probability float64 `json:"probability"`
}

// edge is a transition to a transient state.
type edge struct {
	to int32
	p  float64
}

// chain is the absorbing Markov chain of a path table. Transient states are numbered from 0;
// (start) is kept as an initial distribution, (conversion) and (null) as absorption
// probabilities per state.
type chain struct {
	order    int
	channels []string  // channel names by id
	states   [][]int32 // channel ids of each state's window
	start    []edge    // initial distribution
	rows     []int32   // CSR: transitions of state s are edges[rows[s]:rows[s+1]]
	edges    []edge
	conv     []float64 // P(s → conversion)
	value    []float64 // P(s → conversion) × mean value of the conversions that left s
	null     []float64 // P(s → null)
	weight   []float64 // journeys through s: the denominator of its probabilities
	counts   []float64 // edge counts, parallel to edges
	startN   []float64 // start edge counts, parallel to start
	maxPassi int       // the package's default cut-off
	nStates  int
}

// buildChain builds the order-k chain of t with ChannelAttribution's semantics: a path's
// states are its sliding windows of k channels (the whole path when it is shorter),
// consecutive identical states collapse, every transition of a path counts its conversions
// plus nulls, its last state goes to (conversion) with its conversions and to (null) with its
// nulls.
func buildChain(t *PathTable, k int) *chain {
	c := &chain{order: k}
	chanID := make(map[string]int32)
	stateID := make(map[string]int32)
	type pair struct{ from, to int32 }
	edgeW := make(map[pair]float64)
	startW := make(map[int32]float64)
	var convW, nullW, valW []float64
	var (
		ids []int32
		seq []int32
		key []byte
	)
	state := func(w []int32) int32 {
		key = key[:0]
		for _, id := range w {
			key = binary.LittleEndian.AppendUint32(key, uint32(id))
		}
		if s, ok := stateID[string(key)]; ok {
			return s
		}
		s := int32(len(c.states))
		stateID[string(key)] = s
		c.states = append(c.states, append([]int32(nil), w...))
		convW, nullW, valW = append(convW, 0), append(nullW, 0), append(valW, 0)
		return s
	}
	for _, r := range t.Rows {
		ids = ids[:0]
		for _, ch := range rowPath(r.Path) {
			id, ok := chanID[ch]
			if !ok {
				id = int32(len(c.channels))
				chanID[ch] = id
				c.channels = append(c.channels, ch)
			}
			ids = append(ids, id)
		}
		seq = seq[:0]
		if len(ids) <= k {
			seq = append(seq, state(ids))
		} else {
			for i := 0; i+k <= len(ids); i++ {
				if s := state(ids[i : i+k]); len(seq) == 0 || seq[len(seq)-1] != s {
					seq = append(seq, s)
				}
			}
		}
		n := r.Conversions + r.Nulls
		passi := len(seq) + 1
		if n == 0 {
			passi++ // the package counts one more step for a path without journeys
		}
		c.maxPassi = max(c.maxPassi, passi)
		if n == 0 {
			continue
		}
		startW[seq[0]] += n
		for i := 1; i < len(seq); i++ {
			edgeW[pair{seq[i-1], seq[i]}] += n
		}
		last := seq[len(seq)-1]
		convW[last] += r.Conversions
		nullW[last] += r.Nulls
		if r.Conversions > 0 {
			valW[last] += r.Value
		}
	}
	ns := len(c.states)
	c.nStates = ns
	c.weight = make([]float64, ns)
	outDeg := make([]int32, ns+1)
	for e, w := range edgeW {
		c.weight[e.from] += w
		outDeg[e.from+1]++
	}
	for s := range ns {
		c.weight[s] += convW[s] + nullW[s]
		outDeg[s+1] += outDeg[s]
	}
	c.rows = outDeg
	c.edges = make([]edge, len(edgeW))
	c.counts = make([]float64, len(edgeW))
	fill := make([]int32, ns)
	copy(fill, outDeg[:ns])
	for e, w := range edgeW {
		i := fill[e.from]
		fill[e.from]++
		c.edges[i] = edge{to: e.to}
		c.counts[i] = w
	}
	// Order each state's edges by target so results do not depend on map order.
	for s := range ns {
		lo, hi := c.rows[s], c.rows[s+1]
		sortEdges(c.edges[lo:hi], c.counts[lo:hi])
		for i := lo; i < hi; i++ {
			c.edges[i].p = c.counts[i] / c.weight[s]
		}
	}
	c.conv = make([]float64, ns)
	c.value = make([]float64, ns)
	c.null = make([]float64, ns)
	for s := range ns {
		if c.weight[s] > 0 {
			c.conv[s] = convW[s] / c.weight[s]
			c.null[s] = nullW[s] / c.weight[s]
			// P(s → conv) × (value / conversions) = value / weight.
			c.value[s] = valW[s] / c.weight[s]
		}
	}
	var total float64
	for _, w := range startW {
		total += w
	}
	for s := range ns {
		if w, ok := startW[int32(s)]; ok {
			c.start = append(c.start, edge{to: int32(s), p: w / total})
			c.startN = append(c.startN, w)
		}
	}
	return c
}

// sortEdges sorts edges and their counts by target state (insertion sort: states have few
// successors).
func sortEdges(es []edge, counts []float64) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].to < es[j-1].to; j-- {
			es[j], es[j-1] = es[j-1], es[j]
			counts[j], counts[j-1] = counts[j-1], counts[j]
		}
	}
}

// label returns the name of transient state s: its channels joined by " > ".
func (c *chain) label(s int32) string {
	var b strings.Builder
	for i, id := range c.states[s] {
		if i > 0 {
			b.WriteString(pathSep)
		}
		b.WriteString(c.channels[id])
	}
	return b.String()
}

// transitions lists every non-zero transition, from (start) first, then by state.
func (c *chain) transitions() []Transition {
	var out []Transition
	for i, e := range c.start {
		out = append(out, Transition{From: StateStart, To: c.label(e.to), Count: c.startN[i], Probability: e.p})
	}
	for s := range int32(c.nStates) {
		from := c.label(s)
		for i := c.rows[s]; i < c.rows[s+1]; i++ {
			out = append(out, Transition{From: from, To: c.label(c.edges[i].to), Count: c.counts[i], Probability: c.edges[i].p})
		}
		if c.conv[s] > 0 {
			out = append(out, Transition{From: from, To: StateConversion, Count: c.conv[s] * c.weight[s], Probability: c.conv[s]})
		}
		if c.null[s] > 0 {
			out = append(out, Transition{From: from, To: StateNull, Count: c.null[s] * c.weight[s], Probability: c.null[s]})
		}
	}
	return out
}

// markovAttribution credits each channel with its share of the summed removal effects.
func markovAttribution(t *PathTable, ao AttributionOptions) (*Attribution, error) {
	c := buildChain(t, ao.Order)
	res := &Attribution{Model: MarkovChain}
	res.Conversions, res.Value, _ = t.Totals()
	maxSteps := ao.MaxSteps
	if maxSteps == PackageMaxSteps {
		maxSteps = c.maxPassi
	}
	d := &MarkovDetail{Order: ao.Order, MaxSteps: maxSteps, States: c.nStates}
	res.Markov = d
	if ao.Transitions {
		d.Transitions = c.transitions()
	}
	sv := newSolver(c)
	p, v, err := sv.absorb(maxSteps)
	if err != nil {
		return nil, err
	}
	d.ConversionProbability = p
	re := make([]float64, len(c.channels))
	vre := make([]float64, len(c.channels))
	var sumRE, sumVRE float64
	for ch := range c.channels {
		for s := range c.nStates {
			sv.removed[s] = false
			for _, id := range c.states[s] {
				if id == int32(ch) {
					sv.removed[s] = true
					break
				}
			}
		}
		pc, vc, err := sv.absorb(maxSteps)
		if err != nil {
			return nil, err
		}
		if p > 0 {
			re[ch] = clamp01(1 - pc/p)
			sumRE += re[ch]
		}
		if v > 0 {
			vre[ch] = clamp01(1 - vc/v)
			sumVRE += vre[ch]
		}
	}
	var cs credits
	for ch, name := range c.channels {
		var conv, val float64
		if sumRE > 0 {
			conv = re[ch] / sumRE * res.Conversions
		}
		if sumVRE > 0 {
			val = vre[ch] / sumVRE * res.Value
		}
		cs.add(name, "", conv, val)
	}
	res.Channels = cs.result(res.Conversions)
	for _, cr := range res.Channels {
		ch := slices.Index(c.channels, cr.Channel)
		e := RemovalEffect{Channel: cr.Channel}
		if p > 0 {
			e.Conversion = Some(re[ch])
		}
		if v > 0 {
			e.Value = Some(vre[ch])
		}
		d.RemovalEffects = append(d.RemovalEffects, e)
	}
	return res, nil
}

// clamp01 clamps x to [0, 1], removing rounding noise around the ends.
func clamp01(x float64) float64 { return math.Min(1, math.Max(0, x)) }

// errNoConvergence is returned when an iterative solve does not settle.
var errNoConvergence = errors.New("markov chain: solver did not converge")
