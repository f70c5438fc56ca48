package enrich

import "testing"

func TestCacheEvicts(t *testing.T) {
	c := newCache[uintptr, int](cacheShards*4, hashOffset)
	for k := range uintptr(10000) {
		c.put(k, int(k))
		if v, ok := c.get(k); !ok || v != int(k) {
			t.Fatalf("get(%d) right after put = %d, %v; want %d, true", k, v, ok, k)
		}
	}
	if n := c.len(); n > cacheShards*4 {
		t.Errorf("len() = %d after 10000 puts; want at most %d", n, cacheShards*4)
	}
	// Overwriting a present key must not evict anything.
	before := c.len()
	c.put(9999, -1)
	if v, _ := c.get(9999); v != -1 || c.len() != before {
		t.Errorf("put(9999) over a present key: get = %d, len = %d; want -1, %d", v, c.len(), before)
	}
}

func TestCacheTiny(t *testing.T) {
	c := newCache[uintptr, int](0, hashOffset)
	c.put(1, 1)
	if v, ok := c.get(1); !ok || v != 1 {
		t.Errorf("get(1) on a zero-size cache = %d, %v; want 1, true (one entry per shard)", v, ok)
	}
}
