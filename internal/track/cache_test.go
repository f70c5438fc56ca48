package track

import (
	"fmt"
	"testing"
)

func TestStateCacheGetPutDrop(t *testing.T) {
	c := newStateCache(1 << 20)
	if _, ok := c.get("a", nil); ok {
		t.Fatal("empty cache found a")
	}
	c.put("a", []byte("one"))
	c.put("a", []byte("two"))
	if v, ok := c.get("a", []byte("x:")); !ok || string(v) != "x:two" {
		t.Fatalf("get(a) = %q, %v; want x:two", v, ok)
	}
	c.drop("a")
	if c.has("a") {
		t.Fatal("dropped entry still cached")
	}
	var off *stateCache // a disabled cache
	off.put("a", []byte("x"))
	if _, ok := off.get("a", nil); ok || off.has("a") {
		t.Fatal("disabled cache stored something")
	}
}

func TestStateCacheStaysWithinBudget(t *testing.T) {
	c := newStateCache(cacheShards * 2 * 4096) // the smallest generations
	val := make([]byte, 500)
	for i := 0; i < 10000; i++ {
		c.put(fmt.Sprintf("visitor-%05d", i), val)
	}
	total := 0
	for i := range c.gens.shards {
		sh := &c.gens.shards[i]
		for k, v := range sh.cur {
			total += len(k) + len(v)
		}
		for k, v := range sh.prev {
			total += len(k) + len(v)
		}
	}
	if limit := cacheShards * 2 * (4096 + 600); total > limit {
		t.Fatalf("cache holds %d bytes; want at most about %d", total, limit)
	}
	// The most recent entries survive.
	if !c.has("visitor-09999") {
		t.Fatal("the newest entry was evicted")
	}
}
