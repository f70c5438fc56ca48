package track

import (
	"errors"
	"fmt"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

// work is the scratch space of one Track call, pooled so that the hot path reuses its slices.
// A work belongs to one call from pool.Get to putWork; nothing in it outlives the call except
// what the store copies on commit.
type work struct {
	device  event.Device
	geo     event.Geo
	offline bool // the request's events come from a back end (Request.Offline)

	state journey.State // the visitor being tracked
	other journey.State // a second journey: the known user's, during identity linking

	hits        []event.Hit
	decideEvent event.Event
	decideHit   event.Hit
	anonEvent   event.Event // the record of a hit without a visitor id, see anonymize
	anonHit     event.Hit
	extra       []event.Event // exposure and holdout log events

	ops      []Op
	arena    []byte // backing store of op keys and values, see key
	stateBuf []byte
	// loaded is the length of the stored records decoded into the journeys of this call, and
	// of those the cached journeys copied into them were decoded from: what their strings
	// may share (see journeyCache).
	loaded int
	// oldRecord: the journey was decoded from a record written before recent ids existed.
	oldRecord bool
	// taken is the cache entry the journey in state was taken out of, to put back after the
	// commit (see journeyCache.take); nil when state was not taken from the cache.
	taken      *cachedJourney
	getBuf     []byte
	seenIDs    []string
	readKeys   [][]byte
	dup        []bool   // per event of the batch: already accepted within the dedup window
	hashes     []uint64 // per event of the batch: idHash, when the journey remembers ids
	spilled    []journey.RecentID
	packIDs    []journey.RecentID // the ids of the visitor's spill packs, read by readSpilled
	outside    int                // ids of visitor outsideVID known stored outside its journey; -1: unknown
	outsideVID string
	memoAdds   []memoAdd // ids stored outside journeys by this batch, for the spill memo
	may        []bool    // per event of the batch: the spill memo may hold its id
	moved      bool      // the batch moved between journeys (leaveJourney)

	dedup dedupMode // how the batch's event ids are checked and remembered
	wall  int64     // the server's clock in Unix seconds, for the dedup window

	lockIDs []string
	stripes []int
	cur     string // the visitor id the batch is being recorded under

	auto autoWork // the automations of the visitor being tracked (see automate.go)
}

func (w *work) reset() {
	w.state.Reset()
	w.other.Reset()
	w.ops = w.ops[:0]
	w.arena = w.arena[:0]
	w.seenIDs = w.seenIDs[:0]
	w.extra = w.extra[:0]
	w.memoAdds = w.memoAdds[:0]
	w.moved = false
	w.loaded, w.oldRecord, w.taken = 0, false, nil
	w.cur = ""
	w.auto.reset()
	w.geo = event.Geo{}
	w.device = event.Device{}
	w.offline = false
	// Drop very large buffers instead of pooling them forever.
	if cap(w.arena) > 1<<20 {
		w.arena = nil
	}
}

// hit returns the i-th scratch hit, growing the slice as needed.
func (w *work) hit(i int) *event.Hit {
	for len(w.hits) <= i {
		w.hits = append(w.hits, event.Hit{})
	}
	return &w.hits[i]
}

// key builds bytes with build into the arena and returns them. The result stays valid until
// the work is reset: when the arena is full, append moves the new bytes to fresh memory and
// the earlier ones stay where they were.
func (w *work) key(build func([]byte) []byte) []byte {
	tail := w.arena[len(w.arena):]
	b := build(tail)
	if len(b) == 0 {
		return []byte{}
	}
	if cap(tail) >= len(b) && &b[0] == &tail[:1][0] {
		w.arena = w.arena[:len(w.arena)+len(b)]
		return b[:len(b):len(b)]
	}
	// b did not fit and lives in its own memory; give the next keys a larger arena.
	w.arena = make([]byte, 0, max(2*cap(w.arena), 16<<10))
	return b
}

// logEvent appends the event log record of h and, when the hit belongs to a visitor, notes
// its key in the journey for the ownership index (see ownership.go).
func (t *Tracker) logEvent(w *work, h *event.Hit, vid string) {
	seq := t.seq.Add(1)
	k := w.key(func(d []byte) []byte { return eventKey(d, h.Time, seq) })
	v := w.key(func(d []byte) []byte { return event.AppendRecord(d, h) })
	w.ops = append(w.ops, Op{Key: k, Value: v, TTL: t.cfg.Retention})
	if vid != "" {
		w.state.Logged = append(w.state.Logged, journey.LogRef{TS: h.Time, Seq: seq})
		t.packLogged(w, &w.state, vid)
	}
}

// own records that key belongs to visitor vid, so that erasing the visitor finds it.
func (t *Tracker) own(w *work, vid string, key []byte) {
	ok := w.key(func(d []byte) []byte { return ownerKey(d, vid, key) })
	w.ops = append(w.ops, Op{Key: ok, Value: []byte{}, TTL: t.cfg.Retention})
}

// load reads the state of vid into st; a visitor never seen starts empty. A record that does
// not decode is logged and replaced: one damaged visitor must not stop the site's tracking.
func (t *Tracker) load(w *work, st *journey.State, vid string) error {
	st.Reset()
	if loaded, ok := t.journeys.get(vid, st); ok {
		w.loaded += loaded
		st.VID = vid
		return nil
	}
	w.getBuf = visitorKey(w.getBuf[:0], vid)
	val, err := t.st.Get(w.getBuf, nil)
	if errors.Is(err, ErrNotFound) {
		st.VID = vid
		return nil
	}
	if err != nil {
		return fmt.Errorf("load visitor %s: %w", vid, err)
	}
	t.decodeState(w, st, vid, val)
	st.VID = vid
	return nil
}

// decodeState decodes the stored record val of vid into st. A record that does not decode is
// logged and replaced by an empty journey: one damaged visitor must not stop the site's
// tracking. st keeps its arrays but none of its strings, so that every string of the result
// is part of the one copy of val that Decode makes, which journeyCache charges.
func (t *Tracker) decodeState(w *work, st *journey.State, vid string, val []byte) {
	st.Reset()
	st.ClearSpare()
	w.loaded += len(val)
	w.oldRecord = !journey.KeepsRecent(val)
	if err := journey.Decode(val, st); err != nil {
		t.cfg.Logger.Error("visitor state does not decode; starting afresh", "vid", vid, "err", err)
		st.Reset()
	}
}

// alias returns the visitor id that vid was merged into, if any.
func (t *Tracker) alias(w *work, vid string) (string, bool, error) {
	w.getBuf = aliasKey(w.getBuf[:0], vid)
	val, err := t.st.Get(w.getBuf, nil)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("alias of %s: %w", vid, err)
	}
	return string(val), true, nil
}

// linkedVID returns the visitor id linked to a known user, "" when none.
func (t *Tracker) linkedVID(w *work, site, uid string) (string, error) {
	w.getBuf = userKey(w.getBuf[:0], site, uid)
	val, err := t.st.Get(w.getBuf, nil)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("user link of %q: %w", uid, err)
	}
	return string(val), nil
}
