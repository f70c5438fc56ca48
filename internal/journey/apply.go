package journey

import (
	"math"
	"strings"

	"github.com/pathlight/pathlight/internal/event"
)

// DefaultConversionEvent is the custom event that Options.DefaultConversion counts as a
// conversion, and the step name its conversions are recorded under.
const DefaultConversionEvent = "purchase"

// Options tunes Apply.
type Options struct {
	// DefaultConversion counts every custom event named DefaultConversionEvent as a
	// conversion valued at its numeric "value" prop (0 when the prop is absent or not a
	// number). It stands in for conversion rules until a rule set defines its own.
	DefaultConversion bool
	// OwnStrings makes Apply copy every string it keeps from the hit (a new path, event name,
	// session source, user id, trait, prompt id, the visitor id), so that the State shares no
	// memory with the request: a hit's strings are parts of one string holding the request's
	// whole text, which a State kept beyond the request (a cache) would otherwise keep alive.
	// A new session's strings equal to the previous session's are shared with it instead.
	OwnStrings bool
}

// Change is what Apply did to a State: what the caller logs, counts in metrics and acts on
// (a new session resets per-session caps, an identify links the user id to the visitor).
type Change struct {
	NewVisitor bool // the State was empty: this is the visitor's first hit
	NewSession bool // the hit opened a session: a new Touchpoint was added
	// Late is set when the hit was older than LastSeen, as a retried beacon is. It was counted
	// in the session it belongs to, but moved no clock forward and opened no session.
	Late       bool
	Identified bool    // the hit set UserID, or changed it to another user id
	Converted  bool    // the hit counted as a conversion (Options.DefaultConversion)
	Value      float64 // the conversion value, when Converted
	Overflow   bool    // the hit's path or event name was counted under OtherPath or OtherEvent
	Ignored    bool    // the hit had no event or an unknown type: the State is unchanged
}

// Apply folds one enriched hit into the visitor's state and reports what changed. It
// allocates only when a list grows (a new session, path, event name …), so applying a hit on
// a page the visitor has seen before allocates nothing. Apply keeps the hit's strings, which
// never alias a request buffer (or copies of them, with Options.OwnStrings), but copies its
// slices, which may be pooled. A State is not
// safe for concurrent use: the caller serialises hits per visitor.
//
// Sessions follow GA4. A pageview or custom event opens a session when the visitor has none,
// when more than SessionTimeout passed since the session's last hit, or when the hit carries
// a non-direct source whose source, medium or campaign differs from the session's (a new
// campaign). A direct hit inside a live session never changes the session's source.
//
// Identify, engagement and prompt hits never open a session: they report on a page that was
// already counted. Inside a live session they extend its LastAt. After the timeout they are
// still credited to the last session (an engagement hit carries the engaged time of the page
// being left, which belongs there) but do not extend it, so they cannot revive it; with no
// session at all they update only visitor-level facts (times, user id, traits, prompt stats).
//
// A hit older than LastSeen (a retried beacon) is counted in every total, and in the kept
// session that was live at its time (the oldest kept one when it predates them all), but it
// moves neither LastSeen nor the device and geo, which keep the latest known values, and it
// never opens a session, except when the visitor has none yet.
func Apply(s *State, h *event.Hit, opt Options) Change {
	var c Change
	if s == nil || h == nil || h.Event == nil || !knownType(h.Event.Type) {
		c.Ignored = true
		return c
	}
	e, t := h.Event, h.Time
	c.NewVisitor = s.FirstSeen == 0 && s.LastSeen == 0 && s.Sessions == 0
	switch {
	case c.NewVisitor:
		s.FirstSeen, s.LastSeen = t, t
	case t < s.LastSeen:
		c.Late = true
		s.FirstSeen = min(s.FirstSeen, t)
	default:
		s.LastSeen = t
	}
	own := func(v string) string { return v }
	if opt.OwnStrings {
		own = strings.Clone
	}
	if s.VID == "" {
		s.VID = own(h.VID)
	}
	if !c.Late {
		if h.Device != (event.Device{}) {
			s.Device = h.Device
		}
		if h.Geo != (event.Geo{}) {
			s.Geo = h.Geo
		}
	}

	i := s.attach(h, t, c.Late, &c, opt.OwnStrings)
	var tp *Touchpoint
	if i >= 0 {
		tp = &s.Touchpoints[i]
	}
	switch e.Type {
	case event.TypePageview:
		s.Pageviews = inc(s.Pageviews)
		tp.Pageviews = inc(tp.Pageviews) // pageviews always have a session
		if tp.LandingPage == "" {
			tp.LandingPage = own(h.Page.Path)
		}
		c.Overflow = bump(&s.Paths, h.Page.Path, MaxPaths, OtherPath, t, own)
	case event.TypeEvent:
		c.Overflow = bump(&s.Events, e.Name, MaxEvents, OtherEvent, t, own)
		if opt.DefaultConversion && e.Name == DefaultConversionEvent {
			var v float64
			if pv, ok := e.Props.Get("value"); ok && pv.Kind == event.KindNumber {
				v = finite(pv.Num)
			}
			s.AddConversion(DefaultConversionEvent, t, v)
			c.Converted, c.Value = true, v
		}
	case event.TypeIdentify:
		if e.UserID != "" && e.UserID != s.UserID {
			s.UserID = own(e.UserID)
			c.Identified = true
		}
		s.mergeTraits(e.Traits, own)
	case event.TypeEngagement:
		if tp != nil && e.EngagedMS > 0 {
			tp.EngagedMS = satAdd64(tp.EngagedMS, e.EngagedMS)
		}
	case event.TypePrompt:
		s.applyPrompt(e, t, s.sessionNumber(i), own)
	}
	return c
}

func knownType(t event.Type) bool {
	return t >= event.TypePageview && t <= event.TypePrompt
}

// startsSession reports whether hits of type t may open a session: pageviews and custom
// events are the visitor acting on the site; the other types report on a page already seen.
func startsSession(t event.Type) bool {
	return t == event.TypePageview || t == event.TypeEvent
}

// attach returns the index in Touchpoints of the session the hit at t belongs to, opening a
// session when the hit starts one, or -1 when the hit belongs to no session.
func (s *State) attach(h *event.Hit, t int64, late bool, c *Change, ownStrings bool) int {
	cur := s.Session()
	last := len(s.Touchpoints) - 1
	starts := startsSession(h.Event.Type) && !h.Offline
	switch {
	case cur == nil:
		if !starts {
			return -1
		}
	case late:
		i := s.sessionAt(t)
		tp := &s.Touchpoints[i]
		if t > tp.LastAt && t-tp.LastAt <= SessionTimeout {
			tp.LastAt = t
		}
		return i
	case t-cur.LastAt > SessionTimeout:
		if !starts {
			return last // credited to the session being left, which stays ended
		}
	case starts && newCampaign(cur, &h.Source):
	default:
		cur.LastAt = max(cur.LastAt, t)
		return last
	}
	c.NewSession = true
	s.startSession(&h.Source, t, ownStrings)
	return len(s.Touchpoints) - 1
}

// newCampaign reports whether src is a campaign other than the session's: only a non-direct
// source can change a session's attribution.
func newCampaign(cur *Touchpoint, src *event.Source) bool {
	return !src.Direct() &&
		(src.Source != cur.Source || src.Medium != cur.Medium || src.Campaign != cur.Campaign)
}

// sessionAt returns the index of the kept session that was live at t: the last one started
// at or before t, or the oldest kept one when t predates them all.
func (s *State) sessionAt(t int64) int {
	for i := len(s.Touchpoints) - 1; i > 0; i-- {
		if s.Touchpoints[i].StartedAt <= t {
			return i
		}
	}
	return 0
}

// sessionNumber returns the 1-based number of the session at Touchpoints index i, counting
// also the sessions dropped from Touchpoints, or Sessions when i is -1.
func (s *State) sessionNumber(i int) uint32 {
	if i < 0 {
		return s.Sessions
	}
	back := uint32(len(s.Touchpoints) - 1 - i)
	if back >= s.Sessions {
		return 1
	}
	return s.Sessions - back
}

// startSession appends a touchpoint for a session opened at t by a hit from src. When
// MaxTouchpoints are kept, the oldest is dropped; Sessions keeps the true count. The click-id
// buffer of a dropped or truncated touchpoint is reused, so a pooled State stops allocating.
// With own, the strings are copies (Options.OwnStrings), or the previous touchpoint's.
func (s *State) startSession(src *event.Source, t int64, own bool) {
	s.Sessions = inc(s.Sessions)
	s.PromptSession = 0
	n := len(s.Touchpoints)
	switch {
	case n >= MaxTouchpoints:
		recycled := s.Touchpoints[0].ClickIDs
		copy(s.Touchpoints, s.Touchpoints[n-MaxTouchpoints+1:])
		s.Touchpoints = s.Touchpoints[:MaxTouchpoints]
		// The last slot still holds a touchpoint that was moved down: give it the dropped
		// one's click-id buffer so that no two touchpoints share one.
		s.Touchpoints[MaxTouchpoints-1].ClickIDs = recycled
	case n < cap(s.Touchpoints):
		s.Touchpoints = s.Touchpoints[:n+1]
	default:
		s.Touchpoints = append(s.Touchpoints, Touchpoint{})
	}
	tp := &s.Touchpoints[len(s.Touchpoints)-1]
	ids := src.ClickIDs
	if len(ids) > MaxClickIDs {
		ids = ids[:MaxClickIDs]
	}
	*tp = Touchpoint{
		StartedAt: t,
		LastAt:    t,
		Channel:   src.Channel,
		Source:    src.Source,
		Medium:    src.Medium,
		Campaign:  src.Campaign,
		Term:      src.Term,
		Content:   src.Content,
		ClickIDs:  append(tp.ClickIDs[:0], ids...), // the hit's slice is pooled: copy it
		RefHost:   src.RefHost,
	}
	if own {
		tp.ownStrings(s.Touchpoints[:len(s.Touchpoints)-1])
	}
}

// ownStrings replaces the strings of tp with copies, or with the equal strings of the last
// of before (the previous touchpoint), which encode as one byte and so share one copy.
func (tp *Touchpoint) ownStrings(before []Touchpoint) {
	var prev Touchpoint
	if len(before) > 0 {
		prev = before[len(before)-1]
	}
	tp.Channel = ownOr(tp.Channel, prev.Channel)
	tp.Source = ownOr(tp.Source, prev.Source)
	tp.Medium = ownOr(tp.Medium, prev.Medium)
	tp.Campaign = ownOr(tp.Campaign, prev.Campaign)
	tp.Term = ownOr(tp.Term, prev.Term)
	tp.Content = ownOr(tp.Content, prev.Content)
	tp.RefHost = ownOr(tp.RefHost, prev.RefHost)
	for i := range tp.ClickIDs {
		id := &tp.ClickIDs[i]
		id.Name, id.Value = strings.Clone(id.Name), strings.Clone(id.Value)
	}
}

// ownOr returns prev when it equals s, else a copy of s.
func ownOr(s, prev string) string {
	if s == prev {
		return prev
	}
	return strings.Clone(s)
}

// mergeTraits merges identify traits by key: a new value replaces the old one, a null value
// removes the trait, and keys beyond MaxTraits are ignored (the traits set first are kept).
func (s *State) mergeTraits(traits event.Props, own func(string) string) {
	for _, p := range traits {
		if p.Key == "" {
			continue
		}
		i := traitIndex(s.Traits, p.Key)
		switch {
		case p.Val.Kind == event.KindNull:
			if i >= 0 {
				s.Traits = append(s.Traits[:i], s.Traits[i+1:]...)
			}
		case i >= 0:
			s.Traits[i].Val = ownValue(p.Val, own)
		case len(s.Traits) < MaxTraits:
			s.Traits = append(s.Traits, event.Prop{Key: own(p.Key), Val: ownValue(p.Val, own)})
		}
	}
}

// ownValue returns v with its string passed through own.
func ownValue(v event.Value, own func(string) string) event.Value {
	if v.Str != "" {
		v.Str = own(v.Str)
	}
	return v
}

func traitIndex(ps event.Props, key string) int {
	for i := range ps {
		if ps[i].Key == key {
			return i
		}
	}
	return -1
}

// applyPrompt records a prompt action that happened at t in session number session. Unknown
// actions and hits without a prompt id are ignored.
func (s *State) applyPrompt(e *event.Event, t int64, session uint32, own func(string) string) {
	if e.Prompt == "" {
		return
	}
	switch e.Action {
	case event.ActionShown, event.ActionDismissed, event.ActionAnswered:
	default:
		return
	}
	p := s.promptStat(e.Prompt, own)
	switch e.Action {
	case event.ActionShown:
		p.Shown = inc(p.Shown)
		if t >= p.LastShown {
			p.LastShown, p.LastSession = t, session
		}
		s.PromptLast = max(s.PromptLast, t)
		if session == s.Sessions {
			s.PromptSession = inc(s.PromptSession)
		}
	case event.ActionDismissed:
		p.Dismissed = inc(p.Dismissed)
	case event.ActionAnswered:
		p.Answered = inc(p.Answered)
	}
}

// promptStat returns the stats of prompt id, adding them when absent. When MaxPrompts are
// kept, the prompt shown longest ago makes room (its history is forgotten).
func (s *State) promptStat(id string, own func(string) string) *PromptStat {
	if p := s.Prompt(id); p != nil {
		return p
	}
	id = own(id)
	if len(s.Prompts) >= MaxPrompts {
		i := oldestPrompt(s.Prompts)
		s.Prompts[i] = PromptStat{ID: id}
		return &s.Prompts[i]
	}
	s.Prompts = append(s.Prompts, PromptStat{ID: id})
	return &s.Prompts[len(s.Prompts)-1]
}

func oldestPrompt(ps []PromptStat) int {
	j := 0
	for i := range ps {
		if ps[i].LastShown < ps[j].LastShown {
			j = i
		}
	}
	return j
}

// inc adds one to n, saturating instead of wrapping.
func inc(n uint32) uint32 {
	if n == math.MaxUint32 {
		return n
	}
	return n + 1
}

// satAdd32 adds a and b, saturating at math.MaxUint32.
func satAdd32(a, b uint32) uint32 {
	if a > math.MaxUint32-b {
		return math.MaxUint32
	}
	return a + b
}

// satAdd64 adds two non-negative durations, saturating at math.MaxInt64.
func satAdd64(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// finite returns v, or 0 when v is NaN or infinite: one bad value must not poison a sum.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
