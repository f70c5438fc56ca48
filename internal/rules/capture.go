package rules

import (
	"strconv"
	"strings"
)

// captureRule is a compiled capture rule: on the pages it names, for visitors in one of its
// segments (any visitor when it names none), a share of visitors is sampled for capture.
type captureRule struct {
	sites   scope
	id      string
	seed    string // what the visitor id is hashed with: "capture:" and the id
	desc    string
	pages   []string // path patterns, '*' for any run of characters; none: every page
	segs    []int    // segment indexes; none: every visitor
	share   float64
	heatmap bool
	replay  bool
}

// Capture is what the capture rules decide for a pageview: which kinds of data the snippet
// records on it. The zero value captures nothing.
type Capture struct {
	Rule    string // the first capture rule that sampled the pageview
	Heatmap bool   // clicks for the heatmaps
	Replay  bool   // a replay recording
}

// Any reports whether the pageview is sampled for anything.
func (c Capture) Any() bool { return c.Heatmap || c.Replay }

// CaptureInfo describes a capture rule for the API.
type CaptureInfo struct {
	ID          string   `json:"id"`
	Description string   `json:"description,omitempty"`
	Pages       []string `json:"pages,omitempty"`
	Segments    []string `json:"segments,omitempty"`
	Share       float64  `json:"share"`
	Heatmap     bool     `json:"heatmap"`
	Replay      bool     `json:"replay"`
	Sites       []string `json:"sites,omitempty"`
}

// Captures lists the capture rules in file order.
func (s *Set) Captures() []CaptureInfo {
	out := make([]CaptureInfo, 0, len(s.captures))
	for _, cr := range s.captures {
		ci := CaptureInfo{ID: cr.id, Description: cr.desc, Pages: cr.pages, Share: cr.share, Heatmap: cr.heatmap, Replay: cr.replay, Sites: cr.sites.list()}
		for _, i := range cr.segs {
			ci.Segments = append(ci.Segments, s.segments[i].id)
		}
		out = append(out, ci)
	}
	return out
}

// decideCapture samples the hit's page: every capture rule that serves the site, matches the
// page and the visitor's segments and whose share the visitor hashes into adds its kinds.
// The hash is of the rule id and the visitor id, so a visitor is sampled on every pageview
// of the rule or on none.
func (s *Set) decideCapture(c *Context, d *Decisions) {
	for _, cr := range s.captures {
		if !cr.sites.serves(c.hit.Site) || !cr.matchesPage(c.hit.Page.Path) || !cr.inSegments(c) {
			continue
		}
		n, ok := hashUnit(cr.seed, visitorID(c))
		if !ok || n >= cr.share {
			continue
		}
		if d.Capture.Rule == "" {
			d.Capture.Rule = cr.id
		}
		d.Capture.Heatmap = d.Capture.Heatmap || cr.heatmap
		d.Capture.Replay = d.Capture.Replay || cr.replay
	}
}

func (cr *captureRule) inSegments(c *Context) bool {
	if len(cr.segs) == 0 {
		return true
	}
	for _, i := range cr.segs {
		if c.inSegment(i) {
			return true
		}
	}
	return false
}

func (cr *captureRule) matchesPage(path string) bool {
	if len(cr.pages) == 0 {
		return true
	}
	for _, p := range cr.pages {
		if globMatch(p, path) {
			return true
		}
	}
	return false
}

// globMatch reports whether s matches pattern, where '*' stands for any run of characters
// (slashes included) and every other byte for itself. Greedy with backtracking to the last
// star: linear in practice, at worst len(pattern) × len(s).
func globMatch(pattern, s string) bool {
	px, sx := 0, 0
	star, back := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && pattern[px] == '*':
			star, back = px, sx
			px++
		case px < len(pattern) && pattern[px] == s[sx]:
			px++
			sx++
		case star >= 0:
			px = star + 1
			back++
			sx = back
		default:
			return false
		}
	}
	return strings.Trim(pattern[px:], "*") == ""
}

// captures checks and compiles the capture rules.
func (c *compiler) captures(rs *rawSet) {
	seen := map[string]pos{}
	for _, rc := range rs.captures {
		if first, dup := seen[rc.id]; dup {
			c.errAt(rc.at, "duplicate capture %q (first defined at %s)", rc.id, first)
			continue
		}
		seen[rc.id] = rc.at
		cr := &captureRule{sites: rc.scope.sites, id: rc.id, seed: "capture:" + rc.id, desc: rc.desc, pages: rc.pages, share: rc.share, heatmap: rc.heatmap, replay: rc.replay}
		for i, sg := range rc.segments {
			if j := c.segmentRef(sg, rc.segsAt[i], rc.scope.sites, "capture "+strconv.Quote(rc.id)); j >= 0 {
				cr.segs = append(cr.segs, j)
			}
		}
		c.set.captures = append(c.set.captures, cr)
	}
}
