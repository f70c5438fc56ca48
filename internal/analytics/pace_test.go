package analytics

import (
	"path/filepath"
	"runtime/metrics"
	"testing"
	"time"
)

// fakeDuty is a dutyCycle on a test clock: sleeping advances the clock and is recorded.
type fakeDuty struct {
	t      time.Time
	sleeps []time.Duration
}

func (f *fakeDuty) duty(share float64, busy func() bool) *dutyCycle {
	return &dutyCycle{share: share, busyShare: busyPause, busy: busy, now: func() time.Time { return f.t }, last: f.t,
		sleep: func(d time.Duration) { f.sleeps = append(f.sleeps, d); f.t = f.t.Add(d) }}
}

func (f *fakeDuty) slept() (total time.Duration) {
	for _, d := range f.sleeps {
		total += d
	}
	return total
}

// TestDutyCyclePausesAShareOfTheWork: after steps of work, the pauses add up to the share
// of the working time (the pauses themselves are not work), busyPause times it while the
// hits want every core, each pause at least minPause.
func TestDutyCyclePausesAShareOfTheWork(t *testing.T) {
	f := &fakeDuty{t: time.Unix(0, 0)}
	d := f.duty(0.25, nil)
	for range 100 {
		f.t = f.t.Add(400 * time.Microsecond)
		d.step()
	}
	if got, want := f.slept(), 10*time.Millisecond; got != want {
		t.Errorf("after 40 ms of work at a share of 0.25: paused %v in all; want %v", got, want)
	}
	if len(f.sleeps) != 10 {
		t.Errorf("pauses: %v; want ten of 1 ms (a pause waits until minPause is owed)", f.sleeps)
	}
	for _, s := range f.sleeps {
		if s < minPause {
			t.Errorf("a pause of %v: shorter than minPause (%v)", s, minPause)
		}
	}

	// One long step pays its whole share at once.
	f.sleeps = nil
	f.t = f.t.Add(80 * time.Millisecond)
	d.step()
	if len(f.sleeps) != 1 || f.sleeps[0] != 20*time.Millisecond {
		t.Errorf("after one step of 80 ms: pauses %v; want one of 20 ms", f.sleeps)
	}

	// A report's duty cycle: no pause while a core is idle, busyPause times the work while
	// the hits want every core.
	busy := false
	f.sleeps = nil
	r := f.duty(0, func() bool { return busy })
	for range 10 {
		f.t = f.t.Add(5 * time.Millisecond)
		r.step()
	}
	if len(f.sleeps) != 0 {
		t.Errorf("with a core idle: pauses %v; want none", f.sleeps)
	}
	busy = true
	for range 10 {
		f.t = f.t.Add(5 * time.Millisecond)
		r.step()
	}
	if got, want := f.slept(), 10*busyPause*5*time.Millisecond; got != want {
		t.Errorf("while the hits want every core, after 50 ms of work: paused %v; want %v", got, want)
	}
	if r.steps != 20 {
		t.Errorf("steps counted: %d; want 20", r.steps)
	}

	var none *dutyCycle
	none.step() // no duty cycle: nothing to do, no panic
}

// TestSaturated: the others want every core when as many of them run as there are cores
// (or on every other processor, when there are no more than cores) and one more waits.
func TestSaturated(t *testing.T) {
	for _, c := range []struct {
		running, runnable uint64
		cores, procs      int
		want              bool
	}{
		{running: 3, runnable: 1, cores: 2, procs: 3, want: true},  // the worker and two hits, one waiting
		{running: 3, runnable: 0, cores: 2, procs: 3, want: false}, // nothing waits
		{running: 2, runnable: 4, cores: 2, procs: 3, want: false}, // a processor is idle: it will take them
		{running: 1, runnable: 0, cores: 2, procs: 3, want: false}, // the worker alone
		{running: 2, runnable: 1, cores: 2, procs: 2, want: true},  // no spare processor: every other runs
		{running: 1, runnable: 1, cores: 1, procs: 1, want: true},  // one processor, the worker's, and a hit waits for it
		{running: 9, runnable: 2, cores: 8, procs: 9, want: true},
		{running: 0, runnable: 0, cores: 2, procs: 3, want: false}, // counts read mid-change
		{running: 8, runnable: 5, cores: 2, procs: 8, want: true},  // every processor taken and hits waiting
		{running: 6, runnable: 0, cores: 2, procs: 8, want: false}, // spare processors: a collection's mark workers, say
		{running: 2, runnable: 3, cores: 2, procs: 8, want: false}, // waiting for a processor a moment: idle ones take them
	} {
		if got := saturated(c.running, c.runnable, c.cores, c.procs); got != c.want {
			t.Errorf("saturated(running %d, runnable %d, %d cores, %d processors) = %v; want %v", c.running, c.runnable, c.cores, c.procs, got, c.want)
		}
	}
}

// TestHitsWantEveryCoreReadsTheScheduler: the runtime has the counts it reads; with
// nothing else of the test running, the caller alone, no core is wanted. The process's
// own background goroutines (a collection's mark workers, a store an earlier test left
// compacting) may want the cores for a moment, so one reading of false among a few spread
// over a second is what is asked; a function stuck at true fails.
func TestHitsWantEveryCoreReadsTheScheduler(t *testing.T) {
	descs := map[string]metrics.ValueKind{}
	for _, d := range metrics.All() {
		descs[d.Name] = d.Kind
	}
	for _, name := range schedMetrics {
		if descs[name] != metrics.KindUint64 {
			t.Errorf("the runtime has no counter %s: reports would never pause", name)
		}
	}
	for try := 0; ; try++ {
		if !hitsWantEveryCore() {
			return
		}
		if try == 50 {
			t.Fatalf("a test alone: hitsWantEveryCore said the cores were wanted at each of %d readings over a second", try+1)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReportsPauseBetweenChunks: a report over more visitors than one chunk, while the hits
// want every core, pauses after each of its chunks, and gives the same figures as an
// unpaced one.
func TestReportsPauseBetweenChunks(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "db"))
	defer s.db.Close()
	s.traffic(t, 0, 5000) // three chunks of ChunkSize visitors

	unpaced := s.reports(t, s.svc)

	f := &fakeDuty{t: time.Unix(0, 0)}
	var duties []*dutyCycle
	paced := newService(s.tr, s.tr.Rules, nil, Options{Now: s.svc.o.Now, MaxStaleness: -1, Store: s.svc.o.Store})
	paced.newDuty = func() *dutyCycle {
		d := f.duty(0, func() bool { return true }) // as if the hits wanted every core
		// Every reading of the clock is 4 ms later: each chunk owes a pause of 12 ms.
		now := d.now
		d.now = func() time.Time { f.t = f.t.Add(4 * time.Millisecond); return now() }
		duties = append(duties, d)
		return d
	}
	sameReports(t, "paced", s.reports(t, paced), unpaced)
	if len(duties) != 11 {
		t.Fatalf("eleven reports asked for %d duty cycles; want one each", len(duties))
	}
	// The journey map (the second report) scans every visitor of the period once: 5,000
	// records, three chunks. (The overview, the first, reads the daily rollups the
	// unpaced run kept.)
	if got := duties[1].steps; got < 3 {
		t.Errorf("the journey map over 5,000 visitors paused after %d chunks; want at least 3", got)
	}
	if len(f.sleeps) < duties[1].steps {
		t.Errorf("%d pauses for %d chunks of the journey map alone; want one after each (each owes 12 ms)", len(f.sleeps), duties[1].steps)
	}
	for _, d := range f.sleeps {
		if d < minPause {
			t.Errorf("a pause of %v: shorter than minPause", d)
		}
	}
}
