package track

import (
	"fmt"
	"slices"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

// Deduplication. Every event carries a client id; an id accepted within DedupWindow is
// acknowledged as a duplicate and changes nothing, so the snippet may retry freely. Where the
// id is remembered depends on how sure the tracker is of who sent it:
//
//   - A visitor who sent their cookie (or a vid) is sure: the ids live in the journey itself
//     (journey.State.Recent), read and written with it at no extra cost. When Recent is full,
//     its older half moves to a spill pack of the visitor (see spillpack.go) and the
//     journey's SpillUntil tells later hits to look there as well.
//   - Everything else is remembered under a site-wide dedup key ("d" site 0 id): anonymous
//     hits (no consent, bots), cookieless ids (a retry from another network hashes to
//     another visitor), an id minted for this request (a retry whose first answer, and so
//     its cookie, was lost comes without one), and a batch that moved between two journeys.
//     A journey that took such ids also gets SpillUntil, so its retries look there too.
//
// Both ways answer exactly within the window; the first costs no read and no key for the
// common hit.
type dedupMode uint8

const (
	// dedupShared: site-wide keys only (anonymous and cookieless hits).
	dedupShared dedupMode = iota
	// dedupJourney: the journey's Recent list, and its spill packs while SpillUntil is ahead.
	dedupJourney
	// dedupBoth: Recent and the site-wide keys (an id minted for this request).
	dedupBoth
)

// dedupWindowSec is DedupWindow in the seconds journey.Recent keeps.
const dedupWindowSec = int64(DedupWindow / time.Second)

// idHash is the FNV-1a hash of site and event id, the form in which journeys remember ids.
// It must not change between releases: stored journeys hold its values.
func idHash(site, id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(site); i++ {
		h = (h ^ uint64(site[i])) * 1099511628211
	}
	h *= 1099511628211 // the 0 between site and id
	for i := 0; i < len(id); i++ {
		h = (h ^ uint64(id[i])) * 1099511628211
	}
	return h
}

// prefetch loads the journey of vid into w.state and marks in w.dup the events of the batch
// already accepted within the dedup window. stored says whether a journey may be stored under
// vid: not for an id minted for this request, nor for anonymous hits (vid ""). The journey
// comes from the cache when it can; what must come from storage is read in one snapshot,
// and a second read happens only for a journey whose SpillUntil is ahead.
func (t *Tracker) prefetch(w *work, b *event.Batch, vid string, stored, decideOnly bool) error {
	w.state.Reset()
	w.outside, w.outsideVID = -1, vid
	w.dup = w.dup[:0]
	w.readKeys = w.readKeys[:0]
	w.wall = t.now().Unix()
	switch {
	case vid == "" || t.cfg.Identity == IdentityCookieless:
		w.dedup = dedupShared
	case stored:
		w.dedup = dedupJourney
	default:
		w.dedup = dedupBoth
	}
	var cached bool
	if stored {
		var loaded int
		if w.taken, loaded, cached = t.journeys.take(vid, &w.state); cached {
			w.loaded += loaded
		}
	}
	needState := stored && !cached
	if needState {
		w.readKeys = append(w.readKeys, w.key(func(d []byte) []byte { return visitorKey(d, vid) }))
	}
	w.hashes = w.hashes[:0]
	if !decideOnly {
		for i := range b.Events {
			w.dup = append(w.dup, false)
			if w.dedup != dedupShared {
				w.hashes = append(w.hashes, idHash(b.Site, b.Events[i].ID))
			}
		}
		if w.dedup != dedupJourney {
			t.sharedKeys(w, b)
		}
	}
	found := false
	if len(w.readKeys) > 0 {
		err := t.st.GetMany(w.readKeys, func(i int, val []byte) error {
			if needState {
				if i == 0 {
					found = true
					t.decodeState(w, &w.state, vid, val)
					return nil
				}
				i--
			}
			w.dup[i%len(w.dup)] = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("read visitor %s: %w", vid, err)
		}
	}
	w.state.VID = vid
	if decideOnly || w.dedup == dedupShared {
		return nil
	}
	if found && w.oldRecord {
		// Written by a release that kept every id in a site-wide key: look there until the
		// last of those ids is out of its window.
		w.state.SpillUntil = max(w.state.SpillUntil, w.wall+dedupWindowSec)
	}
	for i, h := range w.hashes {
		if w.state.HasRecent(h, w.wall, dedupWindowSec) {
			w.dup[i] = true
		}
	}
	switch {
	case w.dedup == dedupBoth && !stored:
		t.memo.begin(vid) // an id minted for this request: nothing is stored under it
		w.outside = 0
	case w.dedup == dedupJourney && w.state.SpillUntil <= w.wall:
		t.memo.begin(vid) // no id of this journey is stored outside it
		w.outside = 0
	case w.dedup == dedupJourney:
		return t.readSpilled(w, b, vid)
	}
	return nil
}

// sharedKeys appends the site-wide dedup key of every event of the batch to w.readKeys.
func (t *Tracker) sharedKeys(w *work, b *event.Batch) {
	for i := range b.Events {
		id := b.Events[i].ID
		w.readKeys = append(w.readKeys, w.key(func(d []byte) []byte { return dedupKey(d, b.Site, id) }))
	}
}

// readSpilled checks the events of the batch against the ids the visitor stored outside its
// journey: the spill packs, the site-wide keys marked on its behalf, and the single spill
// keys of earlier releases. The memo answers what it can; what it cannot reads storage:
//
//   - no memo: every pack of the visitor (one range read), and each event's site-wide and old
//     spill key; the packs' ids then start the visitor's memo;
//   - a memo that may hold an id of the batch: the same reads, which answer exactly;
//   - a memo loaded from packs while ids marked before it began may still be in their
//     window: each event's site-wide and old spill key.
func (t *Tracker) readSpilled(w *work, b *event.Batch, vid string) error {
	w.may = append(w.may[:0], make([]bool, len(w.hashes))...)
	known, point, held := t.memo.check(vid, w.hashes, w.wall, w.may)
	w.outside = held
	full := !known || slices.Contains(w.may, true)
	if full {
		w.packIDs = w.packIDs[:0]
		err := t.scanPacks(vid, func(r journey.RecentID) {
			if r.At+dedupWindowSec <= w.wall {
				return
			}
			w.packIDs = append(w.packIDs, r)
			for i, h := range w.hashes {
				if h&memoHashMask == r.Hash {
					w.dup[i] = true
				}
			}
		})
		if err != nil {
			return fmt.Errorf("read spilled event ids of %s: %w", vid, err)
		}
		w.outside = max(w.outside, len(w.packIDs))
	}
	if !full && !point {
		return nil
	}
	w.readKeys = w.readKeys[:0]
	t.sharedKeys(w, b)
	for _, h := range w.hashes {
		w.readKeys = append(w.readKeys, w.key(func(d []byte) []byte { return spillKey(d, h) }))
	}
	err := t.st.GetMany(w.readKeys, func(i int, _ []byte) error {
		w.dup[i%len(w.dup)] = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("read spilled event ids of %s: %w", vid, err)
	}
	if !known {
		t.memo.load(vid, w.packIDs, w.state.SpillUntil, w.wall)
	}
	return nil
}

// markSeen remembers that event i of the batch was accepted for the visitor being recorded.
func (t *Tracker) markSeen(w *work, b *event.Batch, i int) {
	id := b.Events[i].ID
	w.seenIDs = append(w.seenIDs, id)
	if w.dedup != dedupShared {
		w.state.AddRecent(w.hashes[i], w.wall)
		t.trimRecent(w, &w.state)
	}
	if w.dedup != dedupJourney {
		t.markShared(w, b.Site, id)
	}
}

// markShared writes the site-wide dedup key of id. A journey that takes such an id looks at
// these keys on its later hits, until the id's window ends.
func (t *Tracker) markShared(w *work, site, id string) {
	k := w.key(func(d []byte) []byte { return dedupKey(d, site, id) })
	w.ops = append(w.ops, Op{Key: k, Value: []byte{}, TTL: DedupWindow})
	if w.dedup != dedupShared {
		w.state.SpillUntil = max(w.state.SpillUntil, w.wall+dedupWindowSec)
		w.memoAdds = append(w.memoAdds, memoAdd{vid: w.state.VID, hash: idHash(site, id), until: w.wall + dedupWindowSec})
	}
}

// maxPacked bounds the ids of a visitor kept in spill packs: past it, pushed-out ids go to
// keys of their own, as before packs ("r" and the id's hash), looked up one by one. A hit
// whose visitor the spill memo does not cover reads all its packs, so the bound keeps that
// read under about 160 KB, for a client that sends thousands of events a day under one
// cookie. A person does not come near it: it is 16,384 events within 48 hours.
var maxPacked = 16384

// spill stores ids pushed out of the Recent list of st, those still inside their window: in
// one spill pack of the visitor, kept until the end of the last one's window, or, for a
// visitor with maxPacked ids packed already, in a key each.
func (t *Tracker) spill(w *work, st *journey.State, ids []journey.RecentID) {
	if st.VID == w.outsideVID && w.outside >= maxPacked {
		t.spillEach(w, st, ids)
		return
	}
	var first uint64
	var until int64
	n := 0
	v := w.key(func(d []byte) []byte {
		for _, r := range ids {
			if r.At+dedupWindowSec <= w.wall {
				continue
			}
			if until == 0 {
				first = r.Hash
			}
			until = max(until, r.At+dedupWindowSec)
			d = appendPackedID(d, r)
			n++
			w.memoAdds = append(w.memoAdds, memoAdd{vid: st.VID, hash: r.Hash, until: r.At + dedupWindowSec})
		}
		return d
	})
	if until == 0 {
		return
	}
	if st.VID == w.outsideVID && w.outside >= 0 {
		w.outside += n
	}
	vid := st.VID
	k := w.key(func(d []byte) []byte { return spillPackKey(d, vid, first) })
	w.ops = append(w.ops, Op{Key: k, Value: v, TTL: time.Duration(until-w.wall) * time.Second})
	st.SpillUntil = max(st.SpillUntil, until)
}

// spillEach stores each id pushed out of the Recent list of st, still inside its window, in
// a key of its own for the rest of its window.
func (t *Tracker) spillEach(w *work, st *journey.State, ids []journey.RecentID) {
	for _, r := range ids {
		left := r.At + dedupWindowSec - w.wall
		if left <= 0 {
			continue
		}
		k := w.key(func(d []byte) []byte { return spillKey(d, r.Hash) })
		w.ops = append(w.ops, Op{Key: k, Value: []byte{}, TTL: time.Duration(left) * time.Second})
		st.SpillUntil = max(st.SpillUntil, r.At+dedupWindowSec)
		w.memoAdds = append(w.memoAdds, memoAdd{vid: st.VID, hash: r.Hash, until: r.At + dedupWindowSec})
	}
}

// leaveJourney is called when a batch moves from the journey in w.state to another one (an
// identify on a shared device): a retry of the batch may come back under either visitor id,
// so the ids taken so far, and those the rest of the batch takes, are also written to the
// site-wide keys, and the journey left behind looks there until their window ends.
func (t *Tracker) leaveJourney(w *work, site string) {
	if w.dedup == dedupShared {
		return
	}
	if w.dedup == dedupJourney {
		for _, id := range w.seenIDs {
			t.markShared(w, site, id)
		}
	}
	w.dedup = dedupBoth
	w.state.SpillUntil = max(w.state.SpillUntil, w.wall+dedupWindowSec)
	// Both journeys now depend on site-wide ids the other one's part of the batch marks:
	// their memos would miss them, so both are forgotten (the other one after the commit).
	t.memo.forget(w.state.VID)
	w.moved = true
}

// trimRecent forgets the expired ids of st and spills those pushed past its bound.
func (t *Tracker) trimRecent(w *work, st *journey.State) {
	w.spilled = st.TrimRecent(w.wall, dedupWindowSec, w.spilled[:0])
	if len(w.spilled) > 0 {
		t.spill(w, st, w.spilled)
	}
}

// memoAdd is an id stored outside a journey by the batch being recorded; the spill memo
// hears of it once the batch is committed.
type memoAdd struct {
	vid   string
	hash  uint64
	until int64
}

// rememberSpills tells the spill memo the ids the committed batch stored outside journeys.
func (t *Tracker) rememberSpills(w *work) {
	for _, a := range w.memoAdds {
		t.memo.add(a.vid, a.hash, a.until, w.wall)
	}
	if w.moved {
		t.memo.forget(w.cur)
	}
}
