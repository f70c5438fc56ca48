package rules

import (
	"errors"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

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
}

// rawCond is a condition as written: its JSON-like tree and its node, which locates the
// clause an error is about.
type rawCond struct {
	tree map[string]any
	node ast.Node
	d    *dec
}

type rawStep struct {
	at         pos
	id         string
	desc       string
	stage      string
	stageAt    pos
	when       *rawCond
	conversion bool
	value      string
	valueAt    pos
}

type rawSegment struct {
	at   pos
	id   string
	desc string
	when *rawCond
}

type rawText struct {
	at   pos
	text string
}

type rawSlot struct {
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
	at       pos
	id       string
	desc     string
	slot     string
	slotAt   pos
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
	content   *rawText
}

type rawHoldout struct {
	at       pos
	fraction float64
	seed     string
}

type rawPrompt struct {
	at        pos
	kind      string // "survey" or "chat"
	id        string
	desc      string
	when      *rawCond
	segment   string
	segAt     pos
	trigger   Trigger
	show      showPolicy
	question  string
	qtype     string
	choices   []string
	message   string
	action    *Action
	triggerAt pos
}

type rawCaps struct {
	at         pos
	perSession int
	cooldown   int64
	never      *rawCond
	priority   []string
	priorityAt []pos
}

type rawFunnel struct {
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

var topKeys = []string{"stages", "steps", "segments", "slots", "experiments", "holdout", "surveys", "chat", "caps", "funnels"}

// parseFile decodes one rules file into rs, returning its mistakes.
func parseFile(name string, src []byte, rs *rawSet) []PosError {
	d := &dec{file: name}
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		return []PosError{syntaxError(name, err)}
	}
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		d.collectAnchors(doc.Body)
		d.object(doc.Body, "the rules file", topKeys, func(e entry) { d.top(e, rs) })
	}
	return d.errs
}

// syntaxError turns a YAML parser error into a PosError, without the source excerpt the
// parser appends: the position is enough for an editor to jump to.
func syntaxError(name string, err error) PosError {
	pe := PosError{File: name, Msg: "invalid YAML: " + err.Error()}
	var ye yaml.Error
	if errors.As(err, &ye) {
		pe.Msg = "invalid YAML: " + ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			pe.Line, pe.Col = tk.Position.Line, tk.Position.Column
		}
	}
	return pe
}

func (d *dec) top(e entry, rs *rawSet) {
	switch e.key {
	case "stages":
		if rs.stagesAt != nil {
			d.errorf(e.k, "stages already defined at %s", *rs.stagesAt)
			return
		}
		p := d.at(e.k)
		rs.stagesAt = &p
		items, _ := d.list(e.v, "stages")
		seen := map[string]bool{}
		for _, it := range items {
			s, ok := d.ident(it, "stage")
			if !ok {
				continue
			}
			if seen[s] {
				d.errorf(it, "duplicate stage %q", s)
				continue
			}
			seen[s] = true
			rs.stages = append(rs.stages, s)
		}
		if len(items) == 0 {
			d.errorf(e.k, "stages must list at least one stage")
		}
	case "steps":
		items, _ := d.list(e.v, "steps")
		for _, it := range items {
			if st := d.step(it); st != nil {
				rs.steps = append(rs.steps, st)
			}
		}
	case "segments":
		es, _ := d.entries(e.v, "segments")
		for _, se := range es {
			if sg := d.segment(se); sg != nil {
				rs.segments = append(rs.segments, sg)
			}
		}
	case "slots":
		es, _ := d.entries(e.v, "slots")
		for _, se := range es {
			if sl := d.slot(se); sl != nil {
				rs.slots = append(rs.slots, sl)
			}
		}
	case "experiments":
		es, _ := d.entries(e.v, "experiments")
		for _, se := range es {
			if x := d.experiment(se); x != nil {
				rs.experiments = append(rs.experiments, x)
			}
		}
	case "holdout":
		if rs.holdout != nil {
			d.errorf(e.k, "holdout already defined at %s", rs.holdout.at)
			return
		}
		rs.holdout = d.holdout(e)
	case "surveys", "chat":
		es, _ := d.entries(e.v, e.key)
		kind := "survey"
		if e.key == "chat" {
			kind = "chat"
		}
		for _, se := range es {
			if p := d.prompt(se, kind); p != nil {
				rs.prompts = append(rs.prompts, p)
			}
		}
	case "caps":
		if rs.caps != nil {
			d.errorf(e.k, "caps already defined at %s", rs.caps.at)
			return
		}
		rs.caps = d.caps(e)
	case "funnels":
		es, _ := d.entries(e.v, "funnels")
		for _, se := range es {
			if f := d.funnel(se); f != nil {
				rs.funnels = append(rs.funnels, f)
			}
		}
	}
}

// cond decodes a condition: a mapping of field paths and operators.
func (d *dec) cond(n ast.Node, what string) *rawCond {
	r := d.resolve(n)
	if isNull(r) {
		return nil
	}
	switch r.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
	default:
		d.errorf(n, "%s must be a condition (a mapping of fields to values), not %s", what, kindOf(r))
		return nil
	}
	before := len(d.errs)
	tree, _ := d.value(r).(map[string]any)
	if len(d.errs) > before {
		return nil
	}
	return &rawCond{tree: tree, node: r, d: d}
}

var stepKeys = []string{"id", "stage", "when", "conversion", "value", "description"}

func (d *dec) step(n ast.Node) *rawStep {
	st := &rawStep{at: d.at(n)}
	have := map[string]bool{}
	var valueNode ast.Node
	isMap := d.object(n, "step", stepKeys, func(e entry) {
		have[e.key] = true
		switch e.key {
		case "id":
			st.id, _ = d.ident(e.v, "step id")
		case "stage":
			st.stage, _ = d.ident(e.v, "stage")
			st.stageAt = d.at(e.v)
		case "when":
			st.when = d.cond(e.v, "when")
		case "conversion":
			st.conversion, _ = d.boolean(e.v, "conversion")
		case "value":
			st.value, _ = d.str(e.v, "value")
			st.valueAt = d.at(e.v)
			valueNode = e.k
		case "description":
			st.desc, _ = d.text(e.v, "description")
		}
	})
	if !isMap {
		return nil
	}
	d.require(n, "step", have, "id", "stage", "when")
	if valueNode != nil && !st.conversion {
		d.errorf(valueNode, "value is only meaningful on a step with conversion: true")
	}
	if st.id == "" {
		return nil
	}
	return st
}

var segmentKeys = []string{"when", "description"}

func (d *dec) segment(e entry) *rawSegment {
	if !d.keyIdent(e, "segment id") {
		return nil
	}
	sg := &rawSegment{at: d.at(e.k), id: e.key}
	have := map[string]bool{}
	if d.object(e.v, "segment "+quote(e.key), segmentKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "when":
			sg.when = d.cond(f.v, "when")
		case "description":
			sg.desc, _ = d.text(f.v, "description")
		}
	}) {
		d.require(e.k, "segment "+quote(e.key), have, "when")
	}
	return sg
}

var (
	slotKeys    = []string{"default", "variants"}
	defaultKeys = []string{"id", "content"}
	variantKeys = []string{"id", "when", "segment", "content"}
)

func (d *dec) slot(e entry) *rawSlot {
	if !d.keyIdent(e, "slot id") {
		return nil
	}
	sl := &rawSlot{at: d.at(e.k), id: e.key}
	what := "slot " + quote(e.key)
	d.object(e.v, what, slotKeys, func(f entry) {
		switch f.key {
		case "default":
			sl.def, sl.defID = d.slotDefault(f.v, what+" default")
		case "variants":
			items, _ := d.list(f.v, what+" variants")
			for _, it := range items {
				if v := d.variant(it, what); v != nil {
					sl.variants = append(sl.variants, v)
				}
			}
		}
	})
	return sl
}

// slotDefault decodes `default: {id: x, content: "..."}` or the shorthand `default: "..."`.
func (d *dec) slotDefault(n ast.Node, what string) (*rawText, string) {
	r := d.resolve(n)
	if s, ok := scalarText(r); ok {
		return &rawText{at: d.at(n), text: s}, "default"
	}
	var t *rawText
	id := "default"
	have := map[string]bool{}
	isMap := d.object(n, what, defaultKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "id":
			if s, ok := d.ident(f.v, "variant id"); ok {
				id = s
			}
		case "content":
			s, _ := d.text(f.v, "content")
			t = &rawText{at: d.at(f.v), text: s}
		}
	})
	if isMap {
		d.require(n, what, have, "content")
	}
	return t, id
}

func (d *dec) variant(n ast.Node, slotWhat string) *rawVariant {
	v := &rawVariant{at: d.at(n)}
	have := map[string]bool{}
	if !d.object(n, "variant", variantKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "id":
			v.id, _ = d.ident(f.v, "variant id")
		case "when":
			v.when = d.cond(f.v, "when")
		case "segment":
			v.segment, _ = d.ident(f.v, "segment")
			v.segAt = d.at(f.v)
		case "content":
			s, _ := d.text(f.v, "content")
			v.content = &rawText{at: d.at(f.v), text: s}
		}
	}) {
		return nil
	}
	d.require(n, "variant", have, "id", "content")
	if have["id"] && !have["when"] && !have["segment"] {
		d.errorf(n, "variant %q of %s needs when or segment (use default for the fallback)", v.id, slotWhat)
	}
	if v.id == "" {
		return nil
	}
	return v
}

var (
	experimentKeys = []string{"slot", "when", "segment", "coverage", "variants", "goal", "start", "stop", "seed", "description"}
	armKeys        = []string{"id", "weight", "content"}
)

func (d *dec) experiment(e entry) *rawExperiment {
	if !d.keyIdent(e, "experiment id") {
		return nil
	}
	x := &rawExperiment{at: d.at(e.k), id: e.key, coverage: 1, seed: e.key}
	what := "experiment " + quote(e.key)
	have := map[string]bool{}
	isMap := d.object(e.v, what, experimentKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "slot":
			x.slot, _ = d.ident(f.v, "slot")
			x.slotAt = d.at(f.v)
		case "when":
			x.when = d.cond(f.v, "when")
		case "segment":
			x.segment, _ = d.ident(f.v, "segment")
			x.segAt = d.at(f.v)
		case "coverage":
			if c, ok := d.fraction(f.v, "coverage"); ok {
				x.coverage = c
			}
		case "variants":
			x.armsAt = d.at(f.k)
			items, _ := d.list(f.v, what+" variants")
			for _, it := range items {
				if a := d.arm(it); a != nil {
					x.arms = append(x.arms, a)
				}
			}
		case "goal":
			x.goal, _ = d.ident(f.v, "goal")
			x.goalAt = d.at(f.v)
		case "start":
			x.start, _ = d.date(f.v, "start")
		case "stop":
			x.stop, _ = d.date(f.v, "stop")
			x.stopAt = d.at(f.v)
		case "seed":
			x.seed, _ = d.str(f.v, "seed")
		case "description":
			x.desc, _ = d.text(f.v, "description")
		}
	})
	if isMap {
		d.require(e.k, what, have, "slot", "variants")
	}
	return x
}

func (d *dec) arm(n ast.Node) *rawArm {
	a := &rawArm{at: d.at(n)}
	have := map[string]bool{}
	if !d.object(n, "experiment variant", armKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "id":
			a.id, _ = d.ident(f.v, "variant id")
		case "weight":
			// A bad weight still counts as given, so it is reported once, not also as a
			// missing weight.
			w, ok := d.number(f.v, "weight")
			if ok && w < 0 {
				d.errorf(f.v, "weight %v must not be negative", w)
				w = 0
			}
			a.weight, a.hasWeight = w, true
		case "content":
			s, _ := d.text(f.v, "content")
			a.content = &rawText{at: d.at(f.v), text: s}
		}
	}) {
		return nil
	}
	d.require(n, "experiment variant", have, "id")
	if a.id == "" {
		return nil
	}
	return a
}

var holdoutKeys = []string{"size", "seed"}

// holdout decodes `holdout: 5%` or `holdout: {size: 5%, seed: spring}`.
func (d *dec) holdout(e entry) *rawHoldout {
	h := &rawHoldout{at: d.at(e.k), seed: "pathlight-holdout"}
	switch d.resolve(e.v).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		have := map[string]bool{}
		d.object(e.v, "holdout", holdoutKeys, func(f entry) {
			have[f.key] = true
			switch f.key {
			case "size":
				h.fraction, _ = d.fraction(f.v, "holdout size")
			case "seed":
				h.seed, _ = d.str(f.v, "holdout seed")
			}
		})
		d.require(e.k, "holdout", have, "size")
	default:
		h.fraction, _ = d.fraction(e.v, "holdout")
	}
	return h
}

var (
	surveyKeys = []string{"question", "type", "choices", "when", "segment", "trigger", "show", "description"}
	chatKeys   = []string{"message", "action", "when", "segment", "trigger", "show", "description"}
	actionKeys = []string{"url", "event"}
)

// Survey question types.
const (
	SurveySingleChoice   = "single_choice"
	SurveyMultipleChoice = "multiple_choice"
	SurveyRating         = "rating"
	SurveyNPS            = "nps"
	SurveyText           = "text"
)

var surveyTypes = []string{SurveySingleChoice, SurveyMultipleChoice, SurveyRating, SurveyNPS, SurveyText}

func (d *dec) prompt(e entry, kind string) *rawPrompt {
	if !d.keyIdent(e, kind+" id") {
		return nil
	}
	p := &rawPrompt{at: d.at(e.k), kind: kind, id: e.key, trigger: Trigger{Type: TriggerAfter}, show: showPolicy{max: 1}, triggerAt: d.at(e.k)}
	what := kind + " " + quote(e.key)
	keys := surveyKeys
	if kind == "chat" {
		keys = chatKeys
	}
	have := map[string]bool{}
	var choicesNode, typeNode ast.Node
	isMap := d.object(e.v, what, keys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "question":
			p.question, _ = d.text(f.v, "question")
		case "type":
			typeNode = f.v
			if s, ok := d.str(f.v, "type"); ok {
				if !contains(surveyTypes, s) {
					d.errorf(f.v, "unknown survey type %q (want single_choice, multiple_choice, rating, nps or text)%s", s, suggest(s, surveyTypes))
				} else {
					p.qtype = s
				}
			}
		case "choices":
			choicesNode = f.k
			items, _ := d.list(f.v, "choices")
			seen := map[string]bool{}
			for _, it := range items {
				c, ok := d.text(it, "a choice")
				if !ok {
					continue
				}
				switch {
				case c == "":
					d.errorf(it, "a choice must not be empty")
				case seen[c]:
					d.errorf(it, "duplicate choice %q", c)
				case containsByte(c, '|'):
					d.errorf(it, "a choice must not contain '|': it separates the answers of a multiple_choice survey")
				default:
					seen[c] = true
					p.choices = append(p.choices, c)
				}
			}
		case "message":
			p.message, _ = d.text(f.v, "message")
		case "action":
			p.action = d.action(f.v)
		case "when":
			p.when = d.cond(f.v, "when")
		case "segment":
			p.segment, _ = d.ident(f.v, "segment")
			p.segAt = d.at(f.v)
		case "trigger":
			p.triggerAt = d.at(f.v)
			if t, ok := d.trigger(f.v); ok {
				p.trigger = t
			}
		case "show":
			if s, ok := d.show(f.v); ok {
				p.show = s
			}
		case "description":
			p.desc, _ = d.text(f.v, "description")
		}
	})
	switch {
	case !isMap:
		return nil
	case kind == "survey":
		d.require(e.k, what, have, "question", "type")
		switch p.qtype {
		case SurveySingleChoice, SurveyMultipleChoice:
			if len(p.choices) < 2 && (choicesNode != nil || typeNode != nil) {
				n := choicesNode
				if n == nil {
					n = typeNode
				}
				d.errorf(n, "a %s survey needs at least two choices", p.qtype)
			}
		case SurveyRating, SurveyNPS, SurveyText:
			if choicesNode != nil {
				d.errorf(choicesNode, "a survey of type %s takes no choices", p.qtype)
			}
		}
	default:
		d.require(e.k, what, have, "message")
	}
	return p
}

func containsByte(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// action decodes `{url: https://…}` or `{event: open-chat}`.
func (d *dec) action(n ast.Node) *Action {
	a := &Action{}
	d.object(n, "action", actionKeys, func(f entry) {
		switch f.key {
		case "url":
			if s, ok := d.str(f.v, "action url"); ok {
				if !validActionURL(s) {
					d.errorf(f.v, "action url %q must be an absolute http(s) URL or a path starting with /", s)
				}
				a.URL = s
			}
		case "event":
			a.Event, _ = d.ident(f.v, "action event")
		}
	})
	if (a.URL == "") == (a.Event == "") {
		d.errorf(n, "action needs exactly one of url or event")
		return nil
	}
	return a
}

var triggerKeys = []string{TriggerIdle, TriggerAfter, TriggerScroll, TriggerEvent}

// trigger decodes exit_intent, {idle: 30s}, {after: 10s}, {scroll: 50} or {event: name}.
func (d *dec) trigger(n ast.Node) (Trigger, bool) {
	r := d.resolve(n)
	if s, ok := r.(*ast.StringNode); ok {
		if s.Value == TriggerExitIntent {
			return Trigger{Type: TriggerExitIntent}, true
		}
		d.errorf(n, "unknown trigger %q (want exit_intent, {idle: 30s}, {after: 10s}, {scroll: 50} or {event: name})", s.Value)
		return Trigger{}, false
	}
	es, ok := d.entries(n, "trigger")
	if !ok {
		return Trigger{}, false
	}
	if len(es) != 1 {
		d.errorf(n, "a trigger has exactly one key: exit_intent, idle, after, scroll or event")
		return Trigger{}, false
	}
	e := es[0]
	t := Trigger{Type: e.key}
	switch e.key {
	case TriggerIdle, TriggerAfter:
		ms, ok := d.duration(e.v, e.key)
		if !ok {
			return Trigger{}, false
		}
		t.Seconds = int((ms + 999) / 1000)
	case TriggerScroll:
		pct, ok := d.scrollPercent(e.v)
		if !ok {
			return Trigger{}, false
		}
		t.Percent = pct
	case TriggerEvent:
		name, ok := d.str(e.v, "trigger event")
		if !ok || name == "" {
			if ok {
				d.errorf(e.v, "trigger event needs an event name")
			}
			return Trigger{}, false
		}
		t.Event = name
	default:
		d.errorf(e.k, "unknown trigger %q%s", e.key, suggest(e.key, append([]string{TriggerExitIntent}, triggerKeys...)))
		return Trigger{}, false
	}
	return t, true
}

func (d *dec) scrollPercent(n ast.Node) (int, bool) {
	r := d.resolve(n)
	if s, ok := r.(*ast.StringNode); ok && len(s.Value) > 1 && s.Value[len(s.Value)-1] == '%' {
		f, ok := d.fraction(n, "scroll")
		return int(f*100 + 0.5), ok
	}
	v, ok := d.integer(n, "scroll")
	if !ok {
		return 0, false
	}
	if v < 1 || v > 100 {
		d.errorf(n, "scroll %d must be a percentage between 1 and 100", v)
		return 0, false
	}
	return int(v), true
}

var (
	showKeys    = []string{"max", "cooldown", "until"}
	untilValues = []string{ActionAnswered, ActionDismissed}
)

// show decodes once, always, or {max: N, cooldown: 7d, until: answered|dismissed}.
func (d *dec) show(n ast.Node) (showPolicy, bool) {
	r := d.resolve(n)
	if s, ok := r.(*ast.StringNode); ok {
		switch s.Value {
		case "once":
			return showPolicy{max: 1}, true
		case "always":
			return showPolicy{}, true
		}
		d.errorf(n, "unknown show policy %q (want once, always or a mapping of max, cooldown and until)", s.Value)
		return showPolicy{}, false
	}
	var sp showPolicy
	ok := len(d.errs)
	d.object(n, "show", showKeys, func(f entry) {
		switch f.key {
		case "max":
			if v, ok := d.integer(f.v, "max"); ok {
				if v < 1 {
					d.errorf(f.v, "max %d must be at least 1", v)
				}
				sp.max = int(v)
			}
		case "cooldown":
			sp.cooldown, _ = d.duration(f.v, "cooldown")
		case "until":
			if s, ok := d.str(f.v, "until"); ok {
				if !contains(untilValues, s) {
					d.errorf(f.v, "until must be answered or dismissed, not %q", s)
				}
				sp.until = s
			}
		}
	})
	return sp, len(d.errs) == ok
}

var capsKeys = []string{"per_session", "cooldown", "never", "priority"}

func (d *dec) caps(e entry) *rawCaps {
	c := &rawCaps{at: d.at(e.k)}
	d.object(e.v, "caps", capsKeys, func(f entry) {
		switch f.key {
		case "per_session":
			if v, ok := d.integer(f.v, "per_session"); ok {
				if v < 1 {
					d.errorf(f.v, "per_session %d must be at least 1", v)
				}
				c.perSession = int(v)
			}
		case "cooldown":
			c.cooldown, _ = d.duration(f.v, "cooldown")
		case "never":
			c.never = d.cond(f.v, "never")
		case "priority":
			ids, nodes := d.idList(f.v, "priority")
			c.priority = ids
			for _, n := range nodes {
				c.priorityAt = append(c.priorityAt, d.at(n))
			}
		}
	})
	return c
}

var funnelKeys = []string{"steps", "window", "mode", "exclude", "breakdown", "description"}

func (d *dec) funnel(e entry) *rawFunnel {
	if !d.keyIdent(e, "funnel id") {
		return nil
	}
	fn := &rawFunnel{at: d.at(e.k), id: e.key, mode: FunnelOrdered, window: defaultFunnelWindow}
	what := "funnel " + quote(e.key)
	have := map[string]bool{}
	isMap := d.object(e.v, what, funnelKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "steps":
			ids, nodes := d.idList(f.v, "funnel step")
			fn.steps = ids
			for _, n := range nodes {
				fn.stepsAt = append(fn.stepsAt, d.at(n))
			}
			if len(ids) < 2 {
				d.errorf(f.k, "%s needs at least two steps", what)
			}
		case "window":
			if ms, ok := d.duration(f.v, "window"); ok {
				if ms <= 0 {
					d.errorf(f.v, "window must be longer than zero")
				}
				fn.window = ms
			}
		case "mode":
			if s, ok := d.str(f.v, "mode"); ok {
				switch FunnelMode(s) {
				case FunnelOrdered, FunnelStrict, FunnelUnordered:
					fn.mode = FunnelMode(s)
				default:
					d.errorf(f.v, "unknown funnel mode %q (want ordered, strict or unordered)", s)
				}
			}
		case "exclude":
			ids, nodes := d.idList(f.v, "excluded step")
			fn.exclude = ids
			for _, n := range nodes {
				fn.excludeAt = append(fn.excludeAt, d.at(n))
			}
		case "breakdown":
			fn.breakdown, _ = d.str(f.v, "breakdown")
			fn.breakdownAt = d.at(f.v)
		case "description":
			fn.desc, _ = d.text(f.v, "description")
		}
	})
	if !isMap {
		return nil
	}
	d.require(e.k, what, have, "steps")
	return fn
}

func quote(s string) string { return `"` + s + `"` }
