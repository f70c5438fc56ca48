package store

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
)

// TestScanSeek: a scan that seeks goes on at the first live key at or after the key fn
// asked for, across deleted keys, the event store's keys and writes still held in the
// overlay, the same as a scan stepping over the keys between would.
func TestScanSeek(t *testing.T) {
	db, err := Open(t.TempDir(), evOpts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	live := map[string]bool{}
	key := func(i int) []byte { return fmt.Appendf(nil, "a%03d", i) }
	var ops []Op
	for i := range 300 {
		ops = append(ops, Op{Key: key(i), Value: key(i)})
		live[string(key(i))] = true
	}
	for i := range 30 {
		ops = append(ops, Op{Key: eventKey(i), Value: eventValue(i)})
		live[string(eventKey(i))] = true
	}
	if err := db.Write(ops); err != nil {
		t.Fatal(err)
	}
	// Deletes in Badger (most keys of every hundred after its first ten), then, held in
	// the overlay, more deletes and new keys.
	ops = ops[:0]
	for i := range 300 {
		if i%100 >= 10 && i%7 != 0 {
			ops = append(ops, Op{Key: key(i), Delete: true})
			delete(live, string(key(i)))
		}
	}
	if err := db.Write(ops); err != nil {
		t.Fatal(err)
	}
	waitApplied(t, db)
	db.pauseApply(t)
	ops = []Op{
		{Key: key(3), Delete: true}, {Key: key(105), Value: []byte("new")}, {Key: key(150), Value: []byte("new")},
		{Key: key(208), Value: []byte("new")}, {Key: eventKey(7), Delete: true}, {Key: []byte("a2555"), Value: []byte("new")},
	}
	if err := db.Write(ops); err != nil {
		t.Fatal(err)
	}
	delete(live, string(key(3)))
	delete(live, string(eventKey(7)))
	for _, k := range []string{"a105", "a150", "a208", "a2555"} {
		live[k] = true
	}
	// next: after a key of a hundred "aH0x" with x ≥ 5 (and after event 10), the next
	// hundred (and event 20).
	next := func(k []byte) []byte {
		if k[0] == 'e' && bytes.Equal(k, eventKey(10)) {
			return eventKey(20)
		}
		if k[0] == 'a' && len(k) >= 4 && k[2] == '0' && k[3] >= '5' {
			return []byte{'a', k[1] + 1}
		}
		return nil
	}
	sorted := make([]string, 0, len(live))
	for k := range live {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	for _, r := range [][2][]byte{{nil, nil}, {[]byte("a"), []byte("b")}, {[]byte("a1"), []byte("a25")}, {[]byte("e"), []byte("f")}} {
		var want []string
		var to []byte
		for _, k := range sorted {
			if k < string(r[0]) || (r[1] != nil && k >= string(r[1])) || (to != nil && k < string(to)) {
				continue
			}
			want = append(want, k)
			to = next([]byte(k))
		}
		var got []string
		err := db.ScanSeek(r[0], r[1], func(k, _ []byte) ([]byte, error) {
			got = append(got, string(k))
			return next(k), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ScanSeek(%q, %q) =\n%q\nwant\n%q", r[0], r[1], got, want)
		}
		if len(want) == len(sorted) || len(want) == 0 {
			t.Errorf("ScanSeek(%q, %q): %d of %d keys; want some seeks", r[0], r[1], len(want), len(sorted))
		}
	}
}
