package rules

import "github.com/pathlight/pathlight/internal/journey"

// AutomationExplain says where one automation stands for a visitor: how often it fired,
// what a trigger now would run into (its cap, its condition), and a timer still waiting.
type AutomationExplain struct {
	ID        string  `json:"id"`
	Trigger   string  `json:"trigger"`
	Fired     uint32  `json:"fired"`                // times it fired for the visitor
	LastFired int64   `json:"last_fired,omitempty"` // Unix ms
	Ready     bool    `json:"ready"`                // a trigger now would fire it
	BlockedBy string  `json:"blocked_by,omitempty"` // the cap or condition that would stop it
	Failed    *Clause `json:"failed,omitempty"`
	Due       int64   `json:"due,omitempty"` // Unix ms a waiting timer falls due
}

// ExplainAutomations evaluates every automation for the visitor of st, whose automation memory
// is as, at now (Unix ms; 0: when the visitor was last seen), for a hit of site ("" for any),
// without changing either.
func (s *Set) ExplainAutomations(st *journey.State, as *AutoState, now int64, site string) []AutomationExplain {
	if len(s.autos) == 0 {
		return nil
	}
	if as == nil {
		as = &AutoState{}
	}
	c := s.getContext()
	defer s.putContext(c)
	h := lastPage(st)
	h.Site = site
	c.reset(s, st, h, now)
	out := make([]AutomationExplain, 0, len(s.autos))
	for _, a := range s.autos {
		fs := as.Stat(a.info.ID)
		e := AutomationExplain{ID: a.info.ID, Trigger: a.info.Trigger(), Fired: fs.N, LastFired: fs.Last}
		for _, t := range as.Timers {
			if t.ID == a.info.ID {
				e.Due = t.Due
			}
		}
		if !a.sites.serves(site) {
			e.BlockedBy = "serves only " + a.sites.String()
		} else if b := capBlock(a, fs, c.now); b != "" {
			e.BlockedBy = b
		} else if f := failed(a.when, c); f != nil {
			e.BlockedBy, e.Failed = "when", f
		} else {
			e.Ready = true
		}
		out = append(out, e)
	}
	return out
}
