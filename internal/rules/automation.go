package rules

import (
	"slices"
	"strings"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

// Destination is where deliveries of automations go, declared once in `destinations:`. The
// secret that signs them is read from an environment variable or a file at delivery time; it
// never appears in a rules file.
type Destination struct {
	ID          string  `json:"id"`
	Description string  `json:"description,omitempty"`
	URL         string  `json:"url"`
	Format      string  `json:"format"`
	SecretEnv   string  `json:"secret_env,omitempty"`
	SecretFile  string  `json:"secret_file,omitempty"`
	Timeout     int64   `json:"timeout_ms"`
	Concurrency int     `json:"concurrency"`
	Rate        float64 `json:"rate,omitempty"` // requests per second at most; 0: no limit
	// The ad platform formats: Meta's event name (default: the automation id), the currency
	// of conversion values, and the Google Ads conversion action.
	EventName        string `json:"event_name,omitempty"`
	Currency         string `json:"currency,omitempty"`
	ConversionAction string `json:"conversion_action,omitempty"`
}

// AdPlatform reports whether the destination is an ad platform's conversion API: those get
// only visitors who granted consent explicitly, and only with a click id.
func (d *Destination) AdPlatform() bool {
	return d.Format == FormatMeta || d.Format == FormatGoogleAds
}

// AutomationInfo describes an automation of the rules.
type AutomationInfo struct {
	ID          string   `json:"id"`
	Description string   `json:"description,omitempty"`
	On          string   `json:"on"`               // one of the On* kinds
	Target      string   `json:"target,omitempty"` // the segment, step or stage; "" for any
	Wait        int64    `json:"wait_ms,omitempty"`
	Unless      string   `json:"unless,omitempty"`
	Max         int      `json:"max,omitempty"`
	Cooldown    int64    `json:"cooldown_ms,omitempty"`
	To          []string `json:"to"`
	Sites       []string `json:"sites,omitempty"` // the sites whose hits set it off; empty: every site
}

// Trigger returns the trigger as the rules file writes it, such as "reaches pricing_view" or
// "after add_to_cart + 1h unless purchase".
func (a *AutomationInfo) Trigger() string {
	switch a.On {
	case OnAfter:
		s := "after " + a.Target + " + " + shortDuration(a.Wait)
		if a.Unless != "" {
			s += " unless " + a.Unless
		}
		return s
	case OnInactive:
		return "inactive " + shortDuration(a.Wait)
	}
	t := a.Target
	if t == "" {
		t = "any"
	}
	return a.On + " " + t
}

// automation is a compiled automation.
type automation struct {
	sites scope
	info  AutomationInfo
	when  *condition
	seg   int // the segment of enters and leaves
}

// Fire is one occurrence of an automation for a visitor: the tracker stores one delivery per
// destination of To in the same commit as the hit (or timer) that fired it.
type Fire struct {
	Site       string // the site of the hit that set it off (or armed its timer)
	Automation string
	Trigger    string // as AutomationInfo.Trigger
	At         int64  // Unix ms
	N          uint32 // the occurrence number for this visitor and automation, from 1
	To         []string
}

// AutoState is what a visitor's automations remember between hits: the segments at the
// last hit (to see entering and leaving), how often and when each automation fired (for its
// cap) and the timers of time-based triggers still waiting. The tracker stores it beside the
// journey.
type AutoState struct {
	Site string `json:"site,omitempty"` // the site of the visitor's last hit
	// Granted is when a hit of the visitor first said consent: granted (Unix ms; 0: never).
	// Ad platform destinations get only such visitors. A visitor who later refuses consent
	// is not tracked at all, and the refusal clears it with the waiting timers (see the
	// tracker's withdraw), so nothing fires for them any more.
	Granted  int64      `json:"granted,omitempty"`
	Segments []string   `json:"segments,omitempty"`
	Fired    []FireStat `json:"fired,omitempty"`
	Timers   []Timer    `json:"timers,omitempty"`

	changed bool // since Reset or Saved: the memory must be written again
}

// Changed reports whether a changed since it was loaded (Reset) or last Saved.
func (a *AutoState) Changed() bool { return a.changed }

// MarkChanged records a change made outside this package (the site, a consent grant).
func (a *AutoState) MarkChanged() { a.changed = true }

// Saved records that a has been written as it is.
func (a *AutoState) Saved() { a.changed = false }

// FireStat is how often one automation fired for the visitor and when last.
type FireStat struct {
	ID   string `json:"id"`
	N    uint32 `json:"n"`
	Last int64  `json:"last"`
}

// Timer is a time-based trigger waiting: automation ID fires at Due unless cancelled; From
// is when it was armed (the step's arrival, or the last visit).
type Timer struct {
	ID   string `json:"id"`
	Due  int64  `json:"due"`
	From int64  `json:"from"`
	Site string `json:"site,omitempty"` // the site of the hit that armed it
}

// Reset empties a for reuse.
func (a *AutoState) Reset() {
	a.Site, a.Granted, a.Segments, a.Fired, a.Timers = "", 0, a.Segments[:0], a.Fired[:0], a.Timers[:0]
	a.changed = false
}

// Empty reports whether a remembers nothing.
func (a *AutoState) Empty() bool {
	return len(a.Segments) == 0 && len(a.Fired) == 0 && len(a.Timers) == 0
}

func (a *AutoState) stat(id string) *FireStat {
	for i := range a.Fired {
		if a.Fired[i].ID == id {
			return &a.Fired[i]
		}
	}
	a.Fired = append(a.Fired, FireStat{ID: id})
	return &a.Fired[len(a.Fired)-1]
}

// Stat returns how often automation id fired for the visitor, and when last.
func (a *AutoState) Stat(id string) FireStat {
	for _, f := range a.Fired {
		if f.ID == id {
			return f
		}
	}
	return FireStat{ID: id}
}

func (a *AutoState) arm(id string, due, from int64, site string) {
	a.changed = true
	for i := range a.Timers {
		if a.Timers[i].ID == id {
			a.Timers[i].Due, a.Timers[i].From, a.Timers[i].Site = due, from, site
			return
		}
	}
	a.Timers = append(a.Timers, Timer{ID: id, Due: due, From: from, Site: site})
}

func (a *AutoState) armed(id string) bool {
	return slices.ContainsFunc(a.Timers, func(t Timer) bool { return t.ID == id })
}

func (a *AutoState) cancel(id string) {
	n := len(a.Timers)
	a.Timers = slices.DeleteFunc(a.Timers, func(t Timer) bool { return t.ID == id })
	a.changed = a.changed || len(a.Timers) != n
}

// Before is what a hit may change that triggers compare against: taken by AutoBefore before
// the hit is applied to the journey.
type Before struct {
	stage       string
	conversions uint32
	steps       []uint32 // by Set.autoSteps
}

// HasAutomations reports whether the rules define automations.
func (s *Set) HasAutomations() bool { return len(s.autos) > 0 }

// Automations describes the automations, in the order the files list them.
func (s *Set) Automations() []AutomationInfo {
	out := make([]AutomationInfo, len(s.autos))
	for i, a := range s.autos {
		out[i] = a.info
		out[i].To = slices.Clone(a.info.To)
	}
	return out
}

// Destinations returns the declared destinations.
func (s *Set) Destinations() []Destination { return slices.Clone(s.dests) }

// Destination returns the destination id and whether it is declared.
func (s *Set) Destination(id string) (Destination, bool) {
	for _, d := range s.dests {
		if d.ID == id {
			return d, true
		}
	}
	return Destination{}, false
}

// AutoBefore records in b what triggers compare after the hit: call it before journey.Apply.
func (s *Set) AutoBefore(st *journey.State, b *Before) {
	b.stage, b.conversions = st.Stage, st.Conversions
	b.steps = b.steps[:0]
	for _, id := range s.autoSteps {
		b.steps = append(b.steps, st.Step(id).N)
	}
}

func (b *Before) reached(s *Set, st *journey.State, step string) bool {
	i := slices.Index(s.autoSteps, step)
	return i >= 0 && i < len(b.steps) && st.Step(step).N > b.steps[i]
}

// Automate evaluates the automations after hit h was applied to st (and observed): the
// triggers the hit set off, against what b recorded before it, under each automation's
// condition and cap. It updates as (segments, fire counts, timers armed and cancelled) and
// appends what fired to fires. Call it only for visitors with consent.
func (s *Set) Automate(b *Before, st *journey.State, h *event.Hit, as *AutoState, fires []Fire) []Fire {
	if len(s.autos) == 0 || h == nil || h.Event == nil {
		return fires
	}
	c := s.getContext()
	defer s.putContext(c)
	at := h.Time
	if at == 0 {
		at = st.LastSeen
	}
	c.reset(s, st, h, at)
	var entered, left []string
	if s.autoSegs {
		var now []string
		for i, in := range c.segments() {
			if in {
				now = append(now, s.segments[i].id)
			}
		}
		for _, id := range now {
			if !slices.Contains(as.Segments, id) {
				entered = append(entered, id)
			}
		}
		for _, id := range as.Segments {
			if !slices.Contains(now, id) {
				left = append(left, id)
			}
		}
		if len(entered) > 0 || len(left) > 0 {
			as.Segments = append(as.Segments[:0], now...)
			as.changed = true
		}
	}
	for _, a := range s.autos {
		if !a.sites.serves(h.Site) {
			continue // another site's automation: this hit neither fires nor arms it
		}
		in := &a.info
		hit := false
		switch in.On {
		case OnEnters:
			hit = slices.Contains(entered, in.Target)
		case OnLeaves:
			hit = slices.Contains(left, in.Target)
		case OnReaches:
			hit = b.reached(s, st, in.Target)
		case OnStage:
			hit = st.Stage != b.stage && (in.Target == "" || st.Stage == in.Target)
		case OnConverts:
			hit = st.Conversions > b.conversions &&
				(in.Target == "" || len(st.ConversionList) > 0 && st.ConversionList[len(st.ConversionList)-1].Step == in.Target)
		case OnAfter:
			if in.Unless != "" && b.reached(s, st, in.Unless) {
				as.cancel(in.ID)
			} else if b.reached(s, st, in.Target) {
				as.arm(in.ID, at+in.Wait, at, h.Site)
			}
		case OnInactive:
			// Any hit is activity: the visitor is inactive once none came for the wait. The
			// timer is armed once and moved only when it falls due (see AutoDue), so that
			// hits do not rewrite it.
			if !as.armed(in.ID) {
				as.arm(in.ID, at+in.Wait, at, h.Site)
			}
		}
		if hit {
			fires = s.fire(c, a, as, at, h.Site, fires)
		}
	}
	return fires
}

// AutoDue fires the timers of as that are due at now, in the order they fall due, and
// removes them; the visitor's journey is st. A timer whose trigger no longer holds (the
// unless step came after all, or the visitor came back) is dropped without firing.
func (s *Set) AutoDue(st *journey.State, as *AutoState, now int64, fires []Fire) []Fire {
	if len(as.Timers) == 0 {
		return fires
	}
	slices.SortStableFunc(as.Timers, func(x, y Timer) int { return int(min(max(x.Due-y.Due, -1), 1)) })
	var c *Context
	kept := as.Timers[:0]
	var due []Timer
	for _, t := range as.Timers {
		if t.Due > now {
			kept = append(kept, t)
			continue
		}
		due = append(due, t)
	}
	as.Timers = kept
	as.changed = as.changed || len(due) > 0
	for _, t := range due {
		a := s.automation(t.ID)
		if a == nil || !a.sites.serves(t.Site) || !s.timerHolds(a, st, t) {
			continue
		}
		if a.info.On == OnInactive && st.LastSeen > t.From {
			// The visitor came back since the timer was armed: inactive only a wait after
			// the last visit.
			t.From, t.Due = st.LastSeen, st.LastSeen+a.info.Wait
			if t.Due > now {
				as.arm(t.ID, t.Due, t.From, t.Site)
				continue
			}
		}
		if c == nil {
			c = s.getContext()
			defer s.putContext(c)
		}
		c.reset(s, st, &event.Hit{Event: noEvent, Site: t.Site}, t.Due)
		fires = s.fire(c, a, as, t.Due, t.Site, fires)
	}
	return fires
}

// timerHolds reports whether a due timer's trigger still holds: no unless step since it was
// armed, no visit since for inactivity.
func (s *Set) timerHolds(a *automation, st *journey.State, t Timer) bool {
	switch a.info.On {
	case OnAfter:
		return a.info.Unless == "" || st.Step(a.info.Unless).LastAt < t.From
	case OnInactive:
		return true // moved to a wait after the last visit by AutoDue
	}
	return false
}

func (s *Set) automation(id string) *automation {
	for _, a := range s.autos {
		if a.info.ID == id {
			return a
		}
	}
	return nil
}

// fire appends a's firing when its condition and cap allow it.
func (s *Set) fire(c *Context, a *automation, as *AutoState, at int64, site string, fires []Fire) []Fire {
	if capBlock(a, as.Stat(a.info.ID), at) != "" || !a.when.Eval(c) {
		return fires
	}
	fs := as.stat(a.info.ID)
	as.changed = true
	fs.N++
	fs.Last = at
	return append(fires, Fire{Site: site, Automation: a.info.ID, Trigger: a.info.Trigger(), At: at, N: fs.N, To: a.info.To})
}

// capBlock says which cap keeps a from firing at `at` again, "" when none.
func capBlock(a *automation, fs FireStat, at int64) string {
	if a.info.Max > 0 && int(fs.N) >= a.info.Max {
		if a.info.Max == 1 {
			return "cap: once (fired already)"
		}
		return "cap: max " + itoa(a.info.Max) + " reached"
	}
	if a.info.Cooldown > 0 && fs.N > 0 && at-fs.Last < a.info.Cooldown {
		return "cap: cooldown " + shortDuration(a.info.Cooldown) + " since the last firing"
	}
	return ""
}

// shortDuration renders milliseconds in the largest whole unit the rules write: 7d, 1h, 30m,
// 45s, else as Go writes durations.
func shortDuration(ms int64) string {
	for _, u := range []struct {
		ms   int64
		unit string
	}{{dayMS, "d"}, {3_600_000, "h"}, {60_000, "m"}, {1000, "s"}} {
		if ms >= u.ms && ms%u.ms == 0 {
			return itoa(int(ms/u.ms)) + u.unit
		}
	}
	return formatDuration(ms)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// automations compiles the destinations and automations.
func (c *compiler) automations(rs *rawSet) {
	destAt := map[string]pos{}
	var destIDs []string
	for _, rd := range rs.destinations {
		if first, dup := destAt[rd.dst.ID]; dup {
			c.errAt(rd.at, "duplicate destination %q (first defined at %s)", rd.dst.ID, first)
			continue
		}
		destAt[rd.dst.ID] = rd.at
		destIDs = append(destIDs, rd.dst.ID)
		c.set.dests = append(c.set.dests, rd.dst)
	}
	autoAt := map[string]pos{}
	for _, ra := range rs.automations {
		if first, dup := autoAt[ra.id]; dup {
			c.errAt(ra.at, "duplicate automation %q (first defined at %s)", ra.id, first)
			continue
		}
		autoAt[ra.id] = ra.at
		a := &automation{
			sites: ra.scope.sites,
			info: AutomationInfo{ID: ra.id, Description: ra.desc, On: ra.on, Target: ra.target, Wait: ra.wait,
				Unless: ra.unless, Max: ra.max, Cooldown: ra.cooldown, To: ra.to, Sites: ra.scope.sites.list()},
			when: c.cond(ra.when, scopeRule), seg: -1,
		}
		what := "automation " + quote(ra.id)
		step := func(id string, at pos) {
			i, ok := c.stepIndex[id]
			if !ok {
				c.errAt(at, "unknown step %q%s", id, suggest(id, c.stepIDs))
				return
			}
			c.stepServes(i, a.sites, at, what)
			if !slices.Contains(c.set.autoSteps, id) {
				c.set.autoSteps = append(c.set.autoSteps, id)
			}
		}
		switch ra.on {
		case OnEnters, OnLeaves:
			a.seg = c.segmentRef(ra.target, ra.targetAt, a.sites, what)
			c.set.autoSegs = true
		case OnReaches, OnAfter:
			step(ra.target, ra.targetAt)
			if ra.unless != "" {
				step(ra.unless, ra.unlessAt)
				if ra.unless == ra.target {
					c.errAt(ra.unlessAt, "unless %q is the step the timer starts from; it would cancel every timer", ra.unless)
				}
			}
		case OnStage:
			if _, ok := c.set.stageIndex[ra.target]; ra.target != "" && !ok {
				c.errAt(ra.targetAt, "unknown stage %q (stages are %s, or any)%s", ra.target, strings.Join(c.set.stages, ", "), suggest(ra.target, c.set.stages))
			}
		case OnConverts:
			if ra.target != "" {
				i, ok := c.stepIndex[ra.target]
				if ok {
					c.stepServes(i, a.sites, ra.targetAt, what)
				}
				conv := slices.ContainsFunc(rs.steps, func(st *rawStep) bool { return st.id == ra.target && st.conversion })
				switch {
				case !ok:
					c.errAt(ra.targetAt, "unknown step %q%s", ra.target, suggest(ra.target, c.stepIDs))
				case !conv:
					c.errAt(ra.targetAt, "step %q is not a conversion step (conversion: true)", ra.target)
				}
			}
		}
		for i, id := range ra.to {
			if _, ok := destAt[id]; !ok {
				c.errAt(ra.toAt[i], "unknown destination %q%s", id, suggest(id, destIDs))
			}
		}
		c.set.autos = append(c.set.autos, a)
	}
}
