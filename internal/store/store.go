// Package store is Pathlight's Badger adapter: bytes in, bytes out. It knows nothing of
// visitors or events; the track package lays out the keys and declares the small interface it
// needs, which *DB satisfies.
//
// Badger runs with SyncWrites off by default: a write is acknowledged once it is in Badger's
// write-ahead value log in the operating system's page cache, which survives a crash of the
// process (SIGKILL, panic) but not of the machine. Options.SyncWrites trades throughput for
// surviving power loss too.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrNotFound is returned by Get when the key does not exist or has expired.
var ErrNotFound = errors.New("store: key not found")

// Options configure Open.
type Options struct {
	// SyncWrites makes every commit fsync before it returns.
	SyncWrites bool
	// Small shrinks Badger's memtables and caches, for tests and small sites.
	Small bool
	// MemTableSize and MemTables size Badger's memtables (each, and how many are kept);
	// BlockCacheSize and IndexCacheSize bound its block cache and its cache of table
	// indexes and Bloom filters. Zero keeps Badger's default (for the index cache: no bound,
	// every index in memory). Small sets its own sizes.
	MemTableSize   int64
	MemTables      int
	BlockCacheSize int64
	IndexCacheSize int64
	// GCInterval is how often the value log is garbage-collected; 0 means 5 minutes.
	GCInterval time.Duration
	// Logger receives Badger's warnings and errors; nil discards them.
	Logger *slog.Logger
	// DiskReserve is the free space, in bytes, that the store keeps on the filesystem of the
	// database: writes are refused with ErrDiskFull below it (see DiskGate), and Badger's
	// memtables and tables are sized so that what it writes on its own after that fits in
	// it. 0 keeps no reserve; otherwise it must be at least MinDiskReserve.
	DiskReserve int64
}

// minMemTable is the smallest memtable Badger accepts with its default value threshold.
const minMemTable = 8 << 20

// DB is an open Badger database. It is safe for concurrent use.
type DB struct {
	db     *badger.DB
	com    *committer
	gate   *DiskGate // nil without a disk reserve
	dir    string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Open opens (or creates) the database in dir and starts its garbage-collection loop, which
// Close stops.
func Open(dir string, opt Options) (*DB, error) {
	bo := badger.DefaultOptions(dir).
		WithSyncWrites(opt.SyncWrites).
		WithLogger(badgerLogger{opt.Logger}).
		WithMetricsEnabled(false)
	if opt.MemTableSize > 0 {
		// A memtable must hold a batch of Badger's largest inline value (1 MiB).
		bo = bo.WithMemTableSize(max(opt.MemTableSize, minMemTable))
	}
	if opt.MemTables > 0 {
		// Badger stalls writes when every memtable is full: keep at least two.
		bo = bo.WithNumMemtables(max(opt.MemTables, 2))
	}
	if opt.BlockCacheSize > 0 {
		bo = bo.WithBlockCacheSize(opt.BlockCacheSize)
	}
	if opt.IndexCacheSize > 0 {
		bo = bo.WithIndexCacheSize(opt.IndexCacheSize)
	}
	if opt.Small {
		bo = bo.WithMemTableSize(8 << 20).
			WithBlockCacheSize(8 << 20).
			WithIndexCacheSize(4 << 20).
			WithValueLogFileSize(64 << 20).
			WithNumMemtables(2).
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
	db, err := badger.Open(bo)
	if err != nil {
		return nil, fmt.Errorf("open badger in %s: %w", dir, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &DB{db: db, com: newCommitter(db), gate: gate, dir: dir, cancel: cancel}
	if gate != nil {
		gate.Start()
	}
	interval := opt.GCInterval
	if interval <= 0 {
		interval = 5 * time.Minute
	}
	s.wg.Add(1)
	go s.gcLoop(ctx, interval)
	return s, nil
}

// Close stops the garbage-collection loop and closes Badger, flushing memtables to disk.
func (s *DB) Close() error {
	s.cancel()
	s.wg.Wait()
	s.com.close()
	if s.gate != nil {
		s.gate.Close()
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close badger: %w", err)
	}
	return nil
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
			for ctx.Err() == nil && s.db.RunValueLogGC(0.5) == nil {
			}
		}
	}
}

// Get appends the value stored under key to dst and returns it. The returned slice is the
// caller's: Badger's own buffer is only valid inside its callback, so the value is copied.
func (s *DB) Get(key, dst []byte) ([]byte, error) {
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			dst = append(dst, v...)
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return dst, ErrNotFound
	}
	if err != nil {
		return dst, fmt.Errorf("get %q: %w", printable(key), err)
	}
	return dst, nil
}

// GetMany reads keys from one snapshot, calling fn with the index and value of each key that
// exists; val is valid only during the call. One snapshot for all the reads of a request
// waits once for in-flight commits instead of once per key.
func (s *DB) GetMany(keys [][]byte, fn func(i int, val []byte) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		for i, k := range keys {
			item, err := txn.Get(k)
			if errors.Is(err, badger.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("get %q: %w", printable(k), err)
			}
			if err := item.Value(func(v []byte) error { return fn(i, v) }); err != nil {
				return err
			}
		}
		return nil
	})
}

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
// without error.
func (s *DB) Scan(start, end []byte, fn func(key, val []byte) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.DefaultIteratorOptions)
		defer it.Close()
		for it.Seek(start); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			if end != nil && string(k) >= string(end) {
				return nil
			}
			err := item.Value(func(v []byte) error { return fn(k, v) })
			if errors.Is(err, ErrStop) {
				return nil
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// ErrStop ends a Scan early without error.
var ErrStop = errors.New("store: stop scan")

// GroupStats returns how many group commits the store has sent to Badger and how many
// writes they held, since Open; their ratio is the mean group size.
func (s *DB) GroupStats() (groups, writes uint64) {
	return s.com.groups.Load(), s.com.writes.Load()
}

// Sizes returns the on-disk sizes of the LSM tree and the value log, in bytes. Badger's own
// Size needs its expvar metrics, which are process-global; the tables are summed instead, and
// the value-log files are measured by the blocks they occupy (they are sparse: their
// apparent size is the preallocated maximum).
func (s *DB) Sizes() (lsm, vlog int64) {
	for _, t := range s.db.Tables() {
		lsm += int64(t.OnDiskSize)
	}
	// Values under the value threshold wait in memtables, whose write-ahead logs are the
	// .mem files, before they are flushed into tables.
	mems, _ := filepath.Glob(filepath.Join(s.dir, "*.mem"))
	for _, m := range mems {
		lsm += diskUsage(m)
	}
	matches, _ := filepath.Glob(filepath.Join(s.dir, "*.vlog"))
	for _, m := range matches {
		vlog += diskUsage(m)
	}
	return lsm, vlog
}

// Sync flushes pending writes to disk.
func (s *DB) Sync() error { return s.db.Sync() }

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
