package analytics

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/pathlight/pathlight/internal/report"
)

// journeyMap computes the journey map over the journeys in parallel: each part of the
// visitors is mapped on its own and the parts are added up. Every figure of the map is a sum
// over visitors (a visitor is in exactly one part), and the parts list all their session
// paths, so the sum is exactly the map of the whole.
func journeyMap(js []report.Journey, o report.JourneyMapOptions) (*report.JourneyMap, error) {
	return journeyMapIn(js, o, min(runtime.GOMAXPROCS(0), 1+len(js)/5000))
}

// journeyMapIn is journeyMap over n parts.
func journeyMapIn(js []report.Journey, o report.JourneyMapOptions, n int) (*report.JourneyMap, error) {
	if n <= 1 {
		return report.BuildJourneyMap(js, o)
	}
	top := o.TopPaths
	if top == 0 {
		top = report.DefaultTopPaths
	}
	po := o
	po.TopPaths = math.MaxInt32 // every path, to be ranked after the sum
	parts := make([]*report.JourneyMap, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		lo, hi := i*len(js)/n, (i+1)*len(js)/n
		wg.Go(func() { parts[i], errs[i] = report.BuildJourneyMap(js[lo:hi], po) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return mergeJourneyMaps(parts, top), nil
}

// mergeJourneyMaps adds up maps of disjoint sets of visitors that list all their paths, and
// ranks as the report package does: nodes by visitors, edges by count, paths by sessions,
// all descending, ties by name.
func mergeJourneyMaps(parts []*report.JourneyMap, top int) *report.JourneyMap {
	res := &report.JourneyMap{}
	steps, stages := map[string]*report.MapNode{}, map[string]*report.MapNode{}
	stepEdges, stageEdges := map[[2]string]*report.MapEdge{}, map[[2]string]*report.MapEdge{}
	paths := map[string]int{}
	for _, p := range parts {
		res.Visitors += p.Visitors
		res.Sessions += p.Sessions
		addNodes(steps, p.Steps)
		addNodes(stages, p.Stages)
		addEdges(stepEdges, p.StepEdges)
		addEdges(stageEdges, p.StageEdges)
		for _, sp := range p.Paths {
			paths[strings.Join(sp.Steps, "\x00")] += sp.Sessions
		}
	}
	res.Steps, res.Stages = sortedNodes(steps), sortedNodes(stages)
	res.StepEdges, res.StageEdges = sortedEdges(stepEdges), sortedEdges(stageEdges)
	res.Paths = make([]report.SessionPath, 0, len(paths))
	for k, n := range paths {
		res.Paths = append(res.Paths, report.SessionPath{Steps: strings.Split(k, "\x00"), Sessions: n})
	}
	slices.SortFunc(res.Paths, func(a, b report.SessionPath) int {
		return cmp.Or(cmp.Compare(b.Sessions, a.Sessions), slices.Compare(a.Steps, b.Steps))
	})
	res.Paths = res.Paths[:min(top, len(res.Paths))]
	res.OtherPaths = res.Sessions
	for i := range res.Paths {
		res.Paths[i].Share = float64(res.Paths[i].Sessions) / float64(res.Sessions)
		res.OtherPaths -= res.Paths[i].Sessions
	}
	return res
}

func addNodes(m map[string]*report.MapNode, ns []report.MapNode) {
	for _, n := range ns {
		t := m[n.Name]
		if t == nil {
			t = &report.MapNode{Name: n.Name}
			m[n.Name] = t
		}
		t.Visitors += n.Visitors
		t.Arrivals += n.Arrivals
		t.Entries += n.Entries
		t.Exits += n.Exits
	}
}

func addEdges(m map[[2]string]*report.MapEdge, es []report.MapEdge) {
	for _, e := range es {
		k := [2]string{e.From, e.To}
		t := m[k]
		if t == nil {
			t = &report.MapEdge{From: e.From, To: e.To}
			m[k] = t
		}
		t.Count += e.Count
		t.Visitors += e.Visitors
	}
}

func sortedNodes(m map[string]*report.MapNode) []report.MapNode {
	out := make([]report.MapNode, 0, len(m))
	for _, n := range m {
		out = append(out, *n)
	}
	slices.SortFunc(out, func(a, b report.MapNode) int {
		return cmp.Or(cmp.Compare(b.Visitors, a.Visitors), cmp.Compare(a.Name, b.Name))
	})
	return out
}

func sortedEdges(m map[[2]string]*report.MapEdge) []report.MapEdge {
	out := make([]report.MapEdge, 0, len(m))
	for _, e := range m {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b report.MapEdge) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	return out
}
