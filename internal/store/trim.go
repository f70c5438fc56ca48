package store

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Badger reads its tables through shared memory maps of their files (MAP_SHARED, written
// once when the table is built, then only read), and has no option to read them with
// pread. Every page a scan touches stays in the process's resident set until the kernel
// needs the memory: page cache, but counted as the process's own, and growing with the
// store rather than with the memory budget (350 MiB of a 1,000,000-visitor store after
// every report had run once). A store that reads with pread gets that bound for free; this
// one drops the process's mappings of those pages instead (madvise MADV_DONTNEED on the
// ranges /proc/self/maps lists for the tables): on a shared file mapping that only unmaps
// them, the pages stay in the kernel's page cache (reclaimable, and written back if dirty),
// and a later read faults them in again from there. Linux only; elsewhere TrimMapped does
// nothing.
//
// What is trimmed, and what is not:
//   - Tables (.sst) are trimmed only while the store holds a reference to them (an
//     iterator over the whole tree pins every table of the levels), so that Badger cannot
//     unmap one, and the address range be given to another mapping, between reading the
//     process's mappings and advising on them: advice meant for a table that fell on the
//     Go heap would zero it. A table is trimmed only if it was in the levels both before
//     and after the pin was taken (a table never comes back to the levels once it left).
//   - Value-log files (.vlog) are left alone: Badger deletes a rewritten one when its last
//     iterator closes, from whatever goroutine closes it, and nothing in its API lets the
//     store keep that from happening during a trim. They hold few resident pages here (the
//     main instance keeps its values in its tables; the event store's log is read rarely):
//     1 MiB at 1,000,000 visitors.
//   - Memtables' files (.mem) are being written and are Badger's write-ahead log: left
//     alone.

// MappedStats describe the resident pages of Badger's table files and the trims of them.
type MappedStats struct {
	// Resident is the resident size of the process's mappings of Badger's tables, as last
	// measured (by a trim or by the periodic check).
	Resident int64
	// Trims counts the trims that dropped pages, and Trimmed the bytes they dropped.
	Trims   uint64
	Trimmed int64
}

// DefaultTrimEvery is how often the store looks at the process's resident file pages
// (/proc/self/statm, which costs no walk of the page tables) and, when they grew past
// Options.MappedLimit, measures its tables' share and trims them.
const DefaultTrimEvery = 250 * time.Millisecond

// mapTrim is the state of the store's trims.
type mapTrim struct {
	mu       sync.Mutex // one trim at a time, and none once Close has begun
	closed   bool
	resident atomic.Int64
	other    atomic.Int64 // the resident file pages that are not the tables' (the binary...)
	trims    atomic.Uint64
	trimmed  atomic.Int64
}

// Mapped returns the resident size of Badger's mapped tables as last measured, and the
// trims so far.
func (s *DB) Mapped() MappedStats {
	return MappedStats{Resident: s.trim.resident.Load(), Trims: s.trim.trims.Load(), Trimmed: s.trim.trimmed.Load()}
}

// TrimMapped drops the process's mappings of the resident pages of Badger's tables (see
// above) and returns how many bytes it dropped. The pages stay in the kernel's page cache;
// a later read maps them again. Reports call it once they are done, through the report
// service's AfterReport hook, and the store calls it on its own when the resident pages
// pass Options.MappedLimit. It does nothing on systems other than Linux, or once Close has
// begun.
func (s *DB) TrimMapped() (int64, error) {
	s.trim.mu.Lock()
	defer s.trim.mu.Unlock()
	if s.trim.closed {
		return 0, nil
	}
	return s.trimLocked()
}

// MeasureMapped measures the resident size of the process's mappings of Badger's tables
// now (0 on systems other than Linux).
func (s *DB) MeasureMapped() (int64, error) {
	s.trim.mu.Lock()
	defer s.trim.mu.Unlock()
	if s.trim.closed {
		return s.trim.resident.Load(), nil
	}
	files, ok := fileResident()
	res, _, err := scanTables(s.tableDirs(), nil)
	if err == nil {
		s.trim.resident.Store(res)
		if ok {
			s.trim.other.Store(files - res)
		}
	}
	return res, err
}

func (s *DB) trimLocked() (int64, error) {
	pinned := map[string]map[uint64]bool{}
	for _, db := range s.instances() {
		ids, release := pinTables(db)
		defer release()
		pinned[db.Opts().Dir] = ids
	}
	res, dropped, err := scanTables(s.tableDirs(), pinned)
	if err != nil {
		return 0, err
	}
	s.trim.resident.Store(res - dropped)
	if dropped > 0 {
		s.trim.trims.Add(1)
		s.trim.trimmed.Add(dropped)
	}
	return dropped, nil
}

// tableDirs returns the directories of the store's Badger instances.
func (s *DB) tableDirs() []string {
	var dirs []string
	for _, db := range s.instances() {
		dirs = append(dirs, db.Opts().Dir)
	}
	return dirs
}

// pinTables holds a reference to every table in db's levels until release is called, and
// returns the ids of the tables that are surely among them: in the levels both before and
// after the references were taken.
func pinTables(db *badger.DB) (ids map[uint64]bool, release func()) {
	before := db.Tables()
	txn := db.NewTransactionAt(0, false)
	it := txn.NewIterator(badger.IteratorOptions{}) // no prefix: every table is referenced
	in := map[uint64]bool{}
	for _, t := range db.Tables() {
		in[t.ID] = true
	}
	ids = map[uint64]bool{}
	for _, t := range before {
		if in[t.ID] {
			ids[t.ID] = true
		}
	}
	return ids, func() { it.Close(); txn.Discard() }
}

// tableID returns the id of the table file name (Badger's "%06d.sst").
func tableID(name string) (uint64, bool) {
	num, ok := strings.CutSuffix(name, ".sst")
	if !ok || num == "" {
		return 0, false
	}
	id, err := strconv.ParseUint(num, 10, 64)
	return id, err == nil
}

// trimLoop measures the resident pages of the tables every period and trims them once
// they pass limit (0: never trims on its own, only measures).
func (s *DB) trimLoop(ctx context.Context, every time.Duration, limit int64) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// The other file pages (the value log being written, the memtables) were
			// measured at the last look at the tables: look again every 40 periods even
			// when they seem to have shrunk, in case it was they that did.
			if files, ok := fileResident(); ok && limit > 0 && files-s.trim.other.Load() <= limit && tick%40 != 0 {
				continue // the tables cannot hold more than the limit
			}
			res, err := s.MeasureMapped()
			if err == nil && limit > 0 && res > limit {
				_, _ = s.TrimMapped()
			}
		}
	}
}

// closeTrim stops trims: Close calls it before it closes Badger.
func (s *DB) closeTrim() {
	s.trim.mu.Lock()
	s.trim.closed = true
	s.trim.mu.Unlock()
}
