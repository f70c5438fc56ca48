package journey

import (
	"slices"
	"testing"
)

const window = 48 * 60 * 60

func TestRecentWindow(t *testing.T) {
	var s State
	s.AddRecent(1, 1000)
	if !s.HasRecent(1, 1000+window-1, window) {
		t.Errorf("HasRecent just inside the window = false; want true")
	}
	if s.HasRecent(1, 1000+window, window) {
		t.Errorf("HasRecent at the end of the window = true; want false")
	}
	if s.HasRecent(2, 1000, window) {
		t.Errorf("HasRecent(an id never added) = true; want false")
	}
	// Trimming after the window forgets the expired id without pushing it out.
	s.AddRecent(2, 1000+window)
	if out := s.TrimRecent(1000+window, window, nil); len(out) != 0 {
		t.Errorf("TrimRecent pushed out %v; want the expired id forgotten", out)
	}
	if want := []RecentID{{2, 1000 + window}}; !slices.Equal(s.Recent, want) {
		t.Errorf("Recent = %v; want %v", s.Recent, want)
	}
}

func TestRecentPushesOutOldestWhenFull(t *testing.T) {
	var s State
	for i := range MaxRecent {
		s.AddRecent(uint64(i), int64(i))
		if out := s.TrimRecent(int64(i), window, nil); len(out) != 0 {
			t.Fatalf("TrimRecent pushed out %v at %d ids; want room for %d", out, i+1, MaxRecent)
		}
	}
	s.AddRecent(999, MaxRecent)
	out := s.TrimRecent(MaxRecent, window, nil)
	// One past the bound pushes out all but the newest RecentAfterSpill, oldest first.
	if len(out) != MaxRecent+1-RecentAfterSpill {
		t.Fatalf("TrimRecent on a full list pushed out %d ids; want %d", len(out), MaxRecent+1-RecentAfterSpill)
	}
	for i, r := range out {
		if r != (RecentID{uint64(i), int64(i)}) {
			t.Fatalf("TrimRecent pushed out %v; want ids 0 to %d in order", out, len(out)-1)
		}
	}
	last := uint64(len(out) - 1)
	if len(s.Recent) != RecentAfterSpill || !s.HasRecent(999, MaxRecent, window) || s.HasRecent(last, MaxRecent, window) {
		t.Errorf("after the push: %d ids, newest kept %v, last pushed out kept %v; want %d, true, false",
			len(s.Recent), s.HasRecent(999, MaxRecent, window), s.HasRecent(last, MaxRecent, window), RecentAfterSpill)
	}
	// The list then takes ids again without pushing any out until it is past the bound.
	for i := range MaxRecent - RecentAfterSpill {
		s.AddRecent(uint64(2000+i), MaxRecent+1)
		if out := s.TrimRecent(MaxRecent+1, window, nil); len(out) != 0 {
			t.Fatalf("TrimRecent pushed out %v at %d ids; want room for %d", out, len(s.Recent), MaxRecent)
		}
	}
}

func TestMergeRecentTrims(t *testing.T) {
	var a, b State
	for i := range MaxRecent {
		a.AddRecent(uint64(i), int64(2*i))       // even times
		b.AddRecent(uint64(i+100), int64(2*i+1)) // odd times
	}
	b.SpillUntil = 77
	Merge(&a, &b)
	if len(a.Recent) != 2*MaxRecent || a.SpillUntil != 77 {
		t.Fatalf("after Merge: %d ids, SpillUntil %d; want %d and 77", len(a.Recent), a.SpillUntil, 2*MaxRecent)
	}
	if !slices.IsSortedFunc(a.Recent, func(x, y RecentID) int { return int(x.At - y.At) }) {
		t.Errorf("Merge: Recent not in acceptance order: %v", a.Recent)
	}
	out := a.TrimRecent(2*MaxRecent, window, nil)
	if len(out) != 2*MaxRecent-RecentAfterSpill || len(a.Recent) != RecentAfterSpill {
		t.Fatalf("TrimRecent pushed out %d and kept %d; want %d and %d", len(out), len(a.Recent), 2*MaxRecent-RecentAfterSpill, RecentAfterSpill)
	}
	for i, r := range out {
		if r.At != int64(i) {
			t.Fatalf("TrimRecent pushed out %v; want the oldest, in order", out)
		}
	}
}

func TestMergeLoggedInTimeOrder(t *testing.T) {
	a := State{Logged: []LogRef{{TS: 10, Seq: 5}, {TS: 30, Seq: 9}}}
	b := State{Logged: []LogRef{{TS: 10, Seq: 2}, {TS: 20, Seq: 7}}}
	Merge(&a, &b)
	want := []LogRef{{10, 2}, {10, 5}, {20, 7}, {30, 9}}
	if !slices.Equal(a.Logged, want) {
		t.Errorf("Merge: Logged = %v; want %v", a.Logged, want)
	}
}

// TestTrimRecentAnywhere checks that TrimRecent forgets an id out of its window wherever it
// stands (a clock set back leaves Recent out of time order), and changes nothing when every
// id is inside its window.
func TestTrimRecentAnywhere(t *testing.T) {
	var s State
	s.AddRecent(1, 5000)
	s.AddRecent(2, 100) // accepted after a clock step back, and out of its window by now
	s.AddRecent(3, 5001)
	s.AddRecent(4, 99)
	if out := s.TrimRecent(100+window, window, nil); len(out) != 0 {
		t.Errorf("TrimRecent pushed out %v; want the expired ids forgotten", out)
	}
	want := []RecentID{{1, 5000}, {3, 5001}}
	if !slices.Equal(s.Recent, want) {
		t.Fatalf("Recent = %v; want %v", s.Recent, want)
	}
	if out := s.TrimRecent(5000+window-1, window, nil); len(out) != 0 || !slices.Equal(s.Recent, want) {
		t.Errorf("TrimRecent inside every window: pushed out %v, kept %v; want nothing, %v", out, s.Recent, want)
	}
}
