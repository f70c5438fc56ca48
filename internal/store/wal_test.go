package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// crash stops the store as a killed process would leave it: whatever the applier has not
// applied stays in the log only. (Badger itself is closed, which flushes what it was given,
// as its own write-ahead log would replay it.)
func (s *DB) crash() {
	s.ap.halt.Store(true)
	s.cancel()
	s.wg.Wait()
	s.com.close()
	_ = s.ap.close()
	_ = s.wal.close()
	if s.ev != nil {
		_ = s.ev.Close()
	}
	_ = s.db.Close()
	s.closed = true
}

// pauseApply stops the applier; later writes stay in the log and the overlay.
func (s *DB) pauseApply(t *testing.T) {
	t.Helper()
	waitApplied(t, s)
	s.ap.halt.Store(true)
	s.ap.wake <- struct{}{}
	time.Sleep(2 * applyDelay)
}

// waitApplied waits until the overlay is empty: everything written is in Badger.
func waitApplied(t *testing.T, s *DB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.ov.size() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the overlay still holds %d bytes after 10s", s.ov.size())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// logBuffer collects a store's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func openLogged(t *testing.T, dir string, opt Options) (*DB, *logBuffer) {
	t.Helper()
	lb := new(logBuffer)
	opt.Small = true
	opt.Logger = slog.New(slog.NewTextHandler(lb, nil))
	db, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open(%q) = %v", dir, err)
	}
	return db, lb
}

func kv(i int) ([]byte, []byte) {
	return fmt.Appendf(nil, "k%05d", i), fmt.Appendf(nil, "value of %d", i)
}

// writeKeys writes keys [from, to) one write each.
func writeKeys(t *testing.T, db *DB, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		k, v := kv(i)
		if err := db.Write([]Op{{Key: k, Value: v}}); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
}

// checkKeys fails the test for every key of [from, to) that is not there with its value.
func checkKeys(t *testing.T, db *DB, from, to int) {
	t.Helper()
	missing := 0
	for i := from; i < to; i++ {
		k, v := kv(i)
		got, err := db.Get(k, nil)
		if err != nil || !bytes.Equal(got, v) {
			if missing < 5 {
				t.Errorf("Get(%s) = %q, %v; want %q", k, got, err, v)
			}
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d keys missing", missing, to-from)
	}
}

// TestReplayAfterCrash: writes acknowledged but not applied when the process dies are in
// Badger after the next Open, deletes and expiries included.
func TestReplayAfterCrash(t *testing.T) {
	dir := t.TempDir()
	db, _ := openLogged(t, dir, Options{})
	writeKeys(t, db, 0, 100)
	db.pauseApply(t)
	writeKeys(t, db, 100, 300)
	if err := db.Write([]Op{{Key: []byte("k00005"), Delete: true}, {Key: []byte("ttl"), Value: []byte("x"), TTL: time.Hour}}); err != nil {
		t.Fatal(err)
	}
	if db.ov.size() == 0 {
		t.Fatal("the overlay is empty with the applier stopped; want the writes waiting there")
	}
	db.crash()

	db, lb := openLogged(t, dir, Options{})
	defer db.Close()
	if !strings.Contains(lb.String(), "write-ahead log replayed") {
		t.Errorf("Open after a crash did not log the replay:\n%s", lb.String())
	}
	if db.ov.size() != 0 {
		t.Errorf("the overlay holds %d bytes after Open; want the replay in Badger", db.ov.size())
	}
	checkKeys(t, db, 0, 5)
	checkKeys(t, db, 6, 300)
	if ok, err := has(db, []byte("k00005")); ok || err != nil {
		t.Errorf("the deleted key is back after the replay (%v)", err)
	}
	if ok, err := has(db, []byte("ttl")); !ok || err != nil {
		t.Errorf("the key with a TTL is missing after the replay (%v)", err)
	}
	segs, _ := listSegments(filepath.Join(dir, WALDir))
	if len(segs) != 1 {
		t.Errorf("%d log segments after the replay; want only the fresh one", len(segs))
	}
}

// lastSegment returns the path of the newest segment of the store in dir.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, err := listSegments(filepath.Join(dir, WALDir))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no log segment in %s (%v)", dir, err)
	}
	return segs[len(segs)-1].path
}

// writtenEnd returns the offset just past the last record of the segment at path.
func writtenEnd(t *testing.T, path string) int64 {
	t.Helper()
	var end int64
	f, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for end+walHeader <= int64(len(f)) {
		n := binary.LittleEndian.Uint32(f[end:])
		if n == 0 {
			break
		}
		end += walHeader + int64(n)
	}
	return end
}

// TestTornTailIsSkipped: a record cut short by a crash in the middle of its write is not
// replayed, everything before it is, the place is logged, and new writes go to a fresh
// segment that a later replay reads too.
func TestTornTailIsSkipped(t *testing.T) {
	dir := t.TempDir()
	db, _ := openLogged(t, dir, Options{})
	db.pauseApply(t)
	writeKeys(t, db, 0, 50)
	db.crash()

	// A torn write: the header of a 300-byte record, and only 100 bytes of its body.
	seg := lastSegment(t, dir)
	end := writtenEnd(t, seg)
	f, err := os.OpenFile(seg, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	torn := make([]byte, walHeader+100)
	binary.LittleEndian.PutUint32(torn, 300)
	binary.LittleEndian.PutUint32(torn[4:], 12345)
	for i := walHeader; i < len(torn); i++ {
		torn[i] = 0xAB
	}
	if _, err := f.WriteAt(torn, end); err != nil {
		t.Fatal(err)
	}
	f.Close()

	db, lb := openLogged(t, dir, Options{})
	checkKeys(t, db, 0, 50)
	if out := lb.String(); !strings.Contains(out, "not intact") || !strings.Contains(out, filepath.Base(seg)) ||
		!strings.Contains(out, fmt.Sprintf("offset=%d", end)) {
		t.Errorf("the torn record was not logged with its segment and offset %d:\n%s", end, out)
	}
	db.pauseApply(t)
	writeKeys(t, db, 50, 80)
	db.crash()

	db, _ = openLogged(t, dir, Options{})
	defer db.Close()
	checkKeys(t, db, 0, 80)
}

// TestCorruptRecordStopsReplay: a record whose checksum does not match stops the replay of
// its segment there, with a log line naming the segment, the offset and the reason; the
// records before it are replayed.
func TestCorruptRecordStopsReplay(t *testing.T) {
	dir := t.TempDir()
	db, _ := openLogged(t, dir, Options{})
	db.pauseApply(t)
	writeKeys(t, db, 0, 20)
	seg := lastSegment(t, dir)
	tenth := writtenEnd(t, seg) // the end of 20 records; find the start of the 11th
	db.crash()
	raw, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	var off int64
	for range 10 {
		off += walHeader + int64(binary.LittleEndian.Uint32(raw[off:]))
	}
	if off >= tenth {
		t.Fatalf("record 11 starts at %d, past the written end %d", off, tenth)
	}
	raw[off+walHeader+3] ^= 0xFF // a flipped byte in the body of record 11
	if err := os.WriteFile(seg, raw, 0o644); err != nil {
		t.Fatal(err)
	}

	db, lb := openLogged(t, dir, Options{})
	defer db.Close()
	checkKeys(t, db, 0, 10)
	for i := 10; i < 20; i++ {
		k, _ := kv(i)
		if ok, _ := has(db, k); ok {
			t.Errorf("key %s, at or after the damaged record, was replayed", k)
		}
	}
	if out := lb.String(); !strings.Contains(out, "checksum mismatch") || !strings.Contains(out, fmt.Sprintf("offset=%d", off)) {
		t.Errorf("the damaged record was not logged with its offset %d and reason:\n%s", off, out)
	}
}

// TestRotationAndRemoval: with small segments, writes spread over many; applied segments are
// deleted while the store runs, and a crash with several unapplied segments loses nothing.
func TestRotationAndRemoval(t *testing.T) {
	dir := t.TempDir()
	db, _ := openLogged(t, dir, Options{SegmentSize: walMinSegment})
	big := bytes.Repeat([]byte{'v'}, 2000)
	write := func(from, to int) {
		for i := from; i < to; i++ {
			if err := db.Write([]Op{{Key: fmt.Appendf(nil, "big%05d", i), Value: big}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(0, 200) // about 400 KB: several 64 KiB segments
	waitApplied(t, db)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, removed := db.Backlog()
		if removed > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no applied log segment was removed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	db.pauseApply(t)
	write(200, 400)
	segs, _ := listSegments(filepath.Join(dir, WALDir))
	if len(segs) < 4 {
		t.Fatalf("%d log segments hold 400 KB of unapplied writes; want several of 64 KiB", len(segs))
	}
	db.crash()

	db, _ = openLogged(t, dir, Options{SegmentSize: walMinSegment})
	defer db.Close()
	for i := range 400 {
		got, err := db.Get(fmt.Appendf(nil, "big%05d", i), nil)
		if err != nil || !bytes.Equal(got, big) {
			t.Fatalf("Get(big%05d) = %d bytes, %v; want %d", i, len(got), err, len(big))
		}
	}
}

// TestReplayIsIdempotent: replaying records Badger already holds (a crash after the apply
// but before the position was stored can only be that) changes nothing: later writes of the
// log still win, and expiries stay what they were.
func TestReplayIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	db, _ := openLogged(t, dir, Options{})
	db.pauseApply(t)
	writeKeys(t, db, 0, 30)
	ops := []Op{
		{Key: []byte("k00003"), Delete: true},
		{Key: []byte("k00004"), Value: []byte("rewritten")},
		{Key: []byte("ttl"), Value: []byte("x"), TTL: time.Hour},
	}
	if err := db.Write(ops); err != nil {
		t.Fatal(err)
	}
	db.crash()
	walDir := filepath.Join(dir, WALDir)
	saved := t.TempDir()
	copyDir(t, walDir, saved)

	check := func(db *DB) {
		t.Helper()
		checkKeys(t, db, 5, 30)
		if ok, _ := has(db, []byte("k00003")); ok {
			t.Error("k00003 is back; it was deleted after it was written")
		}
		if got, _ := db.Get([]byte("k00004"), nil); string(got) != "rewritten" {
			t.Errorf("k00004 = %q; want the later write, rewritten", got)
		}
	}
	expiry := func(db *DB) uint64 {
		txn := db.db.NewTransactionAt(math.MaxUint64, false)
		defer txn.Discard()
		item, err := txn.Get([]byte("ttl"))
		if err != nil {
			t.Fatalf("ttl: %v", err)
		}
		return item.ExpiresAt()
	}
	db, _ = openLogged(t, dir, Options{})
	check(db)
	exp1 := expiry(db)
	db.crash()

	// The same log again, with the position set back to before it.
	for _, e := range mustReadDir(t, walDir) {
		_ = os.Remove(filepath.Join(walDir, e.Name()))
	}
	copyDir(t, saved, walDir)
	db, _ = openLogged(t, dir, Options{})
	db.pauseApply(t)
	txn := db.db.NewTransactionAt(math.MaxUint64, true)
	if err := txn.Set(appliedKey, make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	db.ap.ts++
	if err := txn.CommitAt(db.ap.ts, nil); err != nil {
		t.Fatal(err)
	}
	db.crash()
	copyDir(t, saved, walDir)
	time.Sleep(1100 * time.Millisecond) // a TTL recomputed at replay would differ now

	db, lb := openLogged(t, dir, Options{})
	defer db.Close()
	if !strings.Contains(lb.String(), "writes=31") {
		t.Errorf("the second replay did not apply all 31 writes again:\n%s", lb.String())
	}
	check(db)
	if exp2 := expiry(db); exp2 != exp1 {
		t.Errorf("the expiry after a second replay is %d; want %d, as written", exp2, exp1)
	}
}

func mustReadDir(t *testing.T, dir string) []os.DirEntry {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ents
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	for _, e := range mustReadDir(t, from) {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOverlayReadsAndScan: writes not yet applied are read from the overlay; a scan merges
// them with Badger's keys in order, and the overlay's deletes and expired entries hide
// Badger's values.
func TestOverlayReadsAndScan(t *testing.T) {
	db, _ := openLogged(t, t.TempDir(), Options{})
	defer db.Close()
	for _, k := range []string{"a1", "a3", "a5", "a7", "b1"} {
		if err := db.Write([]Op{{Key: []byte(k), Value: []byte("badger " + k)}}); err != nil {
			t.Fatal(err)
		}
	}
	db.pauseApply(t)
	ops := []Op{
		{Key: []byte("a2"), Value: []byte("overlay a2")},
		{Key: []byte("a3"), Value: []byte("overlay a3")},
		{Key: []byte("a5"), Delete: true},
		{Key: []byte("a7"), Value: []byte("short-lived"), TTL: time.Second},
		{Key: []byte("a9"), Value: []byte("overlay a9")},
		{Key: []byte("b0"), Value: []byte("overlay b0")},
	}
	if err := db.Write(ops); err != nil {
		t.Fatal(err)
	}
	scan := func(start, end string) string {
		var got []string
		var e []byte
		if end != "" {
			e = []byte(end)
		}
		err := db.Scan([]byte(start), e, func(k, v []byte) error {
			got = append(got, string(k)+"="+string(v))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, ",")
	}
	want := "a1=badger a1,a2=overlay a2,a3=overlay a3,a7=short-lived,a9=overlay a9"
	if got := scan("a", "b"); got != want {
		t.Errorf("Scan(a, b) =\n %s\nwant\n %s", got, want)
	}
	if got := scan("a4", ""); got != "a7=short-lived,a9=overlay a9,b0=overlay b0,b1=badger b1" {
		t.Errorf("Scan(a4, nil) = %s", got)
	}
	if got, err := db.Get([]byte("a3"), nil); err != nil || string(got) != "overlay a3" {
		t.Errorf("Get(a3) = %q, %v; want the overlay's value", got, err)
	}
	if _, err := db.Get([]byte("a5"), nil); err != ErrNotFound {
		t.Errorf("Get(a5) after its delete = %v; want ErrNotFound", err)
	}
	var many []string
	err := db.GetMany([][]byte{[]byte("a1"), []byte("a2"), []byte("a5"), []byte("zz")}, func(i int, v []byte) error {
		many = append(many, fmt.Sprintf("%d=%s", i, v))
		return nil
	})
	if err != nil || strings.Join(many, ",") != "0=badger a1,1=overlay a2" {
		t.Errorf("GetMany = %v, %v; want a1 from Badger and a2 from the overlay", many, err)
	}
	// Stop at the second key: ErrStop ends the merge without error.
	n := 0
	if err := db.Scan([]byte("a"), nil, func(k, v []byte) error {
		n++
		if n == 2 {
			return ErrStop
		}
		return nil
	}); err != nil || n != 2 {
		t.Errorf("Scan stopped at the second key: %d calls, %v; want 2, nil", n, err)
	}
	time.Sleep(2100 * time.Millisecond)
	if got := scan("a", "b"); got != "a1=badger a1,a2=overlay a2,a3=overlay a3,a9=overlay a9" {
		t.Errorf("Scan(a, b) after a7 expired = %s", got)
	}
	if _, err := db.Get([]byte("a7"), nil); err != ErrNotFound {
		t.Errorf("Get(a7) after its TTL = %v; want ErrNotFound", err)
	}
}

// TestBacklogLimit: with the applier stopped, writes beyond the backlog limit wait and then
// fail with ErrBacklog instead of growing memory without bound.
func TestBacklogLimit(t *testing.T) {
	db, _ := openLogged(t, t.TempDir(), Options{MaxBacklog: 64 << 10})
	defer db.crash()
	db.pauseApply(t)
	big := bytes.Repeat([]byte{'x'}, 8<<10)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = db.Write([]Op{{Key: fmt.Appendf(nil, "k%d", i), Value: big}})
	}
	if err != ErrBacklog {
		t.Fatalf("writes past the backlog limit: %v; want ErrBacklog", err)
	}
	if _, _, waited := db.SlowedWrites(); waited == 0 {
		t.Errorf("a write refused with ErrBacklog was not counted as waiting at the bound")
	}
	if b, _, _ := db.Backlog(); b > 64<<10+2*(8<<10+entryOverhead+16) {
		t.Errorf("the overlay holds %d bytes; want about the limit of 64 KiB", b)
	}
}

// TestHiddenPositionKey: the store's own position key is neither scanned nor read.
func TestHiddenPositionKey(t *testing.T) {
	db, _ := openLogged(t, t.TempDir(), Options{})
	defer db.Close()
	writeKeys(t, db, 0, 3)
	waitApplied(t, db)
	n := 0
	if err := db.Scan(nil, nil, func(k, _ []byte) error {
		if bytes.Equal(k, appliedKey) {
			t.Error("Scan returned the applied-position key")
		}
		n++
		return nil
	}); err != nil || n != 3 {
		t.Errorf("Scan(nil, nil) = %d keys, %v; want 3", n, err)
	}
	if _, err := db.Get(appliedKey, nil); err != ErrNotFound {
		t.Errorf("Get(applied key) = %v; want ErrNotFound", err)
	}
}

// TestGatheringBatchWokenWhenFull: while the applier gathers a batch, writes that leave
// it short of eagerBytes do not wake it (a wake-up per group commit cost the hits' cores);
// the write that fills it does, once, and the batch is applied.
func TestGatheringBatchWokenWhenFull(t *testing.T) {
	db, _ := openLogged(t, t.TempDir(), Options{MaxBacklog: 1 << 20})
	defer db.crash()
	write := func(i int, v []byte) {
		t.Helper()
		if err := db.Write([]Op{{Key: fmt.Appendf(nil, "k%d", i), Value: v}}); err != nil {
			t.Fatal(err)
		}
	}
	small := bytes.Repeat([]byte{'s'}, 1<<10)
	eager := db.ap.eagerBytes()
	if eager < 64<<10 {
		t.Fatalf("eagerBytes %d: want room for the small writes", eager)
	}
	write(0, small)
	deadline := time.Now().Add(5 * time.Second)
	for {
		db.ap.mu.Lock()
		gathering := db.ap.gathering
		db.ap.mu.Unlock()
		if gathering {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the applier did not begin gathering a batch within 5s of a write")
		}
		time.Sleep(time.Millisecond)
	}
	gathered := time.Now() // the batch's applyDelay began before this
	woken := db.ap.gatherWakes.Load()
	for i := 1; i <= 20; i++ {
		write(i, small)
		time.Sleep(time.Millisecond) // a woken loop would run meanwhile
	}
	if n := db.ap.gatherWakes.Load() - woken; n != 0 {
		t.Errorf("20 writes that left the batch short woke the gathering applier %d times; want 0", n)
	}
	big := bytes.Repeat([]byte{'b'}, int(eager))
	filled := time.Since(gathered)
	write(21, big)
	waitApplied(t, db)
	// Unless applyDelay may have ended the gathering first (a machine so slow that the
	// writes took half of it), the write that filled the batch is what woke the loop.
	if filled < applyDelay/2 {
		if n := db.ap.gatherWakes.Load() - woken; n != 1 {
			t.Errorf("the write that filled the batch: the gathering applier woken %d times; want 1", n)
		}
	} else {
		t.Logf("the small writes took %s of the batch's %s: not checking what ended it", filled, applyDelay)
	}
	for i := 0; i <= 21; i++ {
		want := small
		if i == 21 {
			want = big
		}
		if v, err := db.Get(fmt.Appendf(nil, "k%d", i), nil); err != nil || !bytes.Equal(v, want) {
			t.Fatalf("k%d once applied: %d bytes, %v; want the %d written", i, len(v), err, len(want))
		}
	}
}
