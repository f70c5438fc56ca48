package analytics

import (
	"path/filepath"
	"testing"
	"time"
)

// fakeDuty is a dutyCycle on a test clock: sleeping advances the clock and is recorded.
type fakeDuty struct {
	t      time.Time
	sleeps []time.Duration
}

func (f *fakeDuty) duty(share float64) *dutyCycle {
	return &dutyCycle{share: share, now: func() time.Time { return f.t }, last: f.t,
		sleep: func(d time.Duration) { f.sleeps = append(f.sleeps, d); f.t = f.t.Add(d) }}
}

func (f *fakeDuty) slept() (total time.Duration) {
	for _, d := range f.sleeps {
		total += d
	}
	return total
}

// TestDutyCyclePausesAShareOfTheWork: after steps of work, the pauses add up to the share
// of the working time (the pauses themselves are not work), each at least minPause.
func TestDutyCyclePausesAShareOfTheWork(t *testing.T) {
	f := &fakeDuty{t: time.Unix(0, 0)}
	d := f.duty(0.25)
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

	// A share of 0, or no duty cycle, never pauses.
	f.sleeps = nil
	z := f.duty(0)
	f.t = f.t.Add(time.Second)
	z.step()
	var none *dutyCycle
	none.step()
	if len(f.sleeps) != 0 {
		t.Errorf("unpaced: pauses %v; want none", f.sleeps)
	}
}

// TestReportsPauseBetweenChunks: a report over more visitors than one chunk pauses between
// its chunks, for the report's share of the time its scans took, and gives the same
// figures as an unpaced one.
func TestReportsPauseBetweenChunks(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "db"))
	defer s.db.Close()
	s.traffic(t, 0, 5000) // three chunks of ChunkSize visitors

	unpaced := s.reports(t, s.svc)

	f := &fakeDuty{t: time.Unix(0, 0)}
	var duties []*dutyCycle
	paced := newService(s.tr, s.tr.Rules, nil, Options{Now: s.svc.o.Now, MaxStaleness: -1, Store: s.svc.o.Store})
	paced.newDuty = func() *dutyCycle {
		d := f.duty(reportPause)
		// Every reading of the clock is 4 ms later: each chunk owes a pause of 1 ms.
		now := d.now
		d.now = func() time.Time { f.t = f.t.Add(4 * time.Millisecond); return now() }
		duties = append(duties, d)
		return d
	}
	sameReports(t, "paced", s.reports(t, paced), unpaced)
	if len(duties) != 11 {
		t.Fatalf("eleven reports asked for %d duty cycles; want one each", len(duties))
	}
	// The overview (the first report) scans every visitor of the period once: 5,000
	// records, three chunks.
	if got := duties[0].steps; got < 3 {
		t.Errorf("the overview over 5,000 visitors paused after %d chunks; want at least 3", got)
	}
	if len(f.sleeps) < duties[0].steps {
		t.Errorf("%d pauses for %d chunks of the overview alone; want one after each (each owes 1 ms)", len(f.sleeps), duties[0].steps)
	}
	for _, d := range f.sleeps {
		if d < minPause {
			t.Errorf("a pause of %v: shorter than minPause", d)
		}
	}
}
