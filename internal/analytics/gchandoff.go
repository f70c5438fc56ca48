package analytics

import (
	"runtime"
	"runtime/metrics"
)

// Collections started off the report thread. The goroutine whose allocation crosses the
// collector's trigger starts the collection itself, stopping the world from its own
// thread. Hits make little garbage (at most one collection in 15 s of hits alone in make
// bench-scale), so while reports run that goroutine is mostly the report worker, at nice
// 19 (see onWorker): the world then stays stopped for as long as the kernel leaves that
// thread off the cores, which on a busy machine is long. So a report, between two chunks,
// looks at the heap, and when it is near the point where the collector would start, it
// has a goroutine of the normal priority run the collection and waits for it: the stops
// are then run by a thread of the hits' priority, and the report holds no Go processor
// while the world stops, so that no stop waits for it (docs/performance.md, "Collections
// off the report thread").

// triggerShare is how far from the last collection's live heap toward the heap goal the
// heap may grow before a report hands off a collection. The runtime's pacer starts one
// between 0.70 and 0.95 of that way; while reports run it started at about 0.95 of it
// (gctrace in make bench-scale), so 0.85 is ahead of it but for a chunk's allocation
// (about half a megabyte in a runway of a hundred), at the cost of about one collection
// in eight more. Where the pacer starts earlier, the collection starts as it did without
// the hand-off.
const triggerShare = 0.85

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
