package store

import (
	"context"
	"fmt"
	"os"
	"sort"
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
// What it costs: a trim reads /proc/self/maps and advises on every range of the files it
// drops. It does not read /proc/self/smaps, which would tell which ranges hold pages but
// makes the kernel walk the page tables of every mapping of the process (some 20 ms of
// kernel time at 750 MiB resident, on a thread of the serving priority): with a trim
// every second or two under sustained writes, and after every report, those walks were
// the largest part of the CPU the serving process spent beside the report thread while
// reports ran. How much is resident is followed from /proc/self/statm instead (a counter
// the kernel keeps), less the file pages that are not the tables' (the binary, the
// memtables, the newest value logs), which a walk of smaps measures once a minute.
//
// What is trimmed, and what is not:
//   - Tables (.sst) are trimmed only while the store holds a reference to them (an
//     iterator over the whole tree pins every table of the levels), so that Badger cannot
//     unmap one, and the address range be given to another mapping, between reading the
//     process's mappings and advising on them: advice meant for a table that fell on the
//     Go heap would zero it. A table is trimmed only if it was in the levels both before
//     and after the pin was taken (a table never comes back to the levels once it left);
//     one a compaction is still writing waits for a later trim.
//   - Value-log files (.vlog) are written through their mappings too, and under writes the
//     event store's stay resident as they fill (158 MiB after 30 s at 19,000 hits a
//     second). Badger unmaps one in two ways only: when the file being written is full it
//     remaps it at its final size and starts the next one, and when value-log garbage
//     collection has rewritten one it deletes it, at once, or, if iterators were open, when
//     the last of them closes. So a trim leaves alone the two newest files of each
//     directory (the one being written and the one before, in case the switch happened
//     while the trim read the mappings); it does not run beside the store's garbage
//     collection (gcMu, which the collection holds); and after a rewrite whose file was
//     not deleted at once it leaves every value log alone until that file is gone.
//   - Memtables' files (.mem) are being written and are Badger's write-ahead log: left
//     alone.

// MappedStats describe the resident pages of Badger's table and value-log files and the
// trims of them.
type MappedStats struct {
	// Resident is the resident size of the process's mappings of Badger's tables and value
	// logs at the last look: the process's resident file pages less those that are not the
	// tables' as last measured (see MeasureMapped), or the measurement itself.
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
	mu     sync.Mutex // one trim at a time, and none once Close has begun
	closed bool
	gcMu   sync.Mutex // held by the value-log garbage collection; a trim takes it or leaves value logs alone
	// pending counts, per value-log directory, the rewritten files whose deletion waits for
	// iterators to close, and before is the files there were then (guarded by gcMu).
	pending  map[string]int
	before   map[string]map[string]bool
	resident atomic.Int64
	other    atomic.Int64 // the resident file pages that are not the tables' (the binary...), as last measured
	// floor is the process's resident file pages the last trim left (the newest value
	// logs, the memtables, the binary...): the loop trims once they grew past the limit.
	floor   atomic.Int64
	trims   atomic.Uint64
	trimmed atomic.Int64
	soon    chan struct{} // TrimSoon's call to the trim loop
}

// follow takes the tables' resident pages to be the process's resident file pages, files,
// less those that are not the tables' as last measured.
func (t *mapTrim) follow(files int64) {
	t.resident.Store(max(files-t.other.Load(), 0))
}

// Mapped returns the resident size of Badger's mapped tables as last measured, and the
// trims so far.
func (s *DB) Mapped() MappedStats {
	return MappedStats{Resident: s.trim.resident.Load(), Trims: s.trim.trims.Load(), Trimmed: s.trim.trimmed.Load()}
}

// TrimMapped drops the process's mappings of the resident pages of Badger's tables and of
// its value logs but the newest (see above) and returns how many bytes it dropped. The pages stay in the kernel's page cache;
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

// TrimSoon asks the store's trim loop to trim (TrimMapped) once no other ask has come for
// trimIdle, without waiting for it: reports call it when they are done, through the report
// service's AfterReport hook, so that neither the report's answer nor the report worker
// waits for the trim (some 10 ms for 120 MiB of pages),
// which runs on the loop's goroutine at the process's normal priority, and reports that
// follow one another do not fault in again what the trim of the one before dropped.
func (s *DB) TrimSoon() {
	select {
	case s.trim.soon <- struct{}{}:
	default:
	}
}

// trimIdle is how long the trim TrimSoon asks for waits for the reports to pause, and
// trimHold how long asks hold the periodic trim back at most (variables for the tests).
var (
	trimIdle = 300 * time.Millisecond
	trimHold = 5 * time.Second
)

// measureEvery is how often the trim loop measures the tables' resident pages through a
// walk of /proc/self/smaps (MeasureMapped); in between it follows the process's resident
// file pages (/proc/self/statm), which the kernel counts as it goes (a variable for the
// tests).
var measureEvery = time.Minute

// MeasureMapped measures the resident size of the process's mappings of Badger's tables and
// value logs now (0 on systems other than Linux), through a walk of /proc/self/smaps: the
// trim loop calls it once a minute, to learn how many of the process's resident file
// pages are not the tables'.
func (s *DB) MeasureMapped() (int64, error) {
	s.trim.mu.Lock()
	defer s.trim.mu.Unlock()
	if s.trim.closed {
		return s.trim.resident.Load(), nil
	}
	files, ok := fileResident()
	res, err := scanTables(s.tableDirs())
	if err == nil {
		s.trim.resident.Store(res)
		if ok {
			s.trim.other.Store(files - res)
		}
	}
	return res, err
}

func (s *DB) trimLocked() (int64, error) {
	drop := map[string]map[string]bool{}
	add := func(dir, name string) {
		if drop[dir] == nil {
			drop[dir] = map[string]bool{}
		}
		drop[dir][name] = true
	}
	for _, db := range s.instances() {
		ids, release := pinTables(db)
		defer release()
		for id := range ids {
			add(db.Opts().Dir, tableName(id))
		}
	}
	if s.trim.gcMu.TryLock() {
		for _, dir := range s.vlogDirs() {
			for _, name := range s.quietLogs(dir) {
				add(dir, name)
			}
		}
		// Held until the advice is done: no garbage collection deletes a value log meanwhile.
		defer s.trim.gcMu.Unlock()
	}
	dropped, err := dropTables(s.tableDirs(), drop)
	if err != nil {
		return 0, err
	}
	if files, ok := fileResident(); ok {
		s.trim.floor.Store(files)
		s.trim.follow(files)
	}
	if dropped > 0 {
		s.trim.trims.Add(1)
		s.trim.trimmed.Add(dropped)
	}
	return dropped, nil
}

// vlogDirs returns the value-log directories of the store's Badger instances.
func (s *DB) vlogDirs() []string {
	var dirs []string
	for _, db := range s.instances() {
		dirs = append(dirs, db.Opts().ValueDir)
	}
	return dirs
}

// quietLogs returns the names of the value-log files in dir that Badger will not unmap
// while gcMu is held: all but the two newest, and none while a rewritten file waits for
// its deletion. The caller holds gcMu.
func (s *DB) quietLogs(dir string) []string {
	names := vlogNames(dir)
	if n := s.trim.pending[dir]; n > 0 {
		now := map[string]bool{}
		for _, name := range names {
			now[name] = true
		}
		gone := 0
		for name := range s.trim.before[dir] {
			if !now[name] {
				gone++
			}
		}
		if gone < n {
			return nil
		}
		delete(s.trim.pending, dir)
		delete(s.trim.before, dir)
	}
	if len(names) <= 2 {
		return nil
	}
	return names[:len(names)-2]
}

// collectValueLog runs one value-log garbage collection of db under gcMu, and notes a
// rewritten file that Badger has not deleted yet (see quietLogs). It returns whether a file
// was rewritten.
func (s *DB) collectValueLog(db *badger.DB) bool {
	s.trim.gcMu.Lock()
	defer s.trim.gcMu.Unlock()
	dir := db.Opts().ValueDir
	before := vlogNames(dir)
	if db.RunValueLogGC(0.5) != nil {
		return false
	}
	after := map[string]bool{}
	for _, name := range vlogNames(dir) {
		after[name] = true
	}
	for _, name := range before {
		if !after[name] {
			return true // deleted at once
		}
	}
	if s.trim.pending == nil {
		s.trim.pending, s.trim.before = map[string]int{}, map[string]map[string]bool{}
	}
	if s.trim.pending[dir] == 0 {
		set := map[string]bool{}
		for _, name := range before {
			set[name] = true
		}
		s.trim.before[dir] = set
	}
	s.trim.pending[dir]++
	return true
}

// vlogNames lists the value-log files in dir, oldest first (Badger's "%06d.vlog", in the
// order of their numbers).
func vlogNames(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type file struct {
		fid  uint64
		name string
	}
	var files []file
	for _, e := range entries {
		num, ok := strings.CutSuffix(e.Name(), ".vlog")
		if !ok {
			continue
		}
		if fid, err := strconv.ParseUint(num, 10, 32); err == nil {
			files = append(files, file{fid, e.Name()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].fid < files[j].fid })
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	return names
}

// tableDirs returns the directories of the store's Badger instances, and of their value
// logs if elsewhere.
func (s *DB) tableDirs() []string {
	var dirs []string
	for _, db := range s.instances() {
		dirs = append(dirs, db.Opts().Dir)
		if v := db.Opts().ValueDir; v != db.Opts().Dir {
			dirs = append(dirs, v)
		}
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

// tableName is the name of table id's file (Badger's "%06d.sst").
func tableName(id uint64) string { return fmt.Sprintf("%06d.sst", id) }

// isMapped reports whether name is a table's or a value log's file, the files a trim measures.
func isMapped(name string) bool {
	num, ok := strings.CutSuffix(name, ".sst")
	if !ok {
		num, ok = strings.CutSuffix(name, ".vlog")
	}
	if !ok || num == "" {
		return false
	}
	_, err := strconv.ParseUint(num, 10, 64)
	return err == nil
}

// trimLoop looks at the process's resident file pages every period and trims the tables
// once those grew by more than limit since the last trim (0: never trims on its own, only
// measures).
func (s *DB) trimLoop(ctx context.Context, every time.Duration, limit int64) {
	defer s.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	// A trim asked for by TrimSoon waits for trimIdle without another ask: reports that
	// follow one another (a dashboard's) are not slowed by the trim of the one before,
	// whose pages they are reading again. While such a trim waits, reports are running:
	// the periodic trim waits too, for up to trimHold since the first ask of the run,
	// since it would take the pages from under their scans (and interrupt every core of
	// the process to flush its address translations, which the hits served meanwhile pay
	// for); the asked-for trim drops them once the reports pause. Asks that never pause
	// (the worker's small jobs under load) hold the periodic trim back no longer.
	idle := time.NewTimer(time.Hour)
	idle.Stop()
	defer idle.Stop()
	var asked time.Time    // the first ask not trimmed yet; zero: none
	var measured time.Time // the last walk of smaps (MeasureMapped); zero: none yet
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.trim.soon:
			if asked.IsZero() {
				asked = time.Now()
			}
			idle.Reset(trimIdle)
		case <-idle.C:
			asked = time.Time{}
			_, _ = s.TrimMapped()
		case <-t.C:
			if !asked.IsZero() && time.Since(asked) < trimHold {
				continue
			}
			files, ok := fileResident()
			if !ok {
				continue // not Linux: nothing is measured or trimmed
			}
			// How many of the file pages are not the tables' (the memtables, the value
			// logs being written, the binary) drifts as the memtables fill and go: measure
			// it again once every measureEvery, unless reports are running (they asked for
			// a trim that has not run yet), since the walk of smaps takes the kernel
			// milliseconds on a thread of the serving priority.
			if asked.IsZero() && (measured.IsZero() || time.Since(measured) >= measureEvery) {
				if _, err := s.MeasureMapped(); err == nil {
					measured = time.Now()
				}
			} else {
				s.trim.follow(files)
			}
			// What a trim can drop is what was mapped since the last one: the file pages
			// beyond those it left (the value logs being written and the memtables,
			// which it leaves alone, can hold more than the limit, and are not counted
			// again once a trim has seen them). What it left goes as well, a memtable
			// once it is flushed: the floor follows the file pages down, or the tables
			// could map again, untrimmed, the room a memtable held at the last trim.
			if floor := s.trim.floor.Load(); files < floor {
				s.trim.floor.CompareAndSwap(floor, files)
			}
			if limit > 0 && files-s.trim.floor.Load() > limit {
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
