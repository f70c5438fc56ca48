package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4/options"
)

func open(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(dir, Options{Small: true})
	if err != nil {
		t.Fatalf("Open(%q) = %v", dir, err)
	}
	return db
}

// has reports whether key is stored and unexpired.
func has(db *DB, key []byte) (bool, error) {
	_, err := db.Get(key, nil)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func TestWriteGetDelete(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()

	if _, err := db.Get([]byte("k"), nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(missing) err = %v; want ErrNotFound", err)
	}
	if err := db.Write([]Op{{Key: []byte("k"), Value: []byte("v1")}, {Key: []byte("j"), Value: []byte("w")}}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Get([]byte("k"), []byte("prefix:"))
	if err != nil || string(got) != "prefix:v1" {
		t.Fatalf("Get(k) = %q, %v; want %q", got, err, "prefix:v1")
	}
	if ok, err := has(db, []byte("j")); !ok || err != nil {
		t.Fatalf("Has(j) = %v, %v; want true", ok, err)
	}
	if err := db.Write([]Op{{Key: []byte("j"), Delete: true}}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := has(db, []byte("j")); ok {
		t.Fatal("Has(j) after delete = true")
	}
}

func TestTTLExpires(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	// Badger keeps expiries in whole seconds: a TTL of 3 s leaves the key at least 2 s,
	// enough for the read right after the write on a loaded machine.
	if err := db.Write([]Op{{Key: []byte("short"), Value: []byte("x"), TTL: 3 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := has(db, []byte("short")); !ok {
		t.Fatal("key with TTL missing right after write")
	}
	deadline := time.Now().Add(8 * time.Second)
	for {
		ok, _ := has(db, []byte("short"))
		if !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("key with a 3 s TTL still present after 8 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestScanRangeAndPrefix(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	var ops []Op
	for i := 0; i < 10; i++ {
		ops = append(ops, Op{Key: []byte(fmt.Sprintf("e%02d", i)), Value: []byte{byte(i)}})
	}
	ops = append(ops, Op{Key: []byte("f00"), Value: []byte("other")})
	if err := db.Write(ops); err != nil {
		t.Fatal(err)
	}
	var keys []string
	err := db.Scan([]byte("e03"), []byte("e07"), func(k, v []byte) error {
		keys = append(keys, string(k))
		return nil
	})
	if err != nil || fmt.Sprint(keys) != "[e03 e04 e05 e06]" {
		t.Fatalf("Scan(e03, e07) = %v, %v; want [e03 e04 e05 e06]", keys, err)
	}
	keys = keys[:0]
	err = db.Scan([]byte("e"), nil, func(k, _ []byte) error {
		keys = append(keys, string(k))
		if len(keys) == 3 {
			return ErrStop
		}
		return nil
	})
	if err != nil || fmt.Sprint(keys) != "[e00 e01 e02]" {
		t.Fatalf("Scan(e) stopped at 3 = %v, %v; want [e00 e01 e02]", keys, err)
	}
	n := 0
	_ = db.Scan([]byte("e"), nil, func(k, v []byte) error { n++; return nil })
	if n != 11 {
		t.Fatalf("Scan(e, nil) saw %d keys; want 11", n)
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	db := open(t, dir)
	if err := db.Write([]Op{{Key: []byte("persist"), Value: []byte("yes")}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(t, dir)
	defer db.Close()
	got, err := db.Get([]byte("persist"), nil)
	if err != nil || string(got) != "yes" {
		t.Fatalf("Get after reopen = %q, %v; want yes", got, err)
	}
	big := make([]Op, 200)
	for i := range big {
		big[i] = Op{Key: []byte(fmt.Sprintf("big%04d", i)), Value: make([]byte, 1000)}
	}
	if err := db.Write(big); err != nil {
		t.Fatal(err)
	}
	if lsm, vlog, wal := db.Sizes(); lsm+vlog+wal < 200*1000 || lsm+vlog+wal > 1<<30 {
		t.Fatalf("Sizes() = %d + %d + %d bytes after writing 200 KB; want at least that and far below the sparse files' lengths", lsm, vlog, wal)
	}
}

func TestOpenBadDir(t *testing.T) {
	if _, err := Open("/dev/null/nope", Options{Small: true}); err == nil {
		t.Fatal("Open(/dev/null/nope) succeeded; want an error")
	}
}

// TestMemorySizes checks that the sizes a memory budget gives reach Badger, with the table
// settings that bound its builders' memory, and that a store so sized works.
func TestMemorySizes(t *testing.T) {
	db, err := Open(t.TempDir(), Options{MemTableSize: 8 << 20, MemTables: 1, IndexCacheSize: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := db.db.Opts()
	if o.MemTableSize != 8<<20 || o.NumMemtables != 2 || o.IndexCacheSize != 2<<20 {
		t.Errorf("Badger options: memtable %d × %d, index cache %d; want 8 MiB × 2 (at least two), 2 MiB",
			o.MemTableSize, o.NumMemtables, o.IndexCacheSize)
	}
	if o.Compression != options.None || o.BlockCacheSize != 0 || o.BaseTableSize != o.MemTableSize || o.TableSizeMultiplier != 1 {
		t.Errorf("Badger tables: compression %v, block cache %d, base table %d, multiplier %d; want none, 0, the memtable size, 1",
			o.Compression, o.BlockCacheSize, o.BaseTableSize, o.TableSizeMultiplier)
	}
	if err := db.Write([]Op{{Key: []byte("k"), Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("k"), nil); err != nil || string(v) != "v" {
		t.Errorf("Get = %q, %v; want v", v, err)
	}
	// A tiny memtable is raised to the smallest the store uses, and a value larger than a
	// Badger write of it (it goes to the value log) is stored and read back.
	small, err := Open(t.TempDir(), Options{MemTableSize: 64 << 10})
	if err != nil {
		t.Fatalf("Open with 64 KiB memtables: %v; want them raised to %d", err, minMemTable)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if err := small.Write([]Op{{Key: []byte("big"), Value: big}}); err != nil {
		t.Fatal(err)
	}
	if err := small.Close(); err != nil { // applied to Badger, then read from it
		t.Fatal(err)
	}
	small, err = Open(small.dir, Options{MemTableSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	if v, err := small.Get([]byte("big"), nil); err != nil || !bytes.Equal(v, big) {
		t.Errorf("Get(big) = %d bytes, %v; want the 1 MiB value back", len(v), err)
	}
}

func TestTableBuilderMemory(t *testing.T) {
	for _, c := range []struct{ memTable, want int64 }{{4 << 20, 152 << 20}, {3 << 20, 152 << 20}, {2 << 20, 88 << 20}} {
		if got := TableBuilderMemory(c.memTable); got != c.want {
			t.Errorf("TableBuilderMemory(%d MiB) = %d MiB; want %d MiB", c.memTable>>20, got>>20, c.want>>20)
		}
	}
}

// TestDiscardWaitsForReads: Badger may drop old versions only up to the oldest read still in
// progress, and up to the read timestamp once none is.
func TestDiscardWaitsForReads(t *testing.T) {
	ov := newOverlay(10)
	if got := ov.discardTs(); got != 10 {
		t.Fatalf("no read: discardTs %d; want the read timestamp 10", got)
	}
	ov.mu.RLock()
	ov.beginRead(ov.readTs) // a read at 10, as GetMany and Scan start one
	ov.mu.RUnlock()
	ov.setReadTs(20)
	ov.beginRead(20)
	if got := ov.discardTs(); got != 10 {
		t.Errorf("reads at 10 and 20 in progress: discardTs %d; want 10", got)
	}
	ov.endRead(10)
	if got := ov.discardTs(); got != 20 {
		t.Errorf("a read at 20 in progress: discardTs %d; want 20", got)
	}
	ov.endRead(20)
	ov.setReadTs(30)
	if got := ov.discardTs(); got != 30 {
		t.Errorf("no read: discardTs %d; want 30", got)
	}
	if len(ov.reading) != 0 {
		t.Errorf("reads still counted: %v", ov.reading)
	}
}

// TestReadsEndTheirCount: every Get, GetMany and Scan, ended early or not, stops counting
// as a read in progress, so that Badger's discarding is never held back for good.
func TestReadsEndTheirCount(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	if err := db.Write([]Op{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	_, _ = db.Get([]byte("a"), nil)
	_, _ = db.Get([]byte("nope"), nil)
	_ = db.GetMany([][]byte{[]byte("a"), []byte("b")}, func(int, []byte) error { return errors.New("stop") })
	_ = db.Scan(nil, nil, func(k, v []byte) error { return ErrStop })
	_ = db.Scan([]byte("a"), nil, func(k, v []byte) error { return errors.New("fail") })
	db.ov.rmu.Lock()
	n := len(db.ov.reading)
	db.ov.rmu.Unlock()
	if n != 0 {
		t.Errorf("%d read timestamps still counted after the reads returned", n)
	}
}
