package track

import (
	"hash/maphash"
	"slices"
	"strings"
	"sync"

	"github.com/pathlight/pathlight/internal/journey"
)

// spillMemo answers, from memory, the dedup question that otherwise costs a storage read on
// every hit of a busy visitor: was this event id pushed out of the journey's recent ids (into
// a spill pack) or marked site-wide on the journey's behalf (a dedup key), within its window?
//
// It is exact because it only answers for a visitor whose every such id it has seen: a
// visitor's memo begins when the tracker knows that none is stored (an id minted for this
// request, or a journey loaded with no spill window open), or when it has just read every
// spill pack of the visitor (load), and it hears every later id after its commit. Anything
// that could add ids it did not see (a merge, an erase, a full budget) forgets the visitor,
// whose next hit reads its packs again. All of a visitor's calls happen under the visitor's
// lock.
//
// A memo keeps each id as one word: the high 40 of the 48 bits that journeys and packs keep,
// and the minute its window ends (rounded up). "Not there" is certain and answered from
// memory; "maybe" (the same 40 bits, or a window that ends within the minute) reads storage,
// which answers exactly. A memo loaded from packs cannot know the site-wide ids marked on
// the visitor's behalf before it began, nor the single spill keys of earlier releases: until
// pointUntil, the visitor's hits still read those by their ids.
type spillMemo struct {
	seed   maphash.Seed
	shards [cacheShards]memoShard
}

type memoShard struct {
	mu    sync.Mutex
	m     map[string]*memo
	bytes int
	limit int
}

// memo is what one visitor's memo knows.
type memo struct {
	sorted     []uint64 // entries (see entry), in order
	tail       []uint64 // entries added since the last merge into sorted, at most memoTail
	base       int64    // the Unix minute entries count their window's end from
	pointUntil int64    // until then, ids are also read at their site-wide and old spill keys
}

const (
	memoTail  = 32
	memoBase  = 96 // bytes of a memo besides its entries, for the budget
	entryBits = 24 // the low bits of an entry: the window's end, in minutes after base
	entryMax  = 1<<entryBits - 1
)

// newSpillMemo returns a memo of about budget bytes; 0 or less disables it.
func newSpillMemo(budget int) *spillMemo {
	if budget <= 0 {
		return nil
	}
	s := &spillMemo{seed: maphash.MakeSeed()}
	per := max(budget/cacheShards, 64<<10)
	for i := range s.shards {
		s.shards[i] = memoShard{m: map[string]*memo{}, limit: per}
	}
	return s
}

func (s *spillMemo) shard(vid string) *memoShard {
	return &s.shards[maphash.String(s.seed, vid)%cacheShards]
}

// begin starts an empty memo for vid, known to have no id stored outside its journey; a memo
// already there is kept.
func (s *spillMemo) begin(vid string, wall int64) {
	if s == nil {
		return
	}
	sh := s.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[vid]; ok || !sh.makeRoom(memoBase+len(vid), "") {
		return
	}
	// A key of its own: vid may be part of the request's text, which the map would keep.
	sh.m[strings.Clone(vid)] = &memo{base: wall / 60}
	sh.bytes += memoBase + len(vid)
}

// load starts a memo for vid from ids, every id read from its spill packs that is still in
// its window at wall; the ids marked site-wide on its behalf are unknown to it, so its hits
// read them until pointUntil. A memo already there is kept; one that does not fit the budget
// is not started.
func (s *spillMemo) load(vid string, ids []journey.RecentID, pointUntil, wall int64) {
	if s == nil {
		return
	}
	sh := s.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	need := memoBase + len(vid) + 8*len(ids)
	if _, ok := sh.m[vid]; ok || !sh.makeRoom(need, "") {
		return
	}
	m := &memo{base: wall / 60, pointUntil: pointUntil}
	m.sorted = make([]uint64, 0, len(ids))
	for _, r := range ids {
		m.sorted = append(m.sorted, m.entry(r.Hash, r.At+dedupWindowSec))
	}
	slices.Sort(m.sorted)
	sh.m[strings.Clone(vid)] = m
	sh.bytes += need
}

// check answers for the ids of a batch at wall: known is false when vid has no memo (every
// answer must come from storage); otherwise may[i] reports whether hashes[i] may have been
// stored for vid (false is certain), and point whether the ids must still be read at their
// site-wide and old spill keys.
func (s *spillMemo) check(vid string, hashes []uint64, wall int64, may []bool) (known, point bool) {
	if s == nil {
		return false, false
	}
	sh := s.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	m := sh.m[vid]
	if m == nil {
		return false, false
	}
	for i, h := range hashes {
		may[i] = m.mayHave(h, wall)
	}
	return true, m.pointUntil > wall
}

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

// entry is the memo's word for id hash h whose window ends at until (Unix seconds).
func (m *memo) entry(h uint64, until int64) uint64 {
	end := (until+59)/60 - m.base
	end = min(max(end, 0), entryMax)
	return (h&memoHashMask)>>8<<entryBits | uint64(end)
}

// mayHave reports whether id hash h may be stored for the visitor and inside its window at
// wall.
func (m *memo) mayHave(h uint64, wall int64) bool {
	key := (h & memoHashMask) >> 8
	// A window ends after wall unless its rounded-up minute is at or before wall's minute.
	alive := func(e uint64) bool { return (m.base+int64(e&entryMax))*60 > wall }
	for _, e := range m.tail {
		if e>>entryBits == key && alive(e) {
			return true
		}
	}
	i, _ := slices.BinarySearch(m.sorted, key<<entryBits)
	for ; i < len(m.sorted) && m.sorted[i]>>entryBits == key; i++ {
		if alive(m.sorted[i]) {
			return true
		}
	}
	return false
}

// add records that id hash h was stored for vid until the end of its window, until (Unix
// seconds). Call it after the commit that stored it. A visitor without a memo is left
// without one; one that no longer fits the budget is forgotten.
func (s *spillMemo) add(vid string, h uint64, until, wall int64) {
	if s == nil {
		return
	}
	sh := s.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	m := sh.m[vid]
	if m == nil {
		return
	}
	if len(m.tail) == memoTail {
		before := m.size()
		m.merge(wall)
		sh.bytes += m.size() - before
		if !sh.makeRoom(0, vid) {
			sh.forget(vid, m)
			return
		}
	}
	if m.tail == nil {
		m.tail = make([]uint64, 0, memoTail)
		sh.bytes += 8 * memoTail
		if !sh.makeRoom(0, vid) {
			sh.forget(vid, m)
			return
		}
	}
	m.tail = append(m.tail, m.entry(h, until))
}

// merge moves the tail into sorted, dropping the entries whose window ended by wall. It
// merges in place, from the back, when sorted has room, and grows it by a quarter when not.
func (m *memo) merge(wall int64) {
	live := func(e uint64) bool { return (m.base+int64(e&entryMax))*60 > wall }
	tail := slices.DeleteFunc(m.tail, func(e uint64) bool { return !live(e) })
	slices.Sort(tail)
	a := slices.DeleteFunc(m.sorted, func(e uint64) bool { return !live(e) })
	n := len(a) + len(tail)
	if n > cap(a) {
		a = slices.Grow(a, n/4+len(tail))
	}
	out := a[:n]
	i, j := len(a)-1, len(tail)-1
	for k := n - 1; j >= 0; k-- {
		if i >= 0 && a[i] > tail[j] {
			out[k], i = a[i], i-1
		} else {
			out[k], j = tail[j], j-1
		}
	}
	m.sorted, m.tail = out, m.tail[:0]
}

// size is what the budget counts for m's entries.
func (m *memo) size() int { return 8 * (cap(m.sorted) + cap(m.tail)) }

// forget drops vid's memo: its next hit reads storage again.
func (s *spillMemo) forget(vid string) {
	if s == nil {
		return
	}
	sh := s.shard(vid)
	sh.mu.Lock()
	if m := sh.m[vid]; m != nil {
		sh.forget(vid, m)
	}
	sh.mu.Unlock()
}

// makeRoom forgets other visitors' memos, chosen at random, until need more bytes fit; it
// reports whether they do. Forgetting is always safe: those visitors read storage again.
func (sh *memoShard) makeRoom(need int, keep string) bool {
	for sh.bytes+need > sh.limit {
		victim := ""
		for v := range sh.m {
			if v != keep {
				victim = v
				break
			}
		}
		if victim == "" {
			return false
		}
		sh.forget(victim, sh.m[victim])
	}
	return true
}

func (sh *memoShard) forget(vid string, m *memo) {
	sh.bytes -= memoBase + len(vid) + m.size()
	delete(sh.m, vid)
}

// memoHashMask keeps the bits of an id hash that journeys and spill packs keep.
const memoHashMask = 1<<48 - 1
