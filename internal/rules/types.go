package rules

import (
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/report"
)

// Request says what a page asks for: the slots it renders and whether the visitor may be
// personalized at all.
type Request struct {
	Slots []string
	// DefaultsOnly serves every slot its default and no prompt, without assigning
	// experiments: for bots and for visitors without consent. Unlike the holdout, nothing
	// is computed for them.
	DefaultsOnly bool
	// Now is the decision time, Unix milliseconds; 0 means the hit's time.
	Now int64
}

// Decisions is what Decide answers for one hit. It is meant to be reused: Decide resets it
// and appends into the capacity of its slices, so a pooled Decisions costs no allocation
// per request. The strings and Choices it holds belong to the Set and must not be modified.
type Decisions struct {
	Slots     []SlotDecision // one per requested slot that the rules know, in request order
	Prompts   []Prompt       // prompts the snippet should arm now, highest priority first
	Exposures []Exposure     // new experiment exposures to log, once per visitor and experiment
	Holdout   bool           // the visitor is in the global holdout: defaults only, no prompts
	Capture   Capture        // what the snippet records on the page (capture rules)
	// Snapshot lists the viewport bands of which the server asks this pageview for a DOM
	// snapshot of the page (for the Heatmaps view). The server sets it after Decide, on a
	// pageview sampled for heatmaps; the rules never do. It goes on the wire in the capture
	// object, and only with one.
	Snapshot []string
	// WouldHave is, for a holdout visitor, what they would have got: log it to measure
	// lift, never serve it. Nil otherwise.
	WouldHave *Decisions

	would *Decisions // the reusable WouldHave
	ctx   Context    // scratch for evaluation, reused across calls
}

// Reset clears d for reuse, keeping the capacity of its slices.
func (d *Decisions) Reset() {
	d.Slots = d.Slots[:0]
	d.Prompts = d.Prompts[:0]
	d.Exposures = d.Exposures[:0]
	d.Holdout = false
	d.Capture = Capture{}
	d.Snapshot = d.Snapshot[:0]
	d.WouldHave = nil
}

// Slot returns the decision for slot and whether there is one.
func (d *Decisions) Slot(slot string) (SlotDecision, bool) {
	for _, s := range d.Slots {
		if s.Slot == slot {
			return s, true
		}
	}
	return SlotDecision{}, false
}

// SlotDecision is the content one page slot shows. On the wire the slots form a map keyed by
// slot id: {"hero": {"variant": "…", "content": "…", "experiment": "…"}}.
type SlotDecision struct {
	Slot       string `json:"-"`
	Variant    string `json:"variant"`
	Content    string `json:"content"`
	Experiment string `json:"experiment,omitempty"`
}

// Prompt kinds.
const (
	KindSurvey = "survey"
	KindChat   = "chat"
)

// Prompt is a survey or chat prompt the snippet should arm: it shows it when the trigger
// fires and reports shown, dismissed or answered as a prompt event.
type Prompt struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"` // KindSurvey or KindChat
	Trigger  Trigger  `json:"trigger"`
	Question string   `json:"question,omitempty"` // survey
	Type     string   `json:"type,omitempty"`     // survey: single_choice, multiple_choice, rating, nps, text
	Choices  []string `json:"choices,omitempty"`  // survey: single_choice and multiple_choice
	Message  string   `json:"message,omitempty"`  // chat
	Action   *Action  `json:"action,omitempty"`   // chat: what accepting the prompt does
}

// Trigger types.
const (
	TriggerExitIntent = "exit_intent" // the pointer leaves the window towards the tabs (desktop)
	TriggerIdle       = "idle"        // no input for Seconds
	TriggerAfter      = "after"       // Seconds after the page loaded; 0 is at once
	TriggerScroll     = "scroll"      // the page is scrolled to Percent
	TriggerEvent      = "event"       // the site tracks the custom event named Event
)

// Trigger is when the snippet shows an armed prompt on the page. On the wire:
// {"type": "idle", "seconds": 30}; an absent number is 0.
type Trigger struct {
	Type    string `json:"type"`
	Seconds int    `json:"seconds,omitempty"` // idle, after
	Percent int    `json:"percent,omitempty"` // scroll
	Event   string `json:"event,omitempty"`   // event
}

// Action is what accepting a chat prompt does: open URL, or dispatch the DOM event Event on
// window for the site's chat widget to listen to.
type Action struct {
	URL   string `json:"url,omitempty"`
	Event string `json:"event,omitempty"`
}

// Exposure is a visitor's first exposure to an experiment arm: log it once, as experiment
// reports count exposed visitors and their goal conversions.
type Exposure struct {
	Experiment string `json:"experiment"`
	Variant    string `json:"variant"`
	Slot       string `json:"slot"`
	At         int64  `json:"at"` // Unix ms
}

// Prompt actions, as the snippet reports them (the same names as in package event).
const (
	ActionShown     = event.ActionShown
	ActionDismissed = event.ActionDismissed
	ActionAnswered  = event.ActionAnswered
)

// showPolicy is a prompt's own limit: at most max showings (0: no limit), cooldown
// milliseconds between two, and none after the visitor answered (until answered) or
// dismissed or answered (until dismissed).
type showPolicy struct {
	max      int
	cooldown int64
	until    string
}

// FunnelMode is how a funnel's steps must follow each other.
type FunnelMode string

// Funnel modes.
const (
	FunnelOrdered   FunnelMode = "ordered"   // the steps in this order, other steps may come between
	FunnelStrict    FunnelMode = "strict"    // the steps in this order, nothing between them
	FunnelUnordered FunnelMode = "unordered" // all the steps, in any order
)

// defaultFunnelWindow is a funnel's window, in milliseconds, when the file gives none: the
// reports' default, so that a funnel of the rules and an ad-hoc one agree.
var defaultFunnelWindow = report.DefaultFunnelWindow.Milliseconds()

// Funnel is a funnel definition for reports: Steps (at least two step ids) completed within
// Window milliseconds of the first, following Mode, by visitors who did not reach an Exclude
// step in between, broken down by the context field Breakdown ("" for none).
type Funnel struct {
	ID          string     `json:"id"`
	Description string     `json:"description,omitempty"`
	Steps       []string   `json:"steps"`
	Window      int64      `json:"window_ms"`
	Mode        FunnelMode `json:"mode"`
	Exclude     []string   `json:"exclude,omitempty"`
	Breakdown   string     `json:"breakdown,omitempty"`
	Sites       []string   `json:"sites,omitempty"` // the sites it serves; empty for every site
}

// StepInfo describes a journey step for reports.
type StepInfo struct {
	ID          string   `json:"id"`
	Description string   `json:"description,omitempty"`
	Stage       string   `json:"stage"`
	Conversion  bool     `json:"conversion,omitempty"`
	ValueProp   string   `json:"value,omitempty"`
	Sites       []string `json:"sites,omitempty"` // the sites it serves; empty for every site
	// Event and Path are the custom event name and the page path the step's condition asks
	// for, when it asks for exactly one at its top level ("" otherwise): enough for a client
	// such as `pathlight simulate` to send traffic that reaches the step.
	Event string `json:"event,omitempty"`
	Path  string `json:"path,omitempty"`
	// PathExample is, for a step that asks for one page path pattern at its top level
	// ($regex) instead, a path it matches built from the pattern's literal start, as pages
	// arrive (no trailing "/"): "/docs/example" for `^/docs/`, "/checkout" for `^/checkout`;
	// "" when there is none.
	PathExample string `json:"path_example,omitempty"`
}

// ExperimentInfo describes an experiment for reports.
type ExperimentInfo struct {
	ID          string    `json:"id"`
	Description string    `json:"description,omitempty"`
	Slot        string    `json:"slot"`
	Variants    []string  `json:"variants"`
	Weights     []float64 `json:"weights"`
	Coverage    float64   `json:"coverage"`
	Goal        string    `json:"goal,omitempty"`
	Start       int64     `json:"start,omitempty"` // Unix ms; 0 when not set
	Stop        int64     `json:"stop,omitempty"`  // Unix ms; 0 when not set
	Sites       []string  `json:"sites,omitempty"` // the sites it serves; empty for every site
}

// SurveyInfo describes a survey for reports.
type SurveyInfo struct {
	ID       string   `json:"id"`
	Question string   `json:"question"`
	Type     string   `json:"type"`
	Choices  []string `json:"choices,omitempty"`
	Sites    []string `json:"sites,omitempty"` // the sites it serves; empty for every site
}
