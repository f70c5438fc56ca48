package analytics

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// TestNearTrigger: the heap is near the trigger from triggerShare of the way between the
// live heap and the goal, and at the goal when there is no way between them.
func TestNearTrigger(t *testing.T) {
	for _, c := range []struct {
		live, goal, objects uint64
		want                bool
	}{
		{100, 500, 100, false},
		{100, 500, 439, false},
		{100, 500, 440, true}, // 100 + 0.85×400
		{100, 500, 600, true},
		{500, 500, 499, false},
		{500, 500, 500, true},
	} {
		if got := nearTrigger(c.live, c.goal, c.objects); got != c.want {
			t.Errorf("nearTrigger(live %d, goal %d, objects %d) = %v; want %v", c.live, c.goal, c.objects, got, c.want)
		}
	}
}

// TestDutyCycleHandsOffCollections: a step hands a collection off only while the heap is
// near the trigger, and the time the collection took is not work the step pays a pause for.
func TestDutyCycleHandsOffCollections(t *testing.T) {
	f := &fakeDuty{t: time.Unix(0, 0)}
	near := false
	d := f.duty(0.25, nil)
	d.nearGC = func() bool { return near }
	d.collect = func() { f.t = f.t.Add(40 * time.Millisecond) } // a collection of 40 ms
	for range 4 {
		f.t = f.t.Add(time.Millisecond)
		d.step()
	}
	if d.handed != 0 {
		t.Errorf("collections handed off with the heap far from the trigger: %d; want 0", d.handed)
	}
	near = true
	f.sleeps = nil
	f.t = f.t.Add(4 * time.Millisecond)
	d.step()
	if d.handed != 1 {
		t.Errorf("collections handed off near the trigger: %d; want 1", d.handed)
	}
	if got, want := f.slept(), time.Millisecond; got != want {
		t.Errorf("after 4 ms of work and a collection of 40 ms, at a share of 0.25: paused %v; want %v (the collection is not work)", got, want)
	}
}

// TestHeapNearTriggerBeforeTheCollector: as garbage piles up, heapNearTrigger says so
// before the collector starts a cycle of its own (the collector's pacer places its trigger
// where it will, so of five tries one must be ahead of it), and a collection run elsewhere
// from a thread locked to its goroutine, as the report worker's is, completes and leaves
// the heap far from the trigger.
func TestHeapNearTriggerBeforeTheCollector(t *testing.T) {
	cycles := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	var sink [][]byte
	ahead := 0
	for range 5 {
		runtime.GC()
		start := cycles()
		near := false
		for i := 0; i < 1<<16 && !near; i++ {
			sink = append(sink[:0], make([]byte, 16<<10)) // garbage, 16 KiB at a time
			near = heapNearTrigger()
		}
		if !near {
			t.Fatalf("1 GiB of garbage later, the heap is still not near the trigger")
		}
		if cycles() == start {
			ahead++
		}
		done := make(chan uint64)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			collectElsewhere()
			done <- cycles()
		}()
		if n := <-done; n <= start {
			t.Errorf("cycles after collectElsewhere returned: %d; want more than %d", n, start)
		}
		if heapNearTrigger() {
			t.Errorf("the heap is still near the trigger after a collection")
		}
	}
	if ahead == 0 {
		t.Errorf("in five tries, the collector always started a cycle of its own before heapNearTrigger said the heap was near the trigger")
	}
	_ = sink
}

// TestReportDutyHandsOffCollections: a report's duty cycle hands collections off its
// thread, reading the heap through heapNearTrigger.
func TestReportDutyHandsOffCollections(t *testing.T) {
	d := newReportDuty()
	if d.nearGC == nil || d.collect == nil {
		t.Fatalf("a report's duty cycle hands no collection off its thread")
	}
	runtime.GC()
	if d.nearGC() {
		t.Errorf("right after a collection, the report's duty cycle finds the heap near the trigger")
	}
}
