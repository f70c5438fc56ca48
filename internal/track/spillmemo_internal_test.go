package track

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/pathlight/pathlight/internal/journey"
)

// known reports whether vid has a memo: its answers are then exact.
func (s *spillMemo) known(vid string) bool {
	if s == nil {
		return false
	}
	sh := s.shard(vid)
	sh.mu.Lock()
	_, ok := sh.m[vid]
	sh.mu.Unlock()
	return ok
}

// mayHave asks the memo about one id: known false means "read storage".
func (s *spillMemo) mayHave(vid string, h uint64, wall int64) bool {
	may := []bool{false}
	known, _, _ := s.check(vid, []uint64{h}, wall, may)
	return !known || may[0]
}

// TestSpillMemoBudget: the memo never holds more than its budget; a visitor it had to forget
// answers "maybe" (read storage) rather than a wrong "no", and a remembered id is found
// in its window, before and after the memo merges its tail, and not after it.
func TestSpillMemoBudget(t *testing.T) {
	s := newSpillMemo(cacheShards * (64 << 10)) // the smallest budget: 64 KiB a shard
	const wall, until = 1000, 1000 + 3600
	for v := range 20000 {
		vid := fmt.Sprintf("%032x", v)
		s.begin(vid)
		for i := range 40 {
			s.add(vid, uint64(v*1000+i)<<16, until, wall)
		}
	}
	for i := range s.shards {
		if sh := &s.shards[i]; sh.bytes > sh.limit {
			t.Fatalf("shard %d holds %d bytes; limit %d", i, sh.bytes, sh.limit)
		}
	}
	forgotten, kept := 0, 0
	for v := range 20000 {
		vid := fmt.Sprintf("%032x", v)
		if !s.known(vid) {
			forgotten++
			if !s.mayHave(vid, 12345<<16, wall) {
				t.Fatalf("forgotten visitor %s answered a certain no", vid)
			}
			continue
		}
		kept++
		for i := range 40 {
			if !s.mayHave(vid, uint64(v*1000+i)<<16, until-1) {
				t.Fatalf("visitor %s lost id %d", vid, i)
			}
		}
		if s.mayHave(vid, uint64(v*1000+40)<<16, wall) {
			t.Fatalf("visitor %s holds an id never added", vid)
		}
		if s.mayHave(vid, uint64(v*1000)<<16, until+memoGenSpan) { // a generation spans six hours
			t.Fatalf("visitor %s still holds ids past the end of their generation", vid)
		}
	}
	if forgotten == 0 || kept == 0 {
		t.Fatalf("%d visitors kept, %d forgotten; want the budget to keep some and forget some", kept, forgotten)
	}
}

// TestSpillMemoExactAgainstAList checks the memo against a plain list of ids with their
// windows: every id in its window is "maybe", and every id past its window's generation, or
// never added, is a certain "no" (no two random ids share the 32 bits the memo keeps here).
// Ids come from packs (load) and commits (add), with windows ending at random seconds,
// across many merges and expired generations.
func TestSpillMemoExactAgainstAList(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newSpillMemo(64 << 20)
	const vid = "0123456789abcdef0123456789abcdef"
	wall := int64(1_700_000_000)
	type id struct {
		h     uint64
		until int64
	}
	var all []id
	var loaded []journey.RecentID
	for range 50 {
		r := journey.RecentID{Hash: rng.Uint64() & memoHashMask, At: wall - rng.Int64N(dedupWindowSec)}
		loaded = append(loaded, r)
		all = append(all, id{r.Hash, r.At + dedupWindowSec})
	}
	s.load(vid, loaded, 0, wall)
	for range 3000 {
		wall += rng.Int64N(200)
		h := rng.Uint64() & memoHashMask
		all = append(all, id{h, wall + dedupWindowSec})
		s.add(vid, h, wall+dedupWindowSec, wall)
		if !s.known(vid) {
			t.Fatal("the memo forgot its only visitor")
		}
	}
	for _, at := range []int64{wall, wall + dedupWindowSec/2, wall + dedupWindowSec - 30, wall + dedupWindowSec + 3600} {
		for _, x := range all {
			got := s.mayHave(vid, x.h, at)
			if x.until > at && !got {
				t.Fatalf("id %x (window to %d) not found at %d", x.h, x.until, at)
			}
			// Past its window by more than a generation: certain.
			if x.until+memoGenSpan <= at && got {
				t.Fatalf("id %x (window to %d) found at %d", x.h, x.until, at)
			}
		}
		for range 1000 {
			if h := rng.Uint64() & memoHashMask; s.mayHave(vid, h, at) {
				t.Fatalf("id %x never added found at %d", h, at)
			}
		}
	}
}

// The memo keeps its own copy of the visitor id, not the request's text it came in, and
// check answers as mayHave does one by one.
func TestSpillMemoKeyAndCheck(t *testing.T) {
	s := newSpillMemo(cacheShards * (64 << 10))
	text := `{"vid":"0123456789abcdef0123456789abcdef","site":"demo"}`
	vid := text[8:40]
	s.begin(vid)
	for k := range s.shard(vid).m {
		if unsafe.StringData(k) == unsafe.StringData(vid) {
			t.Error("the memo's map keeps the request's text through its key")
		}
	}
	for i := range 40 { // past the tail, into the sorted entries
		s.add(vid, uint64(i)*0x9e3779b97f4a7c15&memoHashMask, 2000, 1000)
	}
	hashes := []uint64{0, 0x9e3779b97f4a7c15 & memoHashMask, 12345 << 16, 0xdeadbeefcafe}
	may := make([]bool, len(hashes))
	known, point, held := s.check(vid, hashes, 1500, may)
	if !known || point || held != 40 {
		t.Fatalf("check: known %v, point reads %v, %d ids held; want a memo of 40 ids that needs no point reads", known, point, held)
	}
	for i, h := range hashes {
		if may[i] != s.mayHave(vid, h, 1500) {
			t.Errorf("check says %v for hash %d; mayHave says %v", may[i], i, !may[i])
		}
	}
	if !may[0] || !may[1] || may[2] || may[3] {
		t.Errorf("check = %v; want the added ids found and no other", may)
	}
	if known, _, _ := s.check("ffffffffffffffffffffffffffffffff", hashes, 1500, may); known {
		t.Error("check found a memo for a visitor without one")
	}
	// A memo loaded from packs reads the site-wide keys until the window it was given.
	other := "ffffffffffffffffffffffffffffffff"
	s.load(other, []journey.RecentID{{Hash: 7 << 16, At: 1000}}, 1900, 1000)
	if known, point, _ := s.check(other, hashes[:1], 1899, may); !known || !point {
		t.Errorf("loaded memo at 1899: known %v, point reads %v; want both", known, point)
	}
	if _, point, _ := s.check(other, hashes[:1], 1900, may); point {
		t.Error("loaded memo still reads site-wide keys at the end of their window")
	}
}
