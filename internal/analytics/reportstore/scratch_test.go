package reportstore

import (
	"fmt"
	"testing"

	"github.com/pathlight/pathlight/internal/journey"
)

// TestScratchReusedAcrossScans: scans with one Scratch decode into the same memory one
// after another, a scan nested in another's callback takes other memory (the outer
// chunk's records stay whole), and a Scratch lets go of a chunk's memory past scratchMax.
func TestScratchReusedAcrossScans(t *testing.T) {
	s := New(NewMemory(), 0)
	const n = 2*ChunkSize + 77
	var olds, news []*Visitor
	for i := range n {
		olds, news = append(olds, nil), append(news, visitor(i+1, []string{"shop"}, int64(10+i%5), int64(11+i%5)))
	}
	if _, err := s.Put(olds, news); err != nil {
		t.Fatal(err)
	}
	all := []Range{{From: 0, To: 100, Flags: FlagActive}}
	sc := NewScratch()
	// scan reads every record with sc, checks each against what was put, and returns how
	// many it read.
	var scan func(nested bool) int
	scan = func(nested bool) int {
		seen := 0
		err := s.Each("", all, NewInterner().Using(sc), func(vs []*Visitor) error {
			if nested && seen == 0 {
				if got := scan(false); got != n {
					t.Errorf("the nested scan read %d records; want %d", got, n)
				}
			}
			for _, v := range vs {
				seen++
				var i int
				fmt.Sscanf(v.J.VID, "%x", &i)
				if want := news[i-1]; len(v.J.Touches) != 2 || v.J.Touches[0].StartedAt != want.J.Touches[0].StartedAt || v.J.Steps[0] != want.J.Steps[0] {
					t.Fatalf("visitor %s read as %+v; want %+v", v.J.VID, v.J, want.J)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return seen
	}
	if got := scan(false); got != n {
		t.Fatalf("read %d records; want %d", got, n)
	}
	a := sc.a
	if a == nil || len(a.touches.block) < 2*ChunkSize || len(a.visits.block) < ChunkSize {
		t.Fatalf("after a scan the scratch holds %v; want a chunk's memory", a)
	}
	touches, visits := &a.touches.block[0], &a.visits.block[0]
	if got := scan(true); got != n {
		t.Fatalf("read %d records with a nested scan; want %d", got, n)
	}
	if sc.a != a || &sc.a.touches.block[0] != touches || &sc.a.visits.block[0] != visits || sc.busy {
		t.Errorf("a second scan did not decode into the scratch's memory (busy %v)", sc.busy)
	}

	// A chunk of records with 60 sessions each: more than scratchMax of touches.
	big := New(NewMemory(), 0)
	olds, news = olds[:0], news[:0]
	for i := range ChunkSize {
		v := visitor(i+1, []string{"shop"}, 10)
		for k := range 60 {
			v.J.Touches = append(v.J.Touches, journey.Touchpoint{StartedAt: 10*day + int64(k), Channel: "Direct"})
		}
		olds, news = append(olds, nil), append(news, v)
	}
	if _, err := big.Put(olds, news); err != nil {
		t.Fatal(err)
	}
	if err := big.Each("", all, NewInterner().Using(sc), func([]*Visitor) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if sc.a != nil {
		t.Errorf("the scratch kept %d bytes after a scan; want at most %d", sc.a.bytes(), scratchMax)
	}
}
