package store

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// inBadger reads key from the main Badger instance itself, past the overlay.
func inBadger(t *testing.T, s *DB, key string) ([]byte, bool) {
	t.Helper()
	txn := s.db.NewTransactionAt(math.MaxUint64, false)
	defer txn.Discard()
	item, err := txn.Get([]byte(key))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("badger get %s: %v", key, err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

// waitRecordsApplied waits until the applier has applied n records (held ops aside).
func waitRecordsApplied(t *testing.T, s *DB, n uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.ap.applied.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records applied after 10s", s.ap.applied.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func set(t *testing.T, s *DB, key, val string) {
	t.Helper()
	if err := s.Write([]Op{{Key: []byte(key), Value: []byte(val)}}); err != nil {
		t.Fatalf("Write %s: %v", key, err)
	}
}

func mustGet(t *testing.T, s *DB, key, want string) {
	t.Helper()
	got, err := s.Get([]byte(key), nil)
	if err != nil || string(got) != want {
		t.Fatalf("Get(%s) = %q, %v; want %q", key, got, err, want)
	}
}

// writeRewrites writes key "hot" three times and "cold" once, in one batch of the applier
// (it gathers for applyDelay after the first write), and waits for the batch.
func writeRewrites(t *testing.T, s *DB) {
	t.Helper()
	for i := range 3 {
		set(t, s, "hot", fmt.Sprint("journey ", i))
	}
	set(t, s, "cold", "once")
	waitRecordsApplied(t, s, 4)
	if s.ap.applied.Load() != 4 {
		t.Fatalf("%d records applied, want the 4 of the test", s.ap.applied.Load())
	}
}

// TestRewrittenKeyIsHeld: a key a batch writes several times is held out of Badger while a
// key written once goes at once; reads see the held op all along, and the log keeps it.
func TestRewrittenKeyIsHeld(t *testing.T) {
	dir := t.TempDir()
	db, _ := openLogged(t, dir, Options{holdFor: time.Hour})
	defer db.Close()
	writeRewrites(t, db)
	if v, ok := inBadger(t, db, "cold"); !ok || string(v) != "once" {
		t.Fatalf("the key written once is not in Badger after its batch: %q, %v", v, ok)
	}
	if v, ok := inBadger(t, db, "hot"); ok {
		t.Fatalf("the rewritten key is in Badger before its hold ends: %q", v)
	}
	mustGet(t, db, "hot", "journey 2")
	var scanned []string
	if err := db.Scan([]byte("a"), nil, func(k, v []byte) error {
		scanned = append(scanned, string(k)+"="+string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"cold=once", "hot=journey 2"}; fmt.Sprint(scanned) != fmt.Sprint(want) {
		t.Fatalf("Scan = %q, want %q", scanned, want)
	}
	// Badger's stored position stops before the held op: a replay would start there.
	if pos, err := readApplied(db.db); err != nil || pos != 2 {
		t.Fatalf("stored position = %d, %v; want 2 (the record before the held op, 3)", pos, err)
	}
	// The overlay accounts for the held copy only: the records are released.
	if got, want := db.ov.size(), int64(len("hot")+len("journey 2"))+2*entryOverhead; got != want {
		t.Fatalf("overlay holds %d bytes, want %d (the held op)", got, want)
	}
}

// TestCrashWhileHeldReplaysAll: a crash while ops are held loses none of them: the next Open
// replays the log from before the oldest held op, and each key ends with its last op.
func TestCrashWhileHeldReplaysAll(t *testing.T) {
	dir := t.TempDir()
	db, _ := openLogged(t, dir, Options{holdFor: time.Hour})
	writeRewrites(t, db)
	// A later batch: the held key rewritten again, with others written once.
	set(t, db, "hot", "journey 3")
	writeKeys(t, db, 0, 50)
	waitRecordsApplied(t, db, 55)
	if _, ok := inBadger(t, db, "hot"); ok {
		t.Fatal("the held key is in Badger before its hold ends")
	}
	db.crash()

	db, lb := openLogged(t, dir, Options{holdFor: time.Hour})
	defer db.Close()
	mustGet(t, db, "hot", "journey 3")
	mustGet(t, db, "cold", "once")
	checkKeys(t, db, 0, 50)
	if v, ok := inBadger(t, db, "hot"); !ok || string(v) != "journey 3" {
		t.Fatalf("after the replay Badger holds %q, %v for the held key; want %q", v, ok, "journey 3")
	}
	if !bytes.Contains([]byte(lb.String()), []byte("write-ahead log replayed")) {
		t.Fatalf("no replay logged:\n%s", lb.String())
	}
}

// TestHeldOpsGoToBadgerWhenDue: with no further writes, the held ops reach Badger once their
// hold ends, the overlay empties, and the log segment of their records can go.
func TestHeldOpsGoToBadgerWhenDue(t *testing.T) {
	dir := t.TempDir()
	db, _ := openLogged(t, dir, Options{holdFor: 300 * time.Millisecond})
	defer db.Close()
	writeRewrites(t, db)
	waitApplied(t, db)
	if v, ok := inBadger(t, db, "hot"); !ok || string(v) != "journey 2" {
		t.Fatalf("Badger holds %q, %v for the held key after its hold; want %q", v, ok, "journey 2")
	}
	if pos, err := readApplied(db.db); err != nil || pos != 4 {
		t.Fatalf("stored position = %d, %v; want 4", pos, err)
	}
	mustGet(t, db, "hot", "journey 2")
}

// TestCloseWritesHeldOps: Close writes the held ops to Badger before it removes the log.
func TestCloseWritesHeldOps(t *testing.T) {
	dir := t.TempDir()
	db, _ := openLogged(t, dir, Options{holdFor: time.Hour})
	writeRewrites(t, db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := listSegments(dir + "/" + WALDir)
	if err != nil || len(segs) != 0 {
		t.Fatalf("log segments after Close: %v, %v; want none", segs, err)
	}
	db, lb := openLogged(t, dir, Options{holdFor: time.Hour})
	defer db.Close()
	mustGet(t, db, "hot", "journey 2")
	if v, ok := inBadger(t, db, "hot"); !ok || string(v) != "journey 2" {
		t.Fatalf("Badger holds %q, %v after Close; want %q", v, ok, "journey 2")
	}
	if bytes.Contains([]byte(lb.String()), []byte("replayed")) {
		t.Fatalf("a replay after a clean Close:\n%s", lb.String())
	}
}

// TestHeldDeleteHidesAndErases: a delete of a held key (an erase) hides it at once and
// removes it from Badger when the hold ends, though Badger held an older value.
func TestHeldDeleteHidesAndErases(t *testing.T) {
	dir := t.TempDir()
	db, _ := openLogged(t, dir, Options{holdFor: time.Hour})
	set(t, db, "hot", "old")
	waitApplied(t, db) // written once: in Badger
	if _, ok := inBadger(t, db, "hot"); !ok {
		t.Fatal("a key written once is not in Badger")
	}
	set(t, db, "hot", "new")
	if err := db.Write([]Op{{Key: []byte("hot"), Delete: true}}); err != nil {
		t.Fatal(err)
	}
	waitRecordsApplied(t, db, 3)
	if _, err := db.Get([]byte("hot"), nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of a deleted held key = %v, want ErrNotFound", err)
	}
	if v, ok := inBadger(t, db, "hot"); !ok || string(v) != "old" {
		t.Fatalf("Badger holds %q, %v while the delete is held; want the old value", v, ok)
	}
	n := 0
	if err := db.Scan(nil, nil, func(k, v []byte) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("Scan saw %d keys, %v; want none", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, _ = openLogged(t, dir, Options{holdFor: time.Hour})
	defer db.Close()
	if _, ok := inBadger(t, db, "hot"); ok {
		t.Fatal("the erased key is still in Badger after Close wrote the held delete")
	}
}

// TestNoHoldWritesEveryBatch: with holding off, a rewritten key goes to Badger with its
// batch, as before.
func TestNoHoldWritesEveryBatch(t *testing.T) {
	db, _ := openLogged(t, t.TempDir(), Options{holdFor: -1})
	defer db.Close()
	writeRewrites(t, db)
	waitApplied(t, db)
	if v, ok := inBadger(t, db, "hot"); !ok || string(v) != "journey 2" {
		t.Fatalf("Badger holds %q, %v; want %q", v, ok, "journey 2")
	}
}

// TestHeldOpKeepsItsSegment: a log segment that holds a held op is not deleted when later
// segments' records are applied, so a crash after rotations still replays the held op.
func TestHeldOpKeepsItsSegment(t *testing.T) {
	dir := t.TempDir()
	db, _ := openLogged(t, dir, Options{holdFor: time.Hour, SegmentSize: walMinSegment})
	writeRewrites(t, db)
	big := bytes.Repeat([]byte("x"), 1<<10)
	for i := range 300 {
		if err := db.Write([]Op{{Key: fmt.Appendf(nil, "big%03d", i), Value: big}}); err != nil {
			t.Fatal(err)
		}
	}
	waitRecordsApplied(t, db, 304)
	segs, err := listSegments(dir + "/" + WALDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 3 || segs[0].firstSeq != 1 {
		t.Fatalf("segments %v: want the first (with the held op) kept beside at least two later ones", segs)
	}
	db.crash()

	db, _ = openLogged(t, dir, Options{holdFor: time.Hour})
	defer db.Close()
	mustGet(t, db, "hot", "journey 2")
	if v, ok := inBadger(t, db, "big299"); !ok || !bytes.Equal(v, big) {
		t.Fatal("the last write is not in Badger after the replay")
	}
}
