package track

import (
	"hash/maphash"
	"sync"
)

// genCache is the storage both of the tracker's caches share (stateCache, journeyCache):
// entries under a visitor's key, in cacheShards shards, each holding about its share of a
// byte budget.
//
// Each shard keeps two generations of entries. Reads look in the current generation, then
// in the previous one, moving a found entry to the current one; when the current generation
// outgrows its half of the shard's budget it becomes the previous one and the old previous
// generation is dropped. That approximates LRU at O(1) per operation, with no list to
// maintain and no per-entry bookkeeping.
type genCache[V any] struct {
	seed   maphash.Seed
	shards [cacheShards]genShard[V]
}

const cacheShards = 64

// genShard is one shard of a genCache. Its methods other than has and drop expect the
// caller to hold mu.
type genShard[V any] struct {
	mu        sync.Mutex
	cur, prev map[string]V
	curBytes  int
	limit     int                       // bytes per generation
	size      func(key string, v V) int // what an entry is charged
}

// init readies c to hold about budget bytes, an entry charged size(key, value).
func (c *genCache[V]) init(budget int, size func(string, V) int) {
	c.seed = maphash.MakeSeed()
	per := max(budget/cacheShards/2, 4096)
	for i := range c.shards {
		c.shards[i] = genShard[V]{cur: map[string]V{}, prev: map[string]V{}, limit: per, size: size}
	}
}

func (c *genCache[V]) shard(key string) *genShard[V] {
	return &c.shards[maphash.String(c.seed, key)%cacheShards]
}

// has reports whether key is cached.
func (c *genCache[V]) has(key string) bool {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, ok := sh.peek(key)
	return ok
}

// drop forgets key.
func (c *genCache[V]) drop(key string) {
	sh := c.shard(key)
	sh.mu.Lock()
	sh.remove(key)
	sh.mu.Unlock()
}

// peek returns the entry of key, leaving it where it is.
func (sh *genShard[V]) peek(key string) (V, bool) {
	if v, ok := sh.cur[key]; ok {
		return v, true
	}
	v, ok := sh.prev[key]
	return v, ok
}

// get returns the entry of key, moving it to the current generation.
func (sh *genShard[V]) get(key string) (V, bool) {
	if v, ok := sh.cur[key]; ok {
		return v, true
	}
	v, ok := sh.prev[key]
	if ok {
		delete(sh.prev, key)
		sh.add(key, v)
	}
	return v, ok
}

// remove takes the entry of key out of the shard and returns it.
func (sh *genShard[V]) remove(key string) (V, bool) {
	if v, ok := sh.cur[key]; ok {
		sh.curBytes -= sh.size(key, v)
		delete(sh.cur, key)
		return v, true
	}
	v, ok := sh.prev[key]
	if ok {
		delete(sh.prev, key)
	}
	return v, ok
}

// add files v under key in the current generation, which becomes the previous one when it
// outgrows its budget. key must not be in the current generation already.
func (sh *genShard[V]) add(key string, v V) {
	sh.cur[key] = v
	sh.curBytes += sh.size(key, v)
	if sh.curBytes > sh.limit {
		sh.prev, sh.cur, sh.curBytes = sh.cur, make(map[string]V, len(sh.cur)), 0
	}
}
