// Package journey keeps one visitor's journey: sessions and their touchpoints, page and event
// counts, steps reached, stage, conversions, experiment assignments and prompt history. Apply
// folds an enriched hit into a State; the versioned binary codec (AppendBinary, Decode) stores
// a State compactly; Merge joins two visitors found to be one person; AppendJSON writes the
// admin API view.
//
// Every list in a State is bounded (see the Max constants) so that a visitor's record stays
// small however long they browse; what is dropped is documented on each bound.
package journey

import "github.com/pathlight/pathlight/internal/event"

// Bounds on the lists a State keeps, and what happens when a list is full:
//
//   - Time-ordered lists drop their oldest entries: Touchpoints, StepHistory and
//     ConversionList keep the newest, while Sessions and Conversions keep the true counts.
//   - Counted lists keep totals exact: a new path or event name past the bound is counted
//     under OtherPath or OtherEvent, so the sum of N stays equal to the true total while the
//     long tail loses its names (Paths and Events hold at most one entry more, the bucket).
//   - Steps, Experiments and Prompts make room by forgetting the entry used longest ago (the
//     step reached, experiment assigned or prompt shown longest ago): a rule set has fewer,
//     so only entries of retired rules go.
//   - Traits keep the keys set first and ignore new ones; a touchpoint keeps its first
//     MaxClickIDs click ids.
//   - Recent keeps at most MaxRecent ids; past that it keeps the RecentAfterSpill newest and
//     hands the others to the caller together (see TrimRecent), which keeps them elsewhere:
//     deduplication stays exact. Logged is
//     emptied by the tracker whenever it reaches MaxLogged; AppendBinary writes all of it.
//
// AppendBinary writes at most these many entries and Decode rejects records with more.
const (
	MaxTouchpoints = 100 // the last 100 sessions; Sessions keeps the true count
	MaxPaths       = 500 // distinct page paths; more are counted under OtherPath
	MaxEvents      = 200 // distinct event names; more are counted under OtherEvent
	MaxSteps       = 200 // distinct steps (a rule set has fewer)
	MaxStepHistory = 200 // the last 200 step arrivals, in order, for sequence rules and paths
	MaxTraits      = 50  // traits, as on the wire
	MaxExperiments = 100 // experiment assignments
	MaxPrompts     = 100 // prompts ever shown
	MaxConversions = 50  // the last 50 conversions; Conversions keeps the true count
	MaxClickIDs    = 16  // ad click ids per touchpoint (ad platforms define about a dozen)
)

// OtherPath and OtherEvent are the overflow buckets of Paths and Events.
const (
	OtherPath  = "(other)"
	OtherEvent = "(other)"
)

// SessionTimeout is the idle time after which a hit starts a new session, in milliseconds.
const SessionTimeout = 30 * 60 * 1000

// Touchpoint is one session: where it came from and what happened in it.
type Touchpoint struct {
	StartedAt   int64 // Unix ms of the first hit
	LastAt      int64 // Unix ms of the last hit
	Channel     string
	Source      string
	Medium      string
	Campaign    string
	Term        string
	Content     string
	ClickIDs    []event.ClickID
	LandingPage string // normalised path of the first pageview
	RefHost     string
	Pageviews   uint32
	EngagedMS   int64
}

// Count is how often a named thing happened and when first and last.
type Count struct {
	Key     string
	N       uint32
	FirstAt int64
	LastAt  int64
}

// StepMark is one arrival at a step, for sequence rules and path reports.
type StepMark struct {
	Step string
	At   int64
}

// Conversion is one conversion: the step (or "purchase" by default) and its value.
type Conversion struct {
	Step  string
	At    int64
	Value float64
}

// Assignment is a sticky experiment assignment.
type Assignment struct {
	Experiment string
	Variant    string
	At         int64
	Exposed    bool // the exposure event has been logged
}

// PromptStat is what happened to one survey or chat prompt for this visitor.
type PromptStat struct {
	ID          string
	Shown       uint32
	Dismissed   uint32
	Answered    uint32
	LastShown   int64  // Unix ms
	LastSession uint32 // the session number in which it was last shown
}

// State is everything Pathlight remembers about one visitor.
type State struct {
	VID       string
	UserID    string // set by identify; a known visitor
	FirstSeen int64  // Unix ms
	LastSeen  int64  // Unix ms

	Sessions    uint32       // the true number of sessions, also those dropped from Touchpoints
	Touchpoints []Touchpoint // the last MaxTouchpoints sessions, oldest first

	Pageviews uint32
	Paths     []Count // pageviews per normalised path
	Events    []Count // custom events per name

	Device event.Device
	Geo    event.Geo
	Traits event.Props

	// Filled by the rules.
	Stage       string
	Steps       []Count    // per step id: count, first and last time
	StepHistory []StepMark // the last MaxStepHistory step arrivals, oldest first
	Segments    []string   // segment names the visitor was in at the last decision

	Conversions    uint32       // the true number of conversions
	Value          float64      // the sum of conversion values
	ConversionList []Conversion // the last MaxConversions conversions, oldest first

	Experiments []Assignment
	Prompts     []PromptStat
	// PromptLast is when any prompt was last shown, and PromptSession how many were shown in
	// the current session: the interruption budget of caps.
	PromptLast    int64
	PromptSession uint32

	// Recent holds the events accepted for this visitor within the tracker's dedup window,
	// oldest first, at most MaxRecent: a retried event is recognised from the journey
	// itself, without a read of its own. SpillUntil is the end of the window of the last id
	// that was pushed out of Recent (or accepted when the visitor's id was not certain):
	// until then the tracker also checks its spill packs and dedup keys.
	Recent     []RecentID
	SpillUntil int64

	// Logged holds the event-log keys of the visitor's latest events that the tracker has
	// not yet written into its ownership index, oldest first: it writes them in packs of
	// MaxLogged, so that indexing a visitor's events costs one key per MaxLogged events.
	Logged []LogRef
}

// Session returns the current (last) touchpoint, or nil before the first hit.
func (s *State) Session() *Touchpoint {
	if len(s.Touchpoints) == 0 {
		return nil
	}
	return &s.Touchpoints[len(s.Touchpoints)-1]
}

// FirstChannel returns the channel of the first session still kept, "" before the first hit.
func (s *State) FirstChannel() string {
	if len(s.Touchpoints) == 0 {
		return ""
	}
	return s.Touchpoints[0].Channel
}

// Step returns the count for step id, or a zero Count.
func (s *State) Step(id string) Count { return find(s.Steps, id) }

// Event returns the count for event name, or a zero Count.
func (s *State) Event(name string) Count { return find(s.Events, name) }

// Path returns the pageview count for a normalised path, or a zero Count.
func (s *State) Path(p string) Count { return find(s.Paths, p) }

// Prompt returns the stats of prompt id, or nil.
func (s *State) Prompt(id string) *PromptStat {
	for i := range s.Prompts {
		if s.Prompts[i].ID == id {
			return &s.Prompts[i]
		}
	}
	return nil
}

// Assignment returns the sticky assignment for experiment id, or nil.
func (s *State) Assignment(id string) *Assignment {
	for i := range s.Experiments {
		if s.Experiments[i].Experiment == id {
			return &s.Experiments[i]
		}
	}
	return nil
}

func find(cs []Count, key string) Count {
	for i := range cs {
		if cs[i].Key == key {
			return cs[i]
		}
	}
	return Count{Key: key}
}
