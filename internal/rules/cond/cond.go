// Package cond compiles GrowthBook-style conditions into closures.
//
// A condition is the MongoDB-like targeting language of GrowthBook (spec 0.8.0), written in
// YAML or JSON and decoded to map[string]any. Every key of a condition object must hold;
// a key is a field path or a logical operator:
//
//	page.path: /pricing                                  # equality
//	session.channel: {$in: [Paid Social, Paid Search]}
//	visitor.pageviews: {$gte: 3}
//	$or: [{geo.country: US}, {visitor.traits.plan: {$regexi: "^pro"}}]
//
// Compile turns the tree into a tree of small nodes over Getters once, with regexes,
// $in sets, padded versions and durations prepared, so that Eval reads fields and compares
// without maps, parsing or allocations. Every GrowthBook operator means here what it means
// in GrowthBook's JavaScript SDK, down to JavaScript's loose conversions; the GrowthBook
// cross-SDK cases run as a test.
//
// # GrowthBook operators
//
// Logical, on condition objects: $and, $or (an empty list matches), $nor, $not.
//
// On a field's value:
//   - a plain value: equality. A string or number compares loosely (4 equals "4", a missing
//     field equals null and 0); true and false test truthiness; a list or object must be
//     deeply equal.
//   - $eq, $ne: strict equality (4 is not "4").
//   - $gt, $gte, $lt, $lte: two strings compare as strings ("2.10" < "2.9"), anything else
//     as numbers ("8" > 5).
//   - $in, $nin: the value (or, for a list value, any element) is in the list;
//     $ini, $nini ignore case.
//   - $all, $alli: a list value holds an element meeting each item; $alli ignores case.
//   - $elemMatch: a list value has an element meeting a condition (an operator object, or a
//     condition object on the element's fields); $size: the list's length meets a number or
//     a condition.
//   - $exists: true or false; $type: string, number, boolean, object, array or null.
//   - $regex, $regexi: the value matches a regular expression (RE2 syntax: no lookarounds);
//     $regexi ignores case.
//   - $veq, $vne, $vgt, $vgte, $vlt, $vlte: version comparison ("v2.10.0" > "2.9.1-rc.1").
//   - $not: the value does not meet a condition.
//   - $inGroup, $notInGroup: the value is in a saved group (Options.SavedGroups).
//
// A missing field behaves exactly like null, as in GrowthBook: $exists is false and $type
// is null for both.
//
// # Journey operators
//
// Pathlight adds operators over time and the visitor's step history. Durations are numbers
// with units, as ParseDuration reads them: 500ms, 30s, 10m, 2h, 14d, 2w, 1h30m, 1.5d.
//
// $within on a time field (Unix ms): the time is at most the duration before now.
//
//	visitor.last_seen: {$within: 14d}               # seen in the last 14 days
//
// A missing or zero time never matches. {$not: {$within: 30d}} also matches "never".
//
// $before and $after on a time field: strictly before or after a bound, either a duration
// back from now or an absolute date (UTC) or RFC 3339 time. A bare number is an error.
//
//	visitor.first_seen: {$before: 30d}              # first seen more than 30 days ago
//	session.started_at: {$after: 2025-11-28, $before: 2025-12-02}
//
// $sequence, a key of a condition object: the visitor reached these steps in this order,
// other steps possibly in between; with within, the whole sequence (first to last
// arrival) fits in the duration.
//
//	$sequence: [viewed_pricing, started_checkout]
//	$sequence: {steps: [viewed_pricing, started_trial, invited_team], within: 7d}
//
// $count, a key of a condition object: the number of arrivals at a step, in the last
// duration when within is given, compared with $eq, $ne, $gt, $gte, $lt or $lte. The
// step history is bounded, so for all-time totals the step's count field is exact.
//
//	$count: {step: viewed_pricing, within: 7d, $gte: 3}   # 3 pricing views this week
//
// # Errors
//
// Unlike GrowthBook, which evaluates a malformed clause as false, Compile rejects it: an
// unknown operator, a wrong operand type, a bad regex or duration, an unknown field or
// saved group is an error that names the clause, e.g.
// `page.path: $regex: error parsing regexp: missing closing ): ...`. Options.Lenient
// restores GrowthBook's behaviour for conditions written for GrowthBook.
package cond

import (
	"errors"
	"slices"
)

// Errors that Compile wraps, so that callers can tell a typo from a type error.
var (
	// ErrUnknownOperator is wrapped when a condition uses an operator that does not exist.
	ErrUnknownOperator = errors.New("unknown operator")
	// ErrOperand is wrapped when an operator's operand has the wrong type or value.
	ErrOperand = errors.New("operand")
)

// Getter reads one field of a context of type T. It must not allocate for scalar fields:
// it is called on every evaluation.
type Getter[T any] func(ctx *T) Value

// Resolver maps a dotted field path from a condition ("page.path",
// "steps.viewed_pricing.count", "visitor.traits.plan") to a Getter; it returns an error for
// an unknown field. It is called at compile time only.
type Resolver[T any] func(path string) (Getter[T], error)

// StepAt is one arrival at a journey step, at a Unix time in milliseconds.
type StepAt struct {
	Step string
	At   int64
}

// Options are the hooks journey extensions need and the GrowthBook compatibility switches.
type Options[T any] struct {
	// Now returns the evaluation time, Unix ms, for $within, $before, $after and windowed
	// $count. It is called once per evaluation, and only by conditions that use the time.
	Now func(ctx *T) int64
	// History returns the visitor's step arrivals, oldest first, for $sequence and $count.
	History func(ctx *T) []StepAt
	// SavedGroups are the id lists that $inGroup and $notInGroup name.
	SavedGroups map[string][]any
	// Lenient compiles what GrowthBook evaluates as never matching (unknown operators,
	// non-array operands of $in, $nin, $all and their variants, invalid regexes, unknown
	// $type names and saved groups) to clauses that never match, instead of failing. It
	// is meant for conditions written for GrowthBook; Pathlight's own rules stay strict.
	Lenient bool
}

// Cond is a compiled condition. It is immutable and safe for concurrent use. A nil *Cond
// is the empty condition: it matches everything.
type Cond[T any] struct {
	root   node[T]
	now    func(ctx *T) int64 // set only when a clause reads the time
	fields []string
	steps  []string
}

// Failure describes the first failing clause of a condition: the field path, the
// operator ("$eq" for implicit equality), the expected operand and the value seen, as text.
// Logical and journey operators name themselves in Field when no single field failed.
type Failure struct {
	Field, Op, Want, Got string
}

// Compile compiles a condition given as a decoded YAML/JSON tree (map[string]any, []any,
// string, float64 and the other Go number types, bool, nil). Errors name the clause path,
// e.g. `$or[1]: page.path: $regex: error parsing regexp: ...`, and wrap ErrUnknownOperator,
// ErrOperand or the resolver's error.
func Compile[T any](c map[string]any, r Resolver[T], opt Options[T]) (*Cond[T], error) {
	cfg := &config{
		lenient: opt.Lenient,
		groups:  opt.SavedGroups,
		hasNow:  opt.Now != nil,
	}
	dc := &docCompiler[T]{cfg: cfg, resolve: r, history: opt.History, top: true}
	root, err := dc.doc(c)
	if err != nil {
		return nil, err
	}
	out := &Cond[T]{root: root, fields: dedupe(dc.fields), steps: dedupe(cfg.steps)}
	if cfg.needsNow {
		out.now = opt.Now
	}
	return out, nil
}

// Eval reports whether ctx matches the condition. It does not allocate when the Getters
// return scalars.
func (c *Cond[T]) Eval(ctx *T) bool {
	if c == nil {
		return true
	}
	var now int64
	if c.now != nil {
		now = c.now(ctx)
	}
	return c.root.eval(ctx, now)
}

// Explain evaluates the condition like Eval and, when it does not match, returns the first
// failing clause. ok is true when the condition matched. It is meant for debugging and the
// explain endpoint, not the hot path: it renders values as text.
func (c *Cond[T]) Explain(ctx *T) (ok bool, f Failure) {
	if c == nil {
		return true, Failure{}
	}
	var now int64
	if c.now != nil {
		now = c.now(ctx)
	}
	return c.root.explain(ctx, now)
}

// Fields returns the field paths the condition reads through the Resolver, sorted, for
// validation and documentation. Paths inside $elemMatch are relative to the array elements
// and are not listed.
func (c *Cond[T]) Fields() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.fields)
}

// Steps returns the step ids that $sequence and $count clauses name, sorted, so that a rule
// set can check them against the steps it defines.
func (c *Cond[T]) Steps() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.steps)
}

func dedupe(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
