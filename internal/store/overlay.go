package store

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// overlay holds the ops that are in the write-ahead log but not yet applied to Badger, the
// latest op of each key, so that every read sees each acknowledged write at once. Reads look
// here first and go to Badger only for keys the overlay does not hold, at readTs: the Badger
// timestamp at which everything applied so far is visible. readTs moves forward and applied
// entries leave under the same lock, so a read never misses a write between the two.
//
// Keys are kept in one map per first byte, so that a scan of one kind of key (Pathlight's
// keys start with a kind byte) sorts only the overlay entries of that kind.
type overlay struct {
	mu   sync.RWMutex
	maps [256]map[string]ovEntry
	// bytes is the approximate memory of the records not yet released: changed under mu,
	// read without it, since every write checks it against the backlog bound and a read
	// lock there queued the hits behind each put and release.
	bytes  atomic.Int64
	readTs uint64 // Badger reads use this timestamp
	// evInMain: the main instance may still hold event keys (see migrate.go), so reads of
	// them look there too. It is cleared under mu once readTs covers the last move, so a
	// read that finds it cleared reads at a timestamp where the event store has every key.
	evInMain bool

	// reading counts the reads in progress by the timestamp they read Badger at: Badger
	// may drop the versions no read can see any more (discardTs). A read takes its
	// timestamp and counts itself under mu (read-locked), so one holding mu locked sees
	// every read that has a timestamp.
	rmu     sync.Mutex
	reading map[uint64]int
}

// ovEntry is the latest not-yet-applied op of a key. value points into the buffer of the
// group it was committed with, which is never written again.
type ovEntry struct {
	value     []byte
	expiresAt uint64 // Unix seconds, 0: never
	seq       uint64 // the record that wrote it
	del       bool
}

// entryOverhead approximates the memory of an op beyond its key and value bytes: its map
// entry in the overlay (about 80 bytes) and its decoded walOp (64), beside the lengths and
// expiry the group's buffer reserves for it (opReserve).
const entryOverhead = 144

func newOverlay(readTs uint64) *overlay {
	return &overlay{readTs: readTs, reading: make(map[uint64]int)}
}

// beginRead counts a read at ts in progress; the caller holds mu (read-locked or locked).
func (o *overlay) beginRead(ts uint64) {
	o.rmu.Lock()
	o.reading[ts]++
	o.rmu.Unlock()
}

// endRead ends a read that beginRead counted.
func (o *overlay) endRead(ts uint64) {
	o.rmu.Lock()
	if n := o.reading[ts] - 1; n > 0 {
		o.reading[ts] = n
	} else {
		delete(o.reading, ts)
	}
	o.rmu.Unlock()
}

// discardTs is the timestamp at or below which Badger may keep only the newest version of
// each key: the read timestamp, or the oldest read in progress if older. Every read started
// later reads at readTs or above.
func (o *overlay) discardTs() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	ts := o.readTs
	o.rmu.Lock()
	for r := range o.reading {
		ts = min(ts, r)
	}
	o.rmu.Unlock()
	return ts
}

// put records the ops of recs. The memory the overlay accounts for is that of the records
// it has not released, not of its entries: an op that overwrites another does not free the
// earlier record's buffer, which only the release of that record gives back. So a put costs
// one map assignment per op, and the key's string points into the record's buffer (never
// written again) instead of being copied.
func (o *overlay) put(recs []walRecord) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for r := range recs {
		rec := &recs[r]
		for i := range rec.ops {
			op := &rec.ops[i]
			m := o.maps[keyByte(op.key)]
			if m == nil {
				m = make(map[string]ovEntry)
				o.maps[keyByte(op.key)] = m
			}
			m[bufString(op.key)] = ovEntry{value: op.value, expiresAt: op.expiresAt, seq: rec.seq, del: op.del}
		}
		o.bytes.Add(recordMemory(rec))
	}
}

// recordMemory is what the overlay accounts for a record: its part of the group's buffer
// (as recordBound reserves it), and a map entry and a decoded op per op. It is the memory the
// backlog bound (Options.MaxBacklog) holds to, so it counts what is allocated, not just the
// keys and values.
func recordMemory(rec *walRecord) int64 {
	n := recordHeader + walRecordSize
	for i := range rec.ops {
		n += opReserve + len(rec.ops[i].key) + len(rec.ops[i].value) + entryOverhead
	}
	return int64(n)
}

// bufString returns b as a string without copying; b must never change.
func bufString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// release makes readTs the Badger read timestamp and drops the entries of recs that no later
// record has overwritten, once Badger holds every record up to seq pos at readTs, the ops of
// the keys in keep aside (hold.go): their entries point to the held copy from now on, so
// that the records' buffers can be freed. The entries of the held ops in flushed, now in
// Badger too, are dropped, and freed bytes (their memory) with them. A batch may hold a
// second of writes: the entries leave in chunks, each under a short hold of the lock, so
// that reads and commits are never held up behind the whole batch.
func (o *overlay) release(recs []walRecord, pos, readTs uint64, keep map[string]*heldOp, flushed []*heldOp, freed int64) {
	o.setReadTs(readTs)
	const chunk = 512
	for r := 0; r < len(recs); {
		o.mu.Lock()
		for n := 0; r < len(recs) && n < chunk; r++ {
			rec := &recs[r]
			if rec.seq > pos {
				r = len(recs)
				break
			}
			for i := range rec.ops {
				op := &rec.ops[i]
				m := o.maps[keyByte(op.key)]
				if e, ok := m[string(op.key)]; ok && e.seq <= pos {
					delete(m, string(op.key))
					// A key held has its latest op up to pos held: e is that op.
					if h := keep[string(op.key)]; h != nil {
						m[bufString(h.op.key)] = ovEntry{value: h.op.value, expiresAt: h.op.expiresAt, seq: h.seq, del: h.op.del}
					}
				}
				n++
			}
			o.bytes.Add(-recordMemory(rec))
		}
		o.mu.Unlock()
	}
	for f := 0; f < len(flushed); {
		o.mu.Lock()
		for n := 0; f < len(flushed) && n < chunk; f, n = f+1, n+1 {
			k := flushed[f].op.key
			m := o.maps[keyByte(k)]
			if e, ok := m[string(k)]; ok && e.seq <= pos {
				delete(m, string(k))
			}
		}
		o.mu.Unlock()
	}
	o.account(-freed)
}

// account adds delta to the memory the overlay accounts for.
func (o *overlay) account(delta int64) {
	if delta == 0 {
		return
	}
	o.mu.Lock()
	o.bytes.Add(delta)
	o.mu.Unlock()
}

// setReadTs moves the Badger read timestamp forward without releasing entries: a part of a
// record was applied.
func (o *overlay) setReadTs(ts uint64) {
	o.mu.Lock()
	o.readTs = ts
	o.mu.Unlock()
}

// eventsInMain reports whether the main instance may still hold event keys.
func (o *overlay) eventsInMain() bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.evInMain
}

// eventsMoved records that the main instance holds no event key any more.
func (o *overlay) eventsMoved() {
	o.mu.Lock()
	o.evInMain = false
	o.mu.Unlock()
}

// size returns the approximate bytes the overlay holds.
func (o *overlay) size() int64 { return o.bytes.Load() }

func keyByte(k []byte) byte {
	if len(k) == 0 {
		return 0
	}
	return k[0]
}

// live reports whether e is a value a read returns: not a delete, not expired at now.
func (e *ovEntry) live(now uint64) bool {
	return !e.del && (e.expiresAt == 0 || e.expiresAt > now)
}

func nowSec() uint64 { return uint64(time.Now().Unix()) }

// ovKV is one overlay entry of a scan.
type ovKV struct {
	key []byte
	e   ovEntry
}

// rangeOf returns the entries with keys in [start, end) (nil end: no bound) in key order,
// the read timestamp for the Badger part of the scan, and whether the main instance may
// still hold event keys at it.
func (o *overlay) rangeOf(start, end []byte) ([]ovKV, uint64, bool) {
	lo, hi := int(keyByte(start)), 255
	if end != nil {
		hi = int(keyByte(end))
	}
	var out []ovKV
	o.mu.RLock()
	ts, evInMain := o.readTs, o.evInMain
	o.beginRead(ts) // the caller ends it
	for b := lo; b <= hi; b++ {
		for k, e := range o.maps[b] {
			kb := []byte(k)
			if bytes.Compare(kb, start) < 0 || (end != nil && bytes.Compare(kb, end) >= 0) {
				continue
			}
			out = append(out, ovKV{key: kb, e: e})
		}
	}
	o.mu.RUnlock()
	slices.SortFunc(out, func(a, b ovKV) int { return bytes.Compare(a.key, b.key) })
	return out, ts, evInMain
}
