package rules

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules/cond"
)

// Context is the typed document that conditions and content templates read: one hit and the
// journey state it belongs to, at one moment. It is built once per hit without maps; each
// field path a rule names was resolved at load time into a getter over it (see fields.go).
// Facts that cost something to compute (segments, the local clock, the step history) are
// computed on first use and kept for the rest of the hit.
type Context struct {
	st  *journey.State
	hit *event.Hit
	now int64 // Unix ms
	set *Set

	seg      []bool // segment matches by index, valid when segDone
	segDone  bool
	segVals  []cond.Value // the `segments` array, valid when segVDone
	segVDone bool

	hist     []cond.StepAt // the step history as conditions read it, valid when histDone
	histDone bool

	stepPos   []int32 // by the set's step index: the index in st.Steps, -1 if never reached
	stepsDone bool

	clockDone     bool
	hour, weekday int
}

// noEvent and noHit stand in for an absent hit (explain, decide without a page), so that
// getters never test for nil. They are never written to.
var (
	noEvent = &event.Event{}
	noHit   = &event.Hit{Event: noEvent}
)

// reset prepares c for one evaluation, keeping the capacity of its buffers.
func (c *Context) reset(s *Set, st *journey.State, h *event.Hit, now int64) {
	if h == nil {
		h = noHit
	} else if h.Event == nil {
		// A hit without its event: read it as an empty event rather than fail.
		cp := *h
		cp.Event = noEvent
		h = &cp
	}
	if now == 0 {
		now = h.Time
	}
	if now == 0 {
		now = st.LastSeen
	}
	seg := c.seg[:0]
	for range s.segments {
		seg = append(seg, false)
	}
	*c = Context{
		st: st, hit: h, now: now, set: s,
		seg: seg, segVals: c.segVals[:0], hist: c.hist[:0], stepPos: c.stepPos[:0],
	}
}

// Now returns the time the context is evaluated at, Unix milliseconds.
func (c *Context) Now() int64 { return c.now }

// session returns the current touchpoint; a zero one before the first hit.
func (c *Context) session() *journey.Touchpoint {
	if t := c.st.Session(); t != nil {
		return t
	}
	return &emptyTouchpoint
}

var emptyTouchpoint journey.Touchpoint

// device returns the hit's device, or the one the state remembers when the hit has none.
func (c *Context) device() *event.Device {
	if d := &c.hit.Device; d.Type != event.DeviceUnknown || d.OS != "" || d.Browser != "" {
		return d
	}
	return &c.st.Device
}

// geo returns the hit's location, or the one the state remembers when the hit has none.
func (c *Context) geo() *event.Geo {
	if g := &c.hit.Geo; g.Country != "" || g.TimeZone != "" {
		return g
	}
	return &c.st.Geo
}

// clock computes time.hour and time.weekday in the visitor's time zone (from geo), or in
// UTC when it is not known.
func (c *Context) clock() {
	if c.clockDone {
		return
	}
	c.clockDone = true
	t := time.UnixMilli(c.now).In(c.set.zones.location(c.geo().TimeZone))
	c.hour, c.weekday = t.Hour(), int(t.Weekday())
}

// segments evaluates every segment once.
func (c *Context) segments() []bool {
	if !c.segDone {
		c.segDone = true
		for i, sg := range c.set.segments {
			c.seg[i] = sg.sites.serves(c.hit.Site) && sg.when.Eval(c)
		}
	}
	return c.seg
}

// inSegment reports whether the visitor is in segment i.
func (c *Context) inSegment(i int) bool { return c.segments()[i] }

// segmentValues returns the `segments` field: the names of the segments the visitor is in.
func (c *Context) segmentValues() cond.Value {
	if !c.segVDone {
		c.segVDone = true
		for i, in := range c.segments() {
			if in {
				c.segVals = append(c.segVals, c.set.segments[i].name)
			}
		}
	}
	return cond.ArrayValue(c.segVals)
}

// step returns the visitor's count for the set's step i. The position of every step in
// st.Steps is found once per hit, so that conditions on many step counts do not each scan
// the list.
func (c *Context) step(i int) *journey.Count {
	if !c.stepsDone {
		c.stepsDone = true
		c.stepPos = c.stepPos[:0]
		for range c.set.steps {
			c.stepPos = append(c.stepPos, -1)
		}
		for j := range c.st.Steps {
			if k, ok := c.set.stepIndex[c.st.Steps[j].Key]; ok {
				c.stepPos[k] = int32(j)
			}
		}
	}
	if p := c.stepPos[i]; p >= 0 {
		return &c.st.Steps[p]
	}
	return &noCount
}

// noCount is the count of a step never reached. It is never written to.
var noCount journey.Count

// stepsChanged forgets what was derived from the visitor's steps, after Observe reached one.
func (c *Context) stepsChanged() {
	c.stepsDone, c.histDone, c.hist = false, false, c.hist[:0]
}

// history returns the visitor's step history, oldest first, for $sequence and $count.
func (c *Context) history() []cond.StepAt {
	if !c.histDone {
		c.histDone = true
		for _, m := range c.st.StepHistory {
			c.hist = append(c.hist, cond.StepAt{Step: m.Step, At: m.At})
		}
	}
	return c.hist
}

// zoneCache keeps the time zones visitors were seen in: loading one reads the zone database,
// far too slow for every hit. Names come from GeoIP, so there are few; the cache still stops
// growing at maxZones, after which unknown names are loaded each time.
type zoneCache struct {
	m sync.Map // name → *time.Location (nil: not a zone; UTC is used)
	n atomic.Int32
}

const maxZones = 1024

func (z *zoneCache) location(name string) *time.Location {
	if name == "" || name == "UTC" {
		return time.UTC
	}
	if v, ok := z.m.Load(name); ok {
		if loc := v.(*time.Location); loc != nil {
			return loc
		}
		return time.UTC
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	if z.n.Load() < maxZones {
		if _, loaded := z.m.LoadOrStore(name, loc); !loaded {
			z.n.Add(1)
		}
	}
	if loc == nil {
		return time.UTC
	}
	return loc
}
