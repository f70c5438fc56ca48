package store

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// writeAll runs writers goroutines that each commit writes atomic writes of build's ops and
// fails the test on the first error.
func writeAll(t *testing.T, db *DB, writers, writes int, build func(w, i int) []Op) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range writes {
				if err := db.Write(build(w, i)); err != nil {
					errs <- fmt.Errorf("writer %d write %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestConcurrentWritesAllLand: writes from many goroutines share group commits, and every op
// of every acknowledged write is there afterwards.
func TestConcurrentWritesAllLand(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	const writers, writes = 32, 40
	key := func(w, i, k int) []byte { return fmt.Appendf(nil, "k/%d/%d/%d", w, i, k) }
	writeAll(t, db, writers, writes, func(w, i int) []Op {
		ops := make([]Op, 3)
		for k := range ops {
			ops[k] = Op{Key: key(w, i, k), Value: key(w, i, k)}
		}
		return ops
	})
	for w := range writers {
		for i := range writes {
			for k := range 3 {
				got, err := db.Get(key(w, i, k), nil)
				if err != nil || !bytes.Equal(got, key(w, i, k)) {
					t.Fatalf("Get(%s) = %q, %v; want its own key as value", key(w, i, k), got, err)
				}
			}
		}
	}
}

// TestGroupsBadgerRefusesWhole: concurrent writes of 700 KB each make groups larger than one
// Badger transaction of a small store may be; each write is then committed on its own, and
// all land.
func TestGroupsBadgerRefusesWhole(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	big := bytes.Repeat([]byte{'x'}, 700<<10)
	writeAll(t, db, 6, 3, func(w, i int) []Op {
		return []Op{{Key: fmt.Appendf(nil, "big/%d/%d", w, i), Value: big}}
	})
	for w := range 6 {
		for i := range 3 {
			if got, err := db.Get(fmt.Appendf(nil, "big/%d/%d", w, i), nil); err != nil || len(got) != len(big) {
				t.Fatalf("Get(big/%d/%d) = %d bytes, %v; want %d bytes", w, i, len(got), err, len(big))
			}
		}
	}
	// A single write over the group bound is committed alone.
	huge := make([]Op, groupMaxOps+1)
	for i := range huge {
		huge[i] = Op{Key: fmt.Appendf(nil, "many/%04d", i), Value: []byte("v")}
	}
	if err := db.Write(huge); err != nil {
		t.Fatalf("Write(%d ops) = %v", len(huge), err)
	}
	if ok, err := has(db, []byte(fmt.Sprintf("many/%04d", groupMaxOps))); !ok || err != nil {
		t.Fatalf("Has(last of %d ops) = %v, %v; want true", len(huge), ok, err)
	}
}

func TestWriteAfterClose(t *testing.T) {
	db := open(t, t.TempDir())
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Write([]Op{{Key: []byte("k"), Value: []byte("v")}}); !errors.Is(err, errClosed) {
		t.Fatalf("Write after Close = %v; want %v", err, errClosed)
	}
	if _, err := db.Get([]byte("k"), nil); !errors.Is(err, errClosed) {
		t.Errorf("Get after Close = %v; want %v", err, errClosed)
	}
	if err := db.Scan(nil, nil, func(_, _ []byte) error { return nil }); !errors.Is(err, errClosed) {
		t.Errorf("Scan after Close = %v; want %v", err, errClosed)
	}
}

// BenchmarkWrite commits a hit's typical write (a 450-byte state and a 220-byte event
// record) from one goroutine and from 64 at once, which group commit folds together.
func BenchmarkWrite(b *testing.B) {
	state, record := bytes.Repeat([]byte{'s'}, 450), bytes.Repeat([]byte{'e'}, 220)
	run := func(b *testing.B, db *DB, n uint64) error {
		ops := []Op{
			{Key: fmt.Appendf(nil, "v%016x", n%10_000), Value: state},
			{Key: fmt.Appendf(nil, "e%016x", n), Value: record},
		}
		return db.Write(ops)
	}
	b.Run("serial", func(b *testing.B) {
		db, err := Open(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		var n uint64
		for b.Loop() {
			n++
			if err := run(b, db, n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel64", func(b *testing.B) {
		db, err := Open(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		var seq atomic.Uint64
		b.SetParallelism(32) // 64 goroutines on 2 cores, as 64 connections
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := run(b, db, seq.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// TestGroupStats: one writer's writes are committed one group each, so GroupStats counts as
// many groups as writes.
func TestGroupStats(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	for i := range 10 {
		if err := db.Write([]Op{{Key: fmt.Appendf(nil, "k%d", i), Value: []byte("v")}}); err != nil {
			t.Fatal(err)
		}
	}
	if groups, writes := db.GroupStats(); groups != 10 || writes != 10 {
		t.Fatalf("GroupStats = %d groups, %d writes; want 10 and 10", groups, writes)
	}
}

// BenchmarkScan reads 20,000 keys of 1 KiB each out of Badger's tables (written, applied and
// reopened first, so the overlay is empty), as a report's scan of stored records does.
func BenchmarkScan(b *testing.B) {
	dir := b.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	val := bytes.Repeat([]byte{'r'}, 1024)
	for i := range 200 {
		ops := make([]Op, 100)
		for j := range ops {
			ops[j] = Op{Key: fmt.Appendf(nil, "r%08d", i*100+j), Value: val}
		}
		if err := db.Write(ops); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if db, err = Open(dir, Options{}); err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for b.Loop() {
		n, sum := 0, 0
		if err := db.Scan([]byte("r"), []byte("s"), func(_, v []byte) error {
			n++
			sum += len(v)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if n != 20_000 || sum != 20_000*1024 {
			b.Fatalf("scanned %d keys, %d bytes; want 20000, %d", n, sum, 20_000*1024)
		}
	}
}

func TestSlowdown(t *testing.T) {
	for _, c := range []struct {
		size, limit int64
		want        time.Duration
	}{
		{0, 1000, 0},
		{500, 1000, 0},
		{750, 1000, SlowdownMax / 2},
		{1000, 1000, SlowdownMax},
		{5000, 1000, SlowdownMax},
		{10, 0, 0},
	} {
		if got := slowdown(c.size, c.limit); got != c.want {
			t.Errorf("slowdown(%d of %d) = %s; want %s", c.size, c.limit, got, c.want)
		}
	}
}

// TestWritesSlowedAboveHalfTheBacklog: while Badger keeps up no write waits; once the
// writes it does not hold pass half the backlog bound, each waits before its group commit,
// the longer the fuller the backlog, and SlowedWrites counts it.
func TestWritesSlowedAboveHalfTheBacklog(t *testing.T) {
	const limit = 256 << 10
	db, _ := openLogged(t, t.TempDir(), Options{MaxBacklog: limit})
	defer db.crash()
	db.pauseApply(t)
	value := bytes.Repeat([]byte{'v'}, 8<<10)
	i := 0
	for size, _, _ := db.Backlog(); size <= limit/2; size, _, _ = db.Backlog() {
		if err := db.Write([]Op{{Key: fmt.Appendf(nil, "k%d", i), Value: value}}); err != nil {
			t.Fatal(err)
		}
		i++
	}
	if n, d, w := db.SlowedWrites(); n != 0 || d != 0 || w != 0 {
		t.Fatalf("%d writes slowed for %s, %d waited, while the backlog was at most half its bound; want none", n, d, w)
	}
	for size, _, _ := db.Backlog(); size < limit*3/4; size, _, _ = db.Backlog() {
		if err := db.Write([]Op{{Key: fmt.Appendf(nil, "k%d", i), Value: value}}); err != nil {
			t.Fatal(err)
		}
		i++
	}
	n0, d0, _ := db.SlowedWrites()
	size, _, _ := db.Backlog()
	want := slowdown(size, limit)
	if want < SlowdownMax/2 {
		t.Fatalf("backlog %d of %d: slowdown %s; want at least half of %s", size, limit, want, SlowdownMax)
	}
	start := time.Now()
	if err := db.Write([]Op{{Key: []byte("last"), Value: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < want {
		t.Errorf("a write with the backlog at %d of %d took %s; want it slowed by at least %s", size, limit, took, want)
	}
	n1, d1, w1 := db.SlowedWrites()
	if n1 != n0+1 || d1-d0 < want || w1 != 0 {
		t.Errorf("SlowedWrites went from %d, %s to %d, %s, %d waited; want one more write, slowed at least %s, none waited", n0, d0, n1, d1, w1, want)
	}
}
