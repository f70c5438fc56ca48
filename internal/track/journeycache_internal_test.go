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
	c.put(vid, in, 40, 100, false, nil)
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
	sh := c.gens.shard("a")
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
	off.put("a", &journey.State{}, 0, 0, false, nil)
	if _, ok := off.get("a", &st); ok || off.has("a") {
		t.Fatal("disabled cache stored something")
	}
}

func TestJourneyCacheStaysWithinBudget(t *testing.T) {
	budget := cacheShards * 2 * 8192
	c := newJourneyCache(budget)
	for i := range 20000 {
		st := &journey.State{Paths: make([]journey.Count, 4), Recent: make([]journey.RecentID, 16)}
		c.put(fmt.Sprintf("visitor-%05d", i), st, 300, 300, false, nil)
	}
	total, n := 0, 0
	for i := range c.gens.shards {
		sh := &c.gens.shards[i]
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

func TestJourneyCacheTakeAndPutBack(t *testing.T) {
	c := newJourneyCache(1 << 20)
	c.put("a", &journey.State{Pageviews: 1, Recent: make([]journey.RecentID, 3, 8)}, 10, 20, false, nil)
	work := journey.State{Paths: make([]journey.Count, 0, 5)} // a pooled State's arrays
	e, loaded, ok := c.take("a", &work)
	if !ok || e == nil || loaded != 20 || work.Pageviews != 1 || len(work.Recent) != 3 {
		t.Fatalf("take(a) = %v, %d, %v, state %+v", e, loaded, ok, work)
	}
	if c.has("a") {
		t.Fatal("a taken journey is still cached: a failed hit would leave it changed")
	}
	work.Pageviews = 2
	c.put("a", &work, 12, 20, false, e)
	if cap(work.Paths) != 5 || work.Pageviews != 0 {
		t.Errorf("put gave back %+v; want the pooled State's own arrays", work)
	}
	var st journey.State
	if _, ok := c.get("a", &st); !ok || st.Pageviews != 2 {
		t.Fatalf("after put, get(a) = %+v, %v; want 2 pageviews", st, ok)
	}
	// Taken and given back unchanged.
	e, _, _ = c.take("a", &work)
	c.restore(e, &work)
	if _, ok := c.get("a", &st); !ok || st.Pageviews != 2 || e.enc != 12 {
		t.Fatalf("after restore, get(a) = %+v, %v", st, ok)
	}
	// A queued journey is copied, and stays.
	c.put("q", &journey.State{Pageviews: 7}, 10, 0, true, nil)
	if e, _, ok := c.take("q", &work); !ok || e != nil || work.Pageviews != 7 || !c.has("q") {
		t.Fatalf("take of a queued journey = %v, %v, state %+v, cached %v; want a copy, still cached", e, ok, work, c.has("q"))
	}
}
