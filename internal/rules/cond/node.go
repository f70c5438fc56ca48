package cond

import "strings"

// node is one compiled clause of a document condition (GrowthBook's evalCondition level).
// now is the evaluation time in Unix ms, read once per evaluation when a clause needs it.
type node[T any] interface {
	eval(ctx *T, now int64) bool
	explain(ctx *T, now int64) (bool, Failure)
}

// vfunc is a compiled value condition (GrowthBook's evalConditionValue level). It takes the
// value by value: a pointer passed to a func value would escape to the heap.
type vfunc func(v Value, now int64) bool

// test is one operator of a field clause, with its text for Explain.
type test struct {
	op   string
	want string
	fn   vfunc
	fast fastPath
}

// fastKind names the cases a field clause decides inline.
type fastKind uint8

const (
	fastNone  fastKind = iota
	fastStr            // a string value equals str
	fastStrIn          // a string value is one of strs
	fastNum            // a number value compares with num as accept says
)

// fastPath lets a field clause with one test decide the commonest cases (a string equal to
// a string, one of a few strings, a number compared with a number) without calling the
// test: an indirect call per clause is a large share of a three-clause evaluation. For a
// value of another kind the test decides, so the result is the same either way.
type fastPath struct {
	kind   fastKind
	str    string
	strs   []string
	num    float64
	accept [3]bool // for compareJS results -1, 0, 1
}

// fastFor returns the fast path of an operator, if it has one.
func fastFor(op string, x any) fastPath {
	switch op {
	case "$eq":
		if s, ok := x.(string); ok {
			return fastPath{kind: fastStr, str: s}
		}
	case "$in":
		items, ok := x.([]any)
		if !ok {
			break
		}
		var strs []string
		for _, item := range items {
			if s, ok := item.(string); ok {
				strs = append(strs, s)
			}
		}
		if len(strs) <= smallSet {
			return fastPath{kind: fastStrIn, strs: strs}
		}
	case "$gt", "$gte", "$lt", "$lte":
		if f, ok := toFloat(x); ok {
			return fastPath{kind: fastNum, num: f, accept: orderings[op]}
		}
	}
	return fastPath{}
}

// allTests combines tests into one vfunc that holds when all do.
func allTests(ts []test) vfunc {
	if len(ts) == 1 {
		return ts[0].fn
	}
	return func(v Value, now int64) bool {
		for i := range ts {
			if !ts[i].fn(v, now) {
				return false
			}
		}
		return true
	}
}

// allNode holds when every clause does: the keys of one condition object, and $and. Field
// clauses, the common case, are held by value and called directly; the rest through the
// node interface.
type allNode[T any] struct {
	fields []fieldNode[T]
	kids   []node[T]
}

func newAllNode[T any](kids []node[T]) *allNode[T] {
	n := &allNode[T]{}
	for _, k := range kids {
		if f, ok := k.(*fieldNode[T]); ok {
			n.fields = append(n.fields, *f)
		} else {
			n.kids = append(n.kids, k)
		}
	}
	return n
}

func (n *allNode[T]) eval(ctx *T, now int64) bool {
	for i := range n.fields {
		if !n.fields[i].eval(ctx, now) {
			return false
		}
	}
	for _, k := range n.kids {
		if !k.eval(ctx, now) {
			return false
		}
	}
	return true
}

func (n *allNode[T]) explain(ctx *T, now int64) (bool, Failure) {
	for i := range n.fields {
		if ok, f := n.fields[i].explain(ctx, now); !ok {
			return false, f
		}
	}
	for _, k := range n.kids {
		if ok, f := k.explain(ctx, now); !ok {
			return false, f
		}
	}
	return true, Failure{}
}

// anyNode is $or: it holds when a kid does, or when there is no kid (as in GrowthBook).
type anyNode[T any] struct {
	kids []node[T]
	want string
}

func (n *anyNode[T]) eval(ctx *T, now int64) bool {
	if len(n.kids) == 0 {
		return true
	}
	for _, k := range n.kids {
		if k.eval(ctx, now) {
			return true
		}
	}
	return false
}

// explain reports the first alternative's failing field and value under the $or operator.
func (n *anyNode[T]) explain(ctx *T, now int64) (bool, Failure) {
	if n.eval(ctx, now) {
		return true, Failure{}
	}
	_, f := n.kids[0].explain(ctx, now)
	return false, Failure{Field: f.Field, Op: "$or", Want: n.want, Got: f.Got}
}

// notNode is $not (negate: $not of a condition) and $nor (negate an $or of the kids).
type notNode[T any] struct {
	op     string // "$not" or "$nor"
	inner  node[T]
	fields string // the fields the inner condition reads, for Explain
	want   string
}

func (n *notNode[T]) eval(ctx *T, now int64) bool { return !n.inner.eval(ctx, now) }

func (n *notNode[T]) explain(ctx *T, now int64) (bool, Failure) {
	if n.eval(ctx, now) {
		return true, Failure{}
	}
	return false, Failure{Field: n.fields, Op: n.op, Want: n.want, Got: "matched"}
}

// fieldNode is one field path with the operators applied to its value: fn is all the
// tests in one function, fast the inline path of a single test; tests are kept for Explain.
type fieldNode[T any] struct {
	field string
	get   Getter[T]
	fn    vfunc
	fast  fastPath
	tests []test
}

func newFieldNode[T any](field string, get Getter[T], tests []test) *fieldNode[T] {
	n := &fieldNode[T]{field: field, get: get, fn: allTests(tests), tests: tests}
	if len(tests) == 1 {
		n.fast = tests[0].fast
	}
	return n
}

func (n *fieldNode[T]) eval(ctx *T, now int64) bool {
	v := n.get(ctx)
	switch n.fast.kind {
	case fastStr:
		if v.Kind == KindString {
			return v.Str == n.fast.str
		}
	case fastStrIn:
		if v.Kind == KindString {
			for _, s := range n.fast.strs {
				if v.Str == s {
					return true
				}
			}
			return false
		}
	case fastNum:
		if v.Kind == KindNumber {
			switch x, y := v.Num, n.fast.num; {
			case x < y:
				return n.fast.accept[0]
			case x > y:
				return n.fast.accept[2]
			case x == y:
				return n.fast.accept[1]
			}
			return false // NaN
		}
	}
	return n.fn(v, now)
}

func (n *fieldNode[T]) explain(ctx *T, now int64) (bool, Failure) {
	v := n.get(ctx)
	for _, t := range n.tests {
		if !t.fn(v, now) {
			return false, Failure{Field: n.field, Op: t.op, Want: t.want, Got: v.String()}
		}
	}
	return true, Failure{}
}

// fieldsOf lists the field paths under a node, for the Explain text of negations.
func fieldsOf[T any](n node[T]) string {
	var out []string
	var walk func(n node[T])
	walk = func(n node[T]) {
		switch x := n.(type) {
		case *allNode[T]:
			for i := range x.fields {
				walk(&x.fields[i])
			}
			for _, k := range x.kids {
				walk(k)
			}
		case *anyNode[T]:
			for _, k := range x.kids {
				walk(k)
			}
		case *notNode[T]:
			walk(x.inner)
		case *fieldNode[T]:
			out = append(out, x.field)
		case *seqNode[T]:
			out = append(out, "$sequence")
		case *countNode[T]:
			out = append(out, x.label)
		}
	}
	walk(n)
	return strings.Join(dedupe(out), ",")
}
