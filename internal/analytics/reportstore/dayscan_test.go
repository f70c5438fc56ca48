package reportstore

import (
	"fmt"
	"reflect"
	"testing"
)

// rangeMemory is a Memory that reads ranges (track.RangeScanner), noting each range asked.
type rangeMemory struct {
	*Memory
	asked []string
}

func (m *rangeMemory) ScanRanges(lo, hi []byte, next func() (start, end []byte, own, ok bool), fn func(key, val []byte) error) error {
	for {
		start, end, own, ok := next()
		if !ok {
			return nil
		}
		if string(start) < string(lo) || string(end) > string(hi) {
			return fmt.Errorf("range [%x, %x) outside [%x, %x)", start, end, lo, hi)
		}
		r := fmt.Sprintf("%x-%x", start, end)
		if own {
			r += " own"
		}
		m.asked = append(m.asked, r)
		if err := m.Scan(start, end, fn); err != nil {
			return err
		}
	}
}

// plainMemory is a Memory read by one Scan, whatever else Memory implements.
type plainMemory struct{ *Memory }

// packAll packs every day of s before day before.
func packAll(t testing.TB, s *Store, before int64) {
	t.Helper()
	for from := int64(0); ; {
		d, ok, err := s.Pack(from, before)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return
		}
		from = d + 1
	}
}

// toLegacy moves the packs of m to where the releases before kept them, beside the single
// records (L day part), with the J values that pointed there (day and part, 6 bytes).
func toLegacy(t testing.TB, m *Memory) {
	t.Helper()
	for k, v := range m.m {
		switch {
		case k[0] == pPack:
			delete(m.m, k)
			m.m[string(pRecord)+k[1:]] = v
		case k[0] == pWhere && len(v) == wherePackLen:
			m.m[k] = v[:whereLegacyLen]
		}
	}
}

// TestDaysReadByTheirPacks: over a store that reads ranges, Each reads the packs under D
// by one range, no L key of a day packed under D, each run of other days before the last
// packed one by a range of its own (deletes follow it), and every key after that; a day
// packed under L by a release before by the prefix of its parts 0–255 alone (on to the
// day's end when it has more parts); and either way hands over exactly what plain scans
// of the whole span hand over.
func TestDaysReadByTheirPacks(t *testing.T) {
	mem := NewMemory()
	rm := &rangeMemory{Memory: mem}
	s := New(rm, 0)
	n := 0
	put := func(day int64, count int) {
		var news []*Visitor
		for range count {
			n++
			news = append(news, visitor(n, []string{"shop"}, day))
		}
		if _, err := s.Put(make([]*Visitor, len(news)), news); err != nil {
			t.Fatal(err)
		}
	}
	put(1, 100)
	put(2, 300)
	put(3, 257*PackSize+10) // more than 256 parts
	put(4, 5)
	put(6, 40) // day 5 holds nothing
	put(7, 70)
	put(8, 20)
	packAll(t, s, 7) // days 1–6 packed, 7 and 8 not
	if _, err := mem.Get(packKey(3, 256), nil); err != nil {
		t.Fatalf("day 3 has no part 256: %v", err)
	}
	l := func(d int64, tail ...byte) string {
		return fmt.Sprintf("%x", append(dayBytes([]byte{pRecord}, d), tail...))
	}
	packs := func(d int64) string {
		return fmt.Sprintf("%x-%x", dayBytes([]byte{pPack}, d), []byte{pPack + 1})
	}
	lEnd := fmt.Sprintf("%x", []byte{pRecord + 1})
	check := func(layout string, from int64, wantAsked []string) {
		t.Helper()
		r := Range{From: from, To: 100, Flags: FlagActive}
		rm.asked = nil
		got := dump(t, s, "", r)
		want := dump(t, New(plainMemory{mem}, 0), "", r)
		if len(want) != n || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s, from day %d: read by ranges: %d records; by plain scans: %d (of %d); or they differ", layout, from, len(got), len(want), n)
		}
		if !reflect.DeepEqual(rm.asked, wantAsked) {
			t.Fatalf("%s, from day %d, ranges asked\n%v\nwant\n%v", layout, from, rm.asked, wantAsked)
		}
	}
	check("packs under D", -2, []string{
		packs(-2) + " own",
		l(-2) + "-" + l(1) + " own", // days -2 to 0: nothing, before a packed day: one run, of its own
		l(5) + "-" + l(6) + " own",  // days 1–4 packed; day 5 as days -2 to 0
		l(7, 0) + "-" + l(7, 1),     // day 6 packed; day 7 after the last packed day: every key after it
		l(7, 1) + "-" + lEnd,
	})
	check("packs under D", 1, []string{
		packs(1) + " own",
		l(5) + "-" + l(6) + " own",
		l(7, 0) + "-" + l(7, 1),
		l(7, 1) + "-" + lEnd,
	})

	toLegacy(t, mem)
	check("packs under L", 0, []string{
		packs(0) + " own",
		l(0, 0) + "-" + l(0, 1), // day 0: nothing, not packed: every key after it
		l(0, 1) + "-" + lEnd,
	})
	check("packs under L", 1, []string{
		packs(1) + " own",
		l(1, 0) + "-" + l(1, 1), // the packed days by their prefixes up to the gap
		l(2, 0) + "-" + l(2, 1),
		l(3, 0) + "-" + l(3, 1),
		l(3, 1) + "-" + l(4), // day 3's parts from 256 on
		l(4, 0) + "-" + l(4, 1),
		l(5, 0) + "-" + l(5, 1), // day 5: nothing, so not packed: every key after it
		l(5, 1) + "-" + lEnd,
	})
}
