package enrich

import "sync"

// cacheShards is the number of independently locked parts of a cache. Sixteen keeps lock
// contention negligible on the cores an edge node has, while a small cache still gives each
// shard room for a useful number of entries.
const cacheShards = 16

// cache is a bounded, concurrency-safe map from K to V. Each shard holds at most its share of
// the capacity; inserting into a full shard evicts one entry picked at random (Go map
// iteration starts at a random position). Random eviction needs no bookkeeping on a hit, so a
// hit is one read-locked map lookup and allocates nothing, and it is good enough for the
// skewed key distributions it serves: a few hundred user agents and GeoIP records make up
// most traffic.
type cache[K comparable, V any] struct {
	hash   func(K) uint64
	perCap int
	shards [cacheShards]cacheShard[K, V]
}

type cacheShard[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
	_  [32]byte // pad to 64 bytes, a cache line: each shard is written under its own lock
}

// newCache returns a cache that holds about size entries (at least one per shard), spreading
// keys over shards with hash.
func newCache[K comparable, V any](size int, hash func(K) uint64) *cache[K, V] {
	per := (size + cacheShards - 1) / cacheShards
	if per < 1 {
		per = 1
	}
	c := &cache[K, V]{hash: hash, perCap: per}
	for i := range c.shards {
		c.shards[i].m = make(map[K]V, min(per, 1024))
	}
	return c
}

func (c *cache[K, V]) shard(k K) *cacheShard[K, V] {
	return &c.shards[c.hash(k)%cacheShards]
}

// get returns the value cached for k.
func (c *cache[K, V]) get(k K) (V, bool) {
	s := c.shard(k)
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	return v, ok
}

// put stores v for k, evicting a random entry of k's shard when the shard is full. The caller
// must not pass a key that aliases a transient buffer: the cache keeps it.
func (c *cache[K, V]) put(k K, v V) {
	s := c.shard(k)
	s.mu.Lock()
	if _, ok := s.m[k]; !ok && len(s.m) >= c.perCap {
		for old := range s.m {
			delete(s.m, old)
			break
		}
	}
	s.m[k] = v
	s.mu.Unlock()
}

// len returns the number of cached entries.
func (c *cache[K, V]) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
