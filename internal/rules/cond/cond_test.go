package cond

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEvalTyped(t *testing.T) {
	tests := []struct {
		cond string
		want bool
	}{
		{"{page.path: /pricing, session.channel: {$in: [Paid Social, Paid Search]}, visitor.pageviews: {$gte: 3}}", true},
		{"{page.path: /pricing, visitor.pageviews: {$gte: 5}}", false},
		{"{page.path: {$regex: ^/pric}}", true},
		{"{page.path: {$regex: ^/PRIC}}", false},
		{"{page.path: {$regexi: ^/PRIC}}", true},
		{"{device.user_agent: {$regex: (iPhone|Android)}}", true},
		{"{session.channel: {$ini: [paid social]}}", true},
		{"{session.channel: {$nini: [PAID SOCIAL, email]}}", false},
		{"{visitor.traits.plan: {$exists: true}}", true},
		{"{visitor.traits.plan: {$regexi: ^pro}}", true},
		{"{visitor.segments: high-intent}", false}, // equality with an array is deep
		{"{visitor.segments: {$elemMatch: {$regexi: ^high}}}", true},
		{"{visitor.segments: {$alli: [high-intent, RETURNING]}}", true},
		{"{visitor.segments: {$all: [high-intent]}}", false},
		{"{visitor.segments: {$in: [returning]}}", true}, // arrays intersect
		{"{visitor.segments: {$size: 2}}", true},
		{"{visitor.segments: {$size: {$gt: 2}}}", false},
		{"{app.version: {$vgte: 2.9.0, $vlt: 3.0.0}}", true}, // 2.10.1 is after 2.9.0
		{"{app.version: {$gte: 2.9.0}}", false},              // as strings, "2.10.1" < "2.9.0"
		{"{visitor.pageviews: '4'}", true},                   // GrowthBook compares loosely
		{"{visitor.pageviews: {$gt: '3'}}", true},
		{"{visitor.pageviews: {$eq: '4'}}", false}, // $eq is strict
		{"{$or: [{page.path: /}, {visitor.pageviews: {$lt: 2}}]}", false},
		{"{$nor: [{page.path: /}, {visitor.pageviews: {$lt: 2}}]}", true},
		{"{$not: {page.path: /pricing}}", false},
		{"{$and: [{page.path: /pricing}, {$or: [{visitor.traits.plan: Free}, {visitor.pageviews: 4}]}]}", true},
		{"{}", true},
	}
	for _, tt := range tests {
		c := compileVisit(t, tt.cond)
		if got := c.Eval(pricingVisit()); got != tt.want {
			t.Errorf("Eval(%s) = %v; want %v", tt.cond, got, tt.want)
		}
		if ok, f := c.Explain(pricingVisit()); ok != tt.want {
			t.Errorf("Explain(%s) = %v, %+v; want %v", tt.cond, ok, f, tt.want)
		}
	}
}

func TestMissingIsNull(t *testing.T) {
	v := pricingVisit()
	v.plan = ""
	tests := []struct {
		cond string
		want bool
	}{
		{"{visitor.traits.plan: {$exists: false}}", true},
		{"{visitor.traits.plan: null}", true},
		{`{visitor.traits.plan: {$type: "null"}}`, true},
		{"{visitor.traits.plan: {$ne: Pro}}", true},
		{"{visitor.traits.plan: {$in: [Pro]}}", false},
		{"{visitor.traits.plan: {$nin: [Pro]}}", true},
		{"{visitor.traits.plan: 0}", true}, // null * 1 === 0 in GrowthBook
		{"{visitor.traits.plan: false}", false},
		{"{visitor.traits.plan: {$lt: 1}}", true}, // null < 1
	}
	for _, tt := range tests {
		if got := compileVisit(t, tt.cond).Eval(v); got != tt.want {
			t.Errorf("Eval(%s) with no plan = %v; want %v", tt.cond, got, tt.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		cond string
		want string // the error text, whole or a prefix ending in "…"
		is   error
	}{
		{`{page.path: {$regex: "("}}`, "page.path: $regex: error parsing regexp: missing closing ): `(`", nil},
		{`{page.path: {$regex: "(?=x)"}}`, "page.path: $regex: error parsing regexp: invalid or unsupported Perl syntax: `(?=`", nil},
		{`{page.path: {$regx: a}}`, "page.path: $regx: unknown operator", ErrUnknownOperator},
		{`{session.channel: {$in: Paid Social}}`, "session.channel: $in: operand must be a list, got string", ErrOperand},
		{`{session.channel: {$nini: 3}}`, "session.channel: $nini: operand must be a list, got number", ErrOperand},
		{`{visitor.segments: {$all: a}}`, "visitor.segments: $all: operand must be a list, got string", ErrOperand},
		{`{visitor.segments: {$size: abc}}`, "visitor.segments: $size: operand must be a number or an operator object, got string", ErrOperand},
		{`{visitor.segments: {$elemMatch: 3}}`, "visitor.segments: $elemMatch: operand must be a condition object, got number", ErrOperand},
		{`{page.pth: /x}`, `page.pth: unknown field "page.pth"`, nil},
		{`{$or: [{page.path: /}, {page.path: {$regex: "("}}]}`, "$or[1]: page.path: $regex: error parsing regexp: …", nil},
		{`{$or: {page.path: /x}}`, "$or: operand must be a list of conditions, got object", ErrOperand},
		{`{$and: [x]}`, "$and[0]: operand must be a condition object, got string", ErrOperand},
		{`{$not: [a]}`, "$not: operand must be a condition object, got array", ErrOperand},
		{`{$not: {page.path: {$regex: "["}}}`, "$not: page.path: $regex: error parsing regexp: …", nil},
		{`{visitor.pageviews: {$gt: [1]}}`, "visitor.pageviews: $gt: operand must be a string, number, boolean or null, got array", ErrOperand},
		{`{page.path: {$gt: 1, path: 2}}`, "page.path: operand mixes the operator $gt with plain keys: …", ErrOperand},
		{`{page.path: {$type: text}}`, "page.path: $type: operand must be one of string, number, boolean, object, array, null; got text", ErrOperand},
		{`{page.path: {$type: null}}`, `page.path: $type: operand must be one of string, number, boolean, object, array, null; got null (write "null", quoted)`, ErrOperand},
		{`{page.path: {$exists: yes}}`, "page.path: $exists: operand must be true or false, got string", ErrOperand},
		{`{page.path: {$inGroup: vip}}`, `page.path: $inGroup: operand: unknown saved group "vip"`, ErrOperand},
		{`{app.version: {$vgt: [1]}}`, "app.version: $vgt: operand must be a version string, got array", ErrOperand},
		{`{visitor.last_seen: {$within: 14days}}`, `visitor.last_seen: $within: operand: bad duration "14days": …`, ErrOperand},
		{`{visitor.last_seen: {$within: 0d}}`, `visitor.last_seen: $within: operand: bad duration "0d": must be positive`, ErrOperand},
		{`{visitor.last_seen: {$within: 14}}`, `visitor.last_seen: $within: operand must be a duration such as "14d", got number`, ErrOperand},
		{`{visitor.last_seen: {$within: 99999999999999999w}}`, `visitor.last_seen: $within: operand: bad duration "99999999999999999w": too long (at most 100 years)`, ErrOperand},
		{`{visitor.last_seen: {$before: soon}}`, `visitor.last_seen: $before: operand must be a duration ("30d"), a date …`, ErrOperand},
		{`{visitor.last_seen: {$after: 7}}`, `visitor.last_seen: $after: operand must be a duration back from now such as "7d" or a date such as "2025-11-28", not a bare number (7): write 7d for 7 days ago`, ErrOperand},
		{`{visitor.last_seen: {$before: 1748736000001}}`, `visitor.last_seen: $before: operand must be a duration back from now …`, ErrOperand},
		{`{$sequence: []}`, "$sequence: operand: steps must be a non-empty list of step ids, got []", ErrOperand},
		{`{$sequence: [a, 3]}`, "$sequence: operand: steps[1] must be a step id, got 3", ErrOperand},
		{`{$sequence: {steps: [a], window: 7d}}`, `$sequence: operand: unknown key "window": want steps and within`, ErrOperand},
		{`{$sequence: {steps: [a, b], within: 7}}`, `$sequence: within: operand must be a duration such as "14d", got number`, ErrOperand},
		{`{$sequence: a}`, "$sequence: operand must be a list of steps or {steps: [...], within: ...}, got string", ErrOperand},
		{`{$count: {step: a}}`, "$count: operand: no comparison: …", ErrOperand},
		{`{$count: {step: a, $gte: x}}`, "$count: $gte: operand must be a number, got string", ErrOperand},
		{`{$count: {within: 7d, $gte: 1}}`, "$count: operand: step is missing", ErrOperand},
		{`{$count: {step: a, $in: [1]}}`, "$count: $in: unknown operator: …", ErrUnknownOperator},
		{`{$count: {step: a, days: 7, $gt: 1}}`, `$count: operand: unknown key "days": want step, within and comparisons`, ErrOperand},
	}
	for _, tt := range tests {
		_, err := Compile(parse(t, tt.cond), visitResolver, visitOptions)
		if err == nil {
			t.Errorf("Compile(%s) = nil error; want %q", tt.cond, tt.want)
			continue
		}
		if !matchText(err.Error(), tt.want) {
			t.Errorf("Compile(%s) error = %q; want %q", tt.cond, err, tt.want)
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("Compile(%s) error %q is not %v", tt.cond, err, tt.is)
		}
	}
}

// matchText compares an error text with a want that may end in "…" (a prefix).
func matchText(got, want string) bool {
	if prefix, ok := strings.CutSuffix(want, "…"); ok {
		return strings.HasPrefix(got, prefix)
	}
	return got == want
}

func TestCompileNeedsHooks(t *testing.T) {
	tests := []struct {
		cond string
		want string
	}{
		{"{visitor.last_seen: {$within: 7d}}", "visitor.last_seen: $within: needs the evaluation time, but Options.Now is not set"},
		{"{visitor.last_seen: {$after: 7d}}", "visitor.last_seen: $after: needs the evaluation time, but Options.Now is not set"},
		{"{$count: {step: a, within: 7d, $gt: 0}}", "$count: within: needs the evaluation time, but Options.Now is not set"},
		{"{$sequence: [a, b]}", "$sequence: needs the step history, but Options.History is not set"},
		{"{$count: {step: a, $gt: 0}}", "$count: needs the step history, but Options.History is not set"},
	}
	for _, tt := range tests {
		opt := Options[visit]{}
		if !strings.Contains(tt.want, "History") {
			opt.History = visitOptions.History
		}
		_, err := Compile(parse(t, tt.cond), visitResolver, opt)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Compile(%s) without hooks error = %v; want %q", tt.cond, err, tt.want)
		}
	}
	// An absolute $before needs no clock.
	if _, err := Compile(parse(t, "{visitor.last_seen: {$before: 2025-01-01}}"), visitResolver, Options[visit]{}); err != nil {
		t.Errorf("Compile($before a date) without hooks error = %v; want nil", err)
	}
}

func TestLenient(t *testing.T) {
	tests := []struct {
		cond string
		want bool
	}{
		{"{page.path: {$regx: a}}", false},
		{"{page.path: {$not: {$regx: a}}}", true},
		{"{page.path: {$in: /pricing}}", false},
		{"{page.path: {$nin: /pricing}}", false},
		{"{page.path: {$regex: '('}}", false},
		{"{page.path: {$type: text}}", false},
		{"{page.path: {$inGroup: unknown}}", false},
		{"{page.path: {$notInGroup: unknown}}", true},
		{"{visitor.segments: {$all: returning}}", false},
	}
	for _, tt := range tests {
		c, err := Compile(parse(t, tt.cond), visitResolver, Options[visit]{Lenient: true})
		if err != nil {
			t.Errorf("Compile(%s) lenient error: %v", tt.cond, err)
			continue
		}
		if got := c.Eval(pricingVisit()); got != tt.want {
			t.Errorf("lenient Eval(%s) = %v; want %v", tt.cond, got, tt.want)
		}
	}
}

func TestSavedGroups(t *testing.T) {
	opt := visitOptions
	opt.SavedGroups = map[string][]any{"paid": {"Paid Social", "Paid Search"}, "empty": {}}
	tests := []struct {
		cond string
		want bool
	}{
		{"{session.channel: {$inGroup: paid}}", true},
		{"{session.channel: {$notInGroup: paid}}", false},
		{"{session.channel: {$inGroup: empty}}", false},
	}
	for _, tt := range tests {
		c, err := Compile(parse(t, tt.cond), visitResolver, opt)
		if err != nil {
			t.Fatalf("Compile(%s) error: %v", tt.cond, err)
		}
		if got := c.Eval(pricingVisit()); got != tt.want {
			t.Errorf("Eval(%s) = %v; want %v", tt.cond, got, tt.want)
		}
	}
}

func TestExplain(t *testing.T) {
	v := pricingVisit()
	v.plan = ""
	tests := []struct {
		cond string
		want Failure
	}{
		{"{page.path: /pricing, visitor.pageviews: {$gte: 5}}",
			Failure{Field: "visitor.pageviews", Op: "$gte", Want: "5", Got: "4"}},
		{"{session.channel: {$in: [Paid Search, Email]}}",
			Failure{Field: "session.channel", Op: "$in", Want: `["Paid Search","Email"]`, Got: "Paid Social"}},
		{"{page.path: /}", Failure{Field: "page.path", Op: "$eq", Want: "/", Got: "/pricing"}},
		{"{visitor.traits.plan: {$exists: true}}",
			Failure{Field: "visitor.traits.plan", Op: "$exists", Want: "true", Got: "(missing)"}},
		{"{visitor.segments: {$size: 3}}",
			Failure{Field: "visitor.segments", Op: "$size", Want: "3", Got: `["returning","High-Intent"]`}},
		{"{$or: [{page.path: /}, {visitor.pageviews: {$lt: 2}}]}",
			Failure{Field: "page.path", Op: "$or", Want: `[{"page.path":"/"},{"visitor.pageviews":{"$lt":2}}]`, Got: "/pricing"}},
		{"{$not: {page.path: /pricing}}",
			Failure{Field: "page.path", Op: "$not", Want: `{"page.path":"/pricing"}`, Got: "matched"}},
		{"{$nor: [{page.path: /pricing}, {session.channel: Email}]}",
			Failure{Field: "page.path,session.channel", Op: "$nor", Want: `[{"page.path":"/pricing"},{"session.channel":"Email"}]`, Got: "matched"}},
		{"{$sequence: [viewed_pricing, contacted_sales, invited_team]}",
			Failure{Field: "$sequence", Op: "$sequence", Want: "viewed_pricing > contacted_sales > invited_team", Got: "reached viewed_pricing"}},
		{"{$sequence: {steps: [landed, invited_team], within: 1w}}",
			Failure{Field: "$sequence", Op: "$sequence", Want: "landed > invited_team within 1w", Got: "reached in order, but not within 1w"}},
		{"{$count: {step: viewed_pricing, within: 7d, $gte: 3}}",
			Failure{Field: "$count(viewed_pricing, within 7d)", Op: "$gte", Want: "3", Got: "2"}},
		{"{visitor.last_seen: {$within: 48h}}",
			Failure{Field: "visitor.last_seen", Op: "$within", Want: "48h", Got: "1748476800000"}},
	}
	for _, tt := range tests {
		c := compileVisit(t, tt.cond)
		ok, f := c.Explain(v)
		if ok || f != tt.want {
			t.Errorf("Explain(%s) = %v, %+v; want false, %+v", tt.cond, ok, f, tt.want)
		}
		if c.Eval(v) {
			t.Errorf("Eval(%s) = true; want false", tt.cond)
		}
	}
	if ok, f := compileVisit(t, "{page.path: /pricing}").Explain(v); !ok || f != (Failure{}) {
		t.Errorf("Explain(matching) = %v, %+v; want true, {}", ok, f)
	}
}

func TestFieldsAndSteps(t *testing.T) {
	c := compileVisit(t, `{page.path: /pricing, $or: [{visitor.pageviews: {$gt: 1}}, {page.path: /}],
		visitor.segments: {$elemMatch: {name: x}}, $not: {$sequence: [b, a]},
		$count: {step: c, $gte: 1}}`)
	if got, want := c.Fields(), []string{"page.path", "visitor.pageviews", "visitor.segments"}; !slices.Equal(got, want) {
		t.Errorf("Fields() = %q; want %q", got, want)
	}
	if got, want := c.Steps(), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Errorf("Steps() = %q; want %q", got, want)
	}
}

func TestNilAndEmpty(t *testing.T) {
	var c *Cond[visit]
	if !c.Eval(pricingVisit()) {
		t.Errorf("nil Cond Eval = false; want true")
	}
	if ok, _ := c.Explain(pricingVisit()); !ok {
		t.Errorf("nil Cond Explain = false; want true")
	}
	if c.Fields() != nil || c.Steps() != nil {
		t.Errorf("nil Cond Fields, Steps = %q, %q; want nil", c.Fields(), c.Steps())
	}
	empty, err := Compile[visit](nil, visitResolver, visitOptions)
	if err != nil || !empty.Eval(pricingVisit()) {
		t.Errorf("Compile(nil) = %v, %v; want a condition that matches", empty, err)
	}
}

func TestFromAny(t *testing.T) {
	tests := []struct {
		in   any
		want Value
	}{
		{nil, NullValue()},
		{"a", StringValue("a")},
		{true, BoolValue(true)},
		{uint64(7), NumberValue(7)},
		{int64(-2), NumberValue(-2)},
		{int(3), NumberValue(3)},
		{float32(1.5), NumberValue(1.5)},
		{json.Number("2.5"), NumberValue(2.5)},
		{time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), NumberValue(float64(now))},
		{[]any{"a", 1.0}, ArrayValue([]Value{StringValue("a"), NumberValue(1)})},
		{[]string{"a"}, ArrayValue([]Value{StringValue("a")})},
		{map[any]any{"k": "v"}, ObjectValue(Map{"k": StringValue("v")})},
		{map[string]string{"k": "v"}, ObjectValue(Map{"k": StringValue("v")})},
		{struct{}{}, NullValue()},
		{map[any]any{1: "v"}, NullValue()},
	}
	for _, tt := range tests {
		if got := FromAny(tt.in); !deepEqual(got, tt.want) || got.Kind != tt.want.Kind {
			t.Errorf("FromAny(%#v) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestValueString(t *testing.T) {
	tests := []struct {
		in   Value
		want string
	}{
		{Value{}, "(missing)"},
		{NullValue(), "null"},
		{StringValue("a b"), "a b"},
		{NumberValue(0.5), "0.5"},
		{NumberValue(math.NaN()), "null"},
		{FromAny(map[string]any{"b": []any{1.0, "x"}, "a": true}), `{"a":true,"b":[1,"x"]}`},
		{ObjectValue(nil), "{}"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%#v.String() = %q; want %q", tt.in, got, tt.want)
		}
	}
	kinds := map[Kind]string{KindMissing: "null", KindNull: "null", KindBool: "boolean",
		KindNumber: "number", KindString: "string", KindArray: "array", KindObject: "object"}
	for k, want := range kinds {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q; want %q", k, got, want)
		}
	}
}

func TestDocResolver(t *testing.T) {
	doc := &Doc{Root: FromAny(map[string]any{
		"items": []any{map[string]any{"sku": "A1"}, "x"},
		"user":  map[string]any{"name": "Ada", "tags": []any{}},
		"n":     nil,
	})}
	tests := []struct {
		path string
		want string
	}{
		{"items.0.sku", "A1"},
		{"items.1", "x"},
		{"items.2", "(missing)"},
		{"items.01", "(missing)"},
		{"items.length", "2"},
		{"user.name", "Ada"},
		{"user.name.length", "(missing)"}, // strings are not objects
		{"user.tags.length", "0"},
		{"n", "null"},
		{"n.x", "(missing)"},
		{"nope", "(missing)"},
	}
	for _, tt := range tests {
		get, err := DocResolver(tt.path)
		if err != nil {
			t.Fatalf("DocResolver(%q) error: %v", tt.path, err)
		}
		if got := get(doc).String(); got != tt.want {
			t.Errorf("DocResolver(%q)(doc) = %q; want %q", tt.path, got, tt.want)
		}
	}
}

// TestConcurrentEval runs one compiled condition from many goroutines: a Cond is immutable.
func TestConcurrentEval(t *testing.T) {
	c := compileVisit(t, "{page.path: {$regex: ^/p}, visitor.segments: {$ini: [RETURNING]}, $sequence: [landed, invited_team]}")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			v := pricingVisit()
			for range 200 {
				if !c.Eval(v) {
					t.Errorf("concurrent Eval = false; want true")
					return
				}
			}
		})
	}
	wg.Wait()
}
