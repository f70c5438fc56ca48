package reportstore

import (
	"runtime"
	"testing"
)

// TestDecodeVisitorAllocatesWhatItKeeps checks that decoding one visitor's record (what the
// reports fold does for every visitor a hit changed) allocates about what the Visitor
// holds, not a block of a thousand entries per list as the arenas of chunked scans do.
func TestDecodeVisitorAllocatesWhatItKeeps(t *testing.T) {
	v := visitor(7, []string{"shop"}, 3, 4, 5)
	rec := appendVisitor(nil, v)
	in := NewInterner()
	if _, err := decodeVisitor(v.J.VID, rec, in); err != nil {
		t.Fatal(err)
	}
	const runs = 100
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		if _, err := decodeVisitor(v.J.VID, rec, in); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	// The Visitor struct, three touchpoints, a step mark, a conversion, a few strings.
	const most = 4 << 10
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > most {
		t.Errorf("decoding a %d-byte record allocates %d bytes; want at most %d", len(rec), per, most)
	}
}

// BenchmarkDecodeVisitor decodes one visitor's record, as the reports fold reads each
// visitor a hit changed (Store.Get).
func BenchmarkDecodeVisitor(b *testing.B) {
	v := visitor(7, []string{"shop"}, 3, 4, 5)
	for i := range 40 {
		v.J.Steps = append(v.J.Steps, v.J.Steps[0])
		v.J.Steps[i].At += int64(i)
	}
	rec := appendVisitor(nil, v)
	in := NewInterner()
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeVisitor(v.J.VID, rec, in); err != nil {
			b.Fatal(err)
		}
	}
}
