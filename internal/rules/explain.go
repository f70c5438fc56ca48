package rules

import (
	"fmt"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules/cond"
)

// Explanation says why the rules decide what they decide for one visitor: for each rule,
// whether it matched and, when not, the first clause that failed with the value seen. It is
// computed like Decide but changes nothing: no segment, assignment or exposure is recorded.
type Explanation struct {
	Version string `json:"version"`
	// Site is the site the rules were evaluated for: only the rules that serve it apply.
	// Empty when the request named none; then every rule applies, whatever its sites.
	Site    string `json:"site,omitempty"`
	Now     int64  `json:"now"` // Unix ms the rules were evaluated at
	Holdout bool   `json:"holdout"`
	// HoldoutBucket is the visitor's hash in [0, 1) against the holdout size; -1 without a
	// holdout.
	HoldoutBucket float64          `json:"holdout_bucket"`
	Bot           bool             `json:"bot,omitempty"` // bots get defaults only
	Segments      []RuleResult     `json:"segments"`
	Slots         []SlotExplain    `json:"slots,omitempty"`
	Prompts       []PromptExplain  `json:"prompts,omitempty"`
	Caps          *CapsExplanation `json:"caps,omitempty"`
	// Automations says, per automation, how often it fired for the visitor and what would
	// stop it now (filled by the tracker, which holds the visitor's automation memory).
	Automations []AutomationExplain `json:"automations,omitempty"`
}

// Clause is a condition clause that failed: the field, the operator, what the rule wants
// and what the visitor had.
type Clause struct {
	Field string `json:"field"`
	Op    string `json:"op"`
	Want  string `json:"want"`
	Got   string `json:"got"`
}

// RuleResult is whether one rule (a segment, a slot variant) matched.
type RuleResult struct {
	ID      string   `json:"id"`
	Matched bool     `json:"matched"`
	Segment string   `json:"segment,omitempty"` // the segment the rule requires
	Reason  string   `json:"reason,omitempty"`  // why it did not match, when no clause says
	Failed  *Clause  `json:"failed,omitempty"`
	Sites   []string `json:"sites,omitempty"` // the sites the rule serves; empty for every site
}

// SlotExplain is how one slot was decided.
type SlotExplain struct {
	Slot        string              `json:"slot"`
	Decision    SlotDecision        `json:"decision"`
	Experiments []ExperimentExplain `json:"experiments,omitempty"`
	Variants    []RuleResult        `json:"variants,omitempty"`
	Default     string              `json:"default"`
	Sites       []string            `json:"sites,omitempty"` // the sites the slot serves; empty for every site
}

// ExperimentExplain is how an experiment on a slot treated the visitor.
type ExperimentExplain struct {
	ID      string   `json:"id"`
	Applies bool     `json:"applies"`           // the visitor gets one of its arms
	Variant string   `json:"variant,omitempty"` // the arm, when Applies
	Sticky  bool     `json:"sticky,omitempty"`  // the arm comes from the stored assignment
	Bucket  float64  `json:"bucket"`            // the visitor's hash in [0, 1); -1 when not hashed
	Reason  string   `json:"reason,omitempty"`  // why it does not apply
	Failed  *Clause  `json:"failed,omitempty"`
	Sites   []string `json:"sites,omitempty"` // the sites it serves; empty for every site
}

// PromptExplain is whether a prompt would be offered and, if not, what blocked it.
type PromptExplain struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Offered   bool     `json:"offered"`
	BlockedBy string   `json:"blocked_by,omitempty"` // the show policy, cap or condition that said no
	Failed    *Clause  `json:"failed,omitempty"`
	Sites     []string `json:"sites,omitempty"` // the sites it serves; empty for every site
}

// CapsExplanation is the state of the interruption budget.
type CapsExplanation struct {
	PerSession   int    `json:"per_session,omitempty"`
	ShownSession uint32 `json:"shown_this_session"`
	Cooldown     string `json:"cooldown,omitempty"`
	LastPrompt   int64  `json:"last_prompt,omitempty"` // Unix ms
	BlockedBy    string `json:"blocked_by,omitempty"`  // the cap that allows no prompt on this hit
}

// Explain evaluates the rules for the visitor of st on hit h without changing st. With h
// nil, as for the explain endpoint, the rules are evaluated as on a pageview of the last
// page the visitor viewed, at the time they were last seen. With site set, the hit is of
// that site: rules that serve other sites do not apply, and slots of other sites are left
// out; with site empty, the hit's own site counts (none for the last page). With slot or
// prompt set, only that slot or prompt is explained; with both empty, every slot and
// prompt is.
func (s *Set) Explain(st *journey.State, h *event.Hit, site, slot, prompt string) Explanation {
	c := s.getContext()
	defer s.putContext(c)
	if h == nil {
		h = lastPage(st)
	}
	if site != "" {
		cp := *h
		cp.Site = site
		h = &cp
	}
	c.reset(s, st, h, 0)
	site = c.hit.Site
	e := Explanation{Version: s.version, Site: site, Now: c.now, HoldoutBucket: -1, Bot: c.device().Bot}
	if n, ok := s.holdoutBucket(visitorID(c)); ok && s.holdout.sites.serves(site) {
		e.HoldoutBucket = n
		e.Holdout = n < s.holdout.fraction
	}
	segs := c.segments()
	e.Segments = make([]RuleResult, len(s.segments))
	for i, sg := range s.segments {
		e.Segments[i] = RuleResult{ID: sg.id, Matched: segs[i], Sites: sg.sites.list()}
		switch {
		case !sg.sites.serves(site):
			e.Segments[i].Reason = "serves only " + sg.sites.String()
		case !segs[i]:
			e.Segments[i].Failed = failed(sg.when, c)
		}
	}
	if prompt == "" {
		for _, sl := range s.slots {
			if (slot == "" || sl.id == slot) && sl.sites.serves(site) {
				e.Slots = append(e.Slots, s.explainSlot(c, sl))
			}
		}
	}
	if slot == "" {
		e.Caps, e.Prompts = s.explainPrompts(c, prompt, e.Holdout)
	}
	return e
}

// lastPage returns a pageview hit of the page st viewed last.
func lastPage(st *journey.State) *event.Hit {
	h := &event.Hit{Event: &event.Event{Type: event.TypePageview}, VID: st.VID, Time: st.LastSeen, Device: st.Device, Geo: st.Geo}
	var last *journey.Count
	for i := range st.Paths {
		if p := &st.Paths[i]; p.Key != journey.OtherPath && (last == nil || p.LastAt > last.LastAt) {
			last = p
		}
	}
	if last != nil {
		h.Page.Path = last.Key
	}
	if tp := st.Session(); tp != nil {
		h.Source = event.Source{Source: tp.Source, Medium: tp.Medium, Campaign: tp.Campaign, Channel: tp.Channel}
	}
	return h
}

// failed returns the first failing clause of when, or nil.
func failed(when *condition, c *Context) *Clause {
	ok, f := when.Explain(c)
	if ok {
		return nil
	}
	return clauseOf(f)
}

func clauseOf(f cond.Failure) *Clause {
	return &Clause{Field: f.Field, Op: f.Op, Want: f.Want, Got: f.Got}
}

func (s *Set) explainSlot(c *Context, sl *slot) SlotExplain {
	se := SlotExplain{Slot: sl.id, Default: sl.defID, Sites: sl.sites.list()}
	var chosen *experiment // the first experiment that applies, and its arm
	var arm string
	for _, x := range sl.exps {
		xe := s.explainExperiment(c, x)
		se.Experiments = append(se.Experiments, xe)
		if xe.Applies && chosen == nil {
			chosen, arm = x, xe.Variant
		}
	}
	for _, v := range sl.variants {
		r := RuleResult{ID: v.id, Matched: true}
		if v.seg >= 0 {
			r.Segment = s.segments[v.seg].id
			if !c.inSegment(v.seg) {
				r.Matched, r.Reason = false, "not in segment "+quote(r.Segment)
			}
		}
		if r.Matched {
			if f := failed(v.when, c); f != nil {
				r.Matched, r.Failed = false, f
			}
		}
		se.Variants = append(se.Variants, r)
	}
	v, content := s.targeted(c, sl)
	se.Decision = SlotDecision{Slot: sl.id, Variant: v, Content: content}
	if chosen != nil {
		a := &chosen.arms[chosen.armIndex(arm)]
		se.Decision.Variant, se.Decision.Experiment = a.id, chosen.info.ID
		if a.content != nil {
			se.Decision.Content = a.content.render(c)
		}
	}
	return se
}

func (s *Set) explainExperiment(c *Context, x *experiment) ExperimentExplain {
	xe := ExperimentExplain{ID: x.info.ID, Bucket: -1, Sites: x.sites.list()}
	id := visitorID(c)
	if n, ok := hashUnit(x.seed, id); ok {
		xe.Bucket = n
	}
	switch {
	case !x.sites.serves(c.hit.Site):
		xe.Reason = "serves only " + x.sites.String()
		return xe
	case x.start != 0 && c.now < x.start:
		xe.Reason = "not started: starts " + time.UnixMilli(x.start).UTC().Format(time.RFC3339)
		return xe
	case x.stop != 0 && c.now >= x.stop:
		xe.Reason = "stopped " + time.UnixMilli(x.stop).UTC().Format(time.RFC3339)
		return xe
	case x.seg >= 0 && !c.inSegment(x.seg):
		xe.Reason = "not in segment " + quote(s.segments[x.seg].id)
		return xe
	}
	if f := failed(x.when, c); f != nil {
		xe.Reason, xe.Failed = "condition does not match", f
		return xe
	}
	if a := c.st.Assignment(x.info.ID); a != nil && x.armIndex(a.Variant) >= 0 {
		xe.Applies, xe.Variant, xe.Sticky = true, a.Variant, true
		return xe
	}
	ai := x.choose(id)
	if ai < 0 {
		xe.Reason = fmt.Sprintf("outside coverage (%g%%)", x.info.Coverage*100)
		return xe
	}
	xe.Applies, xe.Variant = true, x.arms[ai].id
	return xe
}

func (s *Set) explainPrompts(c *Context, only string, holdout bool) (*CapsExplanation, []PromptExplain) {
	cp := &s.caps
	ce := &CapsExplanation{PerSession: cp.perSession, ShownSession: c.st.PromptSession, LastPrompt: c.st.PromptLast}
	if cp.cooldown > 0 {
		ce.Cooldown = formatDuration(cp.cooldown)
	}
	capBlock, budget := s.capsBlock(c)
	if capBlock != notBlocked {
		ce.BlockedBy = s.blockText(capBlock, nil, c)
	}
	var out []PromptExplain
	for _, p := range s.prompts {
		b := p.check(c)
		pe := PromptExplain{ID: p.pub.ID, Kind: p.pub.Kind, Sites: p.sites.list()}
		switch {
		case b != notBlocked:
		case holdout:
			b = blockHoldout
		case capBlock != notBlocked:
			b = capBlock
		case budget == 0:
			b = blockBudget
		default:
			pe.Offered = true
			if budget > 0 {
				budget--
			}
		}
		if b != notBlocked {
			pe.BlockedBy = s.blockText(b, p, c)
			if b == blockWhen {
				pe.Failed = failed(p.when, c)
			}
		}
		if only == "" || only == p.pub.ID {
			out = append(out, pe)
		}
	}
	return ce, out
}

// blockText says in words what blocked a prompt.
func (s *Set) blockText(b block, p *prompt, c *Context) string {
	var ps journey.PromptStat
	if p != nil {
		if x := c.st.Prompt(p.pub.ID); x != nil {
			ps = *x
		}
	}
	switch b {
	case blockAnswered:
		return "answered: a survey is not asked again"
	case blockMax:
		return fmt.Sprintf("show: max %d (shown %d)", p.show.max, ps.Shown)
	case blockCooldown:
		return fmt.Sprintf("show: cooldown %s (last shown %s ago)", formatDuration(p.show.cooldown), formatDuration(c.now-ps.LastShown))
	case blockUntil:
		return "show: until " + p.show.until
	case blockSegment:
		return "segment: not in " + quote(s.segments[p.seg].id)
	case blockWhen:
		return "when: condition does not match"
	case blockPerSession:
		return fmt.Sprintf("caps.per_session: %d shown this session, cap %d", c.st.PromptSession, s.caps.perSession)
	case blockCapCooldown:
		return fmt.Sprintf("caps.cooldown: %s (last prompt %s ago)", formatDuration(s.caps.cooldown), formatDuration(c.now-c.st.PromptLast))
	case blockNever:
		return "caps.never: matches this page"
	case blockBudget:
		return "caps.per_session: the budget goes to higher-priority prompts"
	case blockHoldout:
		return "holdout: no prompts"
	case blockSite:
		return "sites: serves only " + p.sites.String()
	}
	return ""
}

// formatDuration renders milliseconds as the rules write durations: 7d, 2h30m0s, 45s.
func formatDuration(ms int64) string {
	if ms >= dayMS && ms%dayMS == 0 {
		return fmt.Sprintf("%dd", ms/dayMS)
	}
	return (time.Duration(ms) * time.Millisecond).String()
}
