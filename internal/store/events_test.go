package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// evOpts is a small store with an event store for keys starting with 'e'.
var evOpts = Options{Small: true, EventPrefix: 'e'}

// eventKey is the i-th event key of the tests: 'e', then i as 8 bytes (time order).
func eventKey(i int) []byte {
	return binary.BigEndian.AppendUint64([]byte{'e'}, uint64(i))
}

func eventValue(i int) []byte {
	return []byte(fmt.Sprintf("event %06d %s", i, strings.Repeat("x", 200)))
}

// rawGet reads key straight from one Badger instance at its newest version.
func rawGet(t *testing.T, db *badger.DB, key []byte) (val []byte, expiresAt uint64, ok bool) {
	t.Helper()
	txn := db.NewTransactionAt(math.MaxUint64, false)
	defer txn.Discard()
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, 0, false
	}
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	val, err = item.ValueCopy(nil)
	if err != nil {
		t.Fatal(err)
	}
	return val, item.ExpiresAt(), true
}

// scanAll returns the keys and values of [start, end) as "key=value" lines.
func scanAll(t *testing.T, db *DB, start, end []byte) []string {
	t.Helper()
	var out []string
	err := db.Scan(start, end, func(k, v []byte) error {
		out = append(out, fmt.Sprintf("%x=%s", k, v))
		return nil
	})
	if err != nil {
		t.Fatalf("Scan(%q, %q): %v", start, end, err)
	}
	return out
}

// TestEventKeysGoToTheEventStore: keys of the prefix are applied to the event store, their
// values to its value log; every other key to the main instance; reads find both.
func TestEventKeysGoToTheEventStore(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, evOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 4000 // about 1 MB of event values
	for i := 0; i < n; i += 100 {
		var ops []Op
		for j := i; j < i+100; j++ {
			ops = append(ops, Op{Key: eventKey(j), Value: eventValue(j)})
		}
		ops = append(ops, Op{Key: []byte(fmt.Sprintf("v%06d", i)), Value: []byte("journey")})
		if err := db.Write(ops); err != nil {
			t.Fatal(err)
		}
	}
	waitApplied(t, db)
	for _, i := range []int{0, 1, n / 2, n - 1} {
		if v, _, ok := rawGet(t, db.ev, eventKey(i)); !ok || !bytes.Equal(v, eventValue(i)) {
			t.Errorf("event store: event %d = %q, %v; want it there", i, v, ok)
		}
		if _, _, ok := rawGet(t, db.db, eventKey(i)); ok {
			t.Errorf("main instance holds event %d; want it only in the event store", i)
		}
		got, err := db.Get(eventKey(i), nil)
		if err != nil || !bytes.Equal(got, eventValue(i)) {
			t.Errorf("Get(event %d) = %q, %v", i, got, err)
		}
	}
	if _, _, ok := rawGet(t, db.db, []byte("v000100")); !ok {
		t.Error("main instance lacks v000100")
	}
	if _, _, ok := rawGet(t, db.ev, []byte("v000100")); ok {
		t.Error("event store holds v000100; want only keys of its prefix")
	}
	keys := [][]byte{[]byte("v000000"), eventKey(7), []byte("missing"), eventKey(n + 5), eventKey(8)}
	found := map[int]string{}
	if err := db.GetMany(keys, func(i int, v []byte) error { found[i] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(found) != 3 || found[0] != "journey" || found[1] != string(eventValue(7)) || found[4] != string(eventValue(8)) {
		t.Errorf("GetMany found %v; want keys 0, 1 and 4", found)
	}
	// The records' bytes are in the event store's value log, not its tree.
	var vlog int64
	matches, _ := filepath.Glob(filepath.Join(dir, EventDir, "*.vlog"))
	for _, m := range matches {
		vlog += diskUsage(m)
	}
	if want := int64(n * len(eventValue(0))); vlog < want {
		t.Errorf("the event store's value log takes %d bytes; want the %d bytes of the records", vlog, want)
	}
	if p, err := eventPrefix(dir); p != 'e' || err != nil {
		t.Errorf("recorded prefix = %q, %v; want 'e'", p, err)
	}
}

// TestEventPrefixRecorded: a later Open without a prefix routes the same keys (a report
// opening a stopped server's directory reads its events); one with another is refused.
func TestEventPrefixRecorded(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, evOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Write([]Op{{Key: eventKey(1), Value: eventValue(1)}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, Options{Small: true, EventPrefix: 'x'}); err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Fatalf("Open with another prefix: %v; want an error naming the prefix", err)
	}
	db, err = Open(dir, Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.ev == nil || db.prefix != 'e' {
		t.Fatalf("Open without a prefix: event store %v, prefix %q; want the recorded 'e'", db.ev != nil, db.prefix)
	}
	if got, err := db.Get(eventKey(1), nil); err != nil || !bytes.Equal(got, eventValue(1)) {
		t.Errorf("Get(event 1) = %q, %v", got, err)
	}
	if err := db.Write([]Op{{Key: eventKey(2), Value: eventValue(2)}}); err != nil {
		t.Fatal(err)
	}
	waitApplied(t, db)
	if _, _, ok := rawGet(t, db.ev, eventKey(2)); !ok {
		t.Error("a write after an Open without a prefix did not reach the event store")
	}
}

// TestScanAcrossEventBoundary: scans that start before, inside or after the event prefix,
// or end inside it, see the keys of both instances and of the overlay, once each, in order.
func TestScanAcrossEventBoundary(t *testing.T) {
	db, err := Open(t.TempDir(), evOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var applied []Op
	for i := 0; i < 20; i++ {
		applied = append(applied, Op{Key: eventKey(i), Value: eventValue(i)})
	}
	applied = append(applied,
		Op{Key: []byte("d1"), Value: []byte("d")}, Op{Key: []byte("f1"), Value: []byte("f")},
		Op{Key: []byte("a1"), Value: []byte("a")}, Op{Key: []byte("z1"), Value: []byte("z")})
	if err := db.Write(applied); err != nil {
		t.Fatal(err)
	}
	// Then, held in the overlay: a new event, a deleted one, a rewritten one, and keys
	// on both sides.
	db.pauseApply(t)
	if err := db.Write([]Op{
		{Key: eventKey(25), Value: eventValue(25)}, {Key: eventKey(3), Delete: true},
		{Key: eventKey(4), Value: []byte("rewritten")}, {Key: []byte("d2"), Value: []byte("d")},
		{Key: []byte("f0"), Value: []byte("f")},
	}); err != nil {
		t.Fatal(err)
	}
	want := func(from, to []byte) []string {
		m := map[string]string{}
		for _, op := range applied {
			m[string(op.Key)] = string(op.Value)
		}
		delete(m, string(eventKey(3)))
		m[string(eventKey(4))] = "rewritten"
		m[string(eventKey(25))] = string(eventValue(25))
		m["d2"], m["f0"] = "d", "f"
		var out []string
		for k, v := range m {
			if k >= string(from) && (to == nil || k < string(to)) {
				out = append(out, fmt.Sprintf("%x=%s", k, v))
			}
		}
		sortStrings(out)
		return out
	}
	cases := [][2][]byte{
		{nil, nil}, {[]byte("d"), []byte("g")}, {[]byte("e"), []byte("f")},
		{eventKey(2), eventKey(10)}, {[]byte("d2"), eventKey(5)}, {eventKey(18), []byte("f1")},
		{eventKey(10), nil}, {[]byte("f"), nil}, {[]byte("a"), []byte("e")},
	}
	for _, c := range cases {
		got := scanAll(t, db, c[0], c[1])
		if w := want(c[0], c[1]); strings.Join(got, "\n") != strings.Join(w, "\n") {
			t.Errorf("Scan(%q, %q):\n%s\nwant\n%s", c[0], c[1], strings.Join(got, "\n"), strings.Join(w, "\n"))
		}
	}
	// A scan stopped inside the event range ends without error.
	n := 0
	err = db.Scan([]byte("d"), nil, func(k, _ []byte) error {
		if n++; n == 5 {
			return ErrStop
		}
		return nil
	})
	if err != nil || n != 5 {
		t.Errorf("stopped scan: %d keys, %v; want 5, nil", n, err)
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// appliedPos reads the log position one instance has applied.
func appliedPos(t *testing.T, db *badger.DB) uint64 {
	t.Helper()
	p, err := readApplied(db)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCrashBetweenTheTwoApplies: a crash after the event store took a batch and before the
// main instance did (here: the main instance's write fails, and the process dies) leaves
// the event store ahead; the replay gives the main instance what it lacks, and no write is
// lost or doubled. The reverse (the event store behind) replays into the event store.
func TestCrashBetweenTheTwoApplies(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, evOpts)
	if err != nil {
		t.Fatal(err)
	}
	writeKeys(t, db, 0, 10)
	if err := db.Write([]Op{{Key: eventKey(1), Value: eventValue(1)}, {Key: eventKey(2), Value: eventValue(2)}}); err != nil {
		t.Fatal(err)
	}
	waitApplied(t, db)
	db.ap.beforeMain = func() error { return errors.New("killed between the two applies") }
	writeKeys(t, db, 10, 20)
	if err := db.Write([]Op{{Key: eventKey(3), Value: eventValue(3)}, {Key: eventKey(1), Delete: true}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for appliedPos(t, db.ev) <= appliedPos(t, db.db) {
		if time.Now().After(deadline) {
			t.Fatal("the event store never got ahead of the main instance")
		}
		time.Sleep(10 * time.Millisecond)
	}
	evPos, mainPos := appliedPos(t, db.ev), appliedPos(t, db.db)
	if _, _, ok := rawGet(t, db.db, []byte("k00015")); ok {
		t.Fatal("the main instance holds k00015; its apply was to fail")
	}
	db.crash()

	db, lb := openLogged(t, dir, evOpts)
	if !strings.Contains(lb.String(), "write-ahead log replayed") {
		t.Errorf("no replay logged:\n%s", lb.String())
	}
	if got := appliedPos(t, db.db); got != evPos {
		t.Errorf("after the replay the main instance is at %d (was %d); want the event store's %d", got, mainPos, evPos)
	}
	checkKeys(t, db, 0, 20)
	if ok, _ := has(db, eventKey(1)); ok {
		t.Error("event 1 is back; it was deleted")
	}
	for _, i := range []int{2, 3} {
		if got, err := db.Get(eventKey(i), nil); err != nil || !bytes.Equal(got, eventValue(i)) {
			t.Errorf("event %d = %q, %v", i, got, err)
		}
	}
	// The reverse: the event store loses a batch the main instance has (its position and
	// the event set back); the replay gives it the batch again.
	db.pauseApply(t)
	if err := db.Write([]Op{{Key: eventKey(4), Value: eventValue(4)}, {Key: []byte("k00030"), Value: []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	db.crash()
	walDir := filepath.Join(dir, WALDir)
	saved := t.TempDir()
	copyDir(t, walDir, saved)
	db, _ = openLogged(t, dir, evOpts)
	db.pauseApply(t)
	pos := appliedPos(t, db.ev)
	txn := db.ev.NewTransactionAt(math.MaxUint64, true)
	if err := txn.Delete(eventKey(4)); err != nil {
		t.Fatal(err)
	}
	if err := txn.Set(appliedKey, binary.BigEndian.AppendUint64(nil, pos-1)); err != nil {
		t.Fatal(err)
	}
	db.ap.ts++
	if err := txn.CommitAt(db.ap.ts, nil); err != nil {
		t.Fatal(err)
	}
	db.crash()
	for _, e := range mustReadDir(t, walDir) {
		_ = os.Remove(filepath.Join(walDir, e.Name()))
	}
	copyDir(t, saved, walDir)
	db, lb = openLogged(t, dir, evOpts)
	defer db.Close()
	if !strings.Contains(lb.String(), "writes=1 ") {
		t.Errorf("the replay did not apply the one write the event store lacked:\n%s", lb.String())
	}
	if got, err := db.Get(eventKey(4), nil); err != nil || !bytes.Equal(got, eventValue(4)) {
		t.Errorf("event 4 after the replay = %q, %v", got, err)
	}
	if got, _ := db.Get([]byte("k00030"), nil); string(got) != "v" {
		t.Errorf("k00030 = %q; want v", got)
	}
	if p, q := appliedPos(t, db.ev), appliedPos(t, db.db); p != q || p != pos {
		t.Errorf("positions after the replay: event store %d, main %d; want both %d", p, q, pos)
	}
}

// TestEventEraseAndExpiry: deleted and expired events are gone from reads and scans, and the
// event store's value-log garbage collection gives their space back once a compaction has
// seen the deletes and the expiries.
func TestEventEraseAndExpiry(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, evOpts)
	if err != nil {
		t.Fatal(err)
	}
	value := bytes.Repeat([]byte("r"), 1000)
	// 60 MB: four of the test profile's 16 MiB value-log files. The first half expires in
	// 2 s (retention), the second half but its last 1,000 events is erased.
	const n, expiring, kept = 60000, 30000, 1000
	for i := 0; i < n; i += 500 {
		var ops []Op
		for j := i; j < i+500; j++ {
			op := Op{Key: eventKey(j), Value: value}
			if j < expiring {
				op.TTL = 2 * time.Second
			}
			ops = append(ops, op)
		}
		if err := db.Write(ops); err != nil {
			t.Fatal(err)
		}
	}
	expires := time.Now().Add(2 * time.Second)
	waitApplied(t, db)
	_, before, _ := db.Sizes()
	for i := expiring; i < n-kept; i += 1000 {
		var ops []Op
		for j := i; j < i+1000; j++ {
			ops = append(ops, Op{Key: eventKey(j), Delete: true})
		}
		if err := db.Write(ops); err != nil {
			t.Fatal(err)
		}
	}
	waitApplied(t, db)
	if ok, _ := has(db, eventKey(expiring+5)); ok {
		t.Error("erased event still read")
	}
	time.Sleep(time.Until(expires) + 1100*time.Millisecond) // Badger's expiry has one-second resolution
	if ok, _ := has(db, eventKey(5)); ok {
		t.Error("event past its TTL still read")
	}
	if got := len(scanAll(t, db, []byte("e"), []byte("f"))); got != kept {
		t.Errorf("scan after the erase and the expiry: %d events; want the %d kept", got, kept)
	}
	// Compactions count what the deletes free; close (flushing the memtables), reopen and
	// compact everything, as the store's steady compactions do over time.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, evOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.ev.Flatten(1); err != nil {
		t.Fatal(err)
	}
	for db.ev.RunValueLogGC(0.5) == nil {
	}
	_, after, _ := db.Sizes()
	t.Logf("value logs: %d MiB before the erase and the expiry, %d MiB after them and the garbage collection", before>>20, after>>20)
	if after > before/4 {
		t.Errorf("value logs take %d bytes after half of %d bytes expired and half was erased (but 1,000 events); want most of it reclaimed", after, before)
	}
	if got := len(scanAll(t, db, []byte("e"), []byte("f"))); got != kept {
		t.Errorf("scan after the garbage collection: %d events; want %d", got, kept)
	}
	if got, err := db.Get(eventKey(n-1), nil); err != nil || !bytes.Equal(got, value) {
		t.Errorf("event %d after the garbage collection = %d bytes, %v", n-1, len(got), err)
	}
}

// TestEventsMovedFromMain: a directory written before the event store existed keeps its
// event keys readable from the first moment, deletes reach them, and they move to the event
// store in the background, expiry kept; a restart in the middle of the move is safe.
func TestEventsMovedFromMain(t *testing.T) {
	dir := t.TempDir()
	old, err := Open(dir, Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for i := 0; i < n; i += 250 {
		var ops []Op
		for j := i; j < i+250; j++ {
			op := Op{Key: eventKey(j), Value: eventValue(j)}
			if j%10 == 0 {
				op.TTL = time.Hour
			}
			ops = append(ops, op)
		}
		if err := old.Write(ops); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Write([]Op{{Key: []byte("d1"), Value: []byte("d")}, {Key: []byte("f1"), Value: []byte("f")}}); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	_, exp10, _ := func() ([]byte, uint64, bool) {
		db, err := badger.OpenManaged(badger.DefaultOptions(dir).WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		return rawGet(t, db, eventKey(10))
	}()
	if exp10 == 0 {
		t.Fatal("event 10 has no expiry in the old directory")
	}

	holdMigration.Store(true)
	t.Cleanup(func() { holdMigration.Store(false) })
	db, err := Open(dir, evOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !db.ov.eventsInMain() {
		t.Fatal("Open did not notice the event keys in the main instance")
	}
	// Mid-move: reads find the old keys, a delete reaches them, new events go to the event
	// store, and a scan sees every key once.
	if got, err := db.Get(eventKey(42), nil); err != nil || !bytes.Equal(got, eventValue(42)) {
		t.Errorf("Get(event 42) before the move = %q, %v", got, err)
	}
	if err := db.Write([]Op{{Key: eventKey(7), Delete: true}, {Key: eventKey(n), Value: eventValue(n)}}); err != nil {
		t.Fatal(err)
	}
	waitApplied(t, db)
	if _, _, ok := rawGet(t, db.db, eventKey(7)); ok {
		t.Error("the main instance still holds event 7 after its delete")
	}
	checkEvents := func(db *DB) {
		t.Helper()
		lines := scanAll(t, db, []byte("d"), []byte("g"))
		if len(lines) != n+2 { // n+1 events less event 7, d1 and f1
			t.Errorf("scan: %d keys; want %d", len(lines), n+2)
		}
		seen := map[string]bool{}
		for _, l := range lines {
			if seen[l] {
				t.Errorf("scan: %s twice", l)
			}
			seen[l] = true
		}
		if ok, _ := has(db, eventKey(7)); ok {
			t.Error("event 7 is back")
		}
		for _, i := range []int{0, 10, 999, n - 1, n} {
			if got, err := db.Get(eventKey(i), nil); err != nil || !bytes.Equal(got, eventValue(i)) {
				t.Errorf("Get(event %d) = %q, %v", i, got, err)
			}
		}
	}
	checkEvents(db)
	// A move cut short by a crash: the first half copied into the event store, not yet
	// deleted from the main instance.
	db.pauseApply(t)
	for from := 0; from < n/2; from += 250 {
		txn := db.ev.NewTransactionAt(math.MaxUint64, true)
		for i := from; i < from+250; i++ {
			v, exp, ok := rawGet(t, db.db, eventKey(i))
			if !ok {
				continue
			}
			e := badger.NewEntry(eventKey(i), v)
			e.ExpiresAt = exp
			if err := txn.SetEntry(e); err != nil {
				t.Fatal(err)
			}
		}
		db.ap.ts++
		if err := txn.CommitAt(db.ap.ts, nil); err != nil {
			t.Fatal(err)
		}
	}
	db.crash()

	holdMigration.Store(false)
	db, lb := openLogged(t, dir, evOpts)
	defer db.Close()
	checkEvents(db) // at once, whatever the move has done
	deadline := time.Now().Add(20 * time.Second)
	for db.ov.eventsInMain() {
		if time.Now().After(deadline) {
			t.Fatalf("the move has not ended after 20 s (%d moved)", db.ap.mig.moved.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if hasPrefix(db.db, 'e') {
		t.Error("the main instance still holds event keys after the move")
	}
	if !strings.Contains(lb.String(), "moving them to the event store") || !strings.Contains(lb.String(), "event keys moved") {
		t.Errorf("the start and end of the move were not logged:\n%s", lb.String())
	}
	checkEvents(db)
	if _, exp, ok := rawGet(t, db.ev, eventKey(10)); !ok || exp != exp10 {
		t.Errorf("event 10 in the event store: expiry %d, %v; want %d as written", exp, ok, exp10)
	}
	if _, exp, _ := rawGet(t, db.ev, eventKey(11)); exp != 0 {
		t.Errorf("event 11 expires at %d; want never", exp)
	}
	if _, err := os.Stat(filepath.Join(dir, EventDir, prefixFile)); err != nil {
		t.Error(err)
	}
}

// TestEventStoreSyncWrites: with --sync-writes, log segments holding events are removed once
// both instances are synced, and a crash after that loses no event.
func TestEventStoreSyncWrites(t *testing.T) {
	dir := t.TempDir()
	opt := Options{Small: true, EventPrefix: 'e', SyncWrites: true, SegmentSize: walMinSegment}
	db, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 400; i++ { // about 100 KB of events: several 64 KiB segments
		if err := db.Write([]Op{{Key: eventKey(i), Value: eventValue(i)}, {Key: fmt.Appendf(nil, "k%05d", i), Value: []byte("v")}}); err != nil {
			t.Fatal(err)
		}
	}
	waitApplied(t, db)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, _, removed := db.Backlog(); removed > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no applied log segment was removed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	db.crash()
	db, err = Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := 0; i < 400; i++ {
		if got, err := db.Get(eventKey(i), nil); err != nil || !bytes.Equal(got, eventValue(i)) {
			t.Fatalf("event %d after the crash = %q, %v", i, got, err)
		}
	}
}
