package analytics

import (
	"errors"
	"maps"
	"slices"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/track"
)

// foldChunk is how many visitors one write of the report store holds.
const foldChunk = 256

// apply writes what the feed heard into the report store: the current record of every
// visitor whose state changed or who logged an event. The caller holds s.mu.
func (s *Service) apply(p pending) error {
	sites := map[string][]string{}
	for site, vids := range p.sites {
		for vid := range vids {
			sites[vid] = append(sites[vid], site)
		}
	}
	for _, ss := range sites {
		slices.Sort(ss) // one order whatever the map's: the first site a visitor names is kept first
	}
	prompts := map[string][]reportstore.Prompt{}
	for _, pr := range p.prompts {
		prompts[pr.vid] = append(prompts[pr.vid], pr.record())
	}
	set := map[string]struct{}{}
	for vid := range p.dirty {
		set[vid] = struct{}{}
	}
	for vid := range sites {
		set[vid] = struct{}{}
	}
	for vid := range prompts {
		set[vid] = struct{}{}
	}
	return s.update(slices.Sorted(maps.Keys(set)), sites, prompts)
}

// record returns the report record of a prompt event.
func (pr promptRec) record() reportstore.Prompt {
	return reportstore.Prompt{Site: pr.site, ID: pr.id, Prompt: pr.prompt, Action: pr.action, Answer: pr.answer, At: pr.at, Segments: pr.segments}
}

// update writes the current records of vids (sorted): from each visitor's stored state,
// with the sites and prompt events the record already held and those given. A visitor
// without a state of its own was merged into a known user's journey, whose record takes
// its sites and prompt events, or erased: its record goes.
func (s *Service) update(vids []string, sites map[string][]string, prompts map[string][]reportstore.Prompt) error {
	var (
		st          journey.State
		movedSites  = map[string][]string{}
		movedPrompt = map[string][]reportstore.Prompt{}
	)
	in := reportstore.NewInterner()
	for lo := 0; lo < len(vids); lo += foldChunk {
		chunk := vids[lo:min(lo+foldChunk, len(vids))]
		olds, err := s.rs.Get(chunk, in)
		if err != nil {
			s.log.Warn("a report record does not decode; written afresh", "err", err)
		}
		news := make([]*reportstore.Visitor, len(chunk))
		for i, vid := range chunk {
			var oldSites []string
			var oldPrompts []reportstore.Prompt
			if o := olds[i]; o != nil {
				oldSites, oldPrompts = o.Sites, o.Prompts
			}
			ss := mergeSites(oldSites, sites[vid])
			ps := mergePrompts(oldPrompts, prompts[vid])
			found, err := s.src.State(vid, &st)
			if err != nil {
				return err
			}
			if found {
				news[i] = reportstore.FromState(&st, ss, ps)
				continue
			}
			canon, err := s.canonical(vid)
			if err != nil {
				return err
			}
			if canon != "" && canon != vid {
				movedSites[canon] = mergeSites(movedSites[canon], ss)
				movedPrompt[canon] = append(movedPrompt[canon], ps...)
			}
		}
		if _, err := s.rs.Put(olds, news); err != nil {
			return err
		}
	}
	if len(movedSites) == 0 && len(movedPrompt) == 0 {
		return nil
	}
	canon := map[string]struct{}{}
	for vid := range movedSites {
		canon[vid] = struct{}{}
	}
	for vid := range movedPrompt {
		canon[vid] = struct{}{}
	}
	return s.update(slices.Sorted(maps.Keys(canon)), movedSites, movedPrompt)
}

// canonical returns the id of the journey vid lives on in (a known user's, after a merge),
// or "" when it has none (erased).
func (s *Service) canonical(vid string) (string, error) {
	st, err := s.src.Visitor(vid)
	switch {
	case err == nil:
		return st.VID, nil
	case errors.Is(err, track.ErrUnknownVisitor):
		return "", nil
	}
	return "", err
}

// mergeSites returns a with the sites of b it lacks appended (a new slice when it grows).
func mergeSites(a, b []string) []string {
	for _, s := range b {
		if !slices.Contains(a, s) {
			a = append(slices.Clip(a), s)
		}
	}
	return a
}

// mergePrompts returns a with the events of b it lacks appended: an event read twice (by a
// rebuild and from the feed) counts once.
func mergePrompts(a, b []reportstore.Prompt) []reportstore.Prompt {
	for _, p := range b {
		if !slices.ContainsFunc(a, func(q reportstore.Prompt) bool {
			return q.At == p.At && q.ID == p.ID && q.Prompt == p.Prompt && q.Action == p.Action && q.Site == p.Site
		}) {
			a = append(slices.Clip(a), p)
		}
	}
	return a
}
