package track

import (
	"hash/maphash"
	"strings"
	"sync"
)

// spillMemo answers, from memory, the dedup question that otherwise costs a storage read on
// every hit of a busy visitor: was this event id pushed out of the journey's recent ids (a
// spill key) or marked site-wide on the journey's behalf (a dedup key), within its window?
//
// It is exact because it only answers for a visitor whose every such id it has seen: a
// visitor's memo begins when the tracker knows that none is stored (an id minted for this
// request, or a journey loaded with no spill window open) and hears every later one after its
// commit; anything that could add ids it did not see (a merge, an erase, a full budget)
// forgets the visitor, whose hits then read storage as before until its window closes. All
// of a visitor's calls happen under the visitor's lock.
//
// A memo holds its first ids exactly and then a Bloom filter of them: "not there" is certain
// and answered from memory; "maybe" reads storage, as before.
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
	ids   []uint64 // exact, until memoExact of them
	bloom []uint64 // then a Bloom filter of memoBloomBits bits
	until int64    // the end of the last id's window: after it, the memo is empty again
}

const (
	memoExact     = 16
	memoBloomBits = 8192
	memoBase      = 64 // bytes of a memo besides its ids, for the budget
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

// mayHave reports whether id hash h may have been stored for vid and still be inside its
// window at wall (Unix seconds); false is certain when known(vid).
func (s *spillMemo) mayHave(vid string, h uint64, wall int64) bool {
	sh := s.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.m[vid].mayHave(h, wall)
}

// mayHaveAny is known and mayHave of every hash in one look-up: it reports whether vid has a
// memo and, if so, sets may[i] to whether hashes[i] may have been stored for vid.
func (s *spillMemo) mayHaveAny(vid string, hashes []uint64, wall int64, may []bool) (known bool) {
	if s == nil {
		return false
	}
	sh := s.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	m := sh.m[vid]
	if m == nil {
		return false
	}
	for i, h := range hashes {
		may[i] = m.mayHave(h, wall)
	}
	return true
}

// mayHave is spillMemo.mayHave on the memo of one visitor, nil when there is none.
func (m *memo) mayHave(h uint64, wall int64) bool {
	if m == nil {
		return true
	}
	if m.until <= wall {
		return false
	}
	if m.bloom == nil {
		for _, x := range m.ids {
			if x&memoHashMask == h&memoHashMask {
				return true
			}
		}
		return false
	}
	for _, b := range bloomBits(h) {
		if m.bloom[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
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
	if m.until <= wall && (len(m.ids) > 0 || m.bloom != nil) {
		// Every id it held is out of its window: start afresh.
		sh.bytes -= 8*len(m.ids) + 8*len(m.bloom)
		m.ids, m.bloom = nil, nil
	}
	m.until = max(m.until, until)
	switch {
	case m.bloom != nil:
	case len(m.ids) < memoExact:
		if !sh.makeRoom(8, vid) {
			sh.forget(vid, m)
			return
		}
		m.ids = append(m.ids, h)
		sh.bytes += 8
		return
	default:
		if !sh.makeRoom(memoBloomBits/8, vid) {
			sh.forget(vid, m)
			return
		}
		m.bloom = make([]uint64, memoBloomBits/64)
		sh.bytes += memoBloomBits/8 - 8*len(m.ids)
		for _, x := range m.ids {
			setBloom(m.bloom, x)
		}
		m.ids = nil
	}
	setBloom(m.bloom, h)
}

// forget drops vid's memo: its hits read storage again.
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
	sh.bytes -= memoBase + len(vid) + 8*len(m.ids) + 8*len(m.bloom)
	delete(sh.m, vid)
}

// memoHashMask keeps the bits of an id hash that journeys and spill keys keep.
const memoHashMask = 1<<48 - 1

// bloomBits derives the filter's three bit positions from an id hash.
func bloomBits(h uint64) [3]uint64 {
	h &= memoHashMask
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return [3]uint64{h % memoBloomBits, (h >> 16) % memoBloomBits, (h >> 32) % memoBloomBits}
}

func setBloom(f []uint64, h uint64) {
	for _, b := range bloomBits(h) {
		f[b/64] |= 1 << (b % 64)
	}
}
