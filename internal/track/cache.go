package track

// stateCache keeps encoded records of recently active visitors (the automation memories,
// under autoCacheKey) so that a hit of a returning visitor needs no storage read for them. It
// is exact, not best-effort: only this process writes them, and every write and delete
// happens under the visitor's lock, which also covers the cache update, so the cache never
// serves a stale record. Its entries are kept in two generations per shard (see genCache).
type stateCache struct {
	gens genCache[[]byte]
}

// newStateCache returns a cache holding about budget bytes of encoded states; 0 disables it.
func newStateCache(budget int) *stateCache {
	if budget <= 0 {
		return nil
	}
	c := &stateCache{}
	c.gens.init(budget, func(key string, v []byte) int { return len(v) + len(key) })
	return c
}

// get appends the cached encoding of vid to dst.
func (c *stateCache) get(vid string, dst []byte) ([]byte, bool) {
	if c == nil {
		return dst, false
	}
	sh := c.gens.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	v, ok := sh.get(vid)
	if !ok {
		return dst, false
	}
	return append(dst, v...), true
}

// has reports whether vid's record is cached.
func (c *stateCache) has(vid string) bool { return c != nil && c.gens.has(vid) }

// put stores a copy of the encoding of vid, in the memory of the entry it replaces when that
// is large enough: entries never leave the cache (get copies them out), so it is free.
func (c *stateCache) put(vid string, enc []byte) {
	if c == nil {
		return
	}
	sh := c.gens.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, _ := sh.remove(vid)
	if cap(old) < len(enc) || cap(old) > 2*len(enc)+64 {
		old = make([]byte, 0, len(enc)+len(enc)/8) // room to grow by a hit or two
	}
	sh.add(vid, append(old[:0], enc...))
}

// drop forgets vid: its state was deleted or moved.
func (c *stateCache) drop(vid string) {
	if c != nil {
		c.gens.drop(vid)
	}
}
