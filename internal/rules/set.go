package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"sync"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/rules/cond"
)

// defaultStages are the journey stages when the rules name none.
var defaultStages = []string{"awareness", "consideration", "decision", "retention", "advocacy"}

// DefaultStages returns the journey stages used when the rules do not list their own.
func DefaultStages() []string { return slices.Clone(defaultStages) }

// Set is a compiled rule set. It is immutable once built and safe for concurrent use: a
// reload builds a new Set and swaps the pointer. The zero value is not usable; use Empty.
type Set struct {
	version string
	files   []string

	stages     []string
	stageIndex map[string]int
	steps      []*step
	stepIndex  map[string]int // step id → index in steps
	segments   []*segment
	slots      []*slot
	slotIndex  map[string]int
	exps       []*experiment
	holdout    *holdout
	prompts    []*prompt // in priority order
	caps       caps
	funnels    []Funnel
	captures   []*captureRule
	conversion bool // a step counts conversions

	autos     []*automation
	dests     []Destination
	autoSteps []string // the steps whose arrivals triggers watch, for Before
	autoSegs  bool     // a trigger watches segments

	zones   *zoneCache
	ctxPool sync.Pool // *Context for Observe and Explain, which have no Decisions to borrow
}

type condition = cond.Cond[Context]

// step is a compiled journey step.
type step struct {
	sites    scope
	info     StepInfo
	stageIdx int
	hitType  event.Type // the only event type the step applies to; TypeInvalid for any
	when     *condition
}

// segment is a compiled segment.
type segment struct {
	sites scope
	id    string
	name  cond.Value // the id as the `segments` field lists it
	desc  string
	when  *condition
}

// slot is a compiled page slot: its targeted variants, its default and the experiments on it.
type slot struct {
	sites    scope
	next     *slot // the next slot of the same id, for other sites
	id       string
	variants []*variant
	defID    string
	def      *content // nil: no default content, the page keeps its own markup
	exps     []*experiment
}

// variant is a targeted slot variant: it matches when its segment (if any) holds and its
// condition (if any) matches.
type variant struct {
	id      string
	seg     int // segment index, -1 for none
	when    *condition
	content *content
}

// experiment is a compiled experiment.
type experiment struct {
	sites    scope
	info     ExperimentInfo
	seed     string
	seg      int
	when     *condition
	ranges   []bucketRange
	arms     []arm
	start    int64
	stop     int64
	goalStep int // index in Set.steps, -1 for none
}

type arm struct {
	id      string
	content *content // nil: the slot's own decision (a control arm)
}

// holdout is the global holdout: fraction of visitors, hashed with seed on the visitor id.
type holdout struct {
	sites    scope
	fraction float64
	seed     string
}

// prompt is a compiled survey or chat prompt.
type prompt struct {
	sites scope
	pub   Prompt
	desc  string
	seg   int
	when  *condition
	show  showPolicy
}

// caps is the interruption budget shared by all prompts.
type caps struct {
	sites      scope
	perSession int   // 0: no limit
	cooldown   int64 // ms between any two prompts shown
	never      *condition
}

// Empty returns a Set without rules: every slot it is asked about is unknown, no prompt is
// offered and no step is recorded. It serves while the rules directory is empty.
func Empty() *Set {
	s, _ := compile([]string{}, &rawSet{})
	sum := sha256.Sum256(nil)
	s.version = hex.EncodeToString(sum[:])[:16] // the version of an empty directory
	return s
}

// Version returns a short content hash of the rule files, to tell which rules decided.
func (s *Set) Version() string { return s.version }

// Files returns the rule files the set was loaded from, relative to its directory; empty,
// not nil, without files.
func (s *Set) Files() []string { return append([]string{}, s.files...) }

// HasConversions reports whether a step counts conversions, for any site.
func (s *Set) HasConversions() bool { return s.conversion }

// DefaultConversion reports whether the journey's default conversion (every purchase event)
// applies to hits of site: it does when no step that serves site counts conversions, so a
// site the rules' conversion steps do not serve still counts its purchases. For site ""
// (every site) it applies only when no step counts conversions at all.
func (s *Set) DefaultConversion(site string) bool {
	if !s.conversion {
		return true
	}
	if site == "" {
		return false
	}
	for i := range s.steps {
		if s.steps[i].info.Conversion && s.steps[i].sites.serves(site) {
			return false
		}
	}
	return true
}

// Stages returns the journey stages in order.
func (s *Set) Stages() []string { return slices.Clone(s.stages) }

// Steps returns the journey steps in the order the files list them: the journey map's order.
func (s *Set) Steps() []StepInfo {
	out := make([]StepInfo, len(s.steps))
	for i, st := range s.steps {
		out[i] = st.info
		out[i].Sites = slices.Clone(st.info.Sites)
	}
	return out
}

// Segments returns the segment ids.
func (s *Set) Segments() []string {
	out := make([]string, len(s.segments))
	for i, sg := range s.segments {
		out[i] = sg.id
	}
	return out
}

// Slots returns the slot ids the rules know, once each (a slot id may have a slot for each
// of several sites).
func (s *Set) Slots() []string {
	out := make([]string, 0, len(s.slotIndex))
	for _, sl := range s.slots {
		if s.slots[s.slotIndex[sl.id]] == sl {
			out = append(out, sl.id)
		}
	}
	return out
}

// Experiments describes the experiments, for reports.
func (s *Set) Experiments() []ExperimentInfo {
	out := make([]ExperimentInfo, len(s.exps))
	for i, x := range s.exps {
		out[i] = x.info
		out[i].Variants = slices.Clone(x.info.Variants)
		out[i].Weights = slices.Clone(x.info.Weights)
		out[i].Sites = slices.Clone(x.info.Sites)
	}
	return out
}

// Surveys describes the surveys, for reports.
func (s *Set) Surveys() []SurveyInfo {
	var out []SurveyInfo
	for _, p := range s.prompts {
		if p.pub.Kind == KindSurvey {
			out = append(out, SurveyInfo{ID: p.pub.ID, Question: p.pub.Question, Type: p.pub.Type, Choices: slices.Clone(p.pub.Choices),
				Sites: p.sites.list()})
		}
	}
	return out
}

// Funnels returns the funnel definitions, for reports.
func (s *Set) Funnels() []Funnel {
	out := make([]Funnel, len(s.funnels))
	for i, f := range s.funnels {
		out[i] = f
		out[i].Steps = slices.Clone(f.Steps)
		out[i].Exclude = slices.Clone(f.Exclude)
		out[i].Sites = slices.Clone(f.Sites)
	}
	return out
}

// HoldoutFraction returns the share of visitors in the global holdout, 0 to 1.
func (s *Set) HoldoutFraction() float64 {
	if s.holdout == nil {
		return 0
	}
	return s.holdout.fraction
}

func (s *Set) prompt(id string) *prompt {
	for _, p := range s.prompts {
		if p.pub.ID == id {
			return p
		}
	}
	return nil
}

// slot returns the slot id that serves site, or nil.
func (s *Set) slot(id, site string) *slot {
	i, ok := s.slotIndex[id]
	if !ok {
		return nil
	}
	for sl := s.slots[i]; sl != nil; sl = sl.next {
		if sl.sites.serves(site) {
			return sl
		}
	}
	return nil
}
