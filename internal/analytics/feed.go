package analytics

import (
	"bytes"
	"strings"
	"sync"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// actionHoldout is the action of a prompt record made from a track.HoldoutPromptEvent.
const actionHoldout = "$would_have_seen"

// Live view sizes.
const (
	liveSeconds = 60 // hits per second are kept for the last minute
	liveRecent  = 50 // the newest events shown
)

// Feed hears the tracker's commits (it is a track.Watcher: give it to track.Watch) and keeps
// what the report store has not taken in yet, plus the live view: hits per second over the last minute
// and the newest events. Its methods are called on the hit path, so they do little work
// under one short lock. A Feed is safe for concurrent use.
type Feed struct {
	now     func() time.Time
	scratch sync.Pool // *feedScratch

	mu      sync.Mutex
	pending pending
	secs    [liveSeconds]secCount // hits as they arrive
	isecs   [liveSeconds]secCount // imported events as they arrive, counted apart
	recent  [liveRecent]liveRec   // the newest hits, a ring
	nrecent int                   // records written to recent, ever
}

// liveRec is one record of the live view: its event-log key (to find it when it is erased),
// the record, and when it arrived (Unix ms).
type liveRec struct {
	key, rec []byte
	at       int64
}

// secCount is the number of hits in one wall-clock second.
type secCount struct {
	sec int64 // Unix seconds
	n   int
}

// feedScratch is the decoding space of one EventLogged call.
type feedScratch struct {
	h event.Hit
	e event.Event
}

// pending is what the feed heard since the last fold took it.
type pending struct {
	dirty   map[string]struct{}            // visitors whose state was written or deleted
	sites   map[string]map[string]struct{} // site → visitors with an event of the site
	prompts []promptRec
	// erased says that a commit deleted event-log records (an erase): the next report must
	// not read a snapshot or a cached result from before it.
	erased bool
}

// promptRec is one prompt event of the log: shown, dismissed, answered, or
// actionHoldout for a prompt a holdout visitor would have been offered.
type promptRec struct {
	site, vid, id string
	prompt        string
	action        string
	answer        string
	at            int64
	// segments are the visitor's segments when the event was logged (track.SegmentsProp);
	// nil for events logged before the tracker recorded them.
	segments []string
}

// NewFeed returns a Feed; now is the clock of the live view (nil: time.Now).
func NewFeed(now func() time.Time) *Feed {
	if now == nil {
		now = time.Now
	}
	f := &Feed{now: now}
	f.scratch.New = func() any { return new(feedScratch) }
	f.pending.reset()
	return f
}

var _ track.Watcher = (*Feed)(nil)

func (p *pending) reset() {
	*p = pending{dirty: map[string]struct{}{}, sites: map[string]map[string]struct{}{}}
}

func (p *pending) empty() bool {
	return len(p.dirty) == 0 && len(p.sites) == 0 && len(p.prompts) == 0 && !p.erased
}

// StateChanged implements track.Watcher: the visitor's journey is re-read on the next
// refresh.
func (f *Feed) StateChanged(vid []byte, _ bool) {
	f.mu.Lock()
	if _, ok := f.pending.dirty[string(vid)]; !ok {
		f.pending.dirty[string(vid)] = struct{}{}
	}
	f.mu.Unlock()
}

// EventLogged implements track.Watcher: it notes the visitor's site, keeps prompt events for
// the survey and holdout reports, and counts the hit in the live view as it arrives: hits of
// requests among the newest events, imported ones only in their own count (an import is
// history, not what is happening now). Bots are left out. Most records need only their
// head; prompt events are decoded whole.
func (f *Feed) EventLogged(key, rec []byte, imported bool) {
	head := readHead(rec)
	var pr promptRec
	isPrompt := false
	if !head.ok || head.hasPayload {
		sc := f.scratch.Get().(*feedScratch)
		defer f.scratch.Put(sc)
		if event.DecodeRecord(rec, &sc.h, &sc.e) != nil {
			return
		}
		h := &sc.h
		head = recordHead{typ: h.Event.Type, bot: h.Device.Bot, site: []byte(h.Site), vid: []byte(h.VID), name: []byte(h.Event.Name), ok: true}
		isPrompt = promptOf(h, &pr)
	}
	if head.bot {
		return
	}
	now := f.now().UnixMilli()
	sec := now / 1000

	f.mu.Lock()
	defer f.mu.Unlock()
	if len(head.vid) > 0 {
		vids := f.pending.sites[string(head.site)]
		if vids == nil {
			vids = map[string]struct{}{}
			f.pending.sites[string(head.site)] = vids
		}
		if _, ok := vids[string(head.vid)]; !ok {
			vids[string(head.vid)] = struct{}{}
		}
		if isPrompt {
			f.pending.prompts = append(f.pending.prompts, pr.clone())
		}
	}
	if head.typ == event.TypeEvent && len(head.name) > 0 && head.name[0] == '$' {
		return // the tracker's own records are not traffic
	}
	if imported {
		f.isecs[sec%liveSeconds].add(sec)
		return
	}
	f.secs[sec%liveSeconds].add(sec)
	r := &f.recent[f.nrecent%liveRecent]
	r.key, r.rec, r.at = append(r.key[:0], key...), append(r.rec[:0], rec...), now
	// A shorter record leaves the end of the one it replaced in the slot's array: clear it,
	// so that what an erase clears is the only copy there was.
	clear(r.rec[len(r.rec):cap(r.rec)])
	f.nrecent++
}

// add counts one hit in the second sec, which this counter holds from now on.
func (c *secCount) add(sec int64) {
	if c.sec != sec {
		*c = secCount{sec: sec}
	}
	c.n++
}

// EventDeleted implements track.Watcher: an erased record leaves the live view at once, and
// the next report reads a new snapshot.
func (f *Feed) EventDeleted(key []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending.erased = true
	for i := range f.recent {
		if r := &f.recent[i]; r.rec != nil && bytes.Equal(r.key, key) {
			clear(r.rec) // no copy of the erased record stays in memory
			*r = liveRec{}
		}
	}
}

// hasPending reports whether the feed heard anything since the last take.
func (f *Feed) hasPending() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.pending.empty()
}

// hasErase reports whether the feed heard an erase since the last take.
func (f *Feed) hasErase() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending.erased
}

// restore gives back what a take handed over and a fold could not write, so that the next
// fold tries again (writing a visitor's record twice is harmless).
func (f *Feed) restore(p pending) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for vid := range p.dirty {
		f.pending.dirty[vid] = struct{}{}
	}
	for site, vids := range p.sites {
		m := f.pending.sites[site]
		if m == nil {
			m = map[string]struct{}{}
			f.pending.sites[site] = m
		}
		for vid := range vids {
			m[vid] = struct{}{}
		}
	}
	f.pending.prompts = append(p.prompts, f.pending.prompts...)
	f.pending.erased = f.pending.erased || p.erased
}

// take hands what the feed heard to the caller and starts afresh.
func (f *Feed) take() pending {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pending
	f.pending.reset()
	return p
}

// promptOf fills pr from a prompt event or a holdout record and reports whether h was one.
// pr's strings share the record's memory until cloned.
func promptOf(h *event.Hit, pr *promptRec) bool {
	e := h.Event
	switch {
	case e.Type == event.TypePrompt && e.Prompt != "":
		*pr = promptRec{site: h.Site, vid: h.VID, id: e.ID, prompt: e.Prompt, action: e.Action, answer: e.Answer, at: h.Time}
		if v, ok := e.Props.Get(track.SegmentsProp); ok {
			pr.segments = []string{}
			if v.Str != "" {
				pr.segments = strings.Split(v.Str, ",")
			}
		}
		return true
	case e.Type == event.TypeEvent && e.Name == track.HoldoutPromptEvent:
		v, _ := e.Props.Get("prompt")
		if v.Kind != event.KindString || v.Str == "" {
			return false
		}
		*pr = promptRec{site: h.Site, vid: h.VID, id: e.ID, prompt: v.Str, action: actionHoldout, at: h.Time}
		return true
	}
	return false
}

// clone returns pr with its own copies of the strings.
func (pr promptRec) clone() promptRec {
	pr.site, pr.vid, pr.id = strings.Clone(pr.site), strings.Clone(pr.vid), strings.Clone(pr.id)
	pr.prompt, pr.action, pr.answer = strings.Clone(pr.prompt), strings.Clone(pr.action), strings.Clone(pr.answer)
	return pr
}

// HitsPerSecond is the number of hits in one second of the live view.
type HitsPerSecond struct {
	T int64 `json:"t"` // the second's start, Unix ms
	N int   `json:"n"`
}

// liveView copies the live counts of the last minute, oldest first, of hits and of
// imported events, and the newest hits' records with their arrival times, oldest first.
func (f *Feed) liveView() (hits, imported []HitsPerSecond, recs []liveRec) {
	now := f.now().Unix()
	hits = make([]HitsPerSecond, 0, liveSeconds)
	imported = make([]HitsPerSecond, 0, liveSeconds)
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := now - liveSeconds + 1; s <= now; s++ {
		i := ((s % liveSeconds) + liveSeconds) % liveSeconds
		hits = append(hits, HitsPerSecond{T: s * 1000, N: f.secs[i].at(s)})
		imported = append(imported, HitsPerSecond{T: s * 1000, N: f.isecs[i].at(s)})
	}
	k := min(f.nrecent, liveRecent)
	recs = make([]liveRec, 0, k)
	for i := f.nrecent - k; i < f.nrecent; i++ {
		if r := f.recent[i%liveRecent]; r.rec != nil {
			recs = append(recs, liveRec{rec: append([]byte(nil), r.rec...), at: r.at})
		}
	}
	return hits, imported, recs
}

// at returns the count of second s, 0 when the counter holds another second.
func (c secCount) at(s int64) int {
	if c.sec == s {
		return c.n
	}
	return 0
}
