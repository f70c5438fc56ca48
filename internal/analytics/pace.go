package analytics

import "time"

// reportPause is the share of its own working time a report pauses for, a chunk at a time:
// 0.25 keeps a report to at most four fifths of one core, so that hits arriving while it
// runs find a core free at least a fifth of the time, and makes it a quarter slower.
const reportPause = 0.25

// minPause is the least a pacer sleeps at once: the work is paid back in pauses of at least
// this length, since a shorter sleep costs about as much as the timer's resolution.
const minPause = time.Millisecond

// dutyCycle paces work done in steps (a report's chunks): after each step it pauses for
// share of the time the work took since the last pause, once that owed time reaches
// minPause. The report thread runs at the normal priority (see onWorker); the pauses are
// what keep it from holding a core for the whole report while hits want one. While it
// sleeps, the thread holds no Go processor, so a hit's goroutine can take it.
type dutyCycle struct {
	share float64
	now   func() time.Time
	sleep func(time.Duration)
	last  time.Time     // end of the last pause
	owed  time.Duration // pause owed for the work since the last pause
	steps int           // steps ended
}

// newDutyCycle starts pacing now, with the real clock.
func newDutyCycle(share float64) *dutyCycle {
	return &dutyCycle{share: share, now: time.Now, sleep: time.Sleep, last: time.Now()}
}

// step ends a step of work: it pauses if share of the work since the last pause adds up
// to minPause or more.
func (d *dutyCycle) step() {
	if d == nil {
		return
	}
	d.steps++
	if d.share <= 0 {
		return
	}
	t := d.now()
	d.owed += time.Duration(float64(t.Sub(d.last)) * d.share)
	d.last = t
	if d.owed < minPause {
		return
	}
	d.sleep(d.owed)
	d.owed = 0
	d.last = d.now()
}
