//go:build linux

package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// residentOf sums the resident size of the process's mappings of files in dir whose name
// ends with ext, reading /proc/self/smaps on its own (not through the store's parser).
func residentOf(t *testing.T, dir, ext string) int64 {
	t.Helper()
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	ours := false
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			ours = filepath.Dir(f[5]) == real && strings.HasSuffix(f[5], ext) && len(f) == 6
			continue
		}
		if ours && len(f) == 3 && f[0] == "Rss:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			sum += kb << 10
			ours = false
		}
	}
	return sum
}

// trimValue is the value of key i: deterministic, so that a read is checked byte for byte.
func trimValue(i int) []byte {
	v := make([]byte, 900+i%200)
	r := rand.New(rand.NewPCG(uint64(i), 7))
	for j := range v {
		v[j] = byte(r.Uint32())
	}
	return v
}

func trimKey(prefix byte, i int) []byte {
	return binary.BigEndian.AppendUint32([]byte{prefix}, uint32(i))
}

// writeTrimKeys writes keys [from, to) under both instances' prefixes ('k' to the main
// instance, whose tables hold the values; 'e' to the event store).
func writeTrimKeys(t *testing.T, db *DB, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		ops := []Op{{Key: trimKey('k', i), Value: trimValue(i)}}
		if i%4 == 0 {
			ops = append(ops, Op{Key: trimKey('e', i), Value: trimValue(i)[:100]})
		}
		err := db.Write(ops)
		for tries := 0; errors.Is(err, ErrBacklog) && tries < 50; tries++ {
			err = db.Write(ops)
		}
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
}

// checkTrimKeys reads keys [0, n) back, by Get and by a scan, and compares every value.
func checkTrimKeys(t *testing.T, db *DB, n int) {
	t.Helper()
	var buf []byte
	for i := 0; i < n; i++ {
		v, err := db.Get(trimKey('k', i), buf[:0])
		if err != nil || !bytes.Equal(v, trimValue(i)) {
			t.Fatalf("key %d after the trim: %d bytes, %v; want its %d bytes", i, len(v), err, len(trimValue(i)))
		}
		buf = v
		if i%4 == 0 {
			v, err := db.Get(trimKey('e', i), buf[:0])
			if err != nil || !bytes.Equal(v, trimValue(i)[:100]) {
				t.Fatalf("event key %d after the trim: %d bytes, %v", i, len(v), err)
			}
		}
	}
	seen := 0
	err := db.Scan([]byte{'k'}, []byte{'l'}, func(k, v []byte) error {
		i := int(binary.BigEndian.Uint32(k[1:]))
		if i != seen || !bytes.Equal(v, trimValue(i)) {
			t.Fatalf("scan: key %d at position %d, %d bytes", i, seen, len(v))
		}
		seen++
		return nil
	})
	if err != nil || seen != n {
		t.Fatalf("scan: %d keys, %v; want %d", seen, err, n)
	}
}

// settle waits until Badger's compactions are done: every table file in its directories is
// in its levels, and they stay the same for a while. A compaction writes its tables through
// mappings of their files before it puts them in the levels, and a trim leaves those alone;
// the test compares what smaps says with no such table around.
func settle(t *testing.T, db *DB) {
	t.Helper()
	state := func() (string, bool) {
		var b strings.Builder
		for _, in := range db.instances() {
			levels := map[string]bool{}
			for _, tb := range in.Tables() {
				levels[fmt.Sprintf("%06d.sst", tb.ID)] = true
			}
			files, err := filepath.Glob(filepath.Join(in.Opts().Dir, "*.sst"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if !levels[filepath.Base(f)] {
					return "", false
				}
				b.WriteString(filepath.Base(f) + " ")
			}
		}
		return b.String(), true
	}
	last, same := "", 0
	for i := 0; same < 4; i++ {
		if i == 1200 {
			t.Fatal("Badger still writes tables two minutes after the last write")
		}
		time.Sleep(100 * time.Millisecond)
		if now, ok := state(); ok && now == last {
			same++
		} else {
			last, same = now, 0
		}
	}
}

// TestTrimMappedTables writes enough for Badger to flush tables, reads them back (which maps
// their pages into the process), trims, and checks from /proc/self/smaps that the resident
// pages of the tables fell, that the memtables' and the value logs being written (one file
// each here) were left alone,
// and that every value still reads back byte for byte, after the trim and while writes and
// trims go on together.
// trimAlong trims db over and over on a goroutine of its own until the returned stop is
// called, which waits for it: the trims of a test that writes and reads meanwhile.
func trimAlong(t *testing.T, db *DB) (stop func()) {
	t.Helper()
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := db.TrimMapped(); err != nil {
				t.Error(err)
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// openTrimmed opens a store in a temporary directory with opt and n keys written, synced and
// settled in the levels (so that no table is still being written).
func openTrimmed(t *testing.T, opt Options, n int) *DB {
	t.Helper()
	db, err := Open(t.TempDir(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	writeTrimKeys(t, db, 0, n)
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	settle(t, db)
	return db
}

func TestTrimMappedTables(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{Small: true, EventPrefix: 'e'})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evDir := db.ev.Opts().Dir
	const n = 30000 // some 30 MB in 2 MiB tables
	writeTrimKeys(t, db, 0, n)
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	settle(t, db)
	checkTrimKeys(t, db, n) // touches every table's pages

	// smaps before and after MeasureMapped: the kernel's read-ahead of the pages just read,
	// or its reclaim on a busy machine, can move them meanwhile; measured again when they
	// moved, and held to what smaps said on either side.
	var before, evBefore, measured int64
	for try := 0; ; try++ {
		before, evBefore = residentOf(t, dir, ".sst"), residentOf(t, evDir, ".sst")
		m, err := db.MeasureMapped()
		if err != nil {
			t.Fatal(err)
		}
		measured = m
		after, evAfter := residentOf(t, dir, ".sst"), residentOf(t, evDir, ".sst")
		lo, hi := min(before+evBefore, after+evAfter), max(before+evBefore, after+evAfter)
		if measured >= lo-(1<<20) && measured <= hi+(1<<20) {
			break
		}
		if try == 4 {
			t.Errorf("MeasureMapped = %d KiB; smaps says %d KiB (main) + %d KiB (event store) before it, %d + %d KiB after", measured>>10, before>>10, evBefore>>10, after>>10, evAfter>>10)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if before < 8<<20 {
		t.Fatalf("the tables have %d KiB resident after a read of every key; want the test to map at least 8 MiB", before>>10)
	}
	memBefore, vlogBefore := residentOf(t, dir, ".mem")+residentOf(t, evDir, ".mem"), residentOf(t, dir, ".vlog")+residentOf(t, evDir, ".vlog")

	dropped, err := db.TrimMapped()
	if err != nil {
		t.Fatal(err)
	}
	after, evAfter := residentOf(t, dir, ".sst"), residentOf(t, evDir, ".sst")
	t.Logf("tables resident: %d KiB before the trim, %d KiB after (event store %d, %d KiB); dropped %d KiB", before>>10, after>>10, evBefore>>10, evAfter>>10, dropped>>10)
	if dropped < before/2 {
		t.Errorf("the trim dropped %d KiB of the %d KiB resident", dropped>>10, before>>10)
	}
	// A table a compaction wrote (through a mapping) while the trim took its pin is not
	// trimmed: the next trim has it.
	trims := 1
	for ; after > before/8 && trims < 5; trims++ {
		d, err := db.TrimMapped()
		if err != nil {
			t.Fatal(err)
		}
		dropped += d
		after = residentOf(t, dir, ".sst")
	}
	if after > before/8 {
		t.Errorf("tables resident after %d trims: %d KiB; want at most an eighth of the %d KiB before", trims, after>>10, before>>10)
	}
	if evAfter > evBefore/8 {
		t.Errorf("the event store's tables: %d KiB resident after the trim, %d KiB before", evAfter>>10, evBefore>>10)
	}
	if dropped < before-after-(1<<20) {
		t.Errorf("TrimMapped says it dropped %d KiB; smaps fell by %d KiB", dropped>>10, (before-after)>>10)
	}
	if m := db.Mapped(); m.Trims < 1 || m.Trims > uint64(trims) || m.Trimmed != dropped {
		t.Errorf("Mapped() = %+v after %d trims of %d bytes in all", m, trims, dropped)
	}
	mem, vlog := residentOf(t, dir, ".mem")+residentOf(t, evDir, ".mem"), residentOf(t, dir, ".vlog")+residentOf(t, evDir, ".vlog")
	if mem < memBefore || vlog < vlogBefore { // no fewer pages: a write still applied may map more
		t.Errorf("memtables and value logs resident: %d and %d KiB after the trim, %d and %d KiB before; want them left alone",
			mem>>10, vlog>>10, memBefore>>10, vlogBefore>>10)
	}
	if memBefore == 0 || vlogBefore == 0 {
		t.Errorf("memtables %d KiB, value logs %d KiB resident: the test does not check that they are left alone", memBefore>>10, vlogBefore>>10)
	}
	checkTrimKeys(t, db, n)
	if again := residentOf(t, dir, ".sst"); again < before/2 {
		t.Errorf("tables resident after reading every key again: %d KiB; want them mapped again (%d KiB before the trim)", again>>10, before>>10)
	}

	// Writes (flushes and compactions that make and remove tables) and trims together.
	stop := trimAlong(t, db)
	writeTrimKeys(t, db, n, 2*n)
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	checkTrimKeys(t, db, 2*n)
	stop()
	if m := db.Mapped(); m.Trims <= uint64(trims) {
		t.Errorf("Mapped() = %+v; want the trims during the writes counted", m)
	}
	checkTrimKeys(t, db, 2*n)
}

// TestTrimLoopKeepsTheLimit: the store trims on its own once its tables' resident pages pass
// Options.MappedLimit, and not while they stay under it.
func TestTrimLoopKeepsTheLimit(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{Small: true, MappedLimit: 4 << 20, TrimEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 20000
	writeTrimKeys(t, db, 0, n)
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	for round := 0; ; round++ {
		checkTrimKeys(t, db, n)
		if db.Mapped().Trims > 0 {
			break
		}
		if round == 200 {
			t.Fatalf("no trim after 200 reads of every key; Mapped() = %+v", db.Mapped())
		}
	}
	// Under the limit, the loop only measures (once Badger's compactions, which write their
	// tables through mappings, are done).
	settle(t, db)
	if _, err := db.TrimMapped(); err != nil {
		t.Fatal(err)
	}
	trims := db.Mapped().Trims
	if _, err := db.Get(trimKey('k', 1), nil); err != nil {
		t.Fatal(err)
	}
	res, err := db.MeasureMapped()
	if err != nil {
		t.Fatal(err)
	}
	if res > 4<<20 {
		t.Fatalf("one read left %d KiB resident; want it under the limit for this check", res>>10)
	}
	// The loop runs every 20 ms: give it a few periods.
	time.Sleep(150 * time.Millisecond)
	if got := db.Mapped().Trims; got != trims {
		t.Errorf("trims went from %d to %d with %d KiB resident, under the 4 MiB limit", trims, got, res>>10)
	}
}

// TestTrimValueLogs fills the event store's value log over several files, reads every
// record back (which maps their pages), trims, and checks from /proc/self/smaps that the
// older files' resident pages fell while the two newest (the one being written and the one
// before) were left alone, and that every record reads back byte for byte, after the trim
// and while writes, which fill and switch files, and trims go on together.
func TestTrimValueLogs(t *testing.T) {
	db, err := Open(t.TempDir(), Options{Small: true, EventPrefix: 'e'}) // 16 MiB value-log files
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evDir := db.ev.Opts().ValueDir
	value := func(i int) []byte { return trimValue(i)[:900] }
	write := func(from, to int) {
		for i := from; i < to; i++ {
			ops := []Op{{Key: trimKey('e', i), Value: value(i)}}
			err := db.Write(ops)
			for tries := 0; errors.Is(err, ErrBacklog) && tries < 50; tries++ {
				err = db.Write(ops)
			}
			if err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		if err := db.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(n int) {
		var buf []byte
		for i := 0; i < n; i++ {
			v, err := db.Get(trimKey('e', i), buf[:0])
			if err != nil || !bytes.Equal(v, value(i)) {
				t.Fatalf("record %d: %d bytes, %v; want its %d bytes", i, len(v), err, len(value(i)))
			}
			buf = v
		}
	}
	const n = 80000 // some 72 MB: five files of 16 MiB
	write(0, n)
	// Every record in Badger before the files are listed: a record still being applied
	// could fill the newest file, which Badger then maps again at its final size, with none
	// of its pages resident, while the trim is measured.
	waitApplied(t, db)
	settle(t, db)
	names := vlogNames(evDir)
	if len(names) < 4 {
		t.Fatalf("%d value-log files after %d records; want at least 4", len(names), n)
	}
	check(n)
	old, newest := names[:len(names)-2], names[len(names)-2:]
	resident := func(names []string) (sum int64) {
		for _, name := range names {
			sum += residentOf(t, evDir, name)
		}
		return sum
	}
	oldBefore, newBefore := resident(old), resident(newest)
	if oldBefore < 16<<20 {
		t.Fatalf("older value-log files: %d KiB resident after a read of every record; want the test to map at least 16 MiB", oldBefore>>10)
	}
	if _, err := db.TrimMapped(); err != nil {
		t.Fatal(err)
	}
	oldAfter, newAfter := resident(old), resident(newest)
	t.Logf("value-log files %v: older %d KiB resident before the trim, %d KiB after; the two newest %d, %d KiB", names, oldBefore>>10, oldAfter>>10, newBefore>>10, newAfter>>10)
	if oldAfter > oldBefore/8 {
		t.Errorf("older value-log files: %d KiB resident after the trim; want at most an eighth of the %d KiB before", oldAfter>>10, oldBefore>>10)
	}
	// Left alone: no fewer pages (a write still being applied may map more).
	if newAfter < newBefore {
		t.Errorf("the two newest value-log files: %d KiB resident after the trim, %d KiB before; want them left alone", newAfter>>10, newBefore>>10)
	}
	check(n)

	stop := trimAlong(t, db)
	write(n, n+40000) // two more files
	check(n + 40000)
	stop()
	check(n + 40000)
}

// TestQuietLogs: a trim leaves the two newest value-log files alone, and every one while a
// file rewritten by the garbage collection waits for its deletion.
func TestQuietLogs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"000001.vlog", "000002.vlog", "000003.vlog", "000010.vlog", "000004.sst", "DISCARD"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := &DB{}
	if got := s.quietLogs(dir); !slices.Equal(got, []string{"000001.vlog", "000002.vlog"}) {
		t.Errorf("quietLogs = %v; want the two oldest of four", got)
	}
	// A rewrite of 000002 whose deletion waits for iterators.
	s.trim.pending = map[string]int{dir: 1}
	s.trim.before = map[string]map[string]bool{dir: {"000001.vlog": true, "000002.vlog": true, "000003.vlog": true, "000010.vlog": true}}
	if got := s.quietLogs(dir); got != nil {
		t.Errorf("quietLogs = %v while a rewritten file waits; want none", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "000011.vlog"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := s.quietLogs(dir); got != nil {
		t.Errorf("quietLogs = %v after a new file, the rewritten one still there; want none", got)
	}
	if err := os.Remove(filepath.Join(dir, "000002.vlog")); err != nil {
		t.Fatal(err)
	}
	if got := s.quietLogs(dir); !slices.Equal(got, []string{"000001.vlog", "000003.vlog"}) {
		t.Errorf("quietLogs = %v once the rewritten file is gone; want all but the two newest", got)
	}
	if s.trim.pending[dir] != 0 {
		t.Errorf("pending = %d once the file is gone; want 0", s.trim.pending[dir])
	}
	if got := vlogNames(t.TempDir() + "/none"); got != nil {
		t.Errorf("vlogNames of a missing directory = %v", got)
	}
}

// TestTrimSoon: a trim asked for with TrimSoon runs on the store's own goroutine once the
// asks pause, without the caller waiting, and drops the tables' pages though they are under
// the limit.
func TestTrimSoon(t *testing.T) {
	const n = 20000
	db := openTrimmed(t, Options{Small: true, MappedLimit: 1 << 40, TrimEvery: time.Hour}, n)
	checkTrimKeys(t, db, n)
	before, err := db.MeasureMapped()
	if err != nil {
		t.Fatal(err)
	}
	if before == 0 {
		t.Fatal("reading every key left no table page resident")
	}
	trims := db.Mapped().Trims
	db.TrimSoon()
	db.TrimSoon() // one asked and not begun: the same trim
	deadline := time.Now().Add(10 * time.Second)
	for db.Mapped().Trims == trims {
		if time.Now().After(deadline) {
			t.Fatalf("no trim 10 s after TrimSoon, with %d KiB resident", before>>10)
		}
		time.Sleep(10 * time.Millisecond)
	}
	after, err := db.MeasureMapped()
	if err != nil {
		t.Fatal(err)
	}
	if after > before/2 {
		t.Errorf("after TrimSoon %d KiB of table pages stay resident, of %d", after>>10, before>>10)
	}
	checkTrimKeys(t, db, n)
}

// TestTrimSoonHoldsThePeriodicTrim: while a trim asked for with TrimSoon waits for the
// reports to pause, the periodic trim leaves the pages past its limit alone (they are the
// running reports'), for up to trimHold; the asked-for trim drops them once the asks pause.
func TestTrimSoonHoldsThePeriodicTrim(t *testing.T) {
	// The asked-for trim waits a minute here, so that however slowly the reads below run
	// (under the race detector, beside other packages' tests) it is still waiting while
	// the periodic trims are counted; a second ask then shortens the wait. The loop reads
	// trimIdle when an ask reaches it, after the test wrote it. Restored after the store's
	// Close (cleanups run last first): its loop reads both.
	idle, hold := trimIdle, trimHold
	trimIdle, trimHold = time.Minute, time.Minute
	t.Cleanup(func() { trimIdle, trimHold = idle, hold })
	const n = 20000
	db := openTrimmed(t, Options{Small: true, MappedLimit: 1 << 20, TrimEvery: 20 * time.Millisecond}, n)
	db.TrimSoon()
	time.Sleep(100 * time.Millisecond) // the loop has the ask
	trims := db.Mapped().Trims
	checkTrimKeys(t, db, n) // maps every table page: past the 1 MiB limit
	res, err := db.MeasureMapped()
	if err != nil {
		t.Fatal(err)
	}
	if res <= 1<<20 {
		t.Fatalf("reading every key left %d KiB resident; the test needs more than the 1 MiB limit", res>>10)
	}
	time.Sleep(500 * time.Millisecond) // 25 periods of the loop
	if got := db.Mapped().Trims; got != trims {
		t.Fatalf("trims went from %d to %d while a trim asked for waited", trims, got)
	}
	trimIdle = 50 * time.Millisecond
	db.TrimSoon()
	deadline := time.Now().Add(15 * time.Second)
	for db.Mapped().Trims == trims {
		if time.Now().After(deadline) {
			t.Fatal("no trim 15 s after the ask")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTrimLoopWalksSmapsRarely: the loop follows the resident pages through the kernel's
// counters and trims without reading /proc/self/smaps, whose walk of every resident page
// of the process takes the kernel milliseconds; only the measurement of what is not the
// tables' reads it, once every measureEvery.
func TestTrimLoopWalksSmapsRarely(t *testing.T) {
	every := measureEvery
	measureEvery = time.Hour
	// Restored after the store's Close (cleanups run last first): its loop reads it.
	t.Cleanup(func() { measureEvery = every })
	const n = 20000
	db := openTrimmed(t, Options{Small: true, MappedLimit: 1 << 20, TrimEvery: 10 * time.Millisecond}, n)
	time.Sleep(50 * time.Millisecond) // the loop's first look, which measures
	// The trims that ran, not Mapped().Trims: a trim counts what it dropped by the fall
	// of the process's file pages, which reads of the tables in the meantime can hide.
	walks, trims := smapsWalks.Load(), drops.Load()
	for round := 0; drops.Load() < trims+3; round++ {
		if round == 300 {
			t.Fatalf("%d trims after 300 reads of every key past the 1 MiB limit; want 3", drops.Load()-trims)
		}
		checkTrimKeys(t, db, n) // maps the tables' pages again
		time.Sleep(20 * time.Millisecond)
	}
	if got := smapsWalks.Load() - walks; got != 0 {
		t.Errorf("the loop read /proc/self/smaps %d times for %d trims; want none within measureEvery", got, drops.Load()-trims)
	}
}

// TestTrimLoopFloorFollowsTheFilesDown: what the last trim left resident (the memtables,
// the value logs being written) goes too, and then the tables may not take its room
// untrimmed: once the file pages fall below the floor the last trim left, the floor
// follows them, and tables mapped past the limit above that are trimmed.
func TestTrimLoopFloorFollowsTheFilesDown(t *testing.T) {
	const n = 20000
	db := openTrimmed(t, Options{Small: true, MappedLimit: 1 << 20, TrimEvery: 10 * time.Millisecond}, n)
	if _, err := db.TrimMapped(); err != nil {
		t.Fatal(err)
	}
	// As if the last trim had left a memtable of 256 MiB resident, flushed since.
	db.trim.floor.Add(256 << 20)
	time.Sleep(50 * time.Millisecond) // a few looks at the file pages, now under the floor
	trims := db.Mapped().Trims
	for round := 0; db.Mapped().Trims == trims; round++ {
		if round == 100 {
			res, _ := db.MeasureMapped()
			t.Fatalf("no trim with %d KiB of tables resident past the 1 MiB limit after the floor's room went", res>>10)
		}
		checkTrimKeys(t, db, n) // maps the tables' pages again
		time.Sleep(20 * time.Millisecond)
	}
}
