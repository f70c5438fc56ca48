package analytics

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

// rebuildState follows a rebuild: the visitors folded while it runs are written again at
// its end, since it may have written a record from a state read before the fold's.
type rebuildState struct {
	active bool
	heard  map[string]struct{}
}

// note notes the visitors of a fold while a rebuild runs.
func (r *rebuildState) note(p pending) {
	if !r.active {
		return
	}
	for vid := range p.dirty {
		r.heard[vid] = struct{}{}
	}
	for _, vids := range p.sites {
		for vid := range vids {
			r.heard[vid] = struct{}{}
		}
	}
	for _, pr := range p.prompts {
		r.heard[pr.vid] = struct{}{}
	}
}

// Rebuild writes every record of the report store again from the tracker's journeys and
// event log, while reports go on reading it: after a crash, the commits of the last
// seconds before it. Records of visitors that no longer have a journey go.
func (s *Service) Rebuild() error {
	if err := s.open(); err != nil {
		return err
	}
	return s.rebuildIn(context.Background(), nil)
}

// rebuildIn runs a rebuild that takes the lock one chunk at a time and calls pause (when
// not nil) between chunks, to stay in the background.
func (s *Service) rebuildIn(ctx context.Context, pause func() error) error {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	s.mu.Lock()
	s.rebuild = rebuildState{active: true, heard: map[string]struct{}{}}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.rebuild = rebuildState{}
		s.mu.Unlock()
	}()
	locked := func(fn func() error) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.gen++
		return fn()
	}
	if err := s.buildWith(ctx, locked, pause); err != nil {
		return err
	}
	return locked(func() error {
		return s.update(slices.Sorted(maps.Keys(s.rebuild.heard)), nil, nil)
	})
}

// build fills the report store from scratch. The caller holds s.mu.
func (s *Service) build() error {
	return s.buildWith(context.Background(), func(fn func() error) error { return fn() }, nil)
}

// buildWith reads the event log (which sites each visitor's events name, and the prompt
// events) and then every visitor state in id order, writing the records a chunk at a
// time inside locked; a chunk also deletes the records between the previous chunk's last
// visitor and its own that have no state any more. Memory: the sites and prompt events of
// every visitor, while the build runs.
func (s *Service) buildWith(ctx context.Context, locked func(func() error) error, pause func() error) error {
	sites, prompts, err := s.readEvents(pause)
	if err != nil {
		return err
	}
	var (
		batch []*reportstore.Visitor
		after string // the last visitor id written
	)
	flush := func(upTo string) error {
		err := locked(func() error { return s.writeBuilt(batch, after, upTo, sites, prompts) })
		batch = batch[:0]
		after = upTo
		if err == nil && pause != nil {
			err = pause()
		}
		return err
	}
	err = s.src.Visitors(func(st *journey.State) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		vid := st.VID
		batch = append(batch, reportstore.FromState(st, sites[vid], prompts[vid]))
		delete(sites, vid)
		delete(prompts, vid)
		if len(batch) == foldChunk {
			return flush(vid)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read visitor states: %w", err)
	}
	if err := flush(strings.Repeat("f", 32)); err != nil {
		return err
	}
	// Sites and prompt events of visitors without a journey of their own: merged into a
	// known user's journey since (whose events they now are), or erased.
	orphans := map[string]struct{}{}
	for vid := range sites {
		orphans[vid] = struct{}{}
	}
	for vid := range prompts {
		orphans[vid] = struct{}{}
	}
	return locked(func() error { return s.update(slices.Sorted(maps.Keys(orphans)), sites, prompts) })
}

// writeBuilt writes built records (sorted by id, all in (after, upTo]) over the store's,
// keeping what the stored ones heard since, and deletes the records in that range that
// have no state and no events of the build (orphans are handled after).
func (s *Service) writeBuilt(batch []*reportstore.Visitor, after, upTo string, sites map[string][]string, prompts map[string][]reportstore.Prompt) error {
	stale, err := s.rs.IDs(after, upTo)
	if err != nil {
		return err
	}
	vids := make([]string, 0, len(batch)+len(stale))
	news := make([]*reportstore.Visitor, 0, len(batch)+len(stale))
	for _, v := range batch {
		vids = append(vids, v.J.VID)
		news = append(news, v)
	}
	for _, vid := range stale {
		_, built := slices.BinarySearchFunc(batch, vid, func(v *reportstore.Visitor, id string) int { return strings.Compare(v.J.VID, id) })
		_, heard := s.rebuild.heard[vid]
		_, hasSites := sites[vid]
		_, hasPrompts := prompts[vid]
		if !built && !heard && !hasSites && !hasPrompts {
			vids = append(vids, vid)
			news = append(news, nil)
		}
	}
	olds, err := s.rs.Get(vids, reportstore.NewInterner())
	if err != nil {
		s.log.Warn("a report record does not decode; written afresh", "err", err)
	}
	for i, n := range news {
		if o := olds[i]; o != nil && n != nil {
			n.Sites = mergeSites(n.Sites, o.Sites)
			n.Prompts = mergePrompts(n.Prompts, o.Prompts)
		}
	}
	_, err = s.rs.Put(olds, news)
	return err
}

// readEvents reads the sites and prompt events of every record of the event log.
func (s *Service) readEvents(pause func() error) (map[string][]string, map[string][]reportstore.Prompt, error) {
	sites := map[string][]string{}
	prompts := map[string][]reportstore.Prompt{}
	var (
		h        event.Hit
		e        event.Event
		pr       promptRec
		lastVID  []byte
		lastSite []byte
		n        int
	)
	in := map[string]string{}
	intern := func(b []byte) string {
		if v, ok := in[string(b)]; ok {
			return v
		}
		v := string(b)
		in[v] = v
		return v
	}
	addSite := func(vid, site string) {
		if ss := sites[vid]; !slices.Contains(ss, site) {
			sites[vid] = append(ss, intern([]byte(site)))
		}
	}
	err := s.src.Events(0, math.MaxInt64, func(rec []byte) error {
		if n++; pause != nil && n%(1<<16) == 0 {
			if err := pause(); err != nil {
				return err
			}
		}
		head := readHead(rec)
		if head.ok && !head.hasPayload {
			if head.bot || len(head.vid) == 0 {
				return nil
			}
			if !bytes.Equal(head.vid, lastVID) || !bytes.Equal(head.site, lastSite) {
				lastVID, lastSite = append(lastVID[:0], head.vid...), append(lastSite[:0], head.site...)
				addSite(string(head.vid), string(head.site))
			}
			return nil
		}
		if event.DecodeRecord(rec, &h, &e) != nil || h.Device.Bot || h.VID == "" {
			return nil // unreadable records are skipped, as the export skips them
		}
		addSite(h.VID, h.Site)
		if promptOf(&h, &pr) {
			prompts[h.VID] = mergePrompts(prompts[h.VID], []reportstore.Prompt{pr.clone().record()})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read event log: %w", err)
	}
	return sites, prompts, nil
}
