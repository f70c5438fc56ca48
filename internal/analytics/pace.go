package analytics

import (
	"context"
	"runtime"
	"runtime/metrics"
	"time"
)

// Pacing. The report worker runs at nice 19 (see onWorker), and it also pauses itself
// while the hits want every core, so that what it takes then is bounded by its own
// pauses, not only by the kernel's weights. A report runs at full speed while
// the hits leave a core idle, and while they want every core it pauses after each chunk
// for busyPause times the time the chunk took: it then uses at most a quarter of one core.
// Background work (packing closed days, the default reports' rollups) pauses after each
// step as long as the step took, and busyPause times that while the hits want every core.

// busyPause is how many times its working time a report or background job pauses while
// the hits want every core: 3 leaves the work a quarter of one core.
const busyPause = 3

// minPause is the least a report's duty cycle sleeps at once: the work is paid back in
// pauses of at least this length, since a shorter sleep costs about as much as the timer's
// resolution.
const minPause = time.Millisecond

// dutyCycle paces work done in steps (a report's chunks): after each step it owes a pause
// of share times the step's working time (busyShare times while busy says the hits want
// every core), and sleeps once what it owes reaches minPause. While it sleeps, the thread
// holds no Go processor, so a hit's goroutine can take it.
type dutyCycle struct {
	share, busyShare float64
	busy             func() bool
	now              func() time.Time
	sleep            func(time.Duration)
	last             time.Time     // end of the last pause
	owed             time.Duration // pause owed for the work since the last pause
	steps            int           // steps ended
	// nearGC and collect hand a collection off the report thread (see gchandoff.go):
	// after each step, when nearGC says the heap is near the collector's trigger, collect
	// runs one elsewhere and returns when it is done. nil: never.
	nearGC  func() bool
	collect func()
	handed  int // collections handed off
}

// newReportDuty is the duty cycle of a report: no pause while a core is idle, busyPause
// times its working time while the hits want every core.
func newReportDuty() *dutyCycle {
	return &dutyCycle{busyShare: busyPause, busy: hitsWantEveryCore, now: time.Now, sleep: time.Sleep, last: time.Now(),
		nearGC: heapNearTrigger, collect: collectElsewhere}
}

// step ends a step of work, hands a collection off the calling thread when the heap is
// near the collector's trigger, and pauses for what the work since the last pause owes
// once that reaches minPause. The time the collection took is neither work nor pause.
func (d *dutyCycle) step() {
	if d == nil {
		return
	}
	d.steps++
	if d.nearGC != nil && d.nearGC() {
		c := d.now()
		d.collect()
		d.handed++
		d.last = d.last.Add(d.now().Sub(c))
	}
	t := d.now()
	share := d.share
	if d.busy != nil && d.busy() {
		share = d.busyShare
	}
	d.owed += time.Duration(float64(t.Sub(d.last)) * share)
	d.last = t
	if d.owed < minPause {
		return
	}
	d.sleep(d.owed)
	d.owed = 0
	d.last = d.now()
}

// schedMetrics are the scheduler's counts hitsWantEveryCore reads.
var schedMetrics = [2]string{"/sched/goroutines/running:goroutines", "/sched/goroutines/runnable:goroutines"}

// hitsWantEveryCore reports whether, besides the calling goroutine, goroutines run on as
// many Go processors as there are cores (or on every other processor, when there are no
// more processors than cores) and others wait for one: then the work of the caller takes a
// core the hits want. Reading the counts takes the scheduler's lock for a moment (a walk
// over the processors), cheap beside a chunk of a report.
func hitsWantEveryCore() bool {
	s := [2]metrics.Sample{{Name: schedMetrics[0]}, {Name: schedMetrics[1]}}
	metrics.Read(s[:])
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return false // a runtime without these counts: pace as if a core were idle
	}
	return saturated(s[0].Value.Uint64(), s[1].Value.Uint64(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
}

// saturated reports whether running goroutines (the caller among them) and runnable ones
// waiting for a processor mean that the others want every core: cores of them running (or
// every other processor, with procs ≤ cores) and at least one waiting. With processors to
// spare (serve runs four per core), goroutines wait for one only when every processor is
// taken, under a full load of hits; running goroutines alone do not say it, since a
// collection's mark workers run on the idle processors while a report runs with no hit.
func saturated(running, runnable uint64, cores, procs int) bool {
	others := int(running) - 1
	return runnable > 0 && others >= min(cores, procs-1)
}

// pacer returns a pause for background work, called after each step: it sleeps as long as
// the work since the last pause took (busyPause times that while the hits want every
// core), at most a second, and ends early with ctx.
func pacer(ctx context.Context) func() error {
	last := time.Now()
	return func() error {
		d := time.Since(last)
		if hitsWantEveryCore() {
			d *= busyPause
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(d, time.Second)):
		}
		last = time.Now()
		return nil
	}
}
