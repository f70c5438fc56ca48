package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// ErrDiskFull is returned, wrapped with the free space and the reserve, by writes refused
// because the filesystem of the data directory has less free space than the disk reserve.
// Nothing of a refused write is stored; the same write succeeds once space is freed.
var ErrDiskFull = errors.New("disk full")

// Disk space. Badger writes through memory-mapped files: a page written when the filesystem
// has no block left for it ends the process with SIGBUS, not with an error. So the store
// refuses writes while they can still be refused, keeping a reserve of free space for what
// Badger writes on its own once writes stop (a memtable flush, the compactions it triggers,
// the flush at Close). See Options.DiskReserve and badgerProfile for how the reserve and
// Badger's file sizes are sized together.
//
// A DiskGate polls the filesystem's free space (statfs) every PollInterval, which costs a
// microsecond, never a system call per write. Between polls it charges each admitted write
// against the last figure, twice over (once in Badger's write-ahead log, once in the table it
// is flushed to), so a burst of writes is stopped before the next poll notices it.
//
// Writes that only delete (an erasure) still pass while free space is above seven eighths of
// the reserve: they let a visitor be erased on a full disk (an erasure deletes a few MiB at
// most), their space comes back at compaction, and the three quarters that Badger may need
// stay untouched (see badgerProfile). Everything else is refused below the reserve, and admitted again once the free
// space is back above the reserve plus a margin (so that writes do not flap on its edge).

// DiskStats is what the gate last saw.
type DiskStats struct {
	Free    int64  // bytes free for the data directory at the last poll; -1 when unknown
	Reserve int64  // the reserve: writes stop below it
	Full    bool   // writes other than deletions are being refused
	Refused uint64 // writes refused since the gate started
}

// DiskGate refuses writes when the data directory's filesystem is nearly full. It is safe
// for concurrent use; the zero value is not usable, use NewDiskGate.
type DiskGate struct {
	dir     string
	reserve int64
	resume  int64 // free space at which a full gate opens again
	statfs  func(dir string) (int64, error)
	// Log, when set before Start, hears when the gate closes and opens again.
	Log *slog.Logger

	estimate atomic.Int64 // free bytes: the last poll's, minus what was admitted since
	polled   atomic.Int64 // the last poll's figure, -1 when unknown
	full     atomic.Bool
	refused  atomic.Uint64

	pollMu sync.Mutex // one poll at a time, so that a stale figure never overwrites a fresh one
	stop   context.CancelFunc
	done   chan struct{}
}

// PollInterval is how often a DiskGate reads the free space.
const PollInterval = 500 * time.Millisecond

// NewDiskGate returns a gate keeping reserve bytes free on the filesystem of dir, which must
// exist, and reads the free space once. A reserve of 0 or less admits every write. Start
// begins the polling; without it, Poll must be called.
func NewDiskGate(dir string, reserve int64) (*DiskGate, error) {
	return newDiskGate(dir, reserve, freeSpace)
}

func newDiskGate(dir string, reserve int64, statfs func(string) (int64, error)) (*DiskGate, error) {
	g := &DiskGate{dir: dir, reserve: max(reserve, 0), statfs: statfs}
	g.resume = g.reserve + min(g.reserve/8, 64<<20)
	g.polled.Store(-1)
	if err := g.Poll(); err != nil {
		return nil, err
	}
	return g, nil
}

// Start polls the free space every PollInterval until Close.
func (g *DiskGate) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	g.stop, g.done = cancel, make(chan struct{})
	go func() {
		defer close(g.done)
		t := time.NewTicker(PollInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = g.Poll() // an unreadable filesystem keeps the last figure
			}
		}
	}()
}

// Close stops the polling.
func (g *DiskGate) Close() {
	if g.stop != nil {
		g.stop()
		<-g.done
		g.stop = nil
	}
}

// Poll reads the free space now and opens or closes the gate.
func (g *DiskGate) Poll() error {
	g.pollMu.Lock()
	defer g.pollMu.Unlock()
	free, err := g.statfs(g.dir)
	if err != nil {
		return fmt.Errorf("free space of %s: %w", g.dir, err)
	}
	g.polled.Store(free)
	g.estimate.Store(free)
	if g.full.Load() {
		if free >= g.resume && g.full.CompareAndSwap(true, false) && g.Log != nil {
			g.Log.Info("disk space freed: writes are taken again", "free_bytes", free, "reserve_bytes", g.reserve)
		}
	} else if free < g.reserve {
		g.close(free)
	}
	return nil
}

// close makes the gate refuse writes, saying so once.
func (g *DiskGate) close(free int64) {
	if g.full.CompareAndSwap(false, true) && g.Log != nil {
		g.Log.Warn("disk nearly full: hits and imports are refused until space is freed",
			"dir", g.dir, "free_bytes", max(free, 0), "reserve_bytes", g.reserve)
	}
}

// Full reports whether writes other than deletions are being refused.
func (g *DiskGate) Full() bool { return g.full.Load() }

// Stats returns what the gate last saw.
func (g *DiskGate) Stats() DiskStats {
	return DiskStats{Free: g.polled.Load(), Reserve: g.reserve, Full: g.full.Load(), Refused: g.refused.Load()}
}

// Admit charges a write of size bytes against the free space, or refuses it with an error
// wrapping ErrDiskFull. deleting says the write only deletes keys: it passes down to seven
// eighths of the reserve.
func (g *DiskGate) Admit(size int, deleting bool) error {
	if g.reserve == 0 {
		return nil
	}
	floor := g.reserve
	if deleting {
		floor -= g.reserve / 8
	} else if g.full.Load() {
		return g.refuse(g.estimate.Load())
	}
	// Twice the bytes: the write-ahead log now, a table when the memtable is flushed.
	left := g.estimate.Add(-2 * int64(size))
	if left < floor {
		g.estimate.Add(2 * int64(size)) // not written after all
		if !deleting {
			g.close(left)
		}
		return g.refuse(left)
	}
	return nil
}

func (g *DiskGate) refuse(free int64) error {
	g.refused.Add(1)
	return fmt.Errorf("%w: %s free for %s, below the disk reserve of %s", ErrDiskFull, FormatBytes(max(free, 0)), g.dir, FormatBytes(g.reserve))
}

// FormatBytes writes n in binary units, as the reserve is configured: "1 GiB", "37.5 MiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 4 {
		v /= unit
		i++
	}
	s := fmt.Sprintf("%.1f", v)
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		s = s[:len(s)-2]
	}
	return s + " " + [...]string{"KiB", "MiB", "GiB", "TiB", "PiB"}[i]
}
