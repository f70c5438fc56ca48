package report

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/pathlight/pathlight/internal/journey"
)

// DefaultFunnelWindow is the time a visitor has, from an attempt's first step, to reach the
// last, when the funnel does not say: the one default of a funnel of the rules and of an
// ad-hoc one (docs/analytics.md#funnels).
const DefaultFunnelWindow = 30 * 24 * time.Hour

// FunnelMode is how strictly a funnel's steps must follow one another.
type FunnelMode string

// The funnel modes.
const (
	// Ordered: the steps must happen in order; other steps may happen in between.
	Ordered FunnelMode = "ordered"
	// Strict: the steps must happen in order and any other tracked step in between ends the
	// attempt; repeats of the step just reached do not.
	Strict FunnelMode = "strict"
	// Unordered: after the first step, the other steps may happen in any order.
	Unordered FunnelMode = "unordered"
)

// Funnel defines a funnel, as the rules' funnels: section does.
type Funnel struct {
	Steps      []string      // ordered step ids
	Window     time.Duration // zero means DefaultFunnelWindow
	Mode       FunnelMode    // empty means Ordered
	Exclusions []string      // steps that remove a visitor when they happen inside an attempt
	Breakdown  Dimension
}

// FunnelStep is the result of one step.
type FunnelStep struct {
	Step string `json:"step"`
	// Visitors is how many visitors' best attempt reached this step.
	Visitors int `json:"visitors"`
	// FromPrevious and FromFirst are Visitors over the previous and the first step's.
	FromPrevious NullFloat `json:"conversion_from_previous"`
	FromFirst    NullFloat `json:"conversion_from_first"`
	// DropOff is how many visitors reached the previous step but not this one.
	DropOff int `json:"drop_off"`
	// MeanTime and MedianTime are seconds from the previous step to this one, over the
	// visitors who reached it, in their best attempt.
	MeanTime   NullFloat `json:"mean_time_s"`
	MedianTime NullFloat `json:"median_time_s"`
}

// FunnelGroup is the funnel of the visitors with one breakdown key.
type FunnelGroup struct {
	Key      string       `json:"key"`
	Excluded int          `json:"excluded"`
	Steps    []FunnelStep `json:"steps"`
}

// FunnelResult is a funnel report.
type FunnelResult struct {
	Mode    FunnelMode `json:"mode"`
	Window  float64    `json:"window_s"`
	Entered int        `json:"entered"` // visitors with an attempt in the period: Steps[0].Visitors
	// Excluded is how many visitors an exclusion step removed.
	Excluded  int           `json:"excluded"`
	Steps     []FunnelStep  `json:"steps"`
	Breakdown Dimension     `json:"breakdown,omitempty"`
	Groups    []FunnelGroup `json:"groups,omitempty"`
}

// Codes of a step arrival in a funnel: its index when it is a funnel step, or one of these.
const (
	codeOther     = -1 // another tracked step
	codeExclusion = -2
)

// funnelPlan is a validated funnel.
type funnelPlan struct {
	Funnel
	index  map[string]int
	codes  nameCache[int] // of index, codeOther for a step it lacks
	window int64
}

// plan validates f and fills in its defaults.
func (f Funnel) plan() (*funnelPlan, error) {
	if len(f.Steps) == 0 {
		return nil, fmt.Errorf("funnel: no steps")
	}
	p := &funnelPlan{Funnel: f, index: make(map[string]int, len(f.Steps)+len(f.Exclusions))}
	for i, s := range f.Steps {
		if _, dup := p.index[s]; dup {
			return nil, fmt.Errorf("funnel: step %q appears twice", s)
		}
		p.index[s] = i
	}
	for _, s := range f.Exclusions {
		if c, ok := p.index[s]; ok && c >= 0 {
			return nil, fmt.Errorf("funnel: step %q is both a step and an exclusion", s)
		}
		p.index[s] = codeExclusion
	}
	switch p.Mode {
	case "":
		p.Mode = Ordered
	case Ordered, Strict, Unordered:
	default:
		return nil, fmt.Errorf("funnel mode %q: want ordered, strict or unordered", f.Mode)
	}
	if p.Window == 0 {
		p.Window = DefaultFunnelWindow
	}
	if p.Window < 0 {
		return nil, fmt.Errorf("funnel window %v: must be positive", f.Window)
	}
	p.window = p.Window.Milliseconds()
	if _, err := ParseDimension(string(f.Breakdown)); err != nil {
		return nil, fmt.Errorf("funnel: %w", err)
	}
	return p, nil
}

// funnelRun is one visitor's outcome: the steps their best attempt reached and when it
// reached each, or that an exclusion removed them.
type funnelRun struct {
	reached  int
	at       []int64 // at[k]: when the best attempt had reached steps 1..k+1
	start    int64   // when the best (or the excluding) attempt started
	excluded bool
}

// eval finds the visitor's attempts (each arrival at step 1 in [from, to)), follows each
// through the window, and keeps the one that reached furthest (the earliest among equals).
func (p *funnelPlan) eval(ss []journey.StepMark, from, to int64, codes []int, r *funnelRun, cur []int64) ([]int, []int64) {
	m := len(p.Steps)
	r.reached, r.excluded = 0, false
	r.at = resizeInt64(r.at, m)
	cur = resizeInt64(cur, m)
	codes = codes[:0]
	// An attempt starts only at an arrival at step 1 in the period: most visitors of a
	// period (and of the weeks of step health) have none, and need no lookup of their steps.
	starts := false
	for _, s := range ss {
		if s.At >= from && s.At < to && s.Step == p.Steps[0] {
			starts = true
			break
		}
	}
	if !starts {
		return codes, cur
	}
	for _, s := range ss {
		codes = append(codes, p.code(s.Step))
	}
	for a := range ss {
		t0 := ss[a].At
		if codes[a] != 0 || t0 < from || t0 >= to {
			continue
		}
		deadline := t0 + p.window
		cur[0] = t0
		reached := 1
		if p.Mode == Unordered {
			reached = p.unordered(ss, codes, a, deadline, cur)
		} else {
			reached = p.ordered(ss, codes, a, deadline, cur)
		}
		if reached < 0 {
			r.excluded, r.start = true, t0
			return codes, cur
		}
		if reached > r.reached {
			r.reached, r.start = reached, t0
			copy(r.at, cur[:reached])
		}
	}
	return codes, cur
}

// code returns the code of an arrival at step.
func (p *funnelPlan) code(step string) int {
	if c, ok := p.codes.get(step); ok {
		return c
	}
	c, ok := p.index[step]
	if !ok {
		c = codeOther
	}
	p.codes.put(step, c)
	return c
}

// ordered follows one attempt in ordered or strict mode from arrival a, recording arrival
// times in cur. It returns the steps reached, or -1 when an exclusion happened inside the
// attempt: before it completed or, when it did not complete, before its window closed (or, in
// strict mode, before another step broke it).
func (p *funnelPlan) ordered(ss []journey.StepMark, codes []int, a int, deadline int64, cur []int64) int {
	m := len(p.Steps)
	reached := 1
	for b := a + 1; b < len(ss) && reached < m; b++ {
		if ss[b].At > deadline {
			break
		}
		switch c := codes[b]; {
		case c == codeExclusion:
			return -1
		case c == reached:
			cur[reached] = ss[b].At
			reached++
		case p.Mode == Strict && c != reached-1:
			return reached
		}
	}
	return reached
}

// unordered follows one attempt in unordered mode from arrival a at step 1: it reaches step
// k when steps 2..k have all happened in the window, at the time the last of them happened.
func (p *funnelPlan) unordered(ss []journey.StepMark, codes []int, a int, deadline int64, cur []int64) int {
	m := len(p.Steps)
	first := cur[1:]
	for i := range first {
		first[i] = -1
	}
	missing := m - 1
	for b := a + 1; b < len(ss) && missing > 0; b++ {
		if ss[b].At > deadline {
			break
		}
		c := codes[b]
		if c == codeExclusion {
			return -1
		}
		if c > 0 && first[c-1] < 0 {
			first[c-1] = ss[b].At
			missing--
		}
	}
	reached := 1
	for reached < m && first[reached-1] >= 0 {
		cur[reached] = max(cur[reached-1], first[reached-1])
		reached++
	}
	return reached
}

// resizeInt64 returns buf with length n.
func resizeInt64(buf []int64, n int) []int64 {
	if cap(buf) < n {
		return make([]int64, n)
	}
	return buf[:n]
}

// funnelAcc accumulates visitors' outcomes for one group.
type funnelAcc struct {
	counts []int
	// times are the milliseconds from step k−1 to step k of each visitor who reached k,
	// in the order the visitors were added (the mean sums them in that order).
	times    []valueList
	excluded int
}

func newFunnelAcc(m int) *funnelAcc {
	return &funnelAcc{counts: make([]int, m), times: make([]valueList, m)}
}

func (a *funnelAcc) add(r *funnelRun) {
	if r.excluded {
		a.excluded++
		return
	}
	for k := range r.reached {
		a.counts[k]++
		if k > 0 {
			a.times[k].add(r.at[k] - r.at[k-1])
		}
	}
}

func (a *funnelAcc) steps(names []string) []FunnelStep {
	out := make([]FunnelStep, len(names))
	for k, name := range names {
		s := FunnelStep{Step: name, Visitors: a.counts[k]}
		s.FromFirst = ratio(float64(a.counts[k]), float64(a.counts[0]))
		if k > 0 {
			s.FromPrevious = ratio(float64(a.counts[k]), float64(a.counts[k-1]))
			s.DropOff = a.counts[k-1] - a.counts[k]
			s.MeanTime = meanOf(&a.times[k], 1000)
			s.MedianTime = medianOf(&a.times[k], 1000)
		}
		out[k] = s
	}
	return out
}

// BuildFunnel computes a funnel over the visitors' step arrivals. The unit is the visitor:
// each arrival at step 1 in [from, to) starts an attempt, which has the funnel's window to
// reach the following steps (they may fall after to); the visitor's result is the attempt that
// reached furthest, the earliest of equals, and the times between steps are that attempt's.
// A visitor with an exclusion step inside any attempt is removed from the funnel.
func BuildFunnel(js []Journey, f Funnel, from, to int64) (*FunnelResult, error) {
	b, err := NewFunnelBuilder(f, from, to)
	if err != nil {
		return nil, err
	}
	b.Add(js)
	return b.Result(), nil
}

// FunnelBuilder computes a funnel over visitors handed to it in parts (see BuildFunnel):
// every figure is a count over visitors or a mean or median of their times, so the parts of
// disjoint sets of visitors make the funnel of all. It keeps one time per visitor and step.
type FunnelBuilder struct {
	p        *funnelPlan
	from, to int64
	total    *funnelAcc
	groups   map[string]*funnelAcc
	cache    nameCache[*funnelAcc] // in front of groups
	r        funnelRun
	codes    []int
	cur      []int64
	keys     []string
}

// NewFunnelBuilder validates the funnel and its period.
func NewFunnelBuilder(f Funnel, from, to int64) (*FunnelBuilder, error) {
	p, err := f.plan()
	if err != nil {
		return nil, err
	}
	if to <= from {
		return nil, fmt.Errorf("funnel: period: to (%d) must be after from (%d)", to, from)
	}
	return &FunnelBuilder{p: p, from: from, to: to, total: newFunnelAcc(len(p.Steps)), groups: map[string]*funnelAcc{}}, nil
}

// Add counts the visitors of js.
func (b *FunnelBuilder) Add(js []Journey) {
	p, m := b.p, len(b.p.Steps)
	for i := range js {
		j := &js[i]
		b.codes, b.cur = p.eval(sortedSteps(j.Steps), b.from, b.to, b.codes, &b.r, b.cur)
		if b.r.reached == 0 && !b.r.excluded {
			continue
		}
		b.total.add(&b.r)
		if p.Breakdown == DimNone {
			continue
		}
		b.keys = p.Breakdown.keys(j, sortedTouches(j.Touches), b.r.start, b.keys[:0])
		for _, k := range b.keys {
			g, ok := b.cache.get(k)
			if !ok {
				if g = b.groups[k]; g == nil {
					g = newFunnelAcc(m)
					b.groups[k] = g
				}
				b.cache.put(k, g)
			}
			g.add(&b.r)
		}
	}
}

// Result returns the funnel of every visitor added so far, and ends the builder: its
// memory goes to the builders after it, so it must not be used after Result.
func (b *FunnelBuilder) Result() *FunnelResult {
	p, total := b.p, b.total
	res := &FunnelResult{
		Mode:      p.Mode,
		Window:    p.Window.Seconds(),
		Entered:   total.counts[0],
		Excluded:  total.excluded,
		Steps:     total.steps(p.Steps),
		Breakdown: p.Breakdown,
	}
	for k, g := range b.groups {
		res.Groups = append(res.Groups, FunnelGroup{Key: k, Excluded: g.excluded, Steps: g.steps(p.Steps)})
	}
	slices.SortFunc(res.Groups, func(a, b FunnelGroup) int {
		if c := cmp.Compare(b.Steps[0].Visitors, a.Steps[0].Visitors); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	// The times' memory goes to the builders after this one.
	for k := range total.times {
		total.times[k].release()
	}
	for _, g := range b.groups {
		for k := range g.times {
			g.times[k].release()
		}
	}
	b.total, b.groups, b.cache = nil, nil, nameCache[*funnelAcc]{}
	return res
}
