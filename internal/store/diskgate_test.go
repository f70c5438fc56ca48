package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeDisk is a filesystem whose free space the test sets.
type fakeDisk struct{ free atomic.Int64 }

func (f *fakeDisk) statfs(string) (int64, error) { return f.free.Load(), nil }

func TestDiskGateRefusesBelowReserveAndResumes(t *testing.T) {
	const mib = 1 << 20
	disk := new(fakeDisk)
	disk.free.Store(100 * mib)
	g, err := newDiskGate(t.TempDir(), 64*mib, disk.statfs)
	if err != nil {
		t.Fatal(err)
	}
	if g.Full() {
		t.Fatal("gate full with 100 MiB free over a 64 MiB reserve")
	}
	// Writes are charged twice between polls: 16 MiB of writes take the estimate to 68 MiB,
	// and the next 4 MiB would cross the reserve.
	for range 16 {
		if err := g.Admit(mib, false); err != nil {
			t.Fatalf("Admit with room: %v", err)
		}
	}
	err = g.Admit(4*mib, false)
	if !errors.Is(err, ErrDiskFull) || !g.Full() {
		t.Fatalf("Admit past the reserve = %v, full %v; want ErrDiskFull and full", err, g.Full())
	}
	if !strings.Contains(err.Error(), "below the disk reserve of 64 MiB") {
		t.Errorf("error %q does not name the reserve", err)
	}
	if err := g.Admit(10, false); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("small write on a full gate = %v; want ErrDiskFull", err)
	}
	// Deletions pass down to seven eighths of the reserve (56 MiB).
	if err := g.Admit(mib, true); err != nil {
		t.Fatalf("deletion on a full gate with 68 MiB free: %v", err)
	}
	disk.free.Store(55 * mib)
	if err := g.Poll(); err != nil {
		t.Fatal(err)
	}
	if err := g.Admit(mib, true); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("deletion below seven eighths of the reserve = %v; want ErrDiskFull", err)
	}
	if st := g.Stats(); st.Free != 55*mib || st.Reserve != 64*mib || !st.Full || st.Refused != 3 {
		t.Fatalf("Stats = %+v; want free 55 MiB, reserve 64 MiB, full, 3 refused", st)
	}
	// Just above the reserve is not enough to resume: writes would flap on its edge.
	disk.free.Store(65 * mib)
	_ = g.Poll()
	if !g.Full() {
		t.Fatal("gate resumed at 65 MiB free, within the margin above the reserve")
	}
	disk.free.Store(80 * mib)
	_ = g.Poll()
	if g.Full() {
		t.Fatal("gate still full with 80 MiB free")
	}
	if err := g.Admit(mib, false); err != nil {
		t.Fatalf("write after space was freed: %v", err)
	}
}

func TestDiskGateWithoutReserveAdmitsAll(t *testing.T) {
	disk := new(fakeDisk)
	g, err := newDiskGate(t.TempDir(), 0, disk.statfs)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Admit(1<<30, false); err != nil || g.Full() {
		t.Fatalf("gate without reserve: %v, full %v", err, g.Full())
	}
}

// TestOpenRefusesWhenLogsCannotBeReplayed: a database with write-ahead logs to replay on a
// disk without room for them is refused with ErrDiskFull, not opened to die of SIGBUS.
func TestOpenRefusesWhenLogsCannotBeReplayed(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "00001.mem"), make([]byte, 2<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	disk := new(fakeDisk)
	disk.free.Store(5 << 20) // less than the log plus the room opening takes
	if _, err := openGate(dir, 64<<20, disk.statfs); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("openGate with 5 MiB free and a 2 MiB log = %v; want ErrDiskFull", err)
	}
	disk.free.Store(8 << 20) // room to open, not the reserve: opens full
	g, err := openGate(dir, 64<<20, disk.statfs)
	if err != nil || !g.Full() {
		t.Fatalf("openGate with 8 MiB free = %v, full %v; want open and full", err, err == nil && g.Full())
	}
}

// TestReserveLargerThanFreeSpace opens a real store with a reserve no disk has: it opens,
// reads work, and every write is refused with ErrDiskFull, deletions included.
func TestReserveLargerThanFreeSpace(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir)
	if err := db.Write([]Op{{Key: []byte("k"), Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(dir, Options{Small: true, DiskReserve: 1 << 60})
	if err != nil {
		t.Fatalf("Open with a reserve above the free space: %v", err)
	}
	defer db.Close()
	st, ok := db.Disk()
	if !ok || !st.Full || st.Reserve != 1<<60 || st.Free <= 0 {
		t.Fatalf("Disk() = %+v, %v; want full with the free space read", st, ok)
	}
	if v, err := db.Get([]byte("k"), nil); err != nil || string(v) != "v" {
		t.Fatalf("Get on a full disk = %q, %v", v, err)
	}
	for _, ops := range [][]Op{{{Key: []byte("n"), Value: []byte("x")}}, {{Key: []byte("k"), Delete: true}}} {
		if err := db.Write(ops); !errors.Is(err, ErrDiskFull) {
			t.Fatalf("Write(%+v) on a full disk = %v; want ErrDiskFull", ops, err)
		}
	}
	if ok, _ := has(db, []byte("n")); ok {
		t.Fatal("a refused write was stored")
	}
	if st, _ := db.Disk(); st.Refused != 2 {
		t.Fatalf("refused = %d; want 2", st.Refused)
	}
}

func TestOpenRefusesReserveBelowMinimum(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{DiskReserve: MinDiskReserve - 1}); err == nil {
		t.Fatal("Open with a reserve below the minimum succeeded")
	}
}

// TestProfileFitsReserve: what Badger may write once writes stop fits in three quarters of
// every reserve, and a 1 GiB reserve allows memtables of 32 MiB.
func TestProfileFitsReserve(t *testing.T) {
	for _, r := range []int64{MinDiskReserve, 700 << 20, 1 << 30, 10 << 30} {
		if h := headroom(r); h > r*3/4 {
			t.Errorf("reserve %s: headroom %s is more than three quarters of it", FormatBytes(r), FormatBytes(h))
		}
	}
	if m, b := profileSizes(1 << 30); m != 32<<20 || b != 10<<20 {
		t.Errorf("1 GiB reserve: memtable %s, base level %s; want 32 MiB and 10 MiB", FormatBytes(m), FormatBytes(b))
	}
}

// TestEventStoreProfile: under a disk reserve the event store's value-log files are at most a
// sixteenth of it, and its tree is sized as the main instance's (its memtables stay 1 MiB).
func TestEventStoreProfile(t *testing.T) {
	for _, r := range []int64{MinDiskReserve, 1 << 30, 10 << 30} {
		bo := eventOptions(t.TempDir(), Options{EventPrefix: 'e', DiskReserve: r})
		if bo.ValueLogFileSize > r/16 {
			t.Errorf("reserve %s: value-log files of %s; want at most a sixteenth", FormatBytes(r), FormatBytes(bo.ValueLogFileSize))
		}
		_, base := profileSizes(r)
		if bo.MemTableSize != DefaultEventMemTableSize || bo.BaseLevelSize > base {
			t.Errorf("reserve %s: memtable %s, base level %s; want 1 MiB and at most %s", FormatBytes(r),
				FormatBytes(bo.MemTableSize), FormatBytes(bo.BaseLevelSize), FormatBytes(base))
		}
	}
	db, err := Open(t.TempDir(), Options{EventPrefix: 'e', DiskReserve: MinDiskReserve, Small: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Write([]Op{{Key: []byte("e1"), Value: []byte("an event record of some length")}})
	if errors.Is(err, ErrDiskFull) {
		t.Skip("the test filesystem has less free space than the 512 MiB reserve: no write to check")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got, err := db.Get([]byte("e1"), nil); err != nil || string(got) != "an event record of some length" {
		t.Errorf("Get(e1) under a reserve = %q, %v", got, err)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{512: "512 B", 1 << 20: "1 MiB", 3 << 29: "1.5 GiB", 1 << 40: "1 TiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q; want %q", n, got, want)
		}
	}
}

// BenchmarkDiskGate measures what the gate adds to a write: the same hit-sized writes to a
// store without a reserve and to one with the default 1 GiB reserve, alternating in rounds
// of 1,000 in the same run; gated/base is the ratio of their times.
func BenchmarkDiskGate(b *testing.B) {
	base, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer base.Close()
	gated, err := Open(b.TempDir(), Options{DiskReserve: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer gated.Close()
	if st, _ := gated.Disk(); st.Full {
		b.Skipf("less than 1 GiB free here (%d bytes): the gated store refuses writes", st.Free)
	}
	state, record := make([]byte, 450), make([]byte, 220)
	var n uint64
	round := func(db *DB) time.Duration {
		start := time.Now()
		for range 1000 {
			n++
			ops := []Op{{Key: fmt.Appendf(nil, "v%016x", n%10_000), Value: state}, {Key: fmt.Appendf(nil, "e%016x", n), Value: record}}
			if err := db.Write(ops); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	var tBase, tGated time.Duration
	for b.Loop() {
		tBase += round(base)
		tGated += round(gated)
	}
	b.ReportMetric(float64(tGated)/float64(tBase), "gated/base")
}
