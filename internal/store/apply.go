package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The applier moves records from the log into Badger in the background: one goroutine, in
// batches, at most one Badger transaction at a time. Every transaction also stores the
// sequence number of the last record it completes under appliedKey, so the log position and
// the data it covers are applied together and a replay after a crash starts exactly after
// them (applying a record twice would be harmless anyway: its ops carry absolute expiries).
// Badger runs in managed mode: the applier picks the commit timestamps, and reads use the
// timestamp of the last applied transaction, so that they never wait for Badger's commit
// watermark. A log segment is deleted once every record in it is applied.
const (
	// applyDelay is how long the applier lets records gather before it applies them,
	// unless applyEager bytes are waiting: the longer a batch, the more rewrites of one
	// key (a busy visitor's journey) it coalesces into one Badger write.
	applyDelay = time.Second
	applyEager = 32 << 20
	// applyTxnBytes bounds one Badger transaction of the applier (below Badger's own
	// limit), so that no single commit holds Badger's writer for long.
	applyTxnBytes = 2 << 20
)

// appliedKey holds the sequence number of the last record applied to Badger. Pathlight's
// keys never start with a zero byte; Scan and Get hide it anyway.
var appliedKey = []byte("\x00store/applied")

// applier owns the queue of records waiting for Badger.
type applier struct {
	main   target
	ev     *target // the event store; nil without one
	prefix byte    // the first byte of the event store's keys
	log    *slog.Logger
	ov     *overlay
	sync   bool // fsync Badger before a segment is deleted

	pace int64 // overlay bytes above which the applier stops pausing between transactions

	mu     sync.Mutex
	queue  []walRecord
	queued int // encoded bytes queued
	// gathering is set while the loop waits for a batch to fill: enqueue then wakes it
	// only when the batch is full (see enqueue).
	gathering   bool
	gatherWakes atomic.Int64 // how often a gathering loop was woken (for tests)
	segs        []segment
	wake        chan struct{} // a record was queued
	progress    chan struct{} // closed and replaced after every applied batch
	stop        chan struct{}
	halt        atomic.Bool // stop at once, leaving the queue to the log (tests: a crash)
	wg          sync.WaitGroup
	err         error // the first apply error; the log keeps the records

	ts  uint64 // the last commit timestamp used, in either instance
	pos uint64 // the last record applied to every instance, held ops aside (hold.go)

	// The hold (hold.go): the latest op of each key held back from the main instance, by
	// key, what the overlay accounts for them, when the first was held, and the bounds.
	held      map[string]*heldOp
	heldBytes int64
	heldSince time.Time
	holdFor   time.Duration // 0: nothing is held
	holdMax   int64
	flushHeld bool          // write the held ops with the next batch (Close, tests)
	flushReq  chan struct{} // asks the loop to write the held ops now

	mig migration // event keys moving from the main instance to the event store

	beforeMain func() error // tests: a crash between the event store's apply and the main one's

	// retire disposes of a segment whose records are all applied (the log recycles it).
	retire func(path string) error

	applied, removed atomic.Uint64 // records applied, segments deleted
	running          atomic.Bool   // the loop runs: pause between transactions (not in a replay)
}

// target is one Badger instance the applier writes: its transaction limits, with a margin,
// the last record it holds (held ops aside), and the position it stores under appliedKey
// (the last record all of whose ops it holds, see hold.go).
type target struct {
	db        *badger.DB
	txnBytes  int64
	txnCount  int64
	threshold int64 // the event store: values this long or more count as a pointer; 0 elsewhere
	pos       uint64
	stored    uint64
	// written counts the key and value bytes of the ops written, by the key's first byte.
	written *[256]atomic.Uint64
}

func newTarget(db *badger.DB, bo badger.Options, pos uint64) target {
	maxSize := (15 * bo.MemTableSize) / 100 // as Badger computes its transaction limits
	t := target{
		db: db, pos: pos, stored: pos, written: new([256]atomic.Uint64),
		txnBytes: min(maxSize*8/10, applyTxnBytes),
		txnCount: maxSize / 200, // Badger divides by its skiplist node size, about 100 bytes
	}
	if bo.ValueThreshold < 1<<10 {
		// The event store's transactions hold keys and value pointers (its records go to
		// the value log, which the transaction limits do not count): Badger's count limit
		// (its size over a 96-byte node) binds first; keep under it.
		t.threshold = bo.ValueThreshold
		t.txnCount = maxSize / 100
	}
	return t
}

// estimate is what op takes of a transaction of t, with a margin.
func (t *target) estimate(op *walOp) int64 {
	v := int64(len(op.value))
	if t.threshold > 0 && v >= t.threshold {
		v = 12 // a value pointer
	}
	return int64(len(op.key)) + v + 64
}

func newApplier(main target, ev *target, prefix byte, log *slog.Logger, ov *overlay, ts uint64, sync bool, limit int64) *applier {
	pos := main.pos
	if ev != nil {
		pos = min(pos, ev.pos)
	}
	a := &applier{
		main: main, ev: ev, prefix: prefix, log: log, ov: ov, sync: sync, ts: ts, pos: pos,
		wake: make(chan struct{}, 1), progress: make(chan struct{}), stop: make(chan struct{}),
		pace: limit / 4, retire: os.Remove, holdFor: holdFor, holdMax: limit / 8, flushReq: make(chan struct{}, 1),
	}
	return a
}

// setDiscardTs lets every instance drop the versions no read can see any more.
func (a *applier) setDiscardTs() {
	ts := a.ov.discardTs()
	a.main.db.SetDiscardTs(ts)
	if a.ev != nil {
		a.ev.db.SetDiscardTs(ts)
	}
}

// syncAll fsyncs every instance.
func (a *applier) syncAll() error {
	if err := a.main.db.Sync(); err != nil {
		return err
	}
	if a.ev != nil {
		return a.ev.db.Sync()
	}
	return nil
}

func (a *applier) start() {
	a.running.Store(true)
	a.wg.Add(1)
	go a.loop()
}

// enqueue queues recs (bytes long in the log) for Badger. A loop gathering a batch is
// woken only when the queue reaches eagerBytes: waking it for every group commit, to find
// the batch still short, cost a goroutine wake-up and a lock per group, on the hits' cores.
func (a *applier) enqueue(recs []walRecord, bytes int) {
	a.mu.Lock()
	before := int64(a.queued)
	a.queue = append(a.queue, recs...)
	a.queued += bytes
	wake := !a.gathering || (before < a.eagerBytes() && int64(a.queued) >= a.eagerBytes())
	a.mu.Unlock()
	if wake {
		a.signal()
	}
}

// signal wakes the loop, or leaves it a wake-up if it is busy.
func (a *applier) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// eagerBytes is the queue's size at which a batch is applied without waiting out
// applyDelay (a small backlog bound applies sooner).
func (a *applier) eagerBytes() int64 { return min(applyEager, a.pace/2) }

// setGathering records whether the loop is gathering a batch; the caller does not hold mu.
func (a *applier) setGathering(on bool) {
	a.mu.Lock()
	a.gathering = on
	a.mu.Unlock()
}

// rotated records a new log segment.
func (a *applier) rotated(s segment) {
	a.mu.Lock()
	a.segs = append(a.segs, s)
	a.mu.Unlock()
}

// waitBelow waits until the overlay holds at most limit bytes, or d has passed.
func (a *applier) waitBelow(ov *overlay, limit int64, d time.Duration) error {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		a.mu.Lock()
		ch := a.progress
		a.mu.Unlock()
		if ov.size() <= limit {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return ErrBacklog
		}
	}
}

// close applies what is queued and stops the loop.
func (a *applier) close() error {
	close(a.stop)
	a.wg.Wait()
	return a.err
}

func (a *applier) loop() {
	defer a.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-a.wake:
		case <-a.heldTimer():
			// The held ops are due and no batch came to take them.
			if !a.halt.Load() {
				a.applyQueued()
			}
			continue
		case <-a.flushReq:
			if !a.halt.Load() {
				a.flushHeld = true
				a.applyQueued()
			}
			continue
		case <-a.mig.idle():
			if !a.halt.Load() {
				a.migrateStep()
			}
			continue
		case <-a.stop:
			a.drain()
			return
		}
		// Let a batch gather for applyDelay, or until eagerBytes wait: enqueue wakes the
		// loop when the queue reaches them.
		eager := func() bool {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.gathering = int64(a.queued) < a.eagerBytes()
			return !a.gathering
		}
		timer.Reset(applyDelay)
	gather:
		for !eager() {
			select {
			case <-timer.C:
				break gather
			case <-a.wake:
				a.gatherWakes.Add(1)
			case <-a.stop:
				timer.Stop()
				a.setGathering(false)
				a.drain()
				return
			}
		}
		timer.Stop()
		a.setGathering(false)
		if a.halt.Load() {
			return
		}
		a.applyQueued()
		if a.mig.active() && !a.halt.Load() {
			// Under sustained writes the loop is never idle: one step per batch.
			a.migrateStep()
		}
	}
}

// drain applies everything queued, and the held ops, unless halted.
func (a *applier) drain() {
	for !a.halt.Load() {
		a.flushHeld = true
		a.mu.Lock()
		n := len(a.queue)
		a.mu.Unlock()
		if (n == 0 && len(a.held) == 0) || a.err != nil {
			return
		}
		a.applyQueued()
	}
}

// applyQueued applies the records queued so far, and the held ops when they are due.
func (a *applier) applyQueued() {
	a.mu.Lock()
	recs := a.queue
	a.queue, a.queued = nil, 0
	a.mu.Unlock()
	if len(recs) == 0 && !a.heldDue() {
		return
	}
	err := a.apply(recs, func(done []walRecord, pos, ts uint64, flushed []*heldOp, freed int64) {
		if pos > a.pos || len(flushed) > 0 {
			a.ov.release(done, pos, ts, a.held, flushed, freed)
		} else {
			a.ov.setReadTs(ts)
		}
	})
	if err != nil {
		// The records stay in the log and the overlay; a restart replays them.
		if a.err == nil {
			a.err = err
			a.log.Error("store: applying the write-ahead log to Badger failed; writes stay in the log and are replayed at the next start", "err", err)
		}
		a.mu.Lock()
		a.queue = append(recs, a.queue...)
		a.mu.Unlock()
		return
	}
	a.flushHeld = false
	a.applied.Add(uint64(len(recs)))
	a.removeApplied()
	a.mu.Lock()
	close(a.progress)
	a.progress = make(chan struct{})
	a.mu.Unlock()
}

// durable returns the last record all of whose ops every instance holds (or later records
// overwrite): the position a replay would start after.
func (a *applier) durable() uint64 {
	pos := a.main.stored
	if a.ev != nil {
		pos = min(pos, a.ev.stored)
	}
	return pos
}

// removeApplied deletes the segments all of whose records are applied: every one but the
// last whose successor starts at or below the durable position + 1.
func (a *applier) removeApplied() {
	durable := a.durable()
	a.mu.Lock()
	var old []segment
	for len(a.segs) > 1 && a.segs[1].firstSeq <= durable+1 {
		old = append(old, a.segs[0])
		a.segs = a.segs[1:]
	}
	a.mu.Unlock()
	if len(old) == 0 {
		return
	}
	if a.sync {
		// The records leave the log only once Badger has them on disk.
		if err := a.syncAll(); err != nil {
			a.log.Error("store: sync Badger before removing applied log segments", "err", err)
			a.mu.Lock()
			a.segs = append(old, a.segs...)
			a.mu.Unlock()
			return
		}
	}
	for _, s := range old {
		if err := a.retire(s.path); err != nil {
			a.log.Error("store: remove an applied log segment", "segment", s.path, "err", err)
			continue
		}
		a.removed.Add(1)
	}
}

// apply writes recs to Badger. The batch is coalesced first: a key written several times in
// it (a busy visitor's journey) is written once, with its last op, which spares Badger most
// of its memtable inserts and flushes; such a key is held back longer (hold.go). Keys of the
// event prefix go to the event store, the others to the main instance; each gets the ops of
// the records it does not hold yet (after a crash between the two, one may be ahead). The
// event store is written first, then the main instance, and done is called after the main
// instance's last transaction, with the position, its timestamp and the held ops written
// with it (and the memory they took): a read never sees one part of a batch without the
// other.
func (a *applier) apply(recs []walRecord, done func(done []walRecord, pos, ts uint64, flushed []*heldOp, freed int64)) error {
	pos := a.pos
	var mainOps, evOps coalesced
	// While the main instance still holds event keys, a delete of one goes there too.
	bothDeletes := a.ev != nil && a.ov.eventsInMain()
	for r := range recs {
		rec := &recs[r]
		if rec.seq <= a.pos {
			continue // replayed before
		}
		for i := range rec.ops {
			op := &rec.ops[i]
			if a.isEventKey(op.key) {
				if rec.seq > a.ev.pos {
					evOps.add(op, rec.seq)
				}
				if !(op.del && bothDeletes) {
					continue
				}
			}
			if rec.seq > a.main.pos {
				mainOps.add(op, rec.seq)
			}
		}
		pos = rec.seq
	}
	ops := mainOps.ops
	if a.holdFor > 0 && a.running.Load() {
		ops = a.hold(&mainOps)
	}
	var flushed []*heldOp
	var freed int64
	if a.heldDue() {
		for _, h := range a.held {
			flushed = append(flushed, h)
			ops = append(ops, &h.op)
		}
		freed = a.heldBytes
	}
	if pos == a.pos && len(flushed) == 0 {
		return nil
	}
	// What the main instance stores: the last record before the oldest op still held.
	stored := pos
	if len(flushed) == 0 && len(a.held) > 0 {
		stored = a.heldFrom() - 1
	}
	if a.ev != nil && pos > a.ev.pos {
		if err := a.write(a.ev, evOps.ops, pos, pos, nil); err != nil {
			return fmt.Errorf("event store: %w", err)
		}
	}
	if a.beforeMain != nil {
		if err := a.beforeMain(); err != nil {
			return err
		}
	}
	if pos > a.main.pos || len(flushed) > 0 {
		final := func(ts uint64) {
			if len(flushed) > 0 {
				a.held, a.heldBytes = nil, 0
			}
			done(recs, pos, ts, flushed, freed)
		}
		if err := a.write(&a.main, ops, pos, stored, final); err != nil {
			return err
		}
	} else {
		done(recs, pos, a.ts, nil, 0)
	}
	a.pos = pos
	// Badger may now drop every version no read can see: a key rewritten in every batch (a
	// busy visitor's journey, its report record) keeps one old version instead of every
	// version of the last seconds, which compactions would copy level after level.
	a.setDiscardTs()
	return nil
}

// coalesced is a batch's ops, one per key: the last, with its record's sequence number and
// how many ops of the batch wrote the key.
type coalesced struct {
	idx    map[string]int
	ops    []*walOp
	seqs   []uint64
	writes []int
}

func (c *coalesced) add(op *walOp, seq uint64) {
	if c.idx == nil {
		c.idx = make(map[string]int, 256)
	}
	if j, ok := c.idx[string(op.key)]; ok {
		c.ops[j], c.seqs[j] = op, seq
		c.writes[j]++
		return
	}
	c.idx[string(op.key)] = len(c.ops)
	c.ops = append(c.ops, op)
	c.seqs = append(c.seqs, seq)
	c.writes = append(c.writes, 1)
}

// write commits ops to t in transactions of at most applyTxnBytes; between two, the applier
// pauses for half the time the last one took, so that it and Badger's writer leave the
// request handlers most of the machine. Only the last transaction stores the new position
// (stored, the last record all of whose ops t then holds; pos is the last record of the
// batch), then final is called with its timestamp: a crash in between replays the whole
// batch, which is harmless, as each op carries its absolute expiry.
func (a *applier) write(t *target, ops []*walOp, pos, stored uint64, final func(ts uint64)) error {
	txn := t.db.NewTransactionAt(math.MaxUint64, true)
	defer func() { txn.Discard() }()
	var size, count int64
	commit := func(last bool) error {
		at := t.stored
		if last {
			at = stored
		}
		var v [8]byte
		binary.BigEndian.PutUint64(v[:], at)
		if err := txn.Set(appliedKey, v[:]); err != nil {
			return fmt.Errorf("apply: set position: %w", err)
		}
		a.ts++
		start := time.Now()
		if err := txn.CommitAt(a.ts, nil); err != nil {
			return fmt.Errorf("apply: commit: %w", err)
		}
		took := time.Since(start)
		if last {
			t.pos, t.stored = pos, stored
			if final != nil {
				final(a.ts)
			}
			return nil
		}
		txn = t.db.NewTransactionAt(math.MaxUint64, true)
		size, count = 0, 0
		if a.running.Load() && a.ov.size() < a.pace {
			time.Sleep(took / 2)
		}
		return nil
	}
	for _, op := range ops {
		est := t.estimate(op)
		if count > 0 && (size+est > t.txnBytes || count+1 > t.txnCount) {
			if err := commit(false); err != nil {
				return err
			}
		}
		err := setOp(txn, op)
		if errors.Is(err, badger.ErrTxnTooBig) && count > 0 {
			if err = commit(false); err == nil {
				err = setOp(txn, op)
			}
		}
		if err != nil {
			return fmt.Errorf("apply up to record %d: %w", pos, err)
		}
		size += est
		count++
		t.written[keyByte(op.key)].Add(uint64(len(op.key) + len(op.value)))
	}
	return commit(true)
}

func setOp(txn *badger.Txn, op *walOp) error {
	if op.del {
		return txn.Delete(op.key)
	}
	e := badger.NewEntry(op.key, op.value)
	e.ExpiresAt = op.expiresAt
	return txn.SetEntry(e)
}

// readApplied returns the position stored in Badger: 0 when nothing was ever applied.
func readApplied(db *badger.DB) (uint64, error) {
	txn := db.NewTransactionAt(math.MaxUint64, false)
	defer txn.Discard()
	item, err := txn.Get(appliedKey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the applied log position: %w", err)
	}
	var pos uint64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("the applied log position is %d bytes, want 8", len(v))
		}
		pos = binary.BigEndian.Uint64(v)
		return nil
	})
	return pos, err
}
