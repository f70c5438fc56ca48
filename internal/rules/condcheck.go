package rules

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// The condition compiler accepts whatever GrowthBook would evaluate, and GrowthBook
// evaluates many conditions that can never match a Pathlight context: an operator written
// without its "$" is compared as a literal object, "Monday" is not a value time.day ever
// holds, a segment name nobody defined is simply never in the list. The checks here know
// Pathlight's fields and report such conditions as mistakes, at the clause they are about.

// logicalOps are the keys of a condition object that are not fields.
var logicalOps = []string{"$and", "$or", "$nor", "$not", "$sequence", "$count"}

// valueOps are the operators on a field's value.
var valueOps = []string{
	"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$ini", "$nini", "$all", "$alli",
	"$elemMatch", "$size", "$exists", "$type", "$regex", "$regexi", "$not",
	"$veq", "$vne", "$vgt", "$vgte", "$vlt", "$vlte", "$within", "$before", "$after",
}

// timeOps are the journey operators that read a time.
var timeOps = map[string]bool{"$within": true, "$before": true, "$after": true}

// setOps compare a field with the values of their operand.
var setOps = map[string]bool{"$eq": true, "$ne": true, "$in": true, "$nin": true, "$ini": true, "$nini": true, "$all": true, "$alli": true}

// condCheck walks one compiled condition, reporting through the compiler.
type condCheck struct {
	c  *compiler
	rc *rawCond
}

// check reports what cannot match in rc; the condition compiled, so its shape is valid.
func (c *compiler) check(rc *rawCond) {
	ck := condCheck{c: c, rc: rc}
	ck.doc(rc.tree, "")
}

func (ck condCheck) errorf(path, value string, format string, args ...any) {
	msg := path + fmt.Sprintf(format, args...)
	ck.c.errAt(ck.rc.locateIn(path, value), "%s", msg)
}

// doc checks a condition object; path is the clause path so far ("$or[1]: ").
func (ck condCheck) doc(m map[string]any, path string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		switch k {
		case "$and", "$or", "$nor":
			items, _ := v.([]any)
			for i, it := range items {
				if sub, ok := it.(map[string]any); ok {
					ck.doc(sub, path+k+"["+strconv.Itoa(i)+"]: ")
				}
			}
		case "$not":
			if sub, ok := v.(map[string]any); ok {
				ck.doc(sub, path+k+": ")
			}
		case "$sequence", "$count":
		default:
			ck.field(k, v, path+k+": ")
		}
	}
}

// field checks the condition v on the field named k.
func (ck condCheck) field(k string, v any, path string) {
	m, ok := v.(map[string]any)
	if !ok {
		ck.values(k, "", v, path)
		return
	}
	for _, op := range slices.Sorted(maps.Keys(m)) {
		if !strings.HasPrefix(op, "$") {
			hint := "no field holds a mapping, so comparing with one never matches; write an operator such as {$eq: …}"
			if slices.Contains(valueOps, "$"+op) {
				hint = fmt.Sprintf("did you mean $%s? Without the $ it is compared as a literal mapping and never matches", op)
			}
			ck.errorf(path, op, "%q is not an operator: %s", op, hint)
			return
		}
	}
	for _, op := range slices.Sorted(maps.Keys(m)) {
		x := m[op]
		switch {
		case timeOps[op] && !isTimeField(k):
			ck.errorf(path+op+": ", "", "%s is not a time field; $within, $before and $after compare times: visitor.first_seen, visitor.last_seen, session.started_at, time.now, steps.<id>.first_at and .last_at, events.<name>.first_at and .last_at, prompts.<id>.last_shown", k)
		case op == "$not":
			ck.field(k, x, path+op+": ")
		case op == "$elemMatch" && k == "segments":
			ck.field(k, x, path+op+": ")
		case setOps[op]:
			ck.values(k, op, x, path+op+": ")
		}
	}
}

// values checks the value or values an equality or set operator compares k with.
func (ck condCheck) values(k, op string, x any, path string) {
	known, what, of := ck.closedSet(k)
	if known == nil {
		return
	}
	fold := op == "$ini" || op == "$nini" || op == "$alli"
	check := func(s string) {
		want := s
		if fold {
			want = strings.ToLower(s)
		}
		for _, kn := range known {
			if kn == want || fold && strings.ToLower(kn) == want {
				return
			}
		}
		hint := suggest(strings.ToLower(s), known)
		if hint == "" {
			hint = suggest(s, known)
		}
		ck.errorf(path, s, "unknown %s %q%s (want one of %s)%s", what, s, of, strings.Join(known, ", "), hint)
	}
	switch v := x.(type) {
	case string:
		check(v)
	case []any:
		for _, it := range v {
			if s, ok := it.(string); ok {
				check(s)
			}
		}
	}
}

// closedSet returns the values field k can hold, when they are a known closed set, what
// they are called and what they belong to (" of experiment …").
func (ck condCheck) closedSet(k string) (known []string, what, of string) {
	switch k {
	case "segments":
		return ck.c.segIDs, "segment", ""
	case "visitor.stage":
		return ck.c.set.stages, "stage", ""
	case "time.day":
		days := make([]string, 0, 7)
		for i := range 7 {
			days = append(days, weekdays[(i+1)%7].Str)
		}
		return days, "day", ""
	case "device.type":
		return []string{"desktop", "mobile", "tablet", "bot", "unknown"}, "device type", ""
	case "event.type":
		return []string{"pageview", "event", "identify", "engagement", "prompt"}, "event type", ""
	}
	if id, ok := strings.CutPrefix(k, "experiments."); ok {
		if arms := ck.c.armIDs[id]; len(arms) > 0 {
			return arms, "variant", " of experiment " + strconv.Quote(id)
		}
	}
	return nil, "", ""
}

// isTimeField reports whether the field k may hold a time (Unix ms): the time fields, and
// the free-form props, query parameters and traits, which may hold anything.
func isTimeField(k string) bool {
	switch k {
	case "visitor.first_seen", "visitor.last_seen", "session.started_at", "time.now":
		return true
	}
	for _, p := range []string{"event.props.", "page.query.", "visitor.traits."} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	for _, p := range []string{"steps.", "events."} {
		if strings.HasPrefix(k, p) && (strings.HasSuffix(k, ".first_at") || strings.HasSuffix(k, ".last_at")) {
			return true
		}
	}
	return strings.HasPrefix(k, "prompts.") && strings.HasSuffix(k, ".last_shown")
}

// locateIn finds the clause at path ("$or[1]: page.path: $in: ") and, inside it, the
// scalar value (or key) equal to value; without value, or when it is not found, the clause.
func (rc *rawCond) locateIn(path, value string) pos {
	at, n := rc.locateNode(path)
	if value == "" {
		return at
	}
	if p, ok := rc.findScalar(n, value); ok {
		return p
	}
	return at
}

// findScalar returns the position of the first key or scalar equal to s under n.
func (rc *rawCond) findScalar(n ast.Node, s string) (pos, bool) {
	switch v := rc.d.resolve(n).(type) {
	case *ast.MappingNode:
		for _, p := range v.Values {
			if at, ok := rc.findScalar(p, s); ok {
				return at, true
			}
		}
	case *ast.MappingValueNode:
		if t, ok := scalarText(rc.d.resolve(v.Key)); ok && t == s {
			return rc.d.at(v.Key), true
		}
		return rc.findScalar(v.Value, s)
	case *ast.SequenceNode:
		for _, it := range v.Values {
			if at, ok := rc.findScalar(it, s); ok {
				return at, true
			}
		}
	case nil:
	default:
		if t, ok := scalarText(v); ok && t == s {
			return rc.d.at(n), true
		}
	}
	return pos{}, false
}
