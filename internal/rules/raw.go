package rules

import "github.com/goccy/go-yaml/ast"

// The raw* types are the YAML form of a rule set, kept apart from the compiled form: they
// hold what the files say and where, so that the compile step can report cross-references
// (an unknown step, a duplicate id across files) with positions.

type rawSet struct {
	stages      []string
	stagesAt    *pos
	steps       []*rawStep
	segments    []*rawSegment
	slots       []*rawSlot
	experiments []*rawExperiment
	holdout     *rawHoldout
	prompts     []*rawPrompt
	caps        *rawCaps
	funnels     []*rawFunnel

	automations  []*rawAutomation
	destinations []*rawDestination
	captures     []*rawCapture
}

// rawCond is a condition as written: its JSON-like tree and its node, which locates the
// clause an error is about.
type rawCond struct {
	tree map[string]any
	node ast.Node
	d    *dec
}

type rawStep struct {
	scope      rawScope
	at         pos
	id         string
	desc       string
	stage      string
	stageAt    pos
	when       *rawCond
	conversion bool
	value      string
}

type rawSegment struct {
	scope rawScope
	at    pos
	id    string
	desc  string
	when  *rawCond
}

type rawText struct {
	at   pos
	text string
}

type rawSlot struct {
	scope    rawScope
	at       pos
	id       string
	def      *rawText
	defID    string
	variants []*rawVariant
}

type rawVariant struct {
	at      pos
	id      string
	when    *rawCond
	segment string
	segAt   pos
	content *rawText
}

type rawExperiment struct {
	scope    rawScope
	at       pos
	id       string
	desc     string
	slot     string
	when     *rawCond
	segment  string
	segAt    pos
	coverage float64
	arms     []*rawArm
	armsAt   pos
	goal     string
	goalAt   pos
	start    int64
	stop     int64
	stopAt   pos
	seed     string
}

type rawArm struct {
	at        pos
	id        string
	weight    float64
	hasWeight bool
	badWeight bool // reported already: the weights are not checked as a whole
	content   *rawText
}

type rawHoldout struct {
	scope    rawScope
	at       pos
	fraction float64
	seed     string
}

type rawPrompt struct {
	scope    rawScope
	at       pos
	kind     string // "survey" or "chat"
	id       string
	desc     string
	when     *rawCond
	segment  string
	segAt    pos
	trigger  Trigger
	show     showPolicy
	question string
	qtype    string
	choices  []string
	message  string
	action   *Action
}

type rawCaps struct {
	scope      rawScope
	at         pos
	perSession int
	cooldown   int64
	never      *rawCond
	priority   []string
	priorityAt []pos
}

type rawFunnel struct {
	scope       rawScope
	at          pos
	id          string
	desc        string
	steps       []string
	stepsAt     []pos
	window      int64
	mode        FunnelMode
	exclude     []string
	excludeAt   []pos
	breakdown   string
	breakdownAt pos
}
