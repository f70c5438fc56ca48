package track

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/pathlight/pathlight/internal/journey"
)

func TestJourneyCacheGetPutDrop(t *testing.T) {
	c := newJourneyCache(1 << 20)
	var st journey.State
	if _, ok := c.get("a", &st); ok {
		t.Fatal("empty cache found a")
	}
	// The key arrives as part of a request's text: the cache keeps its own copy.
	text := `{"vid":"a","site":"demo"}`
	vid := text[8:9]
	in := &journey.State{VID: vid, Pageviews: 3, Paths: []journey.Count{{Key: "/", N: 3}}}
	c.put(vid, in, 40, 100)
	if in.Pageviews == 3 {
		t.Error("put copied the State instead of taking it over")
	}
	loaded, ok := c.get("a", &st)
	if !ok || loaded != 100 || st.Pageviews != 3 || len(st.Paths) != 1 || st.VID != "a" {
		t.Fatalf("get(a) = %+v, loaded %d, %v", st, loaded, ok)
	}
	if unsafe.StringData(st.VID) == unsafe.StringData(vid) {
		t.Error("the cached journey keeps the request's text through its VID")
	}
	st.Paths[0].N = 99 // a hit changes its copy only
	var again journey.State
	c.get("a", &again)
	if again.Paths[0].N != 3 {
		t.Errorf("changing a copy changed the cached journey: N = %d", again.Paths[0].N)
	}
	sh := c.shard("a")
	for k, e := range sh.cur {
		if unsafe.StringData(k) == unsafe.StringData(vid) {
			t.Error("the cache's map keeps the request's text through its key")
		}
		if want := len(k) + e.st.MemSize() + 40 + 100 + journeyEntryOverhead; e.size != want {
			t.Errorf("entry charged %d bytes; want %d", e.size, want)
		}
	}
	c.drop("a")
	if c.has("a") {
		t.Fatal("dropped entry still cached")
	}
	var off *journeyCache // a disabled cache
	off.put("a", &journey.State{}, 0, 0)
	if _, ok := off.get("a", &st); ok || off.has("a") {
		t.Fatal("disabled cache stored something")
	}
}

func TestJourneyCacheStaysWithinBudget(t *testing.T) {
	budget := cacheShards * 2 * 8192
	c := newJourneyCache(budget)
	for i := range 20000 {
		st := &journey.State{Paths: make([]journey.Count, 4), Recent: make([]journey.RecentID, 16)}
		c.put(fmt.Sprintf("visitor-%05d", i), st, 300, 300)
	}
	total, n := 0, 0
	for i := range c.shards {
		sh := &c.shards[i]
		for _, m := range []map[string]*cachedJourney{sh.cur, sh.prev} {
			for _, e := range m {
				total += e.size
				n++
			}
		}
	}
	if total > budget+cacheShards*2*2048 {
		t.Fatalf("cache charges %d bytes for %d journeys; want at most about %d", total, n, budget)
	}
	if !c.has("visitor-19999") {
		t.Fatal("the newest entry was evicted")
	}
	if n < 100 {
		t.Fatalf("%d journeys cached; want the budget's worth", n)
	}
}
