package report

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/journey"
)

// TestNameCacheKeepsNamesOfOneSlotApart looks up names that share a slot (same length, same
// end bytes), as the same bytes and as equal copies: each keeps its own value.
func TestNameCacheKeepsNamesOfOneSlotApart(t *testing.T) {
	var c nameCache[int]
	names := []string{"s1x", "s2x", "s3x"}
	if c.slot(names[0]) != c.slot(names[1]) || c.slot(names[1]) != c.slot(names[2]) {
		t.Fatal("the names do not share a slot: the test checks nothing")
	}
	for round := range 3 {
		for i, n := range names {
			if round == 2 {
				n = strings.Clone(n) // equal bytes elsewhere
			}
			v, ok := c.get(n)
			if ok && v != i {
				t.Fatalf("round %d: get(%q) = %d; want %d", round, n, v, i)
			}
			if !ok {
				c.put(n, i)
			}
		}
	}
	c.put("", 7)
	if v, ok := c.get(""); ok {
		t.Errorf("get(\"\") = %d, true; want no value: the empty name is never cached", v)
	}
}

// TestJourneyMapAndFunnelWithStepsOfOneSlot runs the journey map and a funnel over steps
// whose names share a cache slot, arriving in turn, and checks every count.
func TestJourneyMapAndFunnelWithStepsOfOneSlot(t *testing.T) {
	const minute = 60 * 1000
	// s1x, s2x, s3x are the funnel; s4x excludes; s5x is another step.
	js := []Journey{
		{Touches: []journey.Touchpoint{tp(d(1), "Email", "")}, Steps: []journey.StepMark{
			mark(d(1)+minute, "s1x"), mark(d(1)+2*minute, "s2x"), mark(d(1)+3*minute, "s5x"), mark(d(1)+4*minute, "s3x")}},
		{Touches: []journey.Touchpoint{tp(d(2), "Search", "")}, Steps: []journey.StepMark{
			mark(d(2)+minute, "s1x"), mark(d(2)+2*minute, "s2x")}},
		{Touches: []journey.Touchpoint{tp(d(3), "Email", "")}, Steps: []journey.StepMark{
			mark(d(3)+minute, "s1x"), mark(d(3)+2*minute, "s4x"), mark(d(3)+3*minute, "s2x")}},
		{Steps: []journey.StepMark{mark(d(4), strings.Clone("s2x")), mark(d(4)+minute, strings.Clone("s1x"))}},
	}
	m, err := BuildJourneyMap(js, JourneyMapOptions{From: d(0), To: d(10)})
	if err != nil {
		t.Fatal(err)
	}
	visitors := map[string]int{}
	for _, n := range m.Steps {
		visitors[n.Name] = n.Visitors
	}
	if want := map[string]int{"s1x": 4, "s2x": 4, "s3x": 1, "s4x": 1, "s5x": 1}; !maps.Equal(visitors, want) {
		t.Errorf("step visitors = %v; want %v", visitors, want)
	}
	var paths []string
	for _, p := range m.Paths {
		paths = append(paths, strings.Join(p.Steps, ">")+":"+strconv.Itoa(p.Sessions))
	}
	if want := []string{"s1x>s2x:1", "s1x>s2x>s5x>s3x:1", "s1x>s4x>s2x:1", "s2x>s1x:1"}; !slices.Equal(paths, want) {
		t.Errorf("paths = %v; want %v", paths, want)
	}

	f, err := BuildFunnel(js, Funnel{Steps: []string{"s1x", "s2x", "s3x"}, Exclusions: []string{"s4x"}, Breakdown: DimChannel}, d(0), d(10))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, s := range f.Steps {
		got = append(got, s.Visitors)
	}
	if !slices.Equal(got, []int{3, 2, 1}) || f.Excluded != 1 {
		t.Errorf("funnel visitors %v, excluded %d; want [3 2 1], 1", got, f.Excluded)
	}
	groups := map[string]int{}
	for _, g := range f.Groups {
		groups[g.Key] = g.Steps[0].Visitors
	}
	if want := map[string]int{"Email": 1, "Search": 1, Unassigned: 1}; !maps.Equal(groups, want) {
		t.Errorf("funnel groups = %v; want %v", groups, want)
	}
}

// TestJourneyMapWithoutSessionsListsNoPaths checks that a map without a step arrival lists
// its paths as an empty list, not as null.
func TestJourneyMapWithoutSessionsListsNoPaths(t *testing.T) {
	m, err := BuildJourneyMap(nil, JourneyMapOptions{From: d(0), To: d(1)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m.Paths)
	if err != nil || string(b) != "[]" {
		t.Errorf("paths = %s, %v; want []", b, err)
	}
}
