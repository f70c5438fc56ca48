package store

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// MinDiskReserve is the smallest disk reserve Open accepts: the room Badger needs with the
// smallest memtables the reserve sizes (see badgerProfile).
const MinDiskReserve = 512 << 20

// Badger's settings under a disk reserve R. Once the store refuses writes, Badger may still
// write on its own: the flush of every memtable (a table about as large as the memtable,
// written before its log is deleted; at most one at a time), and the compactions that the
// flushes trigger. The largest of those merges all of level 0 into the base level, writing
// its output before it deletes its input: at most l0Stall tables of about one memtable each,
// plus the base level. So the headroom Badger needs is about
//
//	(l0Stall + 1) × memtable + 4 × base level
//
// and the profile keeps it within three quarters of the reserve: memtables of at most R/32
// (16 to 64 MiB; the memory budget's, a few MiB, are smaller and stay) and a base level of
// R/64 (up to 10 MiB, Badger's default). The last quarter is margin for the writes admitted
// between two polls of the free space and for compactions of deeper levels.
//
// The value log takes only values of an eighth of a memtable or more (see Open): large
// replay chunks at most. Its files are mapped at twice their size but sparse, so they take
// room only as they fill. Two memtables' worth per file keeps them in proportion.

// profileSizes returns the memtable and base-level sizes for a reserve.
func profileSizes(reserve int64) (memtable, baseLevel int64) {
	memtable = min(max(reserve/32>>20<<20, 16<<20), 64<<20)
	baseLevel = min(reserve/64, 10<<20)
	return memtable, baseLevel
}

// headroom is what Badger may write after writes stop, for a reserve (see above): the main
// instance's, and the event store's, whose tree is sized the same way with its 1 MiB
// memtables and whose value log may fill the rest of the file being written (a sixteenth of
// the reserve at most, see eventOptions) with the backlog the gate admitted.
func headroom(reserve int64) int64 {
	m, b := profileSizes(reserve)
	ev := min(m, DefaultEventMemTableSize)
	return (l0Stall+1)*m + 4*b + (l0Stall+1)*ev + 4*b + reserve/16
}

// badgerProfile sizes Badger's memtables, tables and value-log files for a disk reserve.
// Smaller sizes already chosen (Options.Small) are kept.
func badgerProfile(bo badger.Options, reserve int64) badger.Options {
	m, b := profileSizes(reserve)
	m = min(m, bo.MemTableSize)
	return bo.WithMemTableSize(m).
		WithBaseLevelSize(min(b, bo.BaseLevelSize)).
		WithBaseTableSize(min(bo.BaseTableSize, m)).
		WithValueLogFileSize(min(bo.ValueLogFileSize, 2*m)).
		WithNumLevelZeroTables(min(bo.NumLevelZeroTables, l0Tables)).
		WithNumLevelZeroTablesStall(min(bo.NumLevelZeroTablesStall, l0Stall))
}

// openSlack is the room opening Badger takes beyond replaying its logs: the first pages of a
// new memtable log, value log, manifest and discard-statistics file.
const openSlack = 4 << 20

// openGate reads the free space before Badger opens. Opening replays the write-ahead logs
// that a crash left behind (Badger's .mem files and the store's own log segments) and
// flushes them into tables: on a disk without
// room for that, Badger would die of SIGBUS, so Open answers ErrDiskFull instead. With room
// to open but less than the reserve, the store opens and refuses writes until space is
// freed.
func openGate(dir string, reserve int64, statfs func(string) (int64, error)) (*DiskGate, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("database directory: %w", err)
	}
	g, err := newDiskGate(dir, reserve, statfs)
	if err != nil {
		return nil, err
	}
	need := int64(openSlack)
	mems, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	evMems, _ := filepath.Glob(filepath.Join(dir, EventDir, "*.mem"))
	for _, m := range append(mems, evMems...) {
		need += diskUsage(m)
	}
	// The store's own write-ahead log is replayed into Badger too: its records pass through
	// a memtable's log and then a table (segments count whole, so this errs on the safe side).
	segs, _ := filepath.Glob(filepath.Join(dir, WALDir, "*"+walExt))
	for _, sg := range segs {
		need += 2 * diskUsage(sg)
	}
	if free := g.Stats().Free; free < need {
		return nil, fmt.Errorf("%w: %s free for %s, and opening the database needs %s (to replay its write-ahead logs); free some space and start again",
			ErrDiskFull, FormatBytes(free), dir, FormatBytes(need))
	}
	return g, nil
}
