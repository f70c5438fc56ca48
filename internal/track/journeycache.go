package track

import (
	"strings"

	"github.com/pathlight/pathlight/internal/journey"
)

// journeyCache keeps the journeys of recently active visitors decoded, so that a hit of a
// returning visitor neither reads storage nor decodes a record: it copies the cached State
// (a few memory moves), applies the hit, encodes it once for the commit and hands the State
// back. It is exact, not best-effort, for the same reasons as stateCache: only this process
// writes visitor states, and every write and delete of a state happens under the visitor's
// lock, which also covers the cache update, so the cache never serves a stale journey.
//
// A hit takes the State out of the cache (take: two structs swapped, nothing copied), changes
// it, and puts it back after its commit. A hit that fails leaves the visitor uncached, so
// that the next one reads the committed journey from storage. The exception is a journey
// whose last commit was queued (cluster mode, stream out of reach): the cache holds the only
// copy of it on this server, so a hit works on a copy of it (journey.Copy) and the cached one
// stays as it was until a commit replaces it.
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
// That sum bounds what an entry keeps alive; a decoded journey is charged about five times
// its record, so the same budget holds about a fifth as many visitors as records would.
type journeyCache struct {
	gens genCache[*cachedJourney]
}

// cachedJourney is one visitor's decoded journey and what it is charged.
type cachedJourney struct {
	st     journey.State
	key    string // the map's key, a copy of the visitor id of its own
	size   int    // bytes charged against the budget
	enc    int    // length of the encoding committed with st
	loaded int    // length of the stored records the State's strings may share
	queued bool   // the commit of st is queued, not in the local store (cluster mode)
}

// journeyEntryOverhead is what an entry costs beside its State and strings: the map slot
// (key header, pointer, control byte) and the entry's own fields.
const journeyEntryOverhead = 64

// newJourneyCache returns a cache holding about budget bytes of journeys; 0 disables it.
func newJourneyCache(budget int) *journeyCache {
	if budget <= 0 {
		return nil
	}
	c := &journeyCache{}
	c.gens.init(budget, func(_ string, e *cachedJourney) int { return e.size })
	return c
}

// get copies the cached journey of vid into dst (see journey.Copy: dst's arrays are reused)
// and returns the length of the records its strings may share, for put.
func (c *journeyCache) get(vid string, dst *journey.State) (loaded int, ok bool) {
	if c == nil {
		return 0, false
	}
	sh := c.gens.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.get(vid)
	if !ok {
		return 0, false
	}
	journey.Copy(dst, &e.st)
	return e.loaded, true
}

// take moves the cached journey of vid into dst, for a hit that will put it back, and
// returns the entry, which holds dst's former arrays until put (or restore) gives them back.
// A queued journey is copied instead and stays cached (see journeyCache); e is then nil.
func (c *journeyCache) take(vid string, dst *journey.State) (e *cachedJourney, loaded int, ok bool) {
	if c == nil {
		return nil, 0, false
	}
	sh := c.gens.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok = sh.peek(vid); !ok {
		return nil, 0, false
	}
	if e.queued {
		sh.get(vid) // to the current generation
		journey.Copy(dst, &e.st)
		return nil, e.loaded, true
	}
	sh.remove(vid)
	*dst, e.st = e.st, *dst
	return e, e.loaded, true
}

// restore puts back what take moved out, unchanged: st is the journey take gave, and gets
// its former arrays back.
func (c *journeyCache) restore(e *cachedJourney, st *journey.State) {
	c.put(e.key, st, e.enc, e.loaded, false, e)
}

// has reports whether vid's journey is cached.
func (c *journeyCache) has(vid string) bool { return c != nil && c.gens.has(vid) }

// put keeps st as the journey of vid, committed with an encoding of encLen bytes (queued:
// that commit is queued, see Commit); loaded is the length of the stored records its strings
// may share (what take or get returned, plus what was decoded since). st is taken over, not
// copied: it is left holding the arrays of the entry it replaced (or of taken, the entry take
// returned for vid, or none), for the caller to reset and reuse.
func (c *journeyCache) put(vid string, st *journey.State, encLen, loaded int, queued bool, taken *cachedJourney) {
	if c == nil {
		return
	}
	sh := c.gens.shard(vid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.remove(vid)
	if !ok && taken != nil && taken.key == vid {
		e, ok = taken, true
	}
	// The map's key and the State's VID are one copy of vid, made when the entry was added:
	// vid may be part of the request's text, which a key of the map would keep alive.
	if !ok {
		e = &cachedJourney{key: strings.Clone(vid)}
	}
	e.st, *st = *st, e.st
	e.st.VID = e.key
	e.st.ClearSpare()
	e.enc, e.loaded, e.queued = encLen, loaded, queued
	e.size = len(e.key) + e.st.MemSize() + encLen + loaded + journeyEntryOverhead
	sh.add(e.key, e)
}

// drop forgets vid: its state was deleted or moved.
func (c *journeyCache) drop(vid string) {
	if c != nil {
		c.gens.drop(vid)
	}
}
