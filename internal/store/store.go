// Package store is Pathlight's storage: bytes in, bytes out. It knows nothing of visitors or
// events; the track package lays out the keys and declares the small interface it needs,
// which *DB satisfies.
//
// A write is acknowledged once it is appended to a write-ahead log of plain files (group
// committed, see group.go and wal.go) and recorded in an in-memory overlay that every read
// consults first; Badger is updated from the log in the background (apply.go) and holds
// everything else. After a crash, Open replays the log from the last position applied to
// Badger, so the log is the truth and nothing acknowledged is lost.
//
// Without Options.SyncWrites an acknowledged write is in the log in the operating system's
// page cache, which survives a crash of the process (SIGKILL, panic) but not of the machine;
// with it, every group commit is fsynced too.
package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
)

// ErrNotFound is returned by Get when the key does not exist or has expired.
var ErrNotFound = errors.New("store: key not found")

// Options configure Open.
type Options struct {
	// SyncWrites makes every group commit fsync the write-ahead log before it returns, and
	// Badger sync before a log segment is deleted: writes survive power loss too.
	SyncWrites bool
	// Small shrinks Badger's memtables and caches, for tests and small sites.
	Small bool
	// MemTableSize sizes Badger's memtables and every table Badger writes, flushed or
	// compacted, at every level (see TableBuilderMemory); MemTables is how many memtables
	// Badger keeps (at least two). IndexCacheSize bounds Badger's cache of table indexes and
	// Bloom filters. Zero keeps the store's defaults (DefaultMemTableSize, three memtables,
	// and for the index cache no bound: every index in memory). Small sets its own sizes.
	MemTableSize   int64
	MemTables      int
	IndexCacheSize int64
	// GCInterval is how often the value log is garbage-collected; 0 means 5 minutes.
	GCInterval time.Duration
	// SegmentSize is the preallocated size of a write-ahead log segment; 0 means 64 MiB. With
	// a DiskReserve it is at most a 64th of the reserve.
	SegmentSize int64
	// MaxBacklog bounds the memory of the writes in the log that Badger does not hold yet;
	// beyond half of it writes are slowed (up to SlowdownMax each), beyond it they wait,
	// then fail with ErrBacklog. 0 means 256 MiB (32 MiB if Small).
	MaxBacklog int64
	// Logger receives Badger's warnings and errors; nil discards them.
	Logger *slog.Logger
	// EventPrefix, when not zero, sends every key that starts with this byte (1 to 254) to
	// a second Badger instance, the event store in EventDir, built for records written once
	// and read rarely: their values go to its value log, its tree holds only keys (see
	// events.go). Reads, scans, deletes and expiry work as for any other key. The prefix is
	// recorded there: a later Open with no prefix uses it, one with another is refused.
	EventPrefix byte
	// EventMemTableSize, EventMemTables and EventIndexCacheSize size the event store as
	// MemTableSize, MemTables and IndexCacheSize size the main instance; zero keeps
	// DefaultEventMemTableSize, two memtables and no bound on the index cache.
	EventMemTableSize   int64
	EventMemTables      int
	EventIndexCacheSize int64
	// DiskReserve is the free space, in bytes, that the store keeps on the filesystem of the
	// database: writes are refused with ErrDiskFull below it (see DiskGate), and Badger's
	// memtables and tables are sized so that what it writes on its own after that fits in
	// it. 0 keeps no reserve; otherwise it must be at least MinDiskReserve.
	DiskReserve int64
	// MappedLimit is how much of Badger's mapped tables may stay resident in the process
	// before the store drops its mappings of their pages (see TrimMapped); it checks every
	// TrimEvery (0: DefaultTrimEvery). Zero never trims on its own (the store still
	// measures, and TrimMapped trims when asked).
	MappedLimit int64
	TrimEvery   time.Duration

	// holdFor replaces the hold of rewritten keys (hold.go) in tests; below zero, nothing
	// is held.
	holdFor time.Duration
}

// Badger's tables. A table is built in memory before it is written: Badger's builder keeps
// the table's blocks in buffers it takes from a pool of at most eight, which it keeps, and
// the first buffer of a builder is twice the table size. Compressing a block allocates room
// for the compressed copy beside it, and the flush of a memtable builds one table of the
// whole memtable, which outgrows that first buffer and doubles it again and again: with
// Badger's defaults (64 MiB memtables, 2 MiB tables doubling at every level, Snappy) the
// pooled builders grew to 100 MiB and more each, and held 800 MiB of heap under sustained
// writes. So the store writes tables without compression (blocks are then read straight
// from the mapped table files, and Badger needs no block cache), sizes every table like a
// memtable (no growth with the level, so the builders' memory does not grow with the
// store), and keeps memtables small: a flushed memtable, with the write that overflows it,
// fits the first buffer.
const (
	// DefaultMemTableSize is the memtable and table size when Options do not say (what the
	// default memory budget gives).
	DefaultMemTableSize = 2 << 20
	// minMemTable is the smallest memtable and table size.
	minMemTable = 1 << 20
	// builderPool is how many table builders' buffers Badger's pool keeps.
	builderPool = 8
	// blockSize is the size of a table block. The builder allocates each block at this size
	// and, for an entry that does not fit what is left of it, allocates the block again at
	// twice the size and copies it: with Badger's 4 KiB blocks, report records of 3 to 5 KiB
	// made builders allocate two to three times the table's size. Blocks of 16 KiB take
	// such records without a copy.
	blockSize = 16 << 10
)

// Badger starts a compaction of level 0 into the base level at l0Tables tables, taking them
// all, and stalls its writes at l0Stall. When level 0 fills faster than that compaction
// runs, its other compactor merges four or more level-0 tables into one table of no size
// limit (Badger's L0 to L0 compaction), whose builder outgrows every bound; with no more than
// l0Tables+3 tables in level 0 there are never four left to merge so.
const (
	l0Tables = 10 // Badger's default is 5: with small tables, 5 made it stall writes for seconds
	l0Stall  = l0Tables + 3
)

// TableBuilderMemory is the memory of Badger's table builders for a memtable size: sixteen
// buffers of twice the table size (rounded up to a power of two, as Badger's allocator does),
// the eight its pool keeps and as many built at once beside them by the two compactors
// (fifteen were the most seen under sustained writes), and the index of each table being
// written. Buffers beyond the pool's eight are garbage once their table is written.
func TableBuilderMemory(memTable int64) int64 {
	buf := int64(1)
	for buf < 2*memTable {
		buf <<= 1
	}
	return 2*builderPool*buf + builderPool*indexBuilder
}

// indexBuilder is the flatbuffer in which Badger builds a table's index (3 MiB at first),
// one per table being written: TableBuilderMemory counts one for each of the eight builders
// beyond the pool.
const indexBuilder = 3 << 20

// MemTableMemory is the memory of one memtable of the given size: Badger's skiplist arena
// holds the memtable, the write that overflows it and that write's nodes (15% of the size
// each, as Badger bounds a write).
func MemTableMemory(memTable int64) int64 { return memTable + 2*(15*memTable/100) }

// DB is an open store: a write-ahead log, an overlay of the writes Badger does not hold yet,
// and Badger. It is safe for concurrent use.
type DB struct {
	db     *badger.DB
	ev     *badger.DB // the event store; nil without Options.EventPrefix
	prefix byte       // the first byte of the event store's keys
	com    *committer
	gate   *DiskGate // nil without a disk reserve
	ap     *applier
	ov     *overlay
	wal    *walWriter
	dir    string
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
	trim   mapTrim
	// rangesShared and rangesOwn count the ranges ScanRanges read with its shared
	// iterator and with one of their own, since Open.
	rangesShared, rangesOwn atomic.Uint64
}

// WALDir is the directory of the write-ahead log inside the store's directory.
const WALDir = "wal"

// Open opens (or creates) the database in dir, replays the write-ahead log into Badger, and
// starts the applier and the garbage-collection loop, which Close stops.
func Open(dir string, opt Options) (*DB, error) {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	memTable := int64(DefaultMemTableSize)
	if opt.MemTableSize > 0 {
		memTable = max(opt.MemTableSize, minMemTable)
	}
	memTables := 3
	if opt.MemTables > 0 {
		// Badger stalls its writes when every memtable is full: keep at least two.
		memTables = max(opt.MemTables, 2)
	}
	if opt.Small {
		memTable, memTables = 2<<20, 2
	}
	bo := treeOptions(dir, opt.Logger, memTable, memTables).
		// A value must fit one of Badger's writes (15% of a memtable): larger ones go to
		// its value log. Pathlight's values are a few KB; a replay chunk may reach 1 MiB.
		WithValueThreshold(min(1<<20, memTable/8))
	if opt.IndexCacheSize > 0 {
		bo = bo.WithIndexCacheSize(opt.IndexCacheSize)
	}
	if opt.Small {
		bo = bo.WithIndexCacheSize(4 << 20).
			WithValueLogFileSize(64 << 20).
			WithNumLevelZeroTables(2).
			WithNumLevelZeroTablesStall(4)
	}
	var gate *DiskGate
	if opt.DiskReserve > 0 {
		if opt.DiskReserve < MinDiskReserve {
			return nil, fmt.Errorf("disk reserve of %s is below the minimum of %s", FormatBytes(opt.DiskReserve), FormatBytes(MinDiskReserve))
		}
		bo = badgerProfile(bo, opt.DiskReserve)
		var err error
		if gate, err = openGate(dir, opt.DiskReserve, freeSpace); err != nil {
			return nil, err
		}
		gate.Log = opt.Logger
	}
	db, err := badger.OpenManaged(bo)
	if err != nil {
		return nil, fmt.Errorf("open badger in %s: %w", dir, err)
	}
	ev, err := openEvents(dir, &opt)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s, err := startStore(db, ev, bo, dir, opt, log)
	if err != nil {
		_ = db.Close()
		if ev != nil {
			_ = ev.Close()
		}
		return nil, err
	}
	if gate != nil {
		s.gate = gate
		gate.Start()
	}
	return s, nil
}

// startStore replays the log into db (and ev, the event store, if not nil) and starts the
// store's goroutines.
func startStore(db, ev *badger.DB, bo badger.Options, dir string, opt Options, log *slog.Logger) (*DB, error) {
	walDir := filepath.Join(dir, WALDir)
	if err := os.MkdirAll(walDir, 0o755); err != nil {
		return nil, fmt.Errorf("create the write-ahead log directory: %w", err)
	}
	pos, err := readApplied(db)
	if err != nil {
		return nil, err
	}
	limit := opt.MaxBacklog
	if limit <= 0 {
		limit = 256 << 20
		if opt.Small {
			limit = 32 << 20
		}
	}
	ts := db.MaxVersion()
	ov := newOverlay(ts)
	var evt *target
	if ev != nil {
		evPos, err := readApplied(ev)
		if err != nil {
			return nil, fmt.Errorf("event store: %w", err)
		}
		if ev.MaxVersion() == 0 {
			// A new event store: nothing before the main instance's position is due to it
			// (event keys written before it existed are moved over, see migrate.go).
			evPos = pos
		}
		t := newTarget(ev, eventOptions(dir, opt), evPos)
		evt = &t
		ts = max(ts, ev.MaxVersion())
		ov.readTs = ts
		ov.evInMain = hasPrefix(db, opt.EventPrefix)
	}
	ap := newApplier(newTarget(db, bo, pos), evt, opt.EventPrefix, log, ov, ts, opt.SyncWrites, limit)
	if opt.holdFor != 0 {
		ap.holdFor = max(opt.holdFor, 0)
	}
	ap.mig.on.Store(ov.evInMain)
	if ov.evInMain {
		log.Info("store: event keys found in the main Badger instance; moving them to the event store in the background (reads see them all along)")
	}
	last, err := replay(ap, walDir, log)
	if err != nil {
		return nil, err
	}
	// A fresh segment for the new writes, and the replayed ones removed.
	space := opt.SegmentSize
	if space <= 0 {
		space = walDefaultSpace
	}
	if opt.DiskReserve > 0 {
		// A preallocated segment takes its whole size at once: keep it a small part of the
		// reserve, so that freeing a little more than the reserve opens the gate again.
		space = min(space, opt.DiskReserve/64)
	}
	space = max(space, walMinSegment)
	old, err := listSegments(walDir)
	if err != nil {
		return nil, err
	}
	w, err := openWriter(walDir, space, opt.SyncWrites, last+1, ap.rotated)
	if err != nil {
		return nil, err
	}
	ap.retire = w.retire
	if opt.SyncWrites && len(old) > 0 {
		if err := ap.syncAll(); err != nil {
			_ = w.close()
			return nil, fmt.Errorf("sync badger after the replay: %w", err)
		}
	}
	for _, sg := range old {
		if err := os.Remove(sg.path); err != nil {
			_ = w.close()
			return nil, fmt.Errorf("remove a replayed log segment: %w", err)
		}
	}
	ap.ov.setReadTs(ap.ts)
	// Badger may drop what no read can see from now on, before the first batch too (an
	// erase or expiry before a restart is reclaimed by compactions after it).
	ap.setDiscardTs()
	ap.start()
	ctx, cancel := context.WithCancel(context.Background())
	s := &DB{db: db, ev: ev, prefix: opt.EventPrefix, ap: ap, ov: ov, wal: w, dir: dir, cancel: cancel,
		com: newCommitter(w, ov, ap, last+1, limit)}
	interval := opt.GCInterval
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	s.wg.Add(1)
	go s.gcLoop(ctx, interval)
	trimEvery := opt.TrimEvery
	if trimEvery <= 0 {
		trimEvery = DefaultTrimEvery
	}
	s.trim.soon = make(chan struct{}, 1)
	s.wg.Add(1)
	go s.trimLoop(ctx, trimEvery, opt.MappedLimit)
	return s, nil
}

// replay applies the records of the log after the applied position to Badger and returns
// the sequence number of the last record in the log (or the applied position).
func replay(ap *applier, walDir string, log *slog.Logger) (uint64, error) {
	segs, err := listSegments(walDir)
	if err != nil {
		return 0, err
	}
	last := ap.pos
	var batch []walRecord
	bytes := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := ap.apply(batch, func([]walRecord, uint64, uint64, []*heldOp, int64) {})
		batch, bytes = nil, 0
		return err
	}
	replayed := 0
	for _, sg := range segs {
		err := readSegment(sg, log, func(rec *walRecord) error {
			if rec.seq <= last {
				if rec.seq > ap.pos {
					log.Warn("write-ahead log: a record out of sequence is skipped", "segment", sg.path, "seq", rec.seq)
				}
				return nil
			}
			last = rec.seq
			batch = append(batch, *rec)
			replayed++
			for i := range rec.ops {
				bytes += len(rec.ops[i].key) + len(rec.ops[i].value)
			}
			if bytes >= applyEager {
				return flush()
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("replay the write-ahead log: %w", err)
		}
	}
	if err := flush(); err != nil {
		return 0, fmt.Errorf("replay the write-ahead log: %w", err)
	}
	if replayed > 0 {
		log.Info("write-ahead log replayed into Badger", "writes", replayed, "segments", len(segs))
	}
	return last, nil
}

// Close stops taking writes, applies every logged write to Badger, removes the log and
// closes Badger, flushing its memtables to disk.
func (s *DB) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.cancel()
	s.wg.Wait()
	s.closeTrim()
	s.com.close()
	applyErr := s.ap.close()
	if err := s.wal.close(); err != nil && applyErr == nil {
		applyErr = fmt.Errorf("close the write-ahead log: %w", err)
	}
	if applyErr == nil {
		// Everything is in Badger: the log is no longer needed. (On an apply error it
		// stays, and the next Open replays it.)
		s.ap.mu.Lock()
		segs := s.ap.segs
		s.ap.mu.Unlock()
		for _, sg := range segs {
			_ = os.Remove(sg.path)
		}
	}
	if s.gate != nil {
		s.gate.Close()
	}
	if s.ev != nil {
		if err := s.ev.Close(); err != nil && applyErr == nil {
			applyErr = fmt.Errorf("close the event store: %w", err)
		}
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close badger: %w", err)
	}
	return applyErr
}

func (s *DB) gcLoop(ctx context.Context, every time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// RunValueLogGC rewrites at most one file per call; keep going while it finds work.
			// The event store's value log holds the records: erased and expired ones are
			// reclaimed here, once compactions of its tree have counted them.
			for _, db := range s.instances() {
				for ctx.Err() == nil && s.collectValueLog(db) {
				}
			}
		}
	}
}

// instances returns the Badger instances of the store: the main one and the event store.
func (s *DB) instances() []*badger.DB {
	if s.ev != nil {
		return []*badger.DB{s.db, s.ev}
	}
	return []*badger.DB{s.db}
}

// isEventKey reports whether key belongs to the event store.
func (s *DB) isEventKey(key []byte) bool {
	return s.ev != nil && len(key) > 0 && key[0] == s.prefix
}

// Get appends the value stored under key to dst and returns it. The returned slice is the
// caller's: Badger's own buffer is only valid inside its callback, so the value is copied.
func (s *DB) Get(key, dst []byte) ([]byte, error) {
	found := false
	err := s.GetMany([][]byte{key}, func(_ int, v []byte) error {
		dst, found = append(dst, v...), true
		return nil
	})
	if err != nil {
		return dst, err
	}
	if !found {
		return dst, ErrNotFound
	}
	return dst, nil
}

// GetMany reads keys from one snapshot, calling fn with the index and value of each key that
// exists; val is valid only during the call. Keys the overlay holds are answered from it;
// the others are read from Badger at the last applied timestamp, which never waits for a
// commit in flight.
func (s *DB) GetMany(keys [][]byte, fn func(i int, val []byte) error) error {
	type ovHit struct {
		i int
		e ovEntry
	}
	if s.db.IsClosed() {
		return errClosed
	}
	var buf [8]ovHit
	hits := buf[:0] // keys the overlay holds, in key order
	s.ov.mu.RLock()
	ts, evInMain := s.ov.readTs, s.ov.evInMain
	s.ov.beginRead(ts)
	defer s.ov.endRead(ts)
	for i, k := range keys {
		if e, ok := s.ov.maps[keyByte(k)][string(k)]; ok {
			hits = append(hits, ovHit{i, e})
		}
	}
	s.ov.mu.RUnlock()
	now := nowSec()
	var txn, etxn *badger.Txn
	defer func() {
		if txn != nil {
			txn.Discard()
		}
		if etxn != nil {
			etxn.Discard()
		}
	}()
	for i, k := range keys {
		if len(hits) > 0 && hits[0].i == i {
			e := hits[0].e
			hits = hits[1:]
			if e.live(now) {
				if err := fn(i, e.value); err != nil {
					return err
				}
			}
			continue
		}
		if isReserved(k) {
			continue
		}
		if s.isEventKey(k) {
			if etxn == nil {
				etxn = s.ev.NewTransactionAt(ts, false)
			}
			found, err := getFrom(etxn, i, k, fn)
			if found || err != nil || !evInMain {
				if err != nil {
					return fmt.Errorf("event store: %w", err)
				}
				continue
			}
		}
		if txn == nil {
			txn = s.db.NewTransactionAt(ts, false)
		}
		if _, err := getFrom(txn, i, k, fn); err != nil {
			return err
		}
	}
	return nil
}

// getFrom reads key k (the i-th) in txn and calls fn with its value, if it exists.
func getFrom(txn *badger.Txn, i int, k []byte, fn func(i int, val []byte) error) (bool, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %q: %w", printable(k), err)
	}
	return true, item.Value(func(v []byte) error { return fn(i, v) })
}

// isReserved reports whether key is the store's own.
func isReserved(key []byte) bool { return string(key) == string(appliedKey) }

// Op is one write of a Batch: a set (with an optional TTL) or a delete.
type Op struct {
	Key    []byte
	Value  []byte
	TTL    time.Duration // 0: no expiry
	Delete bool
}

// Write commits ops atomically: all of them or none. The op slices are not retained once
// Write returns. Concurrent Writes share one transaction and one disk write (see group.go).
// With a disk reserve, a write that would take the free space below it is refused with an
// error wrapping ErrDiskFull, and nothing of it is stored.
func (s *DB) Write(ops []Op) error {
	if s.gate != nil {
		if err := s.gate.Admit(opsSize(ops), deletesOnly(ops)); err != nil {
			return err
		}
	}
	return s.com.write(ops)
}

// Gate returns the store's disk gate, nil without a disk reserve: another writer to the data
// directory (a log of its own) can admit its writes through it too.
func (s *DB) Gate() *DiskGate { return s.gate }

// Disk returns the disk gate's view of the free space; ok is false without a disk reserve.
func (s *DB) Disk() (st DiskStats, ok bool) {
	if s.gate == nil {
		return DiskStats{Free: -1}, false
	}
	return s.gate.Stats(), true
}

func deletesOnly(ops []Op) bool {
	for i := range ops {
		if !ops[i].Delete {
			return false
		}
	}
	return true
}

// Scan calls fn for every key in [start, end) in key order; a nil end scans to the last key.
// key and val are valid only during the call. Returning ErrStop from fn ends the scan early
// without error. The scan sees one snapshot: the overlay's entries in the range, merged in
// key order over Badger at the matching applied timestamp; the overlay's deletes and expired
// entries hide Badger's older values.
func (s *DB) Scan(start, end []byte, fn func(key, val []byte) error) error {
	if s.db.IsClosed() {
		return errClosed
	}
	ov, ts, evInMain := s.ov.rangeOf(start, end)
	defer s.ov.endRead(ts)
	_, err := s.scanAt(ov, ts, evInMain, nowSec(), start, end, false, fn)
	return err
}

// ScanRanges is Scan over a run of ranges within [lo, hi) (a nil hi: to the last key), all
// read at one snapshot, as one Scan of [lo, hi) would read them: next gives each range
// [start, end) in turn (the first with no range scanned yet; each starting at or after the
// end of the one before, within [lo, hi); ok false ends the scan), and fn is called for the
// keys of each. next may decide a range by the keys fn saw in the ones before.
//
// Badger's iterator looks one live key ahead: when it hands over a range's last key it has
// already stepped over every deleted or expired key after the range to find the next live
// one. So a range that is a prefix's whole span (end is the first key after every key with
// the prefix of start) is read by an iterator bounded to the prefix, which stops at the
// range's end, unless nothing at all (no key, live or deleted, of any version) lies
// between the range's end and the end of the prefix one byte shorter (its parent: the rest
// of a day, for a day's packs): then there is nothing to step over, and the range is read
// by the iterator the scan shares among such ranges and the ranges that are no prefix's
// span. The shared iterator keeps its items, and the buffers Badger copies each value
// into, from one range to the next, where an iterator per range grows new ones for each
// (about twice the bytes of the values read). A scan that skips what it does not need
// through prefixes meets none of the deleted keys between them either way.
//
// A range next gives with own set is read by an iterator of its own, whatever lies after
// it: the shared iterator, unbounded, would look ahead past the range's parent too, over
// deleted keys its caller knows are there (the single records packing deleted, day after
// day). Such a range is read bounded to its prefix when it is a prefix's span, and
// otherwise by an iterator that hands over every version (newSpanAll), which stops at the
// range's end, where one of live keys would step over the deletes after it.
func (s *DB) ScanRanges(lo, hi []byte, next func() (start, end []byte, own, ok bool), fn func(key, val []byte) error) error {
	if s.db.IsClosed() {
		return errClosed
	}
	ov, ts, evInMain := s.ov.rangeOf(lo, hi)
	defer s.ov.endRead(ts)
	now := nowSec()
	var shared *span // over the main instance, unbounded; opened by the first range it reads
	defer func() {
		if shared != nil {
			shared.close()
		}
	}()
	for {
		start, end, own, ok := next()
		if !ok {
			return nil
		}
		if bytes.Compare(start, lo) < 0 || (hi != nil && (end == nil || bytes.Compare(end, hi) > 0)) || (end != nil && bytes.Compare(end, start) < 0) {
			return fmt.Errorf("store: range [%x, %x) is not within [%x, %x)", start, end, lo, hi)
		}
		for len(ov) > 0 && bytes.Compare(ov[0].key, start) < 0 {
			ov = ov[1:]
		}
		n := 0
		for n < len(ov) && (end == nil || bytes.Compare(ov[n].key, end) < 0) {
			n++
		}
		var (
			more bool
			err  error
		)
		if !own && s.shareable(ts, start, end) {
			if shared == nil {
				shared = newSpan(s.db, ts, start, nil)
				if s.ev != nil && !evInMain {
					shared.skipLo, shared.skipHi = eventRange(s.prefix)
				}
				shared.it.Seek(start)
			}
			shared.rangeFrom(start, end)
			s.rangesShared.Add(1)
			more, err = s.emit(ov[:n], now, shared, nil, fn)
		} else {
			s.rangesOwn.Add(1)
			// An own range that no prefix bounds is read version by version, so that
			// nothing after it is stepped over.
			more, err = s.scanAt(ov[:n], ts, evInMain, now, start, end, own && spanPrefix(start, end) == nil, fn)
		}
		if err != nil || !more {
			return err
		}
		ov = ov[n:]
	}
}

// shareable reports whether ScanRanges reads [start, end) with its shared iterator: a
// range of the main instance alone, that is no prefix's span, or whose parent prefix holds
// nothing after it (see ScanRanges).
func (s *DB) shareable(ts uint64, start, end []byte) bool {
	if s.ev != nil {
		elo, ehi := eventRange(s.prefix)
		if (end == nil || bytes.Compare(end, elo) > 0) && bytes.Compare(start, ehi) < 0 {
			return false
		}
	}
	p := spanPrefix(start, end)
	if p == nil {
		return true
	}
	if len(p) < 2 {
		return false
	}
	// Any entry of the parent prefix from end on, deleted ones and older versions too:
	// the iterator hands over every version, so it stops at the first, whatever it is.
	txn := s.db.NewTransactionAt(ts, false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{Prefix: p[:len(p)-1], AllVersions: true})
	defer it.Close()
	it.Seek(end)
	return !it.Valid()
}

// scanAt is Scan of [start, end) at ts with ov, the overlay's entries in the range. It
// returns false when fn stopped the scan (ErrStop) or failed.
func (s *DB) scanAt(ov []ovKV, ts uint64, evInMain bool, now uint64, start, end []byte, all bool, fn func(key, val []byte) error) (bool, error) {
	// The main instance over the range, without the event prefix's keys once it holds none;
	// the event store over the part of the range within its prefix. Both are read at ts;
	// the main instance version by version when all is set (see newSpanAll).
	newMain := newSpan
	if all {
		newMain = newSpanAll
	}
	main := newMain(s.db, ts, start, end)
	defer main.close()
	var ev *span
	if s.ev != nil {
		lo, hi := eventRange(s.prefix)
		if !evInMain {
			main.skipLo, main.skipHi = lo, hi
		}
		if (end == nil || bytes.Compare(end, lo) > 0) && bytes.Compare(start, hi) < 0 {
			if bytes.Compare(start, lo) > 0 {
				lo = start
			}
			if end != nil && bytes.Compare(end, hi) < 0 {
				hi = end
			}
			ev = newSpan(s.ev, ts, lo, hi)
			defer ev.close()
		}
	}
	main.seek()
	if ev != nil {
		ev.seek()
	}
	return s.emit(ov, now, main, ev, fn)
}

// emit calls fn for the keys of main and ev (nil: none), each positioned on its first key
// of the range, merged in key order with ov, the overlay's entries in the range. It
// returns false when fn stopped the scan (ErrStop) or failed.
func (s *DB) emit(ov []ovKV, now uint64, main, ev *span, fn func(key, val []byte) error) (bool, error) {
	// next returns the span with the smallest key (the event store's, on a tie: its copy is
	// the one kept), nil at the end.
	next := func() *span {
		switch {
		case main.ok && ev != nil && ev.ok:
			c := bytes.Compare(main.key(), ev.key())
			if c < 0 {
				return main
			}
			if c == 0 {
				main.next()
			}
			return ev
		case main.ok:
			return main
		case ev != nil && ev.ok:
			return ev
		}
		return nil
	}
	// emit calls fn and maps ErrStop to the end of the scan.
	emit := func(k, v []byte) (bool, error) {
		err := fn(k, v)
		if errors.Is(err, ErrStop) {
			return false, nil
		}
		return err == nil, err
	}
	// overlayUpTo emits the overlay entries before key k (all of them for nil k).
	overlayUpTo := func(k []byte) (bool, error) {
		for len(ov) > 0 && (k == nil || bytes.Compare(ov[0].key, k) < 0) {
			e := ov[0]
			ov = ov[1:]
			if !e.e.live(now) {
				continue
			}
			if ok, err := emit(e.key, e.e.value); !ok {
				return false, err
			}
		}
		return true, nil
	}
	for sp := next(); sp != nil; sp = next() {
		item := sp.it.Item()
		k := item.Key()
		if ok, err := overlayUpTo(k); !ok {
			return false, err
		}
		// The overlay's newer op wins (emitted, or hidden, by overlayUpTo next); the
		// store's own keys are hidden.
		if (len(ov) > 0 && bytes.Equal(ov[0].key, k)) || isReserved(k) {
			sp.next()
			continue
		}
		var cont bool
		err := item.Value(func(v []byte) error {
			var err error
			cont, err = emit(k, v)
			return err
		})
		if err != nil {
			return false, err
		}
		if !cont {
			return false, nil
		}
		sp.next()
	}
	return overlayUpTo(nil)
}

// ErrStop ends a Scan early without error.
var ErrStop = errors.New("store: stop scan")

// GroupStats returns how many group commits the store has sent to Badger and how many
// writes they held, since Open; their ratio is the mean group size.
func (s *DB) GroupStats() (groups, writes uint64) {
	return s.com.groups.Load(), s.com.writes.Load()
}

// SlowedWrites reports the writes slowed since Open because the backlog passed half its
// bound (see MaxBacklog) and how long they were slowed in all, and the writes that found
// the backlog at its bound and waited for it (those that waited in vain failed with
// ErrBacklog).
func (s *DB) SlowedWrites() (writes uint64, slowed time.Duration, waited uint64) {
	return s.com.slowed.Load(), time.Duration(s.com.slowedNs.Load()), s.com.waited.Load()
}

// Sizes returns the on-disk sizes of Badger's LSM trees and value logs (both instances, with
// an event store) and of the write-ahead log, in bytes. Badger's own Size needs its expvar metrics, which are process-global; the
// tables are summed instead, and the log files are measured by the blocks they occupy
// (Badger's value-log files are sparse: their apparent size is the preallocated maximum;
// the write-ahead log's segments are preallocated, so they count whole, its spare too).
func (s *DB) Sizes() (lsm, vlog, wal int64) {
	for i, db := range s.instances() {
		dir := s.dir
		if i > 0 {
			dir = filepath.Join(s.dir, EventDir)
		}
		for _, t := range db.Tables() {
			lsm += int64(t.OnDiskSize)
		}
		// Values under the value threshold wait in memtables, whose write-ahead logs are
		// the .mem files, before they are flushed into tables.
		mems, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
		for _, m := range mems {
			lsm += diskUsage(m)
		}
		matches, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
		for _, m := range matches {
			vlog += diskUsage(m)
		}
	}
	segs, _ := filepath.Glob(filepath.Join(s.dir, WALDir, "*"+walExt))
	spares, _ := filepath.Glob(filepath.Join(s.dir, WALDir, "*"+walSpareExt))
	for _, m := range append(segs, spares...) {
		wal += diskUsage(m)
	}
	return lsm, vlog, wal
}

// Sync flushes the log and Badger (both instances) to disk.
func (s *DB) Sync() error {
	if err := s.wal.sync(); err != nil {
		return err
	}
	return s.ap.syncAll()
}

// Backlog reports the writes in the log that Badger does not hold yet, for metrics: the
// memory the overlay holds for them, the writes applied to Badger since Open and the log
// segments retired since Open (all their writes applied; kept for reuse or deleted).
func (s *DB) Backlog() (bytes int64, applied, segmentsRemoved uint64) {
	return s.ov.size(), s.ap.applied.Load(), s.ap.removed.Load()
}

// Written returns the bytes (keys and values) the applier has written to Badger's main
// instance since Open, by the first byte of the key: what each kind of key costs Badger's
// writer, flushes and compactions. A key coalesced or held is counted once per write.
func (s *DB) Written() (byKind [256]uint64) {
	for i := range byKind {
		byKind[i] = s.ap.main.written[i].Load()
	}
	return byKind
}

func printable(key []byte) string {
	if len(key) > 64 {
		key = key[:64]
	}
	return string(key)
}

// badgerLogger sends Badger's warnings and errors to slog and drops its chatter.
type badgerLogger struct{ l *slog.Logger }

// Errorf implements badger.Logger.
func (b badgerLogger) Errorf(f string, a ...any) {
	if b.l != nil {
		b.l.Error("badger: " + fmt.Sprintf(f, a...))
	}
}

// Warningf implements badger.Logger.
func (b badgerLogger) Warningf(f string, a ...any) {
	if b.l != nil {
		b.l.Warn("badger: " + fmt.Sprintf(f, a...))
	}
}

// Infof and Debugf implement badger.Logger; Badger's chatter is dropped.
func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

// treeOptions are the Badger options both instances share: managed by the store (no metrics,
// no conflict detection), and tables sized for bounded memory.
func treeOptions(dir string, log *slog.Logger, memTable int64, memTables int) badger.Options {
	bo := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{log}).
		WithMetricsEnabled(false).
		WithDetectConflicts(false).
		// Badger's work happens beside the requests now: two compactors (Badger's
		// minimum) rather than four keep it from taking both cores of a small machine.
		WithNumCompactors(2).
		// Table builders' memory (see TableBuilderMemory): no compression, so no block
		// cache either, and tables of one size at every level.
		WithCompression(options.None).
		WithBlockCacheSize(0).
		WithMemTableSize(memTable).
		WithBaseTableSize(memTable).
		WithBlockSize(blockSize).
		WithNumMemtables(memTables).
		// No level-0 table merged into one of unbounded size (see l0Stall).
		WithNumLevelZeroTables(l0Tables).
		WithNumLevelZeroTablesStall(l0Stall)
	bo.TableSizeMultiplier = 1
	return bo
}
