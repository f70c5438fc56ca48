package track

import (
	"hash/maphash"
	"sync"
)

// stateCache keeps the encoded journeys of recently active visitors so that a hit of a
// returning visitor needs no storage read. It is exact, not best-effort: only this process
// writes visitor states, and every write and delete of a state happens under the visitor's
// lock, which also covers the cache update, so the cache never serves a stale journey.
//
// Each shard keeps two generations of entries. Reads look in the current generation, then
// in the previous one, moving a found entry to the current one; when the current generation
// outgrows its half of the byte budget it becomes the previous one and the old previous
// generation is dropped. That approximates LRU at O(1) per operation, with no list to
// maintain and no per-entry bookkeeping.
type stateCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

const cacheShards = 64

type cacheShard struct {
	mu        sync.Mutex
	cur, prev map[string][]byte
	curBytes  int
	limit     int // bytes per generation
}

// newStateCache returns a cache holding about budget bytes of encoded states; 0 disables it.
func newStateCache(budget int) *stateCache {
	if budget <= 0 {
		return nil
	}
	c := &stateCache{seed: maphash.MakeSeed()}
	per := max(budget/cacheShards/2, 4096)
	for i := range c.shards {
		c.shards[i] = cacheShard{cur: map[string][]byte{}, prev: map[string][]byte{}, limit: per}
	}
	return c
}

func (c *stateCache) shard(vid string) *cacheShard {
	return &c.shards[maphash.String(c.seed, vid)%cacheShards]
}

// get appends the cached encoding of vid to dst.
func (c *stateCache) get(vid string, dst []byte) ([]byte, bool) {
	if c == nil {
		return dst, false
	}
	sh := c.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	v, ok := sh.cur[vid]
	if !ok {
		if v, ok = sh.prev[vid]; !ok {
			return dst, false
		}
		delete(sh.prev, vid)
		sh.add(vid, v)
	}
	return append(dst, v...), true
}

// has reports whether vid's journey is cached.
func (c *stateCache) has(vid string) bool {
	if c == nil {
		return false
	}
	sh := c.shard(vid)
	sh.mu.Lock()
	_, ok := sh.cur[vid]
	if !ok {
		_, ok = sh.prev[vid]
	}
	sh.mu.Unlock()
	return ok
}

// put stores a copy of the encoding of vid, in the memory of the entry it replaces when that
// is large enough: entries never leave the cache (get copies them out), so it is free.
func (c *stateCache) put(vid string, enc []byte) {
	if c == nil {
		return
	}
	sh := c.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, ok := sh.cur[vid]
	if ok {
		sh.curBytes -= len(old) + len(vid)
	} else if old, ok = sh.prev[vid]; ok {
		delete(sh.prev, vid)
	}
	if cap(old) < len(enc) || cap(old) > 2*len(enc)+64 {
		old = make([]byte, 0, len(enc)+len(enc)/8) // room to grow by a hit or two
	}
	sh.add(vid, append(old[:0], enc...))
}

func (sh *cacheShard) add(vid string, v []byte) {
	sh.cur[vid] = v
	sh.curBytes += len(v) + len(vid)
	if sh.curBytes > sh.limit {
		sh.prev, sh.cur, sh.curBytes = sh.cur, make(map[string][]byte, len(sh.cur)), 0
	}
}

// drop forgets vid: its state was deleted or moved.
func (c *stateCache) drop(vid string) {
	if c == nil {
		return
	}
	sh := c.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if old, ok := sh.cur[vid]; ok {
		sh.curBytes -= len(old) + len(vid)
		delete(sh.cur, vid)
	}
	delete(sh.prev, vid)
}
