package rules

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/rules/cond"
)

// getter reads one field of a Context.
type getter = cond.Getter[Context]

// Text fields that are empty read as missing, so that `$exists` tells whether they are set.
func str(s string) cond.Value {
	if s == "" {
		return cond.Value{}
	}
	return cond.StringValue(s)
}

func num(n float64) cond.Value { return cond.NumberValue(n) }

// ms reads a Unix-millisecond time; 0 (never) reads as missing.
func ms(t int64) cond.Value {
	if t == 0 {
		return cond.Value{}
	}
	return cond.NumberValue(float64(t))
}

func propValue(v event.Value) cond.Value {
	switch v.Kind {
	case event.KindString:
		return cond.StringValue(v.Str)
	case event.KindNumber:
		return cond.NumberValue(v.Num)
	case event.KindBool:
		return cond.BoolValue(v.Num != 0)
	}
	return cond.NullValue()
}

func propGetter(props func(c *Context) event.Props, key string) getter {
	return func(c *Context) cond.Value {
		if v, ok := props(c).Get(key); ok {
			return propValue(v)
		}
		return cond.Value{}
	}
}

const dayMS = 24 * 60 * 60 * 1000

var weekdays = [...]cond.Value{
	cond.StringValue("sunday"), cond.StringValue("monday"), cond.StringValue("tuesday"),
	cond.StringValue("wednesday"), cond.StringValue("thursday"), cond.StringValue("friday"),
	cond.StringValue("saturday"),
}

// staticFields are the context fields with a fixed path. The table is built once and only
// read afterwards.
var staticFields = map[string]getter{
	"event.type": func(c *Context) cond.Value { return str(c.hit.Event.Type.String()) },
	"event.name": func(c *Context) cond.Value { return str(c.hit.Event.Name) },

	"page.url":      func(c *Context) cond.Value { return str(c.hit.Page.URL) },
	"page.path":     func(c *Context) cond.Value { return str(c.hit.Page.Path) },
	"page.host":     func(c *Context) cond.Value { return str(c.hit.Page.Host) },
	"page.title":    func(c *Context) cond.Value { return str(c.hit.Event.Title) },
	"page.referrer": func(c *Context) cond.Value { return str(c.hit.Event.Ref) },

	"session.channel":       func(c *Context) cond.Value { return str(c.session().Channel) },
	"session.source":        func(c *Context) cond.Value { return str(c.session().Source) },
	"session.medium":        func(c *Context) cond.Value { return str(c.session().Medium) },
	"session.campaign":      func(c *Context) cond.Value { return str(c.session().Campaign) },
	"session.term":          func(c *Context) cond.Value { return str(c.session().Term) },
	"session.content":       func(c *Context) cond.Value { return str(c.session().Content) },
	"session.referrer_host": func(c *Context) cond.Value { return str(c.session().RefHost) },
	"session.landing_page":  func(c *Context) cond.Value { return str(c.session().LandingPage) },
	"session.number":        func(c *Context) cond.Value { return num(float64(c.st.Sessions)) },
	"session.pageviews":     func(c *Context) cond.Value { return num(float64(c.session().Pageviews)) },
	"session.started_at":    func(c *Context) cond.Value { return ms(c.session().StartedAt) },

	"visitor.id":         func(c *Context) cond.Value { return str(c.st.VID) },
	"visitor.user_id":    func(c *Context) cond.Value { return str(c.st.UserID) },
	"visitor.known":      func(c *Context) cond.Value { return cond.BoolValue(c.st.UserID != "") },
	"visitor.sessions":   func(c *Context) cond.Value { return num(float64(c.st.Sessions)) },
	"visitor.pageviews":  func(c *Context) cond.Value { return num(float64(c.st.Pageviews)) },
	"visitor.first_seen": func(c *Context) cond.Value { return ms(c.st.FirstSeen) },
	"visitor.last_seen":  func(c *Context) cond.Value { return ms(c.st.LastSeen) },
	"visitor.days_since_first_seen": func(c *Context) cond.Value {
		if c.st.FirstSeen == 0 || c.now < c.st.FirstSeen {
			return num(0)
		}
		return num(math.Floor(float64(c.now-c.st.FirstSeen) / dayMS))
	},
	"visitor.converted":     func(c *Context) cond.Value { return cond.BoolValue(c.st.Conversions > 0) },
	"visitor.conversions":   func(c *Context) cond.Value { return num(float64(c.st.Conversions)) },
	"visitor.value":         func(c *Context) cond.Value { return num(c.st.Value) },
	"visitor.stage":         func(c *Context) cond.Value { return str(c.st.Stage) },
	"visitor.first_channel": func(c *Context) cond.Value { return str(c.st.FirstChannel()) },

	"device.type":    func(c *Context) cond.Value { return cond.StringValue(c.device().Type.String()) },
	"device.os":      func(c *Context) cond.Value { return str(c.device().OS) },
	"device.browser": func(c *Context) cond.Value { return str(c.device().Browser) },
	"device.bot":     func(c *Context) cond.Value { return cond.BoolValue(c.device().Bot) },

	"geo.country":  func(c *Context) cond.Value { return str(c.geo().Country) },
	"geo.region":   func(c *Context) cond.Value { return str(c.geo().Region) },
	"geo.city":     func(c *Context) cond.Value { return str(c.geo().City) },
	"geo.timezone": func(c *Context) cond.Value { return str(c.geo().TimeZone) },

	"time.now":     func(c *Context) cond.Value { return num(float64(c.now)) },
	"time.hour":    func(c *Context) cond.Value { c.clock(); return num(float64(c.hour)) },
	"time.weekday": func(c *Context) cond.Value { c.clock(); return num(float64(c.weekday)) },
	"time.day":     func(c *Context) cond.Value { c.clock(); return weekdays[c.weekday] },

	"segments": func(c *Context) cond.Value { return c.segmentValues() },
}

// fieldPrefixes are the context fields whose last part is a name: a prop, a query
// parameter, a trait, a step, an event, a prompt or an experiment.
var fieldPrefixes = []string{
	"event.props.", "page.query.", "visitor.traits.",
	"steps.", "events.", "prompts.", "experiments.",
}

// fieldScope says where a field path is resolved: some fields make no sense everywhere.
type fieldScope uint8

const (
	scopeRule    fieldScope = iota // slots, experiments, prompts, caps: everything
	scopeSegment                   // a segment's condition: no `segments` (they are being computed)
	scopeStep                      // a step's condition: no `segments` (steps come first)
)

// resolver returns the cond.Resolver for conditions in scope, over the ids of rs.
func (c *compiler) resolver(scope fieldScope) cond.Resolver[Context] {
	return func(path string) (getter, error) { return c.field(path, scope) }
}

// field resolves a field path into a getter, or says why it cannot.
func (c *compiler) field(path string, scope fieldScope) (getter, error) {
	if g, ok := staticFields[path]; ok {
		if path == "segments" && scope != scopeRule {
			where := "a segment's"
			if scope == scopeStep {
				where = "a step's"
			}
			return nil, fmt.Errorf("segments cannot be used in %s condition", where)
		}
		return g, nil
	}
	if strings.HasPrefix(path, "$") {
		return nil, fmt.Errorf("unknown operator (a condition's keys are fields or %s)%s",
			strings.Join(logicalOps, ", "), suggest(path, logicalOps))
	}
	for _, p := range fieldPrefixes {
		if path+"." == p {
			return nil, fmt.Errorf("unknown field: %s needs a name, as in %s<name>", path, p)
		}
	}
	switch {
	case strings.HasPrefix(path, "event.props."):
		key := strings.TrimPrefix(path, "event.props.")
		if key == "" {
			break
		}
		return propGetter(func(c *Context) event.Props { return c.hit.Event.Props }, key), nil
	case strings.HasPrefix(path, "page.query."):
		key := strings.TrimPrefix(path, "page.query.")
		if key == "" {
			break
		}
		return propGetter(func(c *Context) event.Props { return c.hit.Page.Query }, key), nil
	case strings.HasPrefix(path, "visitor.traits."):
		key := strings.TrimPrefix(path, "visitor.traits.")
		if key == "" {
			break
		}
		return propGetter(func(c *Context) event.Props { return c.st.Traits }, key), nil
	case strings.HasPrefix(path, "steps."):
		return c.stepField(path)
	case strings.HasPrefix(path, "events."):
		return countField(path, "events.", func(c *Context, name string) (n uint32, first, last int64) {
			e := c.st.Event(name)
			return e.N, e.FirstAt, e.LastAt
		})
	case strings.HasPrefix(path, "prompts."):
		return c.promptField(path)
	case strings.HasPrefix(path, "experiments."):
		id := strings.TrimPrefix(path, "experiments.")
		if !c.experimentIDs[id] {
			return nil, fmt.Errorf("unknown experiment %q%s", id, suggest(id, sortedKeys(c.experimentIDs)))
		}
		return func(c *Context) cond.Value {
			if a := c.st.Assignment(id); a != nil {
				return str(a.Variant)
			}
			return cond.Value{}
		}, nil
	}
	return nil, fmt.Errorf("unknown field%s", suggestField(path))
}

// stepField resolves steps.<id>.count, steps.<id>.first_at and steps.<id>.last_at.
func (c *compiler) stepField(path string) (getter, error) {
	rest := strings.TrimPrefix(path, "steps.")
	id, attr, _ := strings.Cut(rest, ".")
	i, ok := c.stepIndex[id]
	if !ok {
		return nil, fmt.Errorf("unknown step %q%s", id, suggest(id, c.stepIDs))
	}
	switch attr {
	case "count":
		return func(c *Context) cond.Value { return num(float64(c.step(i).N)) }, nil
	case "first_at":
		return func(c *Context) cond.Value { return ms(c.step(i).FirstAt) }, nil
	case "last_at":
		return func(c *Context) cond.Value { return ms(c.step(i).LastAt) }, nil
	}
	return nil, fmt.Errorf("unknown field: want steps.<name>.count, .first_at or .last_at")
}

// countField resolves <prefix><name>.count|first_at|last_at over a count lookup.
func countField(path, prefix string, count func(c *Context, name string) (n uint32, first, last int64)) (getter, error) {
	rest := strings.TrimPrefix(path, prefix)
	dot := strings.LastIndexByte(rest, '.')
	if dot <= 0 {
		return nil, fmt.Errorf("unknown field: want %s<name>.count, .first_at or .last_at", prefix)
	}
	name, attr := rest[:dot], rest[dot+1:]
	switch attr {
	case "count":
		return func(c *Context) cond.Value { n, _, _ := count(c, name); return num(float64(n)) }, nil
	case "first_at":
		return func(c *Context) cond.Value { _, f, _ := count(c, name); return ms(f) }, nil
	case "last_at":
		return func(c *Context) cond.Value { _, _, l := count(c, name); return ms(l) }, nil
	}
	return nil, fmt.Errorf("unknown field: want %s<name>.count, .first_at or .last_at", prefix)
}

// promptField resolves prompts.<id>.shown|dismissed|answered|last_shown.
func (c *compiler) promptField(path string) (getter, error) {
	rest := strings.TrimPrefix(path, "prompts.")
	id, attr, _ := strings.Cut(rest, ".")
	if !c.promptIDs[id] {
		return nil, fmt.Errorf("unknown prompt %q%s", id, suggest(id, sortedKeys(c.promptIDs)))
	}
	stat := func(c *Context) (shown, dismissed, answered uint32, last int64) {
		if p := c.st.Prompt(id); p != nil {
			return p.Shown, p.Dismissed, p.Answered, p.LastShown
		}
		return 0, 0, 0, 0
	}
	switch attr {
	case "shown":
		return func(c *Context) cond.Value { s, _, _, _ := stat(c); return num(float64(s)) }, nil
	case "dismissed":
		return func(c *Context) cond.Value { _, d, _, _ := stat(c); return num(float64(d)) }, nil
	case "answered":
		return func(c *Context) cond.Value { _, _, a, _ := stat(c); return num(float64(a)) }, nil
	case "last_shown":
		return func(c *Context) cond.Value { _, _, _, l := stat(c); return ms(l) }, nil
	}
	return nil, fmt.Errorf("unknown field: want prompts.<id>.shown, .dismissed, .answered or .last_shown")
}

// suggestField proposes the field a typo most likely meant: the closest fixed field, or a
// named field with its prefix corrected ("visitor.trait.plan" → "visitor.traits.plan").
func suggestField(path string) string {
	best, bestD := "", 4
	consider := func(cand string, d int) {
		if d < bestD || (d == bestD && cand < best) {
			best, bestD = cand, d
		}
	}
	for n := range staticFields {
		consider(n, editDistance(path, n))
	}
	for _, p := range fieldPrefixes {
		for i := 1; i < len(path); i++ {
			if path[i-1] == '.' {
				if d := editDistance(path[:i], p); d > 0 && d <= 2 {
					consider(p+path[i:], d)
				}
			}
		}
	}
	// visitor.plan most likely means a trait, event.sku a prop, unless a fixed field is a
	// one-letter typo away.
	if bestD > 1 {
		for _, p := range []string{"visitor.", "event."} {
			if rest, ok := strings.CutPrefix(path, p); ok && rest != "" && !strings.Contains(rest, ".") {
				best = map[string]string{"visitor.": "visitor.traits.", "event.": "event.props."}[p] + rest
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
