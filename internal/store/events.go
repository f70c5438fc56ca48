package store

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// The event store. Keys that start with Options.EventPrefix (the caller's append-only,
// time-ordered records, written once and read by point gets and time scans) live in a second
// Badger instance in EventDir, whose value threshold is a few bytes: a record's bytes go to
// its value log, written once and in sequence, and its LSM tree holds only the keys and value
// pointers. Flushes and compactions of the event keys then move a tenth of the bytes they
// would move through the main tree. Both instances are written by the one applier, at
// timestamps from one sequence, so that a read at the applied timestamp sees both at the
// same point; each stores the log position it has applied, and a replay re-applies to each
// what it lacks.
//
// A data directory written before the event store existed holds event keys in the main
// instance: reads then look in both (the event store first), deletes of event keys go to
// both, and the applier moves the keys over in the background (migrate.go).
const (
	// EventDir is the directory of the event store inside the store's directory.
	EventDir = "events"
	// DefaultEventMemTableSize is the event store's memtable and table size when Options do
	// not say. Its memtables hold keys and value pointers only (about 60 bytes an entry).
	DefaultEventMemTableSize = 1 << 20
	// eventValueThreshold: values of this many bytes or more go to the event store's value
	// log; a pointer to one takes about 12 bytes in the tree.
	eventValueThreshold = 32
	// eventVlogFile is the size of the event store's value-log files: garbage collection
	// rewrites a file whole, so smaller files give erased and expired records back sooner.
	eventVlogFile = 64 << 20
)

// eventOptions configures the event store's Badger for opt.
func eventOptions(dir string, opt Options) badger.Options {
	memTable := int64(DefaultEventMemTableSize)
	if opt.EventMemTableSize > 0 {
		memTable = max(opt.EventMemTableSize, minMemTable)
	}
	memTables := 2
	if opt.EventMemTables > 0 {
		memTables = max(opt.EventMemTables, 2)
	}
	bo := treeOptions(filepath.Join(dir, EventDir), opt.Logger, memTable, memTables).
		WithValueThreshold(eventValueThreshold).
		WithValueLogFileSize(eventVlogFile)
	if opt.EventIndexCacheSize > 0 {
		bo = bo.WithIndexCacheSize(opt.EventIndexCacheSize)
	}
	if opt.Small {
		bo = bo.WithIndexCacheSize(2 << 20).
			WithValueLogFileSize(16 << 20).
			WithNumLevelZeroTables(2).
			WithNumLevelZeroTablesStall(4)
	}
	if opt.DiskReserve > 0 {
		// The profile sizes the tree as for the main instance. The value log is the event
		// store's bulk: its files are sparse and fill as records are applied, which the
		// disk gate admits; a sixteenth of the reserve each keeps the file being filled
		// within it.
		bo = badgerProfile(bo, opt.DiskReserve).
			WithValueLogFileSize(min(int64(eventVlogFile), opt.DiskReserve/16))
	}
	return bo
}

// isEventKey reports whether key belongs to the event store (none without one).
func (a *applier) isEventKey(key []byte) bool {
	return a.ev != nil && len(key) > 0 && key[0] == a.prefix
}

// eventRange is the key range of the event prefix: [lo, hi).
func eventRange(prefix byte) (lo, hi []byte) {
	return []byte{prefix}, []byte{prefix + 1}
}

// hasPrefix reports whether db holds a live key starting with prefix.
func hasPrefix(db *badger.DB, prefix byte) bool {
	txn := db.NewTransactionAt(math.MaxUint64, false)
	defer txn.Discard()
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefix}})
	defer it.Close()
	it.Rewind()
	return it.Valid()
}

// prefixFile, in EventDir, records the event prefix, so that every later Open of the
// directory routes the same keys there, whether or not its caller says so.
const prefixFile = "PREFIX"

// eventPrefix returns the event prefix recorded in dir: 0 when dir has no event store.
func eventPrefix(dir string) (byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, EventDir, prefixFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read the event prefix: %w", err)
	}
	if len(b) != 1 || b[0] == 0 || b[0] == math.MaxUint8 {
		return 0, fmt.Errorf("%s: want one byte from 1 to 254, found %d bytes", filepath.Join(dir, EventDir, prefixFile), len(b))
	}
	return b[0], nil
}

// openEvents opens the event store of dir, for opt.EventPrefix or the prefix it was created
// with; nil when neither is set.
func openEvents(dir string, opt *Options) (*badger.DB, error) {
	stored, err := eventPrefix(dir)
	if err != nil {
		return nil, err
	}
	switch {
	case opt.EventPrefix == 0 && stored == 0:
		return nil, nil
	case opt.EventPrefix == 0:
		opt.EventPrefix = stored
	case stored != 0 && stored != opt.EventPrefix:
		return nil, fmt.Errorf("store: the event store in %s holds keys of prefix %q, not %q", filepath.Join(dir, EventDir), stored, opt.EventPrefix)
	case opt.EventPrefix == math.MaxUint8:
		return nil, errors.New("store: the event prefix must be a byte from 1 to 254")
	}
	ev, err := badger.OpenManaged(eventOptions(dir, *opt))
	if err != nil {
		return nil, fmt.Errorf("open the event store in %s: %w", filepath.Join(dir, EventDir), err)
	}
	if stored == 0 {
		if err := writeFileSynced(filepath.Join(dir, EventDir, prefixFile), []byte{opt.EventPrefix}); err != nil {
			_ = ev.Close()
			return nil, fmt.Errorf("record the event prefix: %w", err)
		}
	}
	return ev, nil
}

// writeFileSynced writes a small file and fsyncs it and its directory.
func writeFileSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
