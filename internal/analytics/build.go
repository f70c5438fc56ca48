package analytics

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/track"
)

// index is the mutable index of journeys. The service changes it under its lock and hands
// immutable snapshots of it to reports.
type index struct {
	entries []*entry
	pos     map[string]int      // vid → position in entries
	siteOf  map[string][]string // vid → the sites its events name
	prompts []promptRec         // in the order they were logged; never changed in place
	seen    map[promptKey]struct{}
	in      interner
	gen     uint64 // counts changes: a snapshot of the same gen is current
}

// promptKey identifies a prompt event, so that a record read both by a full build and from
// the feed counts once.
type promptKey struct {
	site, id, vid, prompt, action string
	at                            int64
}

func newIndex() *index {
	return &index{pos: map[string]int{}, siteOf: map[string][]string{}, seen: map[promptKey]struct{}{}, in: interner{}}
}

// source is what the index reads: the tracker.
type source interface {
	Events(from, to int64, fn func(rec []byte) error) error
	Visitors(fn func(*journey.State) error) error
	State(vid string, st *journey.State) (bool, error)
	Visitor(vid string) (*journey.State, error)
}

var _ source = (*track.Tracker)(nil)

// buildIndex reads the whole event log and every visitor state into a new index. The event
// log is read in slices of time and the states beside it, in parallel: a rebuild is bound
// by reading and decoding, and the slices share nothing until they are joined.
func buildIndex(src source, now int64) (*index, error) {
	first := int64(-1)
	if err := src.Events(0, math.MaxInt64, func(rec []byte) error {
		if h := readHead(rec); h.ok {
			first = eventTime(rec)
		}
		return track.ErrStop
	}); err != nil {
		return nil, fmt.Errorf("read event log: %w", err)
	}
	bounds := []int64{0, math.MaxInt64}
	if first >= 0 && now > first {
		bounds = []int64{0}
		for i := 1; i < buildSlices; i++ {
			bounds = append(bounds, first+(now-first)*int64(i)/buildSlices)
		}
		bounds = append(bounds, math.MaxInt64)
	}
	parts := make([]*index, len(bounds)-1)
	errs := make([]error, len(bounds))
	states := newIndex()
	var wg sync.WaitGroup
	for i := range parts {
		parts[i] = newIndex()
		wg.Go(func() { errs[i] = parts[i].readEvents(src, bounds[i], bounds[i+1]) })
	}
	wg.Go(func() {
		errs[len(parts)] = src.Visitors(func(st *journey.State) error {
			states.put(compact(st, nil, states.in))
			return nil
		})
	})
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("read the store: %w", err)
		}
	}
	// Join: the states, their sites from every slice, and the prompt events in log order.
	ix := states
	for _, p := range parts {
		for vid, sites := range p.siteOf {
			for _, s := range sites {
				ix.addSite(vid, s)
			}
		}
		for _, pr := range p.prompts {
			ix.addPrompt(pr)
		}
	}
	// Prompt events of a visitor without a journey of its own: merged into a known user's
	// journey since, whose events they now are.
	var orphans []string
	seen := map[string]bool{}
	for _, pr := range ix.prompts {
		if _, ok := ix.pos[pr.vid]; !ok && !seen[pr.vid] {
			seen[pr.vid] = true
			orphans = append(orphans, pr.vid)
		}
	}
	if err := ix.forget(orphans, src); err != nil {
		return nil, err
	}
	for i, e := range ix.entries {
		if sites := ix.siteOf[e.j.VID]; sites != nil {
			ix.entries[i] = e.withSites(sites)
		}
	}
	ix.gen = 1
	return ix, nil
}

// buildSlices is how many slices of time a build reads the event log in.
const buildSlices = 2

// readEvents reads the sites and prompt events of the records in [from, to) into ix.
func (ix *index) readEvents(src source, from, to int64) error {
	var (
		h        event.Hit
		e        event.Event
		pr       promptRec
		lastVID  []byte
		lastSite []byte
	)
	return src.Events(from, to, func(rec []byte) error {
		head := readHead(rec)
		if head.ok && !head.hasPayload {
			if head.bot || len(head.vid) == 0 {
				return nil
			}
			if string(head.vid) != string(lastVID) || string(head.site) != string(lastSite) {
				lastVID, lastSite = append(lastVID[:0], head.vid...), append(lastSite[:0], head.site...)
				if !slices.Contains(ix.siteOf[string(head.vid)], string(head.site)) {
					ix.addSite(string(head.vid), string(head.site))
				}
			}
			return nil
		}
		if event.DecodeRecord(rec, &h, &e) != nil || h.Device.Bot || h.VID == "" {
			return nil // unreadable records are skipped, as the export skips them
		}
		ix.addSite(h.VID, h.Site)
		if promptOf(&h, &pr) {
			ix.addPrompt(pr)
		}
		return nil
	})
}

// eventTime returns the time of a version-1 record (its head was read).
func eventTime(rec []byte) int64 {
	t, _ := binary.Varint(rec[4:])
	return t
}

// addSite notes that vid has events of site and reports whether that is new.
func (ix *index) addSite(vid, site string) bool {
	ss := ix.siteOf[vid]
	if slices.Contains(ss, site) {
		return false
	}
	if ss == nil {
		vid = strings.Clone(vid)
	}
	// A new slice each time: entries and snapshots share the old one.
	ix.siteOf[vid] = append(slices.Clip(ss), ix.in.get(site))
	return true
}

// addPrompt appends a prompt event unless it is already there.
func (ix *index) addPrompt(pr promptRec) {
	k := promptKey{pr.site, pr.id, pr.vid, pr.prompt, pr.action, pr.at}
	if _, ok := ix.seen[k]; ok {
		return
	}
	pr = pr.clone()
	pr.site, pr.prompt, pr.action = ix.in.get(pr.site), ix.in.get(pr.prompt), ix.in.get(pr.action)
	ix.seen[promptKey{pr.site, pr.id, pr.vid, pr.prompt, pr.action, pr.at}] = struct{}{}
	ix.prompts = append(ix.prompts, pr)
}

// put adds or replaces the entry of a visitor and returns the one it replaced.
func (ix *index) put(e *entry) *entry {
	if i, ok := ix.pos[e.j.VID]; ok {
		old := ix.entries[i]
		ix.entries[i] = e
		return old
	}
	ix.pos[e.j.VID] = len(ix.entries)
	ix.entries = append(ix.entries, e)
	return nil
}

// remove drops the entry of vid and returns it, nil when there was none.
func (ix *index) remove(vid string) *entry {
	i, ok := ix.pos[vid]
	if !ok {
		return nil
	}
	old := ix.entries[i]
	last := len(ix.entries) - 1
	if i != last {
		ix.entries[i] = ix.entries[last]
		ix.pos[ix.entries[i].j.VID] = i
	}
	ix.entries[last] = nil
	ix.entries = ix.entries[:last]
	delete(ix.pos, vid)
	return old
}

// get returns the entry of vid, nil when none.
func (ix *index) get(vid string) *entry {
	if i, ok := ix.pos[vid]; ok {
		return ix.entries[i]
	}
	return nil
}

// apply folds what the feed heard into the index: new sites and prompt events, and the
// current state of every visitor whose journey changed. It returns the earliest time a
// changed journey differs at (MaxInt64 when nothing that rollups read changed), so that the
// daily rollups from that day on can be dropped.
func (ix *index) apply(p pending, src source) (int64, error) {
	if p.empty() {
		return math.MaxInt64, nil
	}
	changedAt := int64(math.MaxInt64)
	for site, vids := range p.sites {
		for vid := range vids {
			if ix.addSite(vid, site) {
				p.dirty[vid] = struct{}{}
			}
		}
	}
	for _, pr := range p.prompts {
		ix.addPrompt(pr)
	}
	vids := make([]string, 0, len(p.dirty))
	for vid := range p.dirty {
		vids = append(vids, vid)
	}
	slices.Sort(vids) // a deterministic order of the entries, whatever the map's
	var (
		st   journey.State
		gone []string
	)
	for _, vid := range vids {
		found, err := src.State(vid, &st)
		if err != nil {
			return changedAt, err
		}
		if found {
			old := ix.put(compact(&st, ix.siteOf[vid], ix.in))
			changedAt = min(changedAt, firstDiff(old, ix.get(vid)))
			continue
		}
		old := ix.remove(vid)
		changedAt = min(changedAt, firstDiff(old, nil))
		gone = append(gone, vid)
	}
	if err := ix.forget(gone, src); err != nil {
		return changedAt, err
	}
	ix.gen++
	return changedAt, nil
}

// forget handles visitors whose state is gone. Merged into a known user's journey: their
// sites and prompt events now belong to that journey. Erased: they go too.
func (ix *index) forget(vids []string, src source) error {
	if len(vids) == 0 {
		return nil
	}
	canon := make(map[string]string, len(vids)) // "" for an erased visitor
	for _, vid := range vids {
		c := ""
		st, err := src.Visitor(vid)
		switch {
		case err == nil:
			c = st.VID
		case !errors.Is(err, track.ErrUnknownVisitor):
			return err
		}
		canon[vid] = c
		if c != "" {
			for _, s := range ix.siteOf[vid] {
				ix.addSite(c, s)
			}
			if e := ix.get(c); e != nil && !slices.Equal(e.sites, ix.siteOf[c]) {
				ix.put(e.withSites(ix.siteOf[c]))
			}
		}
		delete(ix.siteOf, vid)
	}
	if !slices.ContainsFunc(ix.prompts, func(pr promptRec) bool { _, ok := canon[pr.vid]; return ok }) {
		return nil
	}
	kept := make([]promptRec, 0, len(ix.prompts))
	for _, pr := range ix.prompts {
		if c, ok := canon[pr.vid]; ok {
			delete(ix.seen, promptKey{pr.site, pr.id, pr.vid, pr.prompt, pr.action, pr.at})
			if c == "" {
				continue
			}
			pr.vid = c
			ix.seen[promptKey{pr.site, pr.id, pr.vid, pr.prompt, pr.action, pr.at}] = struct{}{}
		}
		kept = append(kept, pr)
	}
	ix.prompts = kept // a new array: snapshots keep reading the old one
	return nil
}
