package cond

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Journey operators. GrowthBook conditions look at the attributes of one request; Pathlight
// conditions look at a visitor's journey too: how recently something happened, in what order
// steps were reached, how often lately. The time comes from Options.Now, the step arrivals
// from Options.History.

// Duration units, in milliseconds.
var durationUnits = map[string]int64{
	"ms": 1,
	"s":  1000,
	"m":  60 * 1000,
	"h":  60 * 60 * 1000,
	"d":  24 * 60 * 60 * 1000,
	"w":  7 * 24 * 60 * 60 * 1000,
}

// maxDuration bounds a duration: no rule needs more than a century, and the bound keeps
// every sum far from overflowing.
const maxDuration = 100 * 365 * 24 * 60 * 60 * 1000

// DurationHint is the grammar of ParseDuration, for error messages.
const DurationHint = "a number and a unit (ms, s, m, h, d, w) such as 500ms, 30s, 10m, 2h, 7d or 2w; parts may be combined (1h30m) and numbers may have decimals (1.5d)"

// ParseDuration parses the one duration grammar of Pathlight rules into milliseconds: one or
// more parts, each a number (decimals allowed) and a unit: ms, s, m, h, d (24 hours) or w
// (7 days). So 500ms, 30s, 10m, 2h, 7d, 2w, 1h30m and 1.5d. Calendar units (months, years)
// are left out on purpose: their length varies, and "30d" says exactly what it means.
// Negative durations are refused; zero ("0s") is allowed, and callers that need a positive
// duration check for it.
func ParseDuration(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration: want %s", DurationHint)
	}
	if s[0] == '-' {
		return 0, fmt.Errorf("bad duration %q: durations cannot be negative", s)
	}
	var total float64
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (isDigit(rest[i]) || rest[i] == '.') {
			i++
		}
		j := i
		for j < len(rest) && rest[j] >= 'a' && rest[j] <= 'z' {
			j++
		}
		unit, ok := durationUnits[rest[i:j]]
		if i == 0 || !ok {
			return 0, fmt.Errorf("bad duration %q: want %s", s, DurationHint)
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: want %s", s, DurationHint)
		}
		total += n * float64(unit)
		if total > maxDuration {
			return 0, fmt.Errorf("bad duration %q: too long (at most 100 years)", s)
		}
		rest = rest[j:]
	}
	ms := int64(math.Round(total))
	if ms == 0 && total > 0 {
		return 0, fmt.Errorf("bad duration %q: shorter than a millisecond", s)
	}
	return ms, nil
}

// parseDuration parses a condition's duration operand: a string in the ParseDuration
// grammar, positive. It returns milliseconds.
func parseDuration(x any) (int64, error) {
	s, ok := x.(string)
	if !ok {
		return 0, fmt.Errorf("%w must be a duration such as \"14d\", got %s", ErrOperand, typeName(x))
	}
	n, err := ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrOperand, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: bad duration %q: must be positive", ErrOperand, s)
	}
	return n, nil
}

// useNow records that a clause reads the evaluation time, which needs Options.Now.
func (c *config) useNow() error {
	if !c.hasNow {
		return fmt.Errorf("needs the evaluation time, but Options.Now is not set")
	}
	c.needsNow = true
	return nil
}

// within compiles $within: the field holds a time (Unix ms) at most the duration before the
// evaluation time, now − value ≤ duration.
//
//	visitor.last_seen: {$within: "14d"}              # seen in the last 14 days
//	steps.started_checkout.last_at: {$within: "2h"}  # started checkout in the last 2 hours
//
// A missing, null, zero or non-numeric time never matches; a time slightly in the future
// (clock skew between devices) matches. "Not in the last 30 days" is
// {$not: {$within: "30d"}}, which also matches a visitor who never did it; use
// {$before: "30d"} for "it happened, but more than 30 days ago".
func (c *config) within(x any) (vfunc, error) {
	d, err := parseDuration(x)
	if err != nil {
		return nil, err
	}
	if err := c.useNow(); err != nil {
		return nil, err
	}
	return func(a Value, now int64) bool {
		return isTime(a) && float64(now)-a.Num <= float64(d)
	}, nil
}

func isTime(a Value) bool { return a.Kind == KindNumber && a.Num != 0 && !math.IsNaN(a.Num) }

// beforeAfter compiles $before and $after: the field holds a time (Unix ms) strictly before
// or after a bound. The bound is a duration back from the evaluation time, a date (UTC) or
// an RFC 3339 time:
//
//	visitor.first_seen: {$before: "30d"}                   # first seen more than 30 days ago
//	visitor.first_seen: {$after: "2025-11-28"}             # first seen since 28 November (UTC)
//	session.started_at: {$after: "2025-11-28T09:00:00-05:00", $before: "2025-12-02"}
//
// A missing, null, zero or non-numeric time never matches either.
func (c *config) beforeAfter(op string, x any) (vfunc, error) {
	var bound func(now int64) float64
	if d, err := parseDuration(x); err == nil {
		if err := c.useNow(); err != nil {
			return nil, err
		}
		bound = func(now int64) float64 { return float64(now - d) }
	} else {
		at, err := parseTime(x)
		if err != nil {
			return nil, err
		}
		bound = func(int64) float64 { return at }
	}
	if op == "$before" {
		return func(a Value, now int64) bool { return isTime(a) && a.Num < bound(now) }, nil
	}
	return func(a Value, now int64) bool { return isTime(a) && a.Num > bound(now) }, nil
}

// parseTime parses an absolute time bound to Unix ms: a date or an RFC 3339 time. A bare
// number is refused: "7" could mean 7 days as easily as Unix ms, and as Unix ms it is a time
// in 1970, so the condition would silently match everyone or no one.
func parseTime(x any) (float64, error) {
	if t, ok := x.(time.Time); ok {
		return float64(t.UnixMilli()), nil
	}
	if _, ok := toFloat(x); ok {
		return 0, fmt.Errorf("%w must be a duration back from now such as \"7d\" or a date such as \"2025-11-28\", not a bare number (%s): write %sd for %s days ago", ErrOperand, operandText(x), operandText(x), operandText(x))
	}
	s, _ := x.(string)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return float64(t.UnixMilli()), nil
		}
	}
	return 0, fmt.Errorf("%w must be a duration (\"30d\"), a date (\"2025-11-28\") or an RFC 3339 time, got %s", ErrOperand, operandText(x))
}

// seqNode is $sequence.
type seqNode[T any] struct {
	steps   []string
	within  int64  // ms; 0: no limit
	window  string // within as written
	history func(ctx *T) []StepAt
	want    string
}

// sequence compiles the top-level $sequence: the visitor reached these steps in this order,
// other steps possibly in between, as Options.History records them:
//
//	$sequence: [viewed_pricing, started_checkout]
//	$sequence: {steps: [viewed_pricing, started_trial, invited_team], within: "7d"}
//
// With within, the whole sequence must fit in the duration, from the arrival at its first
// step to the arrival at its last. A step may repeat: [viewed_pricing, viewed_pricing] is
// two arrivals.
func (d *docCompiler[T]) sequence(x any) (node[T], error) {
	if d.history == nil {
		return nil, fmt.Errorf("needs the step history, but Options.History is not set")
	}
	n := &seqNode[T]{history: d.history}
	var list any
	switch v := x.(type) {
	case []any:
		list = v
	default:
		m, ok := asMap(x)
		if !ok {
			return nil, fmt.Errorf("%w must be a list of steps or {steps: [...], within: ...}, got %s", ErrOperand, typeName(x))
		}
		for _, k := range sortedKeys(m) {
			e := m[k]
			switch k {
			case "steps":
				list = e
			case "within":
				w, err := parseDuration(e)
				if err != nil {
					return nil, fmt.Errorf("within: %w", err)
				}
				n.within, n.window = w, e.(string)
			default:
				return nil, fmt.Errorf("%w: unknown key %q: want steps and within", ErrOperand, k)
			}
		}
	}
	steps, err := stepList(list)
	if err != nil {
		return nil, err
	}
	n.steps = steps
	d.cfg.steps = append(d.cfg.steps, steps...)
	n.want = strings.Join(steps, " > ")
	if n.within > 0 {
		n.want += " within " + n.window
	}
	return n, nil
}

func stepList(x any) ([]string, error) {
	items, ok := x.([]any)
	if !ok || len(items) == 0 {
		return nil, fmt.Errorf("%w: steps must be a non-empty list of step ids, got %s", ErrOperand, operandText(x))
	}
	steps := make([]string, len(items))
	for i, item := range items {
		s, ok := item.(string)
		if !ok || s == "" {
			return nil, fmt.Errorf("%w: steps[%d] must be a step id, got %s", ErrOperand, i, operandText(item))
		}
		steps[i] = s
	}
	return steps, nil
}

func (n *seqNode[T]) eval(ctx *T, _ int64) bool {
	return matchSequence(n.history(ctx), n.steps, n.within)
}

func (n *seqNode[T]) explain(ctx *T, now int64) (bool, Failure) {
	if n.eval(ctx, now) {
		return true, Failure{}
	}
	reached := reachedPrefix(n.history(ctx), n.steps)
	got := "reached none of the steps"
	switch {
	case reached == len(n.steps):
		got = "reached in order, but not within " + n.window
	case reached > 0:
		got = "reached " + strings.Join(n.steps[:reached], " > ")
	}
	return false, Failure{Field: "$sequence", Op: "$sequence", Want: n.want, Got: got}
}

// matchSequence reports whether h holds steps as a subsequence spanning at most within
// (when positive). For each arrival at the first step, matching the rest greedily gives the
// earliest possible end, so trying every start finds a fitting occurrence if there is one;
// once a start cannot complete the sequence, no later one can.
func matchSequence(h []StepAt, steps []string, within int64) bool {
	if within <= 0 {
		return reachedPrefix(h, steps) == len(steps)
	}
	for i := range h {
		if h[i].Step != steps[0] {
			continue
		}
		end, j := h[i].At, 1
		for k := i + 1; k < len(h) && j < len(steps); k++ {
			if h[k].Step == steps[j] {
				end = h[k].At
				j++
			}
		}
		if j < len(steps) {
			return false
		}
		if end-h[i].At <= within {
			return true
		}
	}
	return false
}

// reachedPrefix returns how many of steps h holds in order, matched greedily.
func reachedPrefix(h []StepAt, steps []string) int {
	j := 0
	for _, s := range h {
		if j == len(steps) {
			break
		}
		if s.Step == steps[j] {
			j++
		}
	}
	return j
}

// countNode is $count.
type countNode[T any] struct {
	step    string
	within  int64  // ms; 0: the whole history
	window  string // within as written
	history func(ctx *T) []StepAt
	tests   []test
	label   string // for Explain: $count(step, within 7d)
}

// countOps are the operators $count compares with.
var countOps = map[string]bool{"$eq": true, "$ne": true, "$gt": true, "$gte": true, "$lt": true, "$lte": true}

// count compiles the top-level $count: the number of arrivals at a step in the step history,
// only those within a duration before the evaluation time when within is given, compared
// with $eq, $ne, $gt, $gte, $lt or $lte (all given must hold):
//
//	$count: {step: viewed_pricing, within: "7d", $gte: 3}   # 3 pricing views this week
//	$count: {step: viewed_pricing, $gte: 2, $lt: 5}
//
// The step history is bounded (it keeps the latest arrivals), so for all-time totals the
// step's count field (steps.<id>.count) is exact where $count without within may not be.
func (d *docCompiler[T]) count(x any) (node[T], error) {
	if d.history == nil {
		return nil, fmt.Errorf("needs the step history, but Options.History is not set")
	}
	m, ok := asMap(x)
	if !ok {
		return nil, fmt.Errorf("%w must be {step: ..., within: ..., $gte: ...}, got %s", ErrOperand, typeName(x))
	}
	n := &countNode[T]{history: d.history}
	for _, k := range sortedKeys(m) {
		e := m[k]
		switch {
		case k == "step":
			s, ok := e.(string)
			if !ok || s == "" {
				return nil, fmt.Errorf("%w: step must be a step id, got %s", ErrOperand, operandText(e))
			}
			n.step = s
		case k == "within":
			w, err := parseDuration(e)
			if err != nil {
				return nil, fmt.Errorf("within: %w", err)
			}
			if err := d.cfg.useNow(); err != nil {
				return nil, fmt.Errorf("within: %w", err)
			}
			n.within, n.window = w, e.(string)
		case countOps[k]:
			if _, isNum := toFloat(e); !isNum {
				return nil, fmt.Errorf("%s: %w must be a number, got %s", k, ErrOperand, typeName(e))
			}
			fn, err := d.cfg.operator(k, e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			n.tests = append(n.tests, test{op: k, want: operandText(e), fn: fn})
		case strings.HasPrefix(k, "$"):
			return nil, fmt.Errorf("%s: %w: $count compares with $eq, $ne, $gt, $gte, $lt, $lte", k, ErrUnknownOperator)
		default:
			return nil, fmt.Errorf("%w: unknown key %q: want step, within and comparisons", ErrOperand, k)
		}
	}
	if n.step == "" {
		return nil, fmt.Errorf("%w: step is missing", ErrOperand)
	}
	if len(n.tests) == 0 {
		return nil, fmt.Errorf("%w: no comparison: add one of $eq, $ne, $gt, $gte, $lt, $lte", ErrOperand)
	}
	d.cfg.steps = append(d.cfg.steps, n.step)
	n.label = "$count(" + n.step
	if n.within > 0 {
		n.label += ", within " + n.window
	}
	n.label += ")"
	return n, nil
}

// arrivals counts the arrivals at the step, scanning back from the newest while they are
// within the window.
func (n *countNode[T]) arrivals(ctx *T, now int64) int {
	h := n.history(ctx)
	c := 0
	for i := len(h) - 1; i >= 0; i-- {
		if n.within > 0 && now-h[i].At > n.within {
			break
		}
		if h[i].Step == n.step {
			c++
		}
	}
	return c
}

func (n *countNode[T]) eval(ctx *T, now int64) bool {
	v := NumberValue(float64(n.arrivals(ctx, now)))
	for i := range n.tests {
		if !n.tests[i].fn(v, now) {
			return false
		}
	}
	return true
}

func (n *countNode[T]) explain(ctx *T, now int64) (bool, Failure) {
	c := n.arrivals(ctx, now)
	v := NumberValue(float64(c))
	for _, t := range n.tests {
		if !t.fn(v, now) {
			return false, Failure{Field: n.label, Op: t.op, Want: t.want, Got: strconv.Itoa(c)}
		}
	}
	return true, Failure{}
}
