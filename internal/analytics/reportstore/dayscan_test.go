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

func (m *rangeMemory) ScanRanges(lo, hi []byte, next func() (start, end []byte, ok bool), fn func(key, val []byte) error) error {
	for {
		start, end, ok := next()
		if !ok {
			return nil
		}
		if string(start) < string(lo) || string(end) > string(hi) {
			return fmt.Errorf("range [%x, %x) outside [%x, %x)", start, end, lo, hi)
		}
		m.asked = append(m.asked, fmt.Sprintf("%x-%x", start, end))
		if err := m.Scan(start, end, fn); err != nil {
			return err
		}
	}
}

// plainMemory is a Memory read by one Scan, whatever else Memory implements.
type plainMemory struct{ *Memory }

// TestDaysReadByTheirPacks: over a store that reads ranges, Each reads each packed day by the
// prefix of its parts 0–255 alone (on to the day's end when it has more parts), and every key
// after the first day that is not packed; and hands over exactly what one scan of the whole
// span hands over.
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
	for from := int64(0); ; {
		d, ok, err := s.Pack(from, 7) // days 1–6 packed, 7 and 8 not
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		from = d + 1
	}
	if _, err := mem.Get(packKey(3, 256), nil); err != nil {
		t.Fatalf("day 3 has no part 256: %v", err)
	}
	r := Range{From: 0, To: 100, Flags: FlagActive}
	rm.asked = nil
	got := dump(t, s, "", r)
	want := dump(t, New(plainMemory{mem}, 0), "", r)
	if len(want) != n || !reflect.DeepEqual(got, want) {
		t.Fatalf("read by ranges: %d records; by one scan: %d (of %d); or they differ", len(got), len(want), n)
	}
	day := func(d int64, tail ...byte) string {
		return fmt.Sprintf("%x", append(dayBytes([]byte{pRecord}, d), tail...))
	}
	wantAsked := []string{
		day(0, 0) + "-" + day(0, 1), // day 0: nothing, not packed: every key after it
		day(0, 1) + "-" + fmt.Sprintf("%x", []byte{pRecord + 1}),
	}
	if !reflect.DeepEqual(rm.asked, wantAsked) {
		t.Fatalf("from day 0, ranges asked %v; want %v", rm.asked, wantAsked)
	}

	// From day 1: the packed days by their prefixes up to the gap.
	rm.asked = nil
	r = Range{From: 1, To: 100, Flags: FlagActive}
	got = dump(t, s, "", r)
	want = dump(t, New(plainMemory{mem}, 0), "", r)
	if len(want) != n || !reflect.DeepEqual(got, want) {
		t.Fatalf("from day 1: read by ranges: %d records; by one scan: %d (of %d); or they differ", len(got), len(want), n)
	}
	wantAsked = []string{
		day(1, 0) + "-" + day(1, 1),
		day(2, 0) + "-" + day(2, 1),
		day(3, 0) + "-" + day(3, 1),
		day(3, 1) + "-" + day(4), // day 3's parts from 256 on
		day(4, 0) + "-" + day(4, 1),
		day(5, 0) + "-" + day(5, 1), // day 5: nothing, so not packed: every key after it
		day(5, 1) + "-" + fmt.Sprintf("%x", []byte{pRecord + 1}),
	}
	if !reflect.DeepEqual(rm.asked, wantAsked) {
		t.Fatalf("from day 1, ranges asked\n%v\nwant\n%v", rm.asked, wantAsked)
	}
}
