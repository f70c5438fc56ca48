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
// A memo keeps each id as 4 bytes, 32 of the 48 bits of its hash that journeys and packs
// keep, in generations of ids whose windows end within the same six hours: a generation
// goes whole once the last of its windows has ended. "Not there" is certain and answered
// from memory; "maybe" (the same 32 bits, once in 4 billion ids for another id, or an id
// whose window ended within its generation's six hours) reads storage, which answers
// exactly. A memo loaded from packs cannot know the site-wide ids marked on the visitor's
// behalf before it began, nor the single spill keys of earlier releases: until pointUntil,
// the visitor's hits still read those by their ids.
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
	gens       []memoGen // by end, oldest first
	pointUntil int64     // until then, ids are also read at their site-wide and old spill keys
}

// memoGen holds the ids whose windows end before end, and after end - memoGenSpan.
type memoGen struct {
	end    int64
	sorted []uint32 // in order
	tail   []uint32 // added since the last merge into sorted, at most memoTail
}

const (
	memoGenSpan = 6 * 3600
	memoTail    = 32
	memoBase    = 96 // bytes of a memo besides its generations, for the budget
	memoGenBase = 64 // bytes of a generation besides its ids
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
func (s *spillMemo) begin(vid string) {
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
	sh.m[strings.Clone(vid)] = &memo{}
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
	if _, ok := sh.m[vid]; ok {
		return
	}
	m := &memo{pointUntil: pointUntil}
	for _, r := range ids {
		g := m.gen(r.At + dedupWindowSec)
		g.sorted = append(g.sorted, fragment(r.Hash))
	}
	for i := range m.gens {
		slices.Sort(m.gens[i].sorted)
	}
	need := memoBase + len(vid) + m.size()
	if !sh.makeRoom(need, "") {
		return
	}
	sh.m[strings.Clone(vid)] = m
	sh.bytes += need
}

// check answers for the ids of a batch at wall: known is false when vid has no memo (every
// answer must come from storage); otherwise may[i] reports whether hashes[i] may have been
// stored for vid (false is certain), point whether the ids must still be read at their
// site-wide and old spill keys, and held how many ids the memo holds (some of them may be
// out of their window).
func (s *spillMemo) check(vid string, hashes []uint64, wall int64, may []bool) (known, point bool, held int) {
	if s == nil {
		return false, false, 0
	}
	sh := s.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	m := sh.m[vid]
	if m == nil {
		return false, false, 0
	}
	for i, h := range hashes {
		may[i] = m.mayHave(fragment(h), wall)
	}
	for i := range m.gens {
		held += len(m.gens[i].sorted) + len(m.gens[i].tail)
	}
	return true, m.pointUntil > wall, held
}

// fragment is the part of an id hash a memo keeps: bits 16 to 47.
func fragment(h uint64) uint32 { return uint32(h >> 16) }

// gen returns the generation of ids whose window ends at until, added if missing.
func (m *memo) gen(until int64) *memoGen {
	end := (until/memoGenSpan + 1) * memoGenSpan
	i := len(m.gens)
	for i > 0 && m.gens[i-1].end > end {
		i--
	}
	if i == 0 || m.gens[i-1].end != end {
		m.gens = slices.Insert(m.gens, i, memoGen{end: end})
		return &m.gens[i]
	}
	return &m.gens[i-1]
}

// mayHave reports whether an id with hash fragment f may be stored for the visitor and
// inside its window at wall.
func (m *memo) mayHave(f uint32, wall int64) bool {
	for i := len(m.gens) - 1; i >= 0; i-- {
		g := &m.gens[i]
		if g.end <= wall {
			break
		}
		if slices.Contains(g.tail, f) {
			return true
		}
		if _, found := slices.BinarySearch(g.sorted, f); found {
			return true
		}
	}
	return false
}

// expire drops the generations whose every window ended by wall.
func (m *memo) expire(wall int64) {
	n := 0
	for n < len(m.gens) && m.gens[n].end <= wall {
		n++
	}
	if n > 0 {
		m.gens = slices.Delete(m.gens, 0, n)
	}
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
	before := m.size()
	m.expire(wall)
	g := m.gen(until)
	if len(g.tail) == memoTail {
		g.merge()
	}
	if g.tail == nil {
		g.tail = make([]uint32, 0, memoTail)
	}
	g.tail = append(g.tail, fragment(h))
	sh.bytes += m.size() - before
	if !sh.makeRoom(0, vid) {
		sh.forget(vid, m)
	}
}

// merge moves the tail into sorted, in place from the back when sorted has room, growing
// it by a quarter when not.
func (g *memoGen) merge() {
	tail := g.tail
	slices.Sort(tail)
	a := g.sorted
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
	g.sorted, g.tail = out, g.tail[:0]
}

// size is what the budget counts for m's generations.
func (m *memo) size() int {
	n := 0
	for i := range m.gens {
		n += memoGenBase + 4*(cap(m.gens[i].sorted)+cap(m.gens[i].tail))
	}
	return n
}

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
