package main

import (
	"log/slog"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/pathlight/pathlight/internal/config"
)

// The garbage collector's target in serve. Go's default (GOGC 100) collects at twice what
// the last collection left live: with the 60–80 MiB a busy server keeps live, twice a second
// under half load, and each mark phase takes a Go processor and makes the hits that
// allocate meanwhile mark too (docs/performance.md, "The slowest hits at half load"). A
// fixed multiple of the live heap instead (GOGC 400, as before) lets the heap float with
// what is live: at 1,000,000 visitors, caches full after the reports, it floated up to the
// memory limit, at 100,000 to half that, so the resident memory grew with the history.
//
// So serve aims the heap at a goal set by the budget, not by the live heap: after every
// collection it sets the percentage that puts the next collection at the plan's HeapGoal
// (three quarters of the budget), or at the live heap plus the plan's headroom (Work), if
// that is more; the memory limit (GoLimit) still caps both. With a live heap of 60–80 MiB
// and a budget of 512 MiB, that collects at 384 MiB, as GOGC 400 did.

// gcPercentFor is the GOGC that puts the next collection at max(goal, live+headroom), for a
// live heap of live bytes and roots bytes of stacks and globals: the runtime's goal is
// live + (live+roots)×GOGC/100, and at least its minimum heap, 4 MiB×GOGC/100 (so a
// small live heap gets the percentage that makes that minimum the target).
func gcPercentFor(live, roots, goal, headroom int64) int {
	live = max(live, 1)
	target := max(goal, live+headroom)
	p := 100 * (target - live) / (live + max(roots, 0))
	p = min(p, 100*target/minHeap)
	return int(max(p, 1))
}

// minHeap is the Go runtime's minimum heap goal at GOGC 100 (defaultHeapMinimum).
const minHeap = 4 << 20

// gcTarget keeps the collector's percentage on the plan's goal.
type gcTarget struct {
	goal, headroom int64
	samples        []metrics.Sample
	cycles         uint64 // the collections seen
	percent        int    // the percentage last set
}

func newGCTarget(plan config.MemoryPlan) *gcTarget {
	return &gcTarget{goal: plan.HeapGoal, headroom: plan.Work, samples: []metrics.Sample{
		{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"},
		{Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"},
	}}
}

// adjust sets the percentage for the live heap the last collection left, if a collection
// ran since the last call (or force), and returns it.
func (g *gcTarget) adjust(force bool) int {
	metrics.Read(g.samples)
	cycles := g.samples[0].Value.Uint64()
	if cycles == g.cycles && !force {
		return g.percent
	}
	g.cycles = cycles
	p := gcPercentFor(int64(g.samples[1].Value.Uint64()), int64(g.samples[2].Value.Uint64()+g.samples[3].Value.Uint64()), g.goal, g.headroom)
	// A change of a few per cent is not worth the runtime's recomputing its pacing.
	if d := p - g.percent; force || d*20 > g.percent || -d*20 > g.percent {
		debug.SetGCPercent(p)
		g.percent = p
	}
	return g.percent
}

// gcTargetEvery is how often serve looks for a new collection: collections under load come
// every few seconds, and between one and the next look the runtime paces by the last value.
const gcTargetEvery = 100 * time.Millisecond

// applyGCTarget keeps the collector on the plan's goal until stop is called, unless GOGC sets
// the collector's target already (the operator's word wins).
func applyGCTarget(plan config.MemoryPlan, getenv func(string) string, log *slog.Logger) (stop func()) {
	if getenv("GOGC") != "" {
		log.Info("garbage collector target from GOGC")
		return func() {}
	}
	g := newGCTarget(plan)
	g.adjust(true)
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(gcTargetEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				g.adjust(false)
			}
		}
	}()
	return func() { close(done); <-exited }
}
