package analytics

import (
	"runtime"
	"runtime/metrics"
)

// Collections started off the report thread. The goroutine whose allocation crosses the
// collector's trigger starts the collection itself, stopping the world from its own
// thread; while reports run, that is mostly the report worker, at nice 19 under
// SCHED_IDLE (see onWorker), and every hit then waits for as long as the kernel leaves
// that thread off the cores (stops of 3.5 ms on average and up to 230 ms with reports,
// 0.26 ms without, docs/performance.md). So a report, between two chunks, looks at the
// heap, and when it is near the point where the collector would start, it has a goroutine
// of the normal priority run the collection and waits for it: the stops are then run by a
// thread of the hits' priority, and the report holds no Go processor while the world
// stops, so that none waits for it.

// triggerShare is how far from the last collection's live heap toward the heap goal the
// heap may grow before a report hands off a collection: the runtime starts one between
// 0.70 and 0.95 of that way (its pacer's bounds), so at 0.65 the report is ahead of it
// but for one chunk's allocation.
const triggerShare = 0.65

// heapMetrics are the runtime metrics heapNearTrigger reads.
var heapMetrics = [3]string{"/gc/heap/live:bytes", "/gc/heap/goal:bytes", "/memory/classes/heap/objects:bytes"}

// heapNearTrigger reports whether the heap has grown triggerShare of the way from the live
// heap the last collection left to the goal of the next one.
func heapNearTrigger() bool {
	s := [3]metrics.Sample{{Name: heapMetrics[0]}, {Name: heapMetrics[1]}, {Name: heapMetrics[2]}}
	metrics.Read(s[:])
	for _, x := range s {
		if x.Value.Kind() != metrics.KindUint64 {
			return false // a runtime without these metrics: leave the collector alone
		}
	}
	return nearTrigger(s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64())
}

// nearTrigger reports whether a heap of objects bytes has grown triggerShare of the way
// from live to goal.
func nearTrigger(live, goal, objects uint64) bool {
	if goal <= live {
		return objects >= goal
	}
	return float64(objects) >= float64(live)+triggerShare*float64(goal-live)
}

// collectElsewhere runs a full collection on a new goroutine, which cannot run on the
// calling goroutine's thread when that is locked to it, as the report worker's is, and
// waits for it: the caller's thread holds no Go processor meanwhile.
func collectElsewhere() {
	done := make(chan struct{}, 1)
	go func() {
		runtime.GC()
		done <- struct{}{}
	}()
	<-done
}
