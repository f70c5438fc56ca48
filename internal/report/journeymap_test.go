package report

import (
	"reflect"
	"slices"
	"testing"

	"github.com/pathlight/pathlight/internal/journey"
)

func TestJourneyMap(t *testing.T) {
	const minute = 60 * 1000
	js := []Journey{
		{
			Touches: []journey.Touchpoint{tp(d(1), "Email", ""), tp(d(2), Direct, "")},
			Steps: []journey.StepMark{
				mark(d(1)+1*minute, "view"), mark(d(1)+2*minute, "view"), mark(d(1)+5*minute, "cart"),
				mark(d(2)+1*minute, "view"), mark(d(2)+2*minute, "checkout"),
			},
		},
		{
			Steps: []journey.StepMark{
				mark(d(3), "view"), mark(d(3)+10*minute, "cart"),
				mark(d(3)+50*minute, "cart"), mark(d(3)+55*minute, "checkout"), mark(d(3)+56*minute, "buy"),
			},
		},
		{Steps: []journey.StepMark{mark(d(-5), "view")}},
	}
	o := JourneyMapOptions{
		From: d(0), To: d(10), TopPaths: 2,
		Stages: map[string]string{"view": "consider", "cart": "consider", "checkout": "purchase", "buy": "purchase"},
	}
	m, err := BuildJourneyMap(js, o)
	if err != nil {
		t.Fatalf("BuildJourneyMap() = %v", err)
	}
	if m.Visitors != 2 || m.Sessions != 4 {
		t.Errorf("visitors %d, sessions %d; want 2, 4", m.Visitors, m.Sessions)
	}
	wantSteps := []MapNode{
		{Name: "cart", Visitors: 2, Arrivals: 2},
		{Name: "checkout", Visitors: 2, Arrivals: 2, Exits: 1},
		{Name: "view", Visitors: 2, Arrivals: 3, Entries: 2},
		{Name: "buy", Visitors: 1, Arrivals: 1, Exits: 1},
	}
	if !slices.Equal(m.Steps, wantSteps) {
		t.Errorf("steps = %+v; want %+v", m.Steps, wantSteps)
	}
	wantEdges := []MapEdge{
		{"view", "cart", 2, 2},
		{"cart", "checkout", 1, 1},
		{"cart", "view", 1, 1},
		{"checkout", "buy", 1, 1},
		{"view", "checkout", 1, 1},
	}
	if !slices.Equal(m.StepEdges, wantEdges) {
		t.Errorf("step edges = %+v; want %+v", m.StepEdges, wantEdges)
	}
	wantStages := []MapNode{
		{Name: "consider", Visitors: 2, Arrivals: 2, Entries: 2},
		{Name: "purchase", Visitors: 2, Arrivals: 2, Exits: 2},
	}
	if !slices.Equal(m.Stages, wantStages) || !slices.Equal(m.StageEdges, []MapEdge{{"consider", "purchase", 2, 2}}) {
		t.Errorf("stages = %+v, %+v; want %+v and one consider → purchase edge", m.Stages, m.StageEdges, wantStages)
	}
	// Flow is conserved at every step.
	for _, n := range m.Steps {
		in, out := n.Entries, n.Exits
		for _, e := range m.StepEdges {
			if e.To == n.Name {
				in += e.Count
			}
			if e.From == n.Name {
				out += e.Count
			}
		}
		if in != n.Arrivals || out != n.Arrivals {
			t.Errorf("step %s: %d arrivals, %d in, %d out; want all equal", n.Name, n.Arrivals, in, out)
		}
	}
	// Sessions: view > cart (twice: the second visitor's 40-minute gap ends a session),
	// view > checkout (a new touchpoint), cart > checkout > buy.
	wantPaths := []SessionPath{
		{Steps: []string{"view", "cart"}, Sessions: 2, Share: .5},
		{Steps: []string{"cart", "checkout", "buy"}, Sessions: 1, Share: .25},
	}
	if !slices.EqualFunc(m.Paths, wantPaths, func(a, b SessionPath) bool {
		return slices.Equal(a.Steps, b.Steps) && a.Sessions == b.Sessions && a.Share == b.Share
	}) || m.OtherPaths != 1 {
		t.Errorf("paths = %+v, other %d; want %+v, other 1", m.Paths, m.OtherPaths, wantPaths)
	}
	// The first two steps only.
	o.PathSteps = 2
	m, _ = BuildJourneyMap(js, o)
	if len(m.Paths) != 2 || !slices.Equal(m.Paths[1].Steps, []string{"cart", "checkout"}) {
		t.Errorf("paths of 2 steps = %+v; want cart > checkout second", m.Paths)
	}
	if _, err := BuildJourneyMap(js, JourneyMapOptions{From: 1, To: 1}); err == nil {
		t.Errorf("BuildJourneyMap(empty period) = nil error; want one")
	}
}

// TestJourneyMapCountsDistinctVisitorsOnLongAndShortPaths checks the visitors of each step
// and transition against a count made here, for visitors whose collapsed paths are shorter
// and longer than smallSeq (flow.add looks back along the former and keeps a set for the
// latter), with steps and transitions repeated along a path.
func TestJourneyMapCountsDistinctVisitorsOnLongAndShortPaths(t *testing.T) {
	names := []string{"a", "b", "c", "d"}
	var js []Journey
	nodeVisitors, edgeVisitors := map[string]int{}, map[[2]string]int{}
	for v := range 60 {
		n := 1 + v%(3*smallSeq) // path lengths 1 … 48
		var steps []journey.StepMark
		var seq []string
		for i := range n {
			s := names[(i*(v+1)+i/3)%len(names)]
			steps = append(steps, mark(d(1)+int64(i)*1000, s))
			if len(seq) == 0 || seq[len(seq)-1] != s {
				seq = append(seq, s)
			}
		}
		js = append(js, Journey{Steps: steps})
		seenN, seenE := map[string]bool{}, map[[2]string]bool{}
		for i, s := range seq {
			if !seenN[s] {
				seenN[s] = true
				nodeVisitors[s]++
			}
			if i > 0 && !seenE[[2]string{seq[i-1], s}] {
				seenE[[2]string{seq[i-1], s}] = true
				edgeVisitors[[2]string{seq[i-1], s}]++
			}
		}
	}
	m, err := BuildJourneyMap(js, JourneyMapOptions{From: d(0), To: d(10)})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Steps) != len(nodeVisitors) || len(m.StepEdges) != len(edgeVisitors) {
		t.Fatalf("%d steps and %d transitions, want %d and %d", len(m.Steps), len(m.StepEdges), len(nodeVisitors), len(edgeVisitors))
	}
	for _, n := range m.Steps {
		if n.Visitors != nodeVisitors[n.Name] {
			t.Errorf("step %s: %d visitors, want %d", n.Name, n.Visitors, nodeVisitors[n.Name])
		}
	}
	for _, e := range m.StepEdges {
		if k := [2]string{e.From, e.To}; e.Visitors != edgeVisitors[k] {
			t.Errorf("transition %s → %s: %d visitors, want %d", e.From, e.To, e.Visitors, edgeVisitors[k])
		}
	}
}

// TestJourneyMapBuilderEqualsBuild checks that the map of visitors added in parts to one
// builder is the map of all the visitors built at once, order and shares included.
func TestJourneyMapBuilderEqualsBuild(t *testing.T) {
	js := randomJourneys(7, 3000)
	o := JourneyMapOptions{From: d(2), To: d(40), TopPaths: 4, PathSteps: 3,
		Stages: map[string]string{"view": "a", "cart": "b", "checkout": "b", "purchase": "c"}}
	want, err := BuildJourneyMap(js, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewJourneyMapBuilder(o)
	if err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < len(js); lo += 700 {
		b.Add(js[lo:min(lo+700, len(js))])
	}
	if want.Visitors == 0 || len(want.Paths) == 0 || len(want.StageEdges) == 0 {
		t.Fatalf("the random journeys make an empty map: %+v", want)
	}
	if got := b.Result(); !reflect.DeepEqual(got, want) {
		t.Errorf("builder = %+v\nwant %+v", got, want)
	}
}
