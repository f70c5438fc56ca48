package rules

import (
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// scope is the sites a rule serves, in the order written; empty serves every site.
type scope []string

// serves reports whether a rule of this scope applies to a hit of site. A hit without a
// site (explain without ?site=, a rule test without site:) is served by every rule, so
// the whole rule set can be looked at.
func (sc scope) serves(site string) bool {
	return len(sc) == 0 || site == "" || slices.Contains(sc, site)
}

// overlaps reports whether some site is served by both scopes.
func (sc scope) overlaps(o scope) bool {
	if len(sc) == 0 || len(o) == 0 {
		return true
	}
	for _, s := range sc {
		if slices.Contains(o, s) {
			return true
		}
	}
	return false
}

// common returns the sites both scopes serve (empty: every site).
func (sc scope) common(o scope) scope {
	switch {
	case len(sc) == 0:
		return o
	case len(o) == 0:
		return sc
	}
	var out scope
	for _, s := range sc {
		if slices.Contains(o, s) {
			out = append(out, s)
		}
	}
	return out
}

// String lists the sites for messages: "every site", "demo" or "demo and shop".
func (sc scope) String() string {
	switch len(sc) {
	case 0:
		return "every site"
	case 1:
		return sc[0]
	}
	return strings.Join(sc[:len(sc)-1], ", ") + " and " + sc[len(sc)-1]
}

// list returns the sites of a scope as the API shows them: nil for every site.
func (sc scope) list() []string {
	if len(sc) == 0 {
		return nil
	}
	return slices.Clone(sc)
}

// rawScope is the sites a rule serves as written: its own `sites` key, else its file's.
type rawScope struct {
	sites scope
	own   bool // given by the rule's (or, for the file scope, the file's) own `sites` key
	at    pos
}

// siteIDPattern is a site id as the server's --sites takes it.
var siteIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// scope decodes `sites: [demo, shop]` or `sites: demo`.
func (d *dec) scope(e entry) rawScope {
	sc := rawScope{own: true, at: d.at(e.k), sites: scope{}}
	items := []ast.Node{e.v}
	if _, isText := scalarText(d.resolve(e.v)); !isText {
		items, _ = d.list(e.v, "sites")
	}
	for _, it := range items {
		s := d.siteID(it)
		switch {
		case s == "":
		case slices.Contains(sc.sites, s):
			d.errorf(it, "site %q is listed twice", s)
		default:
			sc.sites = append(sc.sites, s)
		}
	}
	if len(items) == 0 {
		d.errorf(e.k, "sites must name at least one site (leave the key out to serve every site)")
	}
	return sc
}

// siteID decodes one site id, "" when it is not one.
func (d *dec) siteID(n ast.Node) string {
	s, ok := d.text(n, "site")
	if !ok {
		return ""
	}
	if !siteIDPattern.MatchString(s) {
		d.errorf(n, "site id %q: use letters, digits, - and _ (at most 64), as --sites does", s)
		return ""
	}
	return s
}

// rawCounts is how many rules of each kind a rawSet holds, to find those a file added.
type rawCounts struct {
	steps, segments, slots, experiments, prompts, funnels, automations, captures int
	holdout, caps                                                                bool
}

func (rs *rawSet) counts() rawCounts {
	return rawCounts{len(rs.steps), len(rs.segments), len(rs.slots), len(rs.experiments), len(rs.prompts), len(rs.funnels),
		len(rs.automations), len(rs.captures), rs.holdout != nil, rs.caps != nil}
}

// applyFileScope gives the rules added since before that have no `sites` of their own the
// file's scope fs.
func (rs *rawSet) applyFileScope(before rawCounts, fs rawScope) {
	if !fs.own {
		return
	}
	set := func(sc *rawScope) {
		if !sc.own {
			sc.sites, sc.at = fs.sites, fs.at
		}
	}
	for _, r := range rs.steps[before.steps:] {
		set(&r.scope)
	}
	for _, r := range rs.segments[before.segments:] {
		set(&r.scope)
	}
	for _, r := range rs.slots[before.slots:] {
		set(&r.scope)
	}
	for _, r := range rs.experiments[before.experiments:] {
		set(&r.scope)
	}
	for _, r := range rs.prompts[before.prompts:] {
		set(&r.scope)
	}
	for _, r := range rs.funnels[before.funnels:] {
		set(&r.scope)
	}
	for _, r := range rs.automations[before.automations:] {
		set(&r.scope)
	}
	for _, r := range rs.captures[before.captures:] {
		set(&r.scope)
	}
	if !before.holdout && rs.holdout != nil {
		set(&rs.holdout.scope)
	}
	if !before.caps && rs.caps != nil {
		set(&rs.caps.scope)
	}
}

// RuleScope is one rule and the sites it serves, as GET /api/v1/rules lists them.
type RuleScope struct {
	Kind  string   `json:"kind"` // step, segment, slot, experiment, survey, chat, funnel, automation, capture, holdout or caps
	ID    string   `json:"id,omitempty"`
	Sites []string `json:"sites,omitempty"` // empty: every site
}

// Scopes lists every rule with the sites it serves, in the order of the kinds above and,
// within a kind, as the files list them.
func (s *Set) Scopes() []RuleScope {
	var out []RuleScope
	add := func(kind, id string, sc scope) { out = append(out, RuleScope{kind, id, sc.list()}) }
	for _, st := range s.steps {
		add("step", st.info.ID, st.sites)
	}
	for _, sg := range s.segments {
		add("segment", sg.id, sg.sites)
	}
	for _, sl := range s.slots {
		add("slot", sl.id, sl.sites)
	}
	for _, x := range s.exps {
		add("experiment", x.info.ID, x.sites)
	}
	for _, p := range s.prompts {
		add(p.pub.Kind, p.pub.ID, p.sites)
	}
	for _, f := range s.funnels {
		add("funnel", f.ID, f.Sites)
	}
	for _, a := range s.autos {
		add("automation", a.info.ID, a.sites)
	}
	for _, cr := range s.captures {
		add("capture", cr.id, cr.sites)
	}
	if s.holdout != nil {
		add("holdout", "", s.holdout.sites)
	}
	if cp := s.caps; cp.perSession > 0 || cp.cooldown > 0 || cp.never != nil || cp.sites != nil {
		add("caps", "", s.caps.sites)
	}
	return out
}

// Sites returns every site a rule names in its scope, sorted: a server that does not serve
// one of them has rules that never apply, which it should say.
func (s *Set) Sites() []string {
	var out []string
	for _, r := range s.Scopes() {
		for _, site := range r.Sites {
			if !slices.Contains(out, site) {
				out = append(out, site)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Serves reports whether a rule of sites serves site: sites is empty (every site) or holds
// it. Reports use it to keep, for one site, the funnels, steps, experiments and surveys
// that serve it.
func Serves(sites []string, site string) bool {
	return scope(sites).serves(site)
}

// SitesNotIn returns the sites that rules serve and served does not list, sorted: their
// rules never apply on a server that serves only served.
func (s *Set) SitesNotIn(served []string) []string {
	var out []string
	for _, site := range s.Sites() {
		if !slices.Contains(served, site) {
			out = append(out, site)
		}
	}
	return out
}
