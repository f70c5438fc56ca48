package track

import (
	"hash/maphash"
	"strings"
	"sync"

	"github.com/pathlight/pathlight/internal/journey"
)

// journeyCache keeps the journeys of recently active visitors decoded, so that a hit of a
// returning visitor neither reads storage nor decodes a record: it copies the cached State
// (a few memory moves), applies the hit, encodes it once for the commit and hands the State
// back. It is exact, not best-effort, for the same reasons as stateCache: only this process
// writes visitor states, and every write and delete of a state happens under the visitor's
// lock, which also covers the cache update, so the cache never serves a stale journey.
//
// A hit works on a copy, never on the cached State itself: a hit that fails to commit leaves
// the cache as it was (in cluster mode the cache may hold the only copy of a queued journey).
//
// Memory. Each entry is charged, against the same two-generation budget as stateCache:
//
//   - the State's own memory (journey.State.MemSize: the struct and its arrays, whole
//     capacity), with the entries past each list's length cleared, so it keeps nothing else;
//   - the record its strings were decoded from (Decode gives all strings one copy of the
//     record), when it came from storage;
//   - its latest encoding: every other string it holds is a copy made when a hit added it
//     (journey.Options.OwnStrings, never a part of the request's text), which that encoding
//     holds too, or a string of the rule set or of the enrichment caches, which they own;
//   - the key, copied on insertion, and a fixed overhead for the map slot and the entry.
//
// That sum bounds what an entry keeps alive; a decoded journey takes about three times its
// record, so the same budget holds about a third as many visitors as records would.
type journeyCache struct {
	seed   maphash.Seed
	shards [cacheShards]journeyShard
}

type journeyShard struct {
	mu        sync.Mutex
	cur, prev map[string]*cachedJourney
	curBytes  int
	limit     int // bytes per generation
}

// cachedJourney is one visitor's decoded journey and what it is charged.
type cachedJourney struct {
	st     journey.State
	size   int // bytes charged against the budget
	loaded int // length of the stored records the State's strings may share
}

// journeyEntryOverhead is what an entry costs beside its State and strings: the map slot
// (key header, pointer, control byte) and the entry's own fields.
const journeyEntryOverhead = 64

// newJourneyCache returns a cache holding about budget bytes of journeys; 0 disables it.
func newJourneyCache(budget int) *journeyCache {
	if budget <= 0 {
		return nil
	}
	c := &journeyCache{seed: maphash.MakeSeed()}
	per := max(budget/cacheShards/2, 4096)
	for i := range c.shards {
		c.shards[i] = journeyShard{cur: map[string]*cachedJourney{}, prev: map[string]*cachedJourney{}, limit: per}
	}
	return c
}

func (c *journeyCache) shard(vid string) *journeyShard {
	return &c.shards[maphash.String(c.seed, vid)%cacheShards]
}

// get copies the cached journey of vid into dst (see journey.Copy: dst's arrays are reused)
// and returns the length of the records its strings may share, for put.
func (c *journeyCache) get(vid string, dst *journey.State) (loaded int, ok bool) {
	if c == nil {
		return 0, false
	}
	sh := c.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.cur[vid]
	if !ok {
		if e, ok = sh.prev[vid]; !ok {
			return 0, false
		}
		delete(sh.prev, vid)
		sh.add(e.st.VID, e) // the entry's own copy of the key
	}
	journey.Copy(dst, &e.st)
	return e.loaded, true
}

// has reports whether vid's journey is cached.
func (c *journeyCache) has(vid string) bool {
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

// put keeps st as the journey of vid, committed with an encoding of encLen bytes; loaded is
// the length of the stored records its strings may share (what get returned, plus what was
// decoded since). st is taken over, not copied: it is left holding the arrays of the entry it
// replaced (or none), for the caller to reset and reuse.
func (c *journeyCache) put(vid string, st *journey.State, encLen, loaded int) {
	if c == nil {
		return
	}
	sh := c.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.cur[vid]
	if ok {
		sh.curBytes -= e.size
	} else if e, ok = sh.prev[vid]; ok {
		delete(sh.prev, vid)
	}
	// The map's key and the State's VID are one copy of vid, made when the entry was added:
	// vid may be part of the request's text, which a key of the map would keep alive.
	var key string
	if ok {
		key = e.st.VID
	} else {
		key, e = strings.Clone(vid), &cachedJourney{}
	}
	e.st, *st = *st, e.st
	e.st.VID = key
	e.st.ClearSpare()
	e.loaded = loaded
	e.size = len(key) + e.st.MemSize() + encLen + loaded + journeyEntryOverhead
	sh.add(key, e)
}

func (sh *journeyShard) add(vid string, e *cachedJourney) {
	sh.cur[vid] = e
	sh.curBytes += e.size
	if sh.curBytes > sh.limit {
		sh.prev, sh.cur, sh.curBytes = sh.cur, make(map[string]*cachedJourney, len(sh.cur)), 0
	}
}

// drop forgets vid: its state was deleted or moved.
func (c *journeyCache) drop(vid string) {
	if c == nil {
		return
	}
	sh := c.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.cur[vid]; ok {
		sh.curBytes -= e.size
		delete(sh.cur, vid)
	}
	delete(sh.prev, vid)
}
