package report

import (
	"cmp"
	"fmt"
	"slices"
	"sort"

	"github.com/pathlight/pathlight/internal/journey"
)

// Defaults of the journey map's top paths.
const (
	DefaultPathSteps = 5  // steps kept of each session's path
	DefaultTopPaths  = 10 // paths listed; the rest are grouped as other
)

// JourneyMapOptions configure the journey map.
type JourneyMapOptions struct {
	From, To int64 // period of step arrivals, Unix ms, [From, To)
	// Stages maps step ids to their stage; steps without a stage are left out of the stage
	// map.
	Stages map[string]string
	// PathSteps is how many steps of each session's path are kept (zero: 5), TopPaths how many
	// paths are listed (zero: 10).
	PathSteps, TopPaths int
}

// MapNode is a step or stage of the journey map. Flow is conserved: Arrivals = Entries +
// the edges into the node = Exits + the edges out of it.
type MapNode struct {
	Name     string `json:"name"`
	Visitors int    `json:"visitors"` // distinct visitors who arrived
	Arrivals int    `json:"arrivals"` // arrivals, consecutive repeats collapsed
	Entries  int    `json:"entries"`  // visitors whose journey in the period started here
	Exits    int    `json:"exits"`    // visitors whose journey in the period stopped here: the drop-off
}

// MapEdge is a transition between consecutive distinct steps or stages: an edge of the
// Sankey diagram.
type MapEdge struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Count    int    `json:"count"`    // transitions
	Visitors int    `json:"visitors"` // distinct visitors who made it
}

// SessionPath is one of the most common step paths within a session.
type SessionPath struct {
	Steps    []string `json:"steps"`
	Sessions int      `json:"sessions"`
	Share    float64  `json:"share"` // of all sessions with a step
}

// JourneyMap is the journey map report.
type JourneyMap struct {
	Visitors   int           `json:"visitors"` // visitors with a step arrival in the period
	Steps      []MapNode     `json:"steps"`
	Stages     []MapNode     `json:"stages"`
	StepEdges  []MapEdge     `json:"step_edges"`
	StageEdges []MapEdge     `json:"stage_edges"`
	Sessions   int           `json:"sessions"` // sessions with a step arrival
	Paths      []SessionPath `json:"paths"`
	// OtherPaths counts the sessions whose path is not among Paths.
	OtherPaths int `json:"other_paths"`
}

// flow accumulates nodes and edges of one level (steps or stages). Names are numbered in
// the order first seen, so that a visitor's path is a list of numbers: an edge is found
// by the pair of numbers, and repeats along a path by comparing numbers, with a name
// hashed once per arrival.
type flow struct {
	ids   map[string]int32
	cache nameCache[int32] // in front of ids
	nodes []MapNode        // by number
	edges map[uint64]*MapEdge
	adj   [][]*MapEdge // adj[from][to]: the edges, found without hashing
	seenN map[int32]bool
	seenE map[uint64]bool
}

func newFlow() *flow {
	return &flow{
		ids: make(map[string]int32), edges: make(map[uint64]*MapEdge),
		seenN: make(map[int32]bool), seenE: make(map[uint64]bool),
	}
}

// id returns the number of name, numbering it when new.
func (f *flow) id(name string) int32 {
	if i, ok := f.cache.get(name); ok {
		return i
	}
	i, ok := f.ids[name]
	if !ok {
		i = int32(len(f.nodes))
		f.ids[name] = i
		f.nodes = append(f.nodes, MapNode{Name: name})
	}
	f.cache.put(name, i)
	return i
}

// edgeKey is the key of the edge from → to.
func edgeKey(from, to int32) uint64 { return uint64(uint32(from))<<32 | uint64(uint32(to)) }

// edge returns the edge from → to, made when new.
func (f *flow) edge(from, to int32) *MapEdge {
	if int(from) < len(f.adj) && int(to) < len(f.adj[from]) {
		if e := f.adj[from][to]; e != nil {
			return e
		}
	}
	e := &MapEdge{From: f.nodes[from].Name, To: f.nodes[to].Name}
	f.edges[edgeKey(from, to)] = e
	for int(from) >= len(f.adj) {
		f.adj = append(f.adj, nil)
	}
	for int(to) >= len(f.adj[from]) {
		f.adj[from] = append(f.adj[from], nil)
	}
	f.adj[from][to] = e
	return e
}

// smallSeq is the longest sequence whose repeats flow.add finds by looking back along
// it rather than in a set: cheaper than hashing for the few steps most visitors take.
const smallSeq = 16

// add adds one visitor's collapsed sequence, of numbers from f.id.
func (f *flow) add(seq []int32) {
	if len(seq) == 0 {
		return
	}
	small := len(seq) <= smallSeq
	if !small {
		clear(f.seenN)
		clear(f.seenE)
	}
	for i, s := range seq {
		n := &f.nodes[s]
		n.Arrivals++
		if small {
			if !slices.Contains(seq[:i], s) {
				n.Visitors++
			}
		} else if !f.seenN[s] {
			f.seenN[s] = true
			n.Visitors++
		}
		if i == 0 {
			n.Entries++
		}
		if i == len(seq)-1 {
			n.Exits++
		}
		if i == 0 {
			continue
		}
		e := f.edge(seq[i-1], s)
		e.Count++
		if small {
			if !edgeBefore(seq, i) {
				e.Visitors++
			}
		} else if k := edgeKey(seq[i-1], s); !f.seenE[k] {
			f.seenE[k] = true
			e.Visitors++
		}
	}
}

// edgeBefore reports whether the transition seq[i-1] → seq[i] appears earlier in seq.
func edgeBefore(seq []int32, i int) bool {
	for j := 1; j < i; j++ {
		if seq[j] == seq[i] && seq[j-1] == seq[i-1] {
			return true
		}
	}
	return false
}

// result returns nodes by visitors and edges by count, both descending, then by name.
func (f *flow) result() ([]MapNode, []MapEdge) {
	nodes := slices.Clone(f.nodes)
	slices.SortFunc(nodes, func(a, b MapNode) int {
		if c := cmp.Compare(b.Visitors, a.Visitors); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	edges := make([]MapEdge, 0, len(f.edges))
	for _, e := range f.edges {
		edges = append(edges, *e)
	}
	slices.SortFunc(edges, func(a, b MapEdge) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if c := cmp.Compare(a.From, b.From); c != 0 {
			return c
		}
		return cmp.Compare(a.To, b.To)
	})
	return nodes, edges
}

// appendCollapsed appends s to seq unless it repeats the last element.
func appendCollapsed[T comparable](seq []T, s T) []T {
	if len(seq) > 0 && seq[len(seq)-1] == s {
		return seq
	}
	return append(seq, s)
}

// BuildJourneyMap computes the journey map of the visitors' step arrivals in the period:
// visitors per step and stage, the transitions between consecutive distinct steps and
// stages, where journeys stop, and the most common session paths. A session ends when 30
// minutes pass between two step arrivals or when a new session (touchpoint) starts between
// them.
func BuildJourneyMap(js []Journey, o JourneyMapOptions) (*JourneyMap, error) {
	b, err := NewJourneyMapBuilder(o)
	if err != nil {
		return nil, err
	}
	b.Add(js)
	return b.Result(), nil
}

// JourneyMapBuilder computes a journey map over visitors handed to it in parts (see
// BuildJourneyMap): every figure is a count over visitors or sessions, so the parts of
// disjoint sets of visitors, added one after another into the same counts, make the map of
// all. It keeps one count per step, stage, transition and distinct session path, whatever
// the number of visitors, and sorts them once, in Result.
type JourneyMapBuilder struct {
	o                 JourneyMapOptions
	res               JourneyMap
	steps, stages     *flow
	paths             pathTrie
	stepSeq, stageSeq []int32
	sess              []int32 // the session's path, in step numbers
	// active counts the visitors active in the period (see MicroConversions.Visitors):
	// those of the map and those with only a session overlapping it.
	active int
	// stageOf is the stage number of each step number, -1 without a stage, -2 not yet
	// looked up.
	stageOf []int32
}

// NewJourneyMapBuilder returns a builder of the journey map with options o, or an error
// for options BuildJourneyMap refuses.
func NewJourneyMapBuilder(o JourneyMapOptions) (*JourneyMapBuilder, error) {
	if o.To <= o.From {
		return nil, fmt.Errorf("journey map: period: to (%d) must be after from (%d)", o.To, o.From)
	}
	if o.PathSteps < 0 || o.TopPaths < 0 {
		return nil, fmt.Errorf("journey map: path steps %d and top paths %d must not be negative", o.PathSteps, o.TopPaths)
	}
	if o.PathSteps == 0 {
		o.PathSteps = DefaultPathSteps
	}
	if o.TopPaths == 0 {
		o.TopPaths = DefaultTopPaths
	}
	return &JourneyMapBuilder{o: o, steps: newFlow(), stages: newFlow()}, nil
}

// flush counts the session path in b.sess, if any, and empties it.
func (b *JourneyMapBuilder) flush() {
	if len(b.sess) > 0 {
		b.paths.add(b.sess)
		b.res.Sessions++
	}
	b.sess = b.sess[:0]
}

// Add adds the journeys js, of visitors not added before.
func (b *JourneyMapBuilder) Add(js []Journey) {
	o := &b.o
	for i := range js {
		ss := sortedSteps(js[i].Steps)
		lo := sort.Search(len(ss), func(k int) bool { return ss[k].At >= o.From })
		hi := sort.Search(len(ss), func(k int) bool { return ss[k].At >= o.To })
		if lo >= hi {
			if touchesOverlap(js[i].Touches, o.From, o.To) {
				b.active++
			}
			continue
		}
		ts := sortedTouches(js[i].Touches)
		b.res.Visitors++
		b.active++
		b.stepSeq, b.stageSeq, b.sess = b.stepSeq[:0], b.stageSeq[:0], b.sess[:0]
		var prev journey.StepMark
		prevSession := -1
		for k, s := range ss[lo:hi] {
			id := b.steps.id(s.Step)
			b.stepSeq = appendCollapsed(b.stepSeq, id)
			if st := b.stage(id, s.Step); st >= 0 {
				b.stageSeq = appendCollapsed(b.stageSeq, st)
			}
			session := sort.Search(len(ts), func(x int) bool { return ts[x].StartedAt > s.At })
			if k > 0 && (s.At-prev.At > journey.SessionTimeout || session != prevSession) {
				b.flush()
			}
			if len(b.sess) < o.PathSteps {
				b.sess = appendCollapsed(b.sess, id)
			}
			prev, prevSession = s, session
		}
		b.flush()
		b.steps.add(b.stepSeq)
		b.stages.add(b.stageSeq)
	}
}

// stage returns the stage number of step number id (named step), -1 when it has none.
func (b *JourneyMapBuilder) stage(id int32, step string) int32 {
	for int(id) >= len(b.stageOf) {
		b.stageOf = append(b.stageOf, -2)
	}
	if b.stageOf[id] == -2 {
		b.stageOf[id] = -1
		if st, ok := b.o.Stages[step]; ok {
			b.stageOf[id] = b.stages.id(st)
		}
	}
	return b.stageOf[id]
}

// Micro returns the micro-conversion rates of the visitors added (as MicroConversionRates
// computes them from the same journeys, steps and period): a step's visitors are those
// with an arrival at it in the period, which is the map's count of the step, so the journey
// report gets both from one pass.
func (b *JourneyMapBuilder) Micro(steps []string) *MicroConversions {
	counts := make(map[string]int, len(b.steps.nodes))
	for _, n := range b.steps.nodes {
		counts[n.Name] = n.Visitors
	}
	return microResult(steps, counts, b.active)
}

// Result returns the map of every visitor added, with the options' top paths.
func (b *JourneyMapBuilder) Result() *JourneyMap {
	res := b.res
	res.finish(b.steps, b.stages, b.paths.paths(b.steps), b.o.TopPaths)
	return &res
}

// finish sets m's nodes, edges and top paths from the flows and the session-path counts.
func (m *JourneyMap) finish(steps, stages *flow, paths []SessionPath, top int) {
	m.Steps, m.StepEdges = steps.result()
	m.Stages, m.StageEdges = stages.result()
	m.Paths = topPaths(paths, m.Sessions, top)
	m.OtherPaths = m.Sessions
	for _, p := range m.Paths {
		m.OtherPaths -= p.Sessions
	}
}

// topPaths returns the n most common of the paths out, ties by path.
func topPaths(out []SessionPath, total, n int) []SessionPath {
	slices.SortFunc(out, func(a, b SessionPath) int {
		if c := cmp.Compare(b.Sessions, a.Sessions); c != 0 {
			return c
		}
		return slices.Compare(a.Steps, b.Steps)
	})
	if len(out) > n {
		out = out[:n]
	}
	for i := range out {
		out[i].Share = float64(out[i].Sessions) / float64(total)
	}
	return out
}

// pathTrie counts session paths, each a short list of step numbers: a node is a path, found
// from the path one step shorter by a look along its few children, so that counting a
// session hashes nothing.
type pathTrie struct {
	nodes []pathNode // nodes[0] is the empty path
}

type pathNode struct {
	step     int32 // the path's last step
	parent   int32 // the path without it
	sessions int
	children []int32
}

// add counts one session of path.
func (t *pathTrie) add(path []int32) {
	if len(t.nodes) == 0 {
		t.nodes = append(t.nodes, pathNode{step: -1, parent: -1})
	}
	n := int32(0)
	for _, s := range path {
		n = t.child(n, s)
	}
	t.nodes[n].sessions++
}

// child returns the node of path n followed by step s, made when new.
func (t *pathTrie) child(n, s int32) int32 {
	for _, c := range t.nodes[n].children {
		if t.nodes[c].step == s {
			return c
		}
	}
	c := int32(len(t.nodes))
	t.nodes = append(t.nodes, pathNode{step: s, parent: n})
	t.nodes[n].children = append(t.nodes[n].children, c)
	return c
}

// paths returns every path counted, its steps named by f's nodes, unsorted.
func (t *pathTrie) paths(f *flow) []SessionPath {
	out := make([]SessionPath, 0, len(t.nodes)) // never nil: a map without sessions lists none
	for i, n := range t.nodes {
		if n.sessions == 0 {
			continue
		}
		var steps []string
		for k := int32(i); k > 0; k = t.nodes[k].parent {
			steps = append(steps, f.nodes[t.nodes[k].step].Name)
		}
		slices.Reverse(steps)
		out = append(out, SessionPath{Steps: steps, Sessions: n.sessions})
	}
	return out
}
