package store

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSpanPrefix(t *testing.T) {
	for _, c := range []struct{ lo, hi, want string }{
		{"d\x01\x00", "d\x01\x01", "d\x01\x00"},
		{"d\x01", "d\x02", "d\x01"},
		{"d\x01\x00", "d\x02", "d\x01"},     // from within a prefix to its end
		{"d\x01\x00", "d\x03", ""},          // within no one prefix
		{"d\x01\xff", "d\x02", "d\x01\xff"}, // the end of a prefix ending in 0xff
		{"L\x80\x00\x00\x05", "M", "L"},     // a prefix's span, from within it
		{"a", "", ""},                       // to the last key
	} {
		var hi []byte
		if c.hi != "" {
			hi = []byte(c.hi)
		}
		if got := spanPrefix([]byte(c.lo), hi); string(got) != c.want {
			t.Errorf("spanPrefix(%q, %q) = %q; want %q", c.lo, c.hi, got, c.want)
		}
	}
	if got := prefixEnd([]byte("\xff\xff")); got != nil {
		t.Errorf("prefixEnd(ff ff) = %x; want nil", got)
	}
}

// TestScanRanges: a run of ranges chosen one after the other is read at one snapshot (the
// overlay's writes and deletes over Badger's), each range bounded to itself whether it is a
// prefix's span or not, and fn stopping ends the whole scan.
func TestScanRanges(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	k := func(day, area, n byte) []byte { return []byte{'d', day, area, n} }
	var ops []Op
	for day := byte(1); day <= 3; day++ {
		for n := byte(0); n < 4; n++ {
			ops = append(ops, Op{Key: k(day, 0, n), Value: []byte{day, 0, n}}, Op{Key: k(day, 5, n), Value: []byte{day, 5, n}})
		}
	}
	ops = append(ops, Op{Key: []byte("c"), Value: []byte("before")}, Op{Key: []byte("e"), Value: []byte("after")})
	if err := db.Write(ops); err != nil {
		t.Fatal(err)
	}
	// Deleted keys in Badger, in a range read and in one skipped.
	if err := db.Write([]Op{{Key: k(1, 5, 1), Delete: true}, {Key: k(2, 0, 2), Delete: true}}); err != nil {
		t.Fatal(err)
	}
	db.pauseApply(t)
	// In the overlay: a new key, a delete and a rewrite.
	if err := db.Write([]Op{
		{Key: k(2, 0, 9), Value: []byte("new")}, {Key: k(3, 0, 1), Delete: true}, {Key: k(2, 5, 3), Value: []byte("rewritten")},
	}); err != nil {
		t.Fatal(err)
	}
	ranges := [][2][]byte{
		{k(1, 0, 0)[:3], k(1, 1, 0)[:3]}, // day 1's prefix 0
		{k(1, 5, 0)[:3], k(2, 0, 0)[:2]}, // the rest of day 1
		{k(2, 0, 0)[:3], k(2, 1, 0)[:3]}, // day 2's prefix 0: its rest is skipped
		{k(3, 0, 0)[:2], []byte("e")},    // day 3 to the end of d
	}
	scan := func(stopAt int) (got []string, asked int, err error) {
		i := 0
		err = db.ScanRanges([]byte("d"), []byte("e"), func() ([]byte, []byte, bool, bool) {
			asked++
			if i == len(ranges) {
				return nil, nil, false, false
			}
			i++
			return ranges[i-1][0], ranges[i-1][1], false, true
		}, func(key, val []byte) error {
			got = append(got, fmt.Sprintf("%x=%x", key, val))
			if len(got) == stopAt {
				return ErrStop
			}
			return nil
		})
		return got, asked, err
	}
	got, asked, err := scan(-1)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, w := range [][2][]byte{
		{k(1, 0, 0), {1, 0, 0}}, {k(1, 0, 1), {1, 0, 1}}, {k(1, 0, 2), {1, 0, 2}}, {k(1, 0, 3), {1, 0, 3}},
		{k(1, 5, 0), {1, 5, 0}}, {k(1, 5, 2), {1, 5, 2}}, {k(1, 5, 3), {1, 5, 3}},
		{k(2, 0, 0), {2, 0, 0}}, {k(2, 0, 1), {2, 0, 1}}, {k(2, 0, 3), {2, 0, 3}}, {k(2, 0, 9), []byte("new")},
		{k(3, 0, 0), {3, 0, 0}}, {k(3, 0, 2), {3, 0, 2}}, {k(3, 0, 3), {3, 0, 3}},
		{k(3, 5, 0), {3, 5, 0}}, {k(3, 5, 1), {3, 5, 1}}, {k(3, 5, 2), {3, 5, 2}}, {k(3, 5, 3), {3, 5, 3}},
	} {
		want = append(want, fmt.Sprintf("%x=%x", w[0], w[1]))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") || asked != len(ranges)+1 {
		t.Fatalf("ScanRanges read (next called %d times)\n%s\nwant\n%s", asked, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Stopped in the third range: no range after it is asked for.
	got, asked, err = scan(9)
	if err != nil || len(got) != 9 || asked != 3 {
		t.Fatalf("stopped at the ninth key: %d keys, next called %d times, err %v; want 9, 3, nil", len(got), asked, err)
	}
	// A range outside the snapshot's span is refused.
	err = db.ScanRanges([]byte("d"), []byte("e"), func() ([]byte, []byte, bool, bool) { return []byte("c"), []byte("d"), false, true }, func(_, _ []byte) error { return nil })
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("not within")) {
		t.Fatalf("a range outside the span: err %v", err)
	}
}

// TestScanRangesSharesOneIterator: ranges whose parent prefix holds nothing after them (a
// day whose rest is empty) and ranges that are no prefix's span are read with one shared
// iterator, which reuses its buffers from one range to the next; a range with keys (live
// or deleted) after it in its parent is read bounded to itself, as Badger would otherwise
// step over them. Either way the keys read are those of the ranges, with the overlay's
// writes and deletes over Badger's.
func TestScanRangesSharesOneIterator(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	const days, parts = 120, 3
	k := func(day, area, n byte) []byte { return []byte{'d', day, area, n} }
	val := func(day, n byte) []byte { return bytes.Repeat([]byte{day, n}, 2048) } // 4 KiB
	var ops []Op
	for day := byte(1); day <= days; day++ {
		for n := byte(0); n < parts; n++ {
			ops = append(ops, Op{Key: k(day, 0, n), Value: val(day, n)})
		}
	}
	// Days 10 and 20 have keys after their area 0, one of them deleted since.
	ops = append(ops, Op{Key: k(10, 7, 0), Value: []byte("x")}, Op{Key: k(20, 7, 0), Value: []byte("y")})
	if err := db.Write(ops); err != nil {
		t.Fatal(err)
	}
	if err := db.Write([]Op{{Key: k(20, 7, 0), Delete: true}}); err != nil {
		t.Fatal(err)
	}
	db.ap.flushReq <- struct{}{} // the held delete too, without waiting for its hold to end
	db.pauseApply(t)
	// In the overlay, over the shared iterator's days: a new key, a delete, a rewrite, and
	// a key after a day's area 0 that Badger has not seen (no range reads it).
	if err := db.Write([]Op{{Key: k(30, 0, 9), Value: val(30, 9)}, {Key: k(40, 0, 1), Delete: true},
		{Key: k(50, 0, 2), Value: []byte("rewritten")}, {Key: k(60, 7, 0), Value: []byte("z")}}); err != nil {
		t.Fatal(err)
	}
	// Each day's area 0, then everything after the last day's.
	scan := func() (got []string, bytes uint64) {
		day := byte(0)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := db.ScanRanges([]byte("d"), []byte("e"), func() ([]byte, []byte, bool, bool) {
			day++
			switch {
			case day <= days:
				return k(day, 0, 0)[:3], k(day, 1, 0)[:3], false, true
			case day == days+1:
				return k(days, 1, 0)[:3], []byte("e"), false, true
			}
			return nil, nil, false, false
		}, func(key, val []byte) error {
			got = append(got, fmt.Sprintf("%x:%d", key, len(val)))
			return nil
		})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		return got, after.TotalAlloc - before.TotalAlloc
	}
	shared0, own0 := db.rangesShared.Load(), db.rangesOwn.Load()
	got, _ := scan()
	var want []string
	for day := byte(1); day <= days; day++ {
		for n := byte(0); n < parts; n++ {
			switch {
			case day == 40 && n == 1:
			case day == 50 && n == 2:
				want = append(want, fmt.Sprintf("%x:%d", k(day, 0, n), len("rewritten")))
			default:
				want = append(want, fmt.Sprintf("%x:%d", k(day, 0, n), 4096))
			}
		}
		if day == 30 {
			want = append(want, fmt.Sprintf("%x:%d", k(day, 0, 9), 4096))
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("ScanRanges read\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if shared, own := db.rangesShared.Load()-shared0, db.rangesOwn.Load()-own0; shared != days-2 || own != 3 {
		t.Errorf("%d ranges read by the shared iterator, %d by their own; want %d and 3 (days 10 and 20, and the rest of d: a prefix of one byte)", shared, own, days-2)
	}
	// The values' buffers are reused: the scan of 1.4 MiB of values allocates a small
	// part of them (an iterator per range copied each value twice into new buffers).
	_, allocated := scan()
	t.Logf("a scan of %d values of 4 KiB allocated %d bytes", days*parts, allocated)
	if most := uint64(days * parts * 4096 / 4); allocated > most {
		t.Errorf("a scan of %d values of 4 KiB allocated %d bytes; want at most %d", days*parts, allocated, most)
	}
}

// dayKey is a key of the tests below: d, a day, an area of the day, a number.
func dayKey(day, area, n byte) []byte { return []byte{'d', day, area, n} }

// writeBeforeDeletes writes keys 0 to n-1 of day 1's area 0 and a key of day 3, with 200
// keys of day 2 between them, deleted by a second write that also holds more; and has
// them all applied to Badger, the applier then paused.
func writeBeforeDeletes(t *testing.T, db *DB, n byte, more ...Op) {
	t.Helper()
	var ops, dels []Op
	for i := range n {
		ops = append(ops, Op{Key: dayKey(1, 0, i), Value: []byte{1, i}})
	}
	for i := range byte(200) {
		ops = append(ops, Op{Key: dayKey(2, 5, i), Value: []byte("gone")})
		dels = append(dels, Op{Key: dayKey(2, 5, i), Delete: true})
	}
	if err := db.Write(append(ops, Op{Key: dayKey(3, 0, 0), Value: []byte{3, 0}})); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(append(dels, more...)); err != nil {
		t.Fatal(err)
	}
}

// scanOne reads [start, end) by ScanRanges as one range, own or not, and returns its keys
// and values.
func scanOne(t *testing.T, db *DB, start, end []byte, own bool) []string {
	t.Helper()
	var got []string
	asked := false
	err := db.ScanRanges([]byte("d"), []byte("e"), func() ([]byte, []byte, bool, bool) {
		if asked {
			return nil, nil, false, false
		}
		asked = true
		return start, end, own, true
	}, func(key, val []byte) error {
		got = append(got, fmt.Sprintf("%x=%s", key, val))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestScanRangesOwnIterator: a range whose parent prefix holds nothing after it, but which
// is followed by deleted keys (the single records packing deleted, day after day), would
// be read by the shared iterator, which, unbounded, steps over every delete after it to
// find the next live key. Asked for with own set, it is read by an iterator of its own,
// bounded to the range; the same range without is shared. Either way it reads its keys.
func TestScanRangesOwnIterator(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	writeBeforeDeletes(t, db, 3)
	db.ap.flushReq <- struct{}{} // the held deletes too, without waiting for their hold to end
	db.pauseApply(t)
	var want []string
	for n := byte(0); n < 3; n++ {
		want = append(want, fmt.Sprintf("%x=%s", dayKey(1, 0, n), []byte{1, n}))
	}
	for _, own := range []bool{true, false} {
		shared0, own0 := db.rangesShared.Load(), db.rangesOwn.Load()
		if got := scanOne(t, db, dayKey(1, 0, 0)[:3], dayKey(1, 1, 0)[:3], own); !slices.Equal(got, want) {
			t.Errorf("own %v: read %v; want %v", own, got, want)
		}
		wantShared, wantOwn := uint64(1), uint64(0)
		if own {
			wantShared, wantOwn = 0, 1
		}
		if shared, owned := db.rangesShared.Load()-shared0, db.rangesOwn.Load()-own0; shared != wantShared || owned != wantOwn {
			t.Errorf("own %v: %d ranges read by the shared iterator, %d by their own; want %d and %d", own, shared, owned, wantShared, wantOwn)
		}
	}
}

// TestScanRangesOwnRangeOfNoPrefix: an own range that is no prefix's span is read version
// by version, and gives what a scan gives: the newest value of a rewritten key, no deleted
// or expired key, the overlay's writes over Badger's, and none of the keys after it.
func TestScanRangesOwnRangeOfNoPrefix(t *testing.T) {
	db := open(t, t.TempDir())
	defer db.Close()
	writeBeforeDeletes(t, db, 5, Op{Key: dayKey(1, 0, 1), Value: []byte("new")}, Op{Key: dayKey(1, 0, 2), Delete: true},
		Op{Key: dayKey(1, 0, 3), Value: []byte("short-lived"), TTL: time.Second})
	time.Sleep(2100 * time.Millisecond) // the TTL's second, and Badger's whole-second expiry
	db.ap.flushReq <- struct{}{}        // the held writes too, without waiting for their hold to end
	db.pauseApply(t)
	if err := db.Write([]Op{{Key: dayKey(1, 0, 4), Value: []byte("overlay")}}); err != nil {
		t.Fatal(err)
	}
	got := scanOne(t, db, dayKey(1, 0, 1), dayKey(2, 5, 0), true)
	want := []string{fmt.Sprintf("%x=new", dayKey(1, 0, 1)), fmt.Sprintf("%x=overlay", dayKey(1, 0, 4))}
	if !slices.Equal(got, want) {
		t.Errorf("own range of no prefix: read %v; want %v", got, want)
	}
}
