package rules

import (
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

// Decide answers a hit: the content of each requested slot the rules know, the prompts the
// snippet should arm, and the experiment exposures to log. It resets d and reuses its slices,
// so a pooled Decisions makes a decision cost no allocation beyond templated content.
//
// Decide updates st: Segments (the segments the visitor is in now), and for a served
// experiment arm the sticky assignment and its Exposed mark. It never counts a prompt as
// shown: the snippet reports that, and journey.Apply counts it. Every show policy and cap is
// enforced from the prompt stats in st, which an identified user's devices share.
//
// Bots and visitors without consent (req.DefaultsOnly) get slot defaults and no prompts.
// Visitors in the holdout get the same, and d.WouldHave holds what they would have got,
// computed without assigning experiments.
func (s *Set) Decide(st *journey.State, h *event.Hit, req Request, d *Decisions) {
	s.decideHoldout(st, h, req, d, holdoutAuto)
	// A pooled Decisions must not keep the visitor's state alive.
	d.ctx.st, d.ctx.hit = nil, nil
}

// Holdout modes of decideHoldout: the rule tests pin a case in or out of the holdout.
const (
	holdoutAuto = iota // hash the visitor id
	holdoutOut
	holdoutIn
)

func (s *Set) decideHoldout(st *journey.State, h *event.Hit, req Request, d *Decisions, mode int) {
	d.Reset()
	c := &d.ctx
	c.reset(s, st, h, req.Now)
	segs := c.segments()
	st.Segments = st.Segments[:0]
	for i, in := range segs {
		if in {
			st.Segments = append(st.Segments, s.segments[i].id)
		}
	}
	if req.DefaultsOnly {
		s.defaults(req.Slots, d)
		return
	}
	// Capture only observes: holdout visitors are sampled too.
	s.decideCapture(c, d)
	in := mode == holdoutIn || (mode == holdoutAuto && s.inHoldout(st, c.hit))
	if in {
		d.Holdout = true
		s.defaults(req.Slots, d)
		w := d.would
		if w == nil {
			w = &Decisions{}
			d.would = w
		}
		w.Reset()
		s.decide(c, req.Slots, w, false)
		d.WouldHave = w
		return
	}
	s.decide(c, req.Slots, d, true)
}

// decide fills d for the context; commit assigns experiments and marks exposures.
func (s *Set) decide(c *Context, slots []string, d *Decisions, commit bool) {
	for _, id := range slots {
		if sl := s.slot(id, c.hit.Site); sl != nil {
			d.Slots = append(d.Slots, s.decideSlot(c, sl, d, commit))
		}
	}
	s.decidePrompts(c, d)
}

// defaults serves every known requested slot its default.
func (s *Set) defaults(slots []string, d *Decisions) {
	for _, id := range slots {
		if sl := s.slot(id, d.ctx.hit.Site); sl != nil {
			d.Slots = append(d.Slots, SlotDecision{Slot: sl.id, Variant: sl.defID, Content: sl.def.render(&d.ctx)})
		}
	}
}

// decideSlot picks the slot's content: the first experiment that covers the visitor, else
// the first targeted variant that matches, else the default.
func (s *Set) decideSlot(c *Context, sl *slot, d *Decisions, commit bool) SlotDecision {
	for _, x := range sl.exps {
		ai, ok := s.assign(c, x, d, commit)
		if !ok {
			continue
		}
		a := &x.arms[ai]
		sd := SlotDecision{Slot: sl.id, Variant: a.id, Experiment: x.info.ID}
		if a.content != nil {
			sd.Content = a.content.render(c)
		} else {
			_, sd.Content = s.targeted(c, sl)
		}
		return sd
	}
	v, content := s.targeted(c, sl)
	return SlotDecision{Slot: sl.id, Variant: v, Content: content}
}

// targeted returns the first matching variant of sl, or its default.
func (s *Set) targeted(c *Context, sl *slot) (id, content string) {
	for _, v := range sl.variants {
		if (v.seg < 0 || c.inSegment(v.seg)) && v.when.Eval(c) {
			return v.id, v.content.render(c)
		}
	}
	return sl.defID, sl.def.render(c)
}

// active reports whether the experiment runs at now.
func (x *experiment) active(now int64) bool {
	return (x.start == 0 || now >= x.start) && (x.stop == 0 || now < x.stop)
}

// assign returns the arm of x the visitor gets, and false when x does not apply to them:
// it is not running, its segment or condition does not match, or the visitor falls outside
// its coverage. A sticky assignment wins over hashing, so changing weights or coverage never
// moves a visitor who has seen an arm. With commit, a new assignment is stored and its first
// exposure appended to d.
func (s *Set) assign(c *Context, x *experiment, d *Decisions, commit bool) (int, bool) {
	if !x.sites.serves(c.hit.Site) || !x.active(c.now) || (x.seg >= 0 && !c.inSegment(x.seg)) || !x.when.Eval(c) {
		return 0, false
	}
	ai := -1
	if a := c.st.Assignment(x.info.ID); a != nil {
		ai = x.armIndex(a.Variant)
	}
	if ai < 0 {
		ai = x.choose(visitorID(c))
		if ai < 0 {
			return 0, false
		}
	}
	if commit {
		a := c.st.SetAssignment(x.info.ID, x.arms[ai].id, c.now)
		if !a.Exposed {
			a.Exposed = true
			d.Exposures = append(d.Exposures, Exposure{Experiment: x.info.ID, Variant: a.Variant, Slot: x.info.Slot, At: c.now})
		}
	}
	return ai, true
}

func (x *experiment) armIndex(id string) int {
	for i := range x.arms {
		if x.arms[i].id == id {
			return i
		}
	}
	return -1
}

// visitorID is the id experiments and the holdout hash: the state's visitor id (shared by an
// identified user's devices after a merge), else the hit's.
func visitorID(c *Context) string { return unitID(c.st, c.hit) }

// unitID is visitorID of a state and a hit.
func unitID(st *journey.State, h *event.Hit) string {
	if st.VID != "" {
		return st.VID
	}
	return h.VID
}

// holdoutBucket returns where visitor id falls in the holdout's hash space; false when there
// is no holdout or no id.
func (s *Set) holdoutBucket(id string) (float64, bool) {
	if s.holdout == nil {
		return 0, false
	}
	return hashUnit(s.holdout.seed, id)
}

// inHoldout reports whether the visitor is in the global holdout.
func (s *Set) inHoldout(st *journey.State, h *event.Hit) bool {
	n, ok := s.holdoutBucket(unitID(st, h))
	return ok && n < s.holdout.fraction && s.holdout.sites.serves(h.Site)
}

// Observe records what a hit means for the journey, after journey.Apply has folded it into
// st: every step whose condition the hit matches is reached (st.ReachStep), the stage
// becomes the furthest stage reached, and a conversion step adds a conversion valued at its
// value prop (st.AddConversion). Steps are checked in file order, so a step's condition sees
// the steps reached before it in the same hit.
func (s *Set) Observe(st *journey.State, h *event.Hit) {
	if len(s.steps) == 0 || h == nil || h.Event == nil {
		return
	}
	c := s.getContext()
	defer s.putContext(c)
	at := h.Time
	if at == 0 {
		at = st.LastSeen
	}
	c.reset(s, st, h, at)
	cur, ok := s.stageIndex[st.Stage]
	if !ok {
		cur = -1
	}
	for _, stp := range s.steps {
		if (stp.hitType != event.TypeInvalid && h.Event.Type != stp.hitType) || !stp.sites.serves(h.Site) {
			continue
		}
		if !stp.when.Eval(c) {
			continue
		}
		st.ReachStep(stp.info.ID, at)
		c.stepsChanged()
		if stp.stageIdx > cur {
			cur = stp.stageIdx
			st.Stage = s.stages[cur]
		}
		if stp.info.Conversion {
			st.AddConversion(stp.info.ID, at, conversionValue(h.Event.Props, stp.info.ValueProp))
		}
	}
}

// conversionValue reads a conversion's value prop: a number, or a string holding one.
func conversionValue(props event.Props, key string) float64 {
	if key == "" {
		return 0
	}
	v, ok := props.Get(key)
	if !ok {
		return 0
	}
	switch v.Kind {
	case event.KindNumber:
		return v.Num
	case event.KindString:
		if f, ok := parseNumber(v.Str); ok {
			return f
		}
	}
	return 0
}

func (s *Set) getContext() *Context {
	if c, ok := s.ctxPool.Get().(*Context); ok {
		return c
	}
	return &Context{}
}

// putContext returns c to the pool; it drops its references so that a pooled context keeps
// no visitor's state alive.
func (s *Set) putContext(c *Context) {
	c.st, c.hit = nil, nil
	s.ctxPool.Put(c)
}
