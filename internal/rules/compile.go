package rules

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/rules/bucket"
	"github.com/pathlight/pathlight/internal/rules/cond"
)

// compiler turns a rawSet into a Set, collecting every mistake the files could not show on
// their own: references to unknown steps and segments, duplicates across files, conditions
// that do not compile.
type compiler struct {
	errs          []PosError
	set           *Set
	stepIndex     map[string]int
	stepIDs       []string
	segIndex      map[string]int
	segIDs        []string
	experimentIDs map[string]bool
	armIDs        map[string][]string // experiment id → its variant ids
	promptIDs     map[string]bool
}

func (c *compiler) errAt(p pos, format string, args ...any) {
	c.errs = append(c.errs, PosError{File: p.file, Line: p.line, Col: p.col, Msg: fmt.Sprintf(format, args...)})
}

// compile builds the Set of rs; the Set is nil when there are mistakes.
func compile(files []string, rs *rawSet) (*Set, []PosError) {
	s := &Set{
		files:      files,
		stageIndex: map[string]int{},
		slotIndex:  map[string]int{},
		zones:      &zoneCache{},
	}
	c := &compiler{
		set:           s,
		stepIndex:     map[string]int{},
		segIndex:      map[string]int{},
		experimentIDs: map[string]bool{},
		armIDs:        map[string][]string{},
		promptIDs:     map[string]bool{},
	}
	c.stages(rs)
	c.declare(rs)
	c.steps(rs)
	c.segments(rs)
	c.slots(rs)
	c.experiments(rs)
	c.holdout(rs)
	c.prompts(rs)
	c.funnels(rs)
	c.automations(rs)
	c.captures(rs)
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	s.stepIndex = c.stepIndex
	return s, nil
}

func (c *compiler) stages(rs *rawSet) {
	c.set.stages = defaultStages
	if rs.stagesAt != nil && len(rs.stages) > 0 {
		c.set.stages = rs.stages
	}
	for i, st := range c.set.stages {
		c.set.stageIndex[st] = i
	}
}

// declare records every id before anything is compiled, so that rules may refer to ids
// defined further down or in another file, and reports duplicates.
func (c *compiler) declare(rs *rawSet) {
	stepAt := map[string]pos{}
	for _, st := range rs.steps {
		if first, dup := stepAt[st.id]; dup {
			c.errAt(st.at, "duplicate step %q (first defined at %s)", st.id, first)
			continue
		}
		stepAt[st.id] = st.at
		c.stepIndex[st.id] = len(c.stepIDs)
		c.stepIDs = append(c.stepIDs, st.id)
	}
	segAt := map[string]pos{}
	for _, sg := range rs.segments {
		if first, dup := segAt[sg.id]; dup {
			c.errAt(sg.at, "duplicate segment %q (first defined at %s)", sg.id, first)
			continue
		}
		segAt[sg.id] = sg.at
		c.segIndex[sg.id] = len(c.segIDs)
		c.segIDs = append(c.segIDs, sg.id)
	}
	expAt := map[string]pos{}
	for _, x := range rs.experiments {
		if first, dup := expAt[x.id]; dup {
			c.errAt(x.at, "duplicate experiment %q (first defined at %s)", x.id, first)
			continue
		}
		expAt[x.id] = x.at
		c.experimentIDs[x.id] = true
		for _, a := range x.arms {
			c.armIDs[x.id] = append(c.armIDs[x.id], a.id)
		}
	}
	promptAt := map[string]pos{}
	for _, p := range rs.prompts {
		if first, dup := promptAt[p.id]; dup {
			c.errAt(p.at, "duplicate prompt %q (first defined at %s; surveys and chat prompts share ids)", p.id, first)
			continue
		}
		promptAt[p.id] = p.at
		c.promptIDs[p.id] = true
	}
}

// options are the journey hooks of every condition.
var condOptions = cond.Options[Context]{
	Now:     func(c *Context) int64 { return c.now },
	History: func(c *Context) []cond.StepAt { return c.history() },
}

// cond compiles a condition; nil (no condition) matches everything.
func (c *compiler) cond(rc *rawCond, scope fieldScope) *condition {
	if rc == nil {
		return nil
	}
	cc, err := cond.Compile(rc.tree, c.resolver(scope), condOptions)
	if err != nil {
		c.errAt(rc.locate(err.Error()), "%s", err.Error())
		return nil
	}
	for _, id := range cc.Steps() {
		if _, ok := c.stepIndex[id]; !ok {
			c.errAt(rc.locateValue(id), "unknown step %q%s", id, suggest(id, c.stepIDs))
		}
	}
	c.check(rc)
	return cc
}

// locate finds the clause an error message is about. Condition errors start with the path
// of the clause ("$or[1]: page.path: $regex: …"); each part that names a key of the tree
// leads one level down, and the error is reported at the deepest key found.
func (rc *rawCond) locate(msg string) pos {
	at, _ := rc.locateNode(msg)
	return at
}

// locateNode is locate, also returning the node of the value at the position.
func (rc *rawCond) locateNode(msg string) (pos, ast.Node) {
	n := rc.node
	at := rc.d.at(n)
	rest := msg
	for {
		part, tail, ok := strings.Cut(rest, ": ")
		if !ok {
			return at, n
		}
		key, idx := part, -1
		if i := strings.IndexByte(part, '['); i > 0 && strings.HasSuffix(part, "]") {
			if v, err := strconv.Atoi(part[i+1 : len(part)-1]); err == nil {
				key, idx = part[:i], v
			}
		}
		k, v := rc.child(n, key)
		if k == nil {
			return at, n
		}
		at, n = rc.d.at(k), v
		if idx >= 0 {
			items, ok := rc.d.resolve(v).(*ast.SequenceNode)
			if !ok || idx >= len(items.Values) {
				return at, n
			}
			n = items.Values[idx]
			at = rc.d.at(n)
		}
		rest = tail
	}
}

// child returns the key and value nodes of key in the mapping n, or nils.
func (rc *rawCond) child(n ast.Node, key string) (k, v ast.Node) {
	var pairs []*ast.MappingValueNode
	switch m := rc.d.resolve(n).(type) {
	case *ast.MappingNode:
		pairs = m.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{m}
	}
	for _, p := range pairs {
		if s, ok := scalarText(rc.d.resolve(p.Key)); ok && s == key {
			return p.Key, p.Value
		}
	}
	return nil, nil
}

// locateValue finds the first scalar equal to s in the condition, for references (step ids
// in $sequence and $count) that the condition compiler reports without a path.
func (rc *rawCond) locateValue(s string) pos {
	var found ast.Node
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		if found != nil {
			return
		}
		switch v := rc.d.resolve(n).(type) {
		case *ast.MappingNode:
			for _, p := range v.Values {
				walk(p)
			}
		case *ast.MappingValueNode:
			walk(v.Value)
		case *ast.SequenceNode:
			for _, it := range v.Values {
				walk(it)
			}
		default:
			if t, ok := scalarText(v); ok && t == s {
				found = n
			}
		}
	}
	walk(rc.node)
	if found == nil {
		return rc.d.at(rc.node)
	}
	return rc.d.at(found)
}

func (c *compiler) steps(rs *rawSet) {
	for _, rst := range rs.steps {
		if i, ok := c.stepIndex[rst.id]; !ok || len(c.set.steps) != i {
			continue // a duplicate, reported
		}
		st := &step{sites: rst.scope.sites, info: StepInfo{ID: rst.id, Description: rst.desc, Stage: rst.stage,
			Conversion: rst.conversion, ValueProp: rst.value, Sites: rst.scope.sites.list(),
			Event: rst.when.exact("event.name"), Path: rst.when.exact("page.path"), PathExample: rst.when.regexExample("page.path")}}
		idx, ok := c.set.stageIndex[rst.stage]
		if !ok && rst.stage != "" {
			c.errAt(rst.stageAt, "unknown stage %q (stages are %s)%s", rst.stage, strings.Join(c.set.stages, ", "), suggest(rst.stage, c.set.stages))
		}
		st.stageIdx = idx
		st.when = c.cond(rst.when, scopeStep)
		st.hitType = impliedType(st.when)
		c.set.steps = append(c.set.steps, st)
		c.set.conversion = c.set.conversion || rst.conversion
	}
}

// exact returns the one string a condition's field must equal at its top level (field: x,
// or field: {$eq: x}); "" when the condition says otherwise or nothing about it.
func (rc *rawCond) exact(field string) string {
	if rc == nil {
		return ""
	}
	switch v := rc.tree[field].(type) {
	case string:
		return v
	case map[string]any:
		if eq, ok := v["$eq"].(string); ok && len(v) == 1 {
			return eq
		}
	}
	return ""
}

// regexExample returns a page path that a condition's one $regex on field matches, built
// from the pattern's literal start as pages arrive (no trailing "/" but the root's), and ""
// when neither that start nor a page under it matches.
func (rc *rawCond) regexExample(field string) string {
	if rc == nil {
		return ""
	}
	v, ok := rc.tree[field].(map[string]any)
	if !ok || len(v) != 1 {
		return ""
	}
	pattern, ok := v["$regex"].(string)
	if !ok {
		return ""
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return "" // reported where the condition is compiled
	}
	prefix, _ := re.LiteralPrefix()
	if !strings.HasPrefix(prefix, "/") {
		return ""
	}
	for _, p := range []string{strings.TrimSuffix(prefix, "/"), strings.TrimSuffix(prefix, "/") + "/example"} {
		if p != "" && re.MatchString(p) {
			return p
		}
	}
	return ""
}

// impliedType returns the event type a step's condition applies to when it says nothing
// about event.type: custom events when it names event.name, pageviews otherwise. So
// `{page.path: /pricing}` counts visits to the pricing page, not the engagement pings and
// prompt reports sent from it.
func impliedType(when *condition) event.Type {
	fields := when.Fields()
	if slices.Contains(fields, "event.type") {
		return event.TypeInvalid
	}
	if slices.Contains(fields, "event.name") {
		return event.TypeEvent
	}
	return event.TypePageview
}

func (c *compiler) segments(rs *rawSet) {
	for _, rsg := range rs.segments {
		if i, ok := c.segIndex[rsg.id]; !ok || len(c.set.segments) != i {
			continue
		}
		c.set.segments = append(c.set.segments, &segment{
			sites: rsg.scope.sites, id: rsg.id, name: cond.StringValue(rsg.id), desc: rsg.desc,
			when: c.cond(rsg.when, scopeSegment),
		})
	}
}

// segmentRef resolves a segment reference of a rule that serves sites, -1 for none. A
// segment that serves none of those sites could never hold for the rule: an error.
func (c *compiler) segmentRef(id string, at pos, sites scope, what string) int {
	if id == "" {
		return -1
	}
	i, ok := c.segIndex[id]
	if !ok {
		c.errAt(at, "unknown segment %q%s", id, suggest(id, c.segIDs))
		return -1
	}
	if sg := c.set.segments[i]; !sg.sites.overlaps(sites) {
		c.errAt(at, "segment %q serves only %s, and %s only %s: the visitor can never be in it there", id, sg.sites, what, sites)
	}
	return i
}

func (c *compiler) slots(rs *rawSet) {
	type defined struct {
		at    pos
		sites scope
	}
	slotAt := map[string][]defined{}
	for _, rsl := range rs.slots {
		dup := false
		for _, first := range slotAt[rsl.id] {
			if first.sites.overlaps(rsl.scope.sites) {
				both := ""
				if len(first.sites) > 0 || len(rsl.scope.sites) > 0 {
					both = " for " + first.sites.common(rsl.scope.sites).String()
				}
				c.errAt(rsl.at, "duplicate slot %q%s (first defined at %s)", rsl.id, both, first.at)
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		slotAt[rsl.id] = append(slotAt[rsl.id], defined{rsl.at, rsl.scope.sites})
		sl := &slot{sites: rsl.scope.sites, id: rsl.id, defID: cmp.Or(rsl.defID, "default")}
		if rsl.def != nil {
			sl.def = c.content(rsl.def)
		}
		seen := map[string]pos{sl.defID: rsl.at}
		for _, rv := range rsl.variants {
			if first, dup := seen[rv.id]; dup {
				c.errAt(rv.at, "duplicate variant %q in slot %q (first defined at %s)", rv.id, rsl.id, first)
				continue
			}
			seen[rv.id] = rv.at
			v := &variant{id: rv.id, seg: c.segmentRef(rv.segment, rv.segAt, sl.sites, "slot "+quote(sl.id)), when: c.cond(rv.when, scopeRule)}
			if rv.content != nil {
				v.content = c.content(rv.content)
			}
			sl.variants = append(sl.variants, v)
		}
		c.addSlot(sl)
	}
}

// addSlot adds sl, after the slots of the same id for other sites.
func (c *compiler) addSlot(sl *slot) {
	if i, ok := c.set.slotIndex[sl.id]; ok {
		last := c.set.slots[i]
		for last.next != nil {
			last = last.next
		}
		last.next = sl
	} else {
		c.set.slotIndex[sl.id] = len(c.set.slots)
	}
	c.set.slots = append(c.set.slots, sl)
}

// slotsOf returns the slots of id that serve a site of sites.
func (c *compiler) slotsOf(id string, sites scope) []*slot {
	var out []*slot
	if i, ok := c.set.slotIndex[id]; ok {
		for sl := c.set.slots[i]; sl != nil; sl = sl.next {
			if sl.sites.overlaps(sites) {
				out = append(out, sl)
			}
		}
	}
	return out
}

func (c *compiler) experiments(rs *rawSet) {
	done := map[string]bool{}
	for _, rx := range rs.experiments {
		if done[rx.id] {
			continue
		}
		done[rx.id] = true
		x := &experiment{
			sites: rx.scope.sites,
			info: ExperimentInfo{ID: rx.id, Description: rx.desc, Slot: rx.slot, Coverage: rx.coverage, Goal: rx.goal, Start: rx.start, Stop: rx.stop,
				Sites: rx.scope.sites.list()},
			seed: rx.seed, seg: c.segmentRef(rx.segment, rx.segAt, rx.scope.sites, "experiment "+quote(rx.id)), when: c.cond(rx.when, scopeRule),
			start: rx.start, stop: rx.stop, goalStep: -1,
		}
		if rx.goal != "" {
			if i, ok := c.stepIndex[rx.goal]; ok {
				x.goalStep = i
				c.stepServes(i, rx.scope.sites, rx.goalAt, "experiment "+quote(rx.id))
			} else {
				c.errAt(rx.goalAt, "unknown goal step %q%s", rx.goal, suggest(rx.goal, c.stepIDs))
			}
		}
		if rx.start != 0 && rx.stop != 0 && rx.stop <= rx.start {
			c.errAt(rx.stopAt, "stop must be after start")
		}
		c.arms(rx, x)
		if rx.slot != "" {
			sls := c.slotsOf(rx.slot, x.sites)
			if len(sls) == 0 {
				// An experiment may own a slot that has no targeted variants; it serves
				// the experiment's sites.
				sl := &slot{sites: x.sites, id: rx.slot, defID: "default"}
				c.addSlot(sl)
				sls = append(sls, sl)
			}
			for _, sl := range sls {
				sl.exps = append(sl.exps, x)
			}
		}
		c.set.exps = append(c.set.exps, x)
	}
}

// arms compiles an experiment's variants and their bucket ranges. Weights are relative:
// either every variant has one or none has (equal split).
func (c *compiler) arms(rx *rawExperiment, x *experiment) {
	if len(rx.arms) < 2 {
		if rx.armsAt.line > 0 {
			c.errAt(rx.armsAt, "experiment %q needs at least two variants", rx.id)
		}
		return
	}
	seen := map[string]pos{}
	withWeight := 0
	var sum float64
	badWeight := false
	for _, ra := range rx.arms {
		badWeight = badWeight || ra.badWeight
		if first, dup := seen[ra.id]; dup {
			c.errAt(ra.at, "duplicate variant %q in experiment %q (first defined at %s)", ra.id, rx.id, first)
		}
		seen[ra.id] = ra.at
		if ra.hasWeight {
			withWeight++
			sum += ra.weight
		}
		a := arm{id: ra.id}
		if ra.content != nil {
			a.content = c.content(ra.content)
		}
		x.arms = append(x.arms, a)
		x.info.Variants = append(x.info.Variants, ra.id)
	}
	weights := make([]float64, len(rx.arms))
	switch {
	case badWeight:
		return // reported where it is
	case withWeight == 0:
		weights = bucket.EqualWeights(len(rx.arms))
	case withWeight != len(rx.arms):
		c.errAt(rx.armsAt, "experiment %q: give every variant a weight, or none for an equal split", rx.id)
		return
	case sum <= 0:
		c.errAt(rx.armsAt, "experiment %q: the weights add up to 0; at least one must be positive", rx.id)
		return
	default:
		for i, ra := range rx.arms {
			weights[i] = ra.weight / sum
		}
	}
	x.info.Weights = weights
	x.ranges = bucketRanges(len(weights), rx.coverage, weights)
}

func (c *compiler) holdout(rs *rawSet) {
	h := rs.holdout
	if h == nil {
		return
	}
	if h.fraction >= 1 {
		c.errAt(h.at, "a holdout of 100%% would leave no visitor to personalize")
		return
	}
	if h.fraction > 0 {
		c.set.holdout = &holdout{sites: h.scope.sites, fraction: h.fraction, seed: h.seed}
	}
}

func (c *compiler) prompts(rs *rawSet) {
	byID := map[string]*prompt{}
	var order []*prompt
	for _, rp := range rs.prompts {
		if byID[rp.id] != nil {
			continue
		}
		p := &prompt{
			pub: Prompt{ID: rp.id, Kind: rp.kind, Trigger: rp.trigger, Question: rp.question, Type: rp.qtype,
				Choices: rp.choices, Message: rp.message, Action: rp.action},
			sites: rp.scope.sites,
			desc:  rp.desc, seg: c.segmentRef(rp.segment, rp.segAt, rp.scope.sites, rp.kind+" "+quote(rp.id)), when: c.cond(rp.when, scopeRule), show: rp.show,
		}
		byID[rp.id] = p
		order = append(order, p)
	}
	rc := rs.caps
	if rc == nil {
		c.set.prompts = order
		return
	}
	c.set.caps = caps{sites: rc.scope.sites, perSession: rc.perSession, cooldown: rc.cooldown, never: c.cond(rc.never, scopeRule)}
	listed := map[string]bool{}
	for i, id := range rc.priority {
		p := byID[id]
		switch {
		case p == nil:
			c.errAt(rc.priorityAt[i], "unknown prompt %q in priority%s", id, suggest(id, slices.Sorted(maps.Keys(byID))))
		case listed[id]:
			c.errAt(rc.priorityAt[i], "prompt %q is listed twice in priority", id)
		default:
			listed[id] = true
			c.set.prompts = append(c.set.prompts, p)
		}
	}
	for _, p := range order {
		if !listed[p.pub.ID] {
			c.set.prompts = append(c.set.prompts, p)
		}
	}
}

// breakdownFields are the fields a funnel can be broken down by: facts a report can read
// from a visitor's state, unlike the hit-level fields.
var breakdownFields = []string{
	"session.channel", "session.source", "session.medium", "session.campaign", "session.landing_page",
	"visitor.first_channel", "visitor.stage", "visitor.known",
	"device.type", "device.os", "device.browser", "geo.country", "geo.region", "geo.city",
}

func (c *compiler) funnels(rs *rawSet) {
	seen := map[string]pos{}
	for _, rf := range rs.funnels {
		if first, dup := seen[rf.id]; dup {
			c.errAt(rf.at, "duplicate funnel %q (first defined at %s)", rf.id, first)
			continue
		}
		seen[rf.id] = rf.at
		in := map[string]bool{}
		for i, id := range rf.steps {
			_, known := c.stepIndex[id]
			switch {
			case !known:
				c.errAt(rf.stepsAt[i], "unknown step %q in funnel %q%s", id, rf.id, suggest(id, c.stepIDs))
			case in[id]:
				c.errAt(rf.stepsAt[i], "step %q appears twice in funnel %q", id, rf.id)
			default:
				c.stepServes(c.stepIndex[id], rf.scope.sites, rf.stepsAt[i], "funnel "+quote(rf.id))
			}
			in[id] = true
		}
		for i, id := range rf.exclude {
			_, known := c.stepIndex[id]
			switch {
			case !known:
				c.errAt(rf.excludeAt[i], "unknown step %q in exclude of funnel %q%s", id, rf.id, suggest(id, c.stepIDs))
			case in[id]:
				c.errAt(rf.excludeAt[i], "step %q cannot be both a step and an exclusion of funnel %q", id, rf.id)
			}
		}
		if b := rf.breakdown; b != "" && !validBreakdown(b, c.experimentIDs) {
			c.errAt(rf.breakdownAt, "funnel %q cannot be broken down by %q (use one of %s, visitor.traits.<name> or experiments.<id>)",
				rf.id, b, strings.Join(breakdownFields, ", "))
		}
		c.set.funnels = append(c.set.funnels, Funnel{
			ID: rf.id, Description: rf.desc, Steps: rf.steps, Window: rf.window, Mode: rf.mode,
			Exclude: rf.exclude, Breakdown: rf.breakdown, Sites: rf.scope.sites.list(),
		})
	}
}

// stepServes reports a step, referred to at `at` by a rule that serves sites, that serves
// none of them: the rule could never see it reached.
func (c *compiler) stepServes(i int, sites scope, at pos, what string) {
	if st := c.set.steps[i]; !st.sites.overlaps(sites) {
		c.errAt(at, "step %q serves only %s, and %s only %s: it can never be reached there", st.info.ID, st.sites, what, sites)
	}
}

func validBreakdown(b string, exps map[string]bool) bool {
	if slices.Contains(breakdownFields, b) {
		return true
	}
	if t, ok := strings.CutPrefix(b, "visitor.traits."); ok && t != "" {
		return true
	}
	if id, ok := strings.CutPrefix(b, "experiments."); ok {
		return exps[id]
	}
	return false
}

// sortErrors orders mistakes by file, line and column, the order an editor lists them in.
func sortErrors(errs []PosError) {
	slices.SortStableFunc(errs, func(a, b PosError) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}
