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

// allNode holds when every kid does: the keys of one condition object, and $and.
type allNode[T any] struct{ kids []node[T] }

func (n *allNode[T]) eval(ctx *T, now int64) bool {
	for _, k := range n.kids {
		if !k.eval(ctx, now) {
			return false
		}
	}
	return true
}

func (n *allNode[T]) explain(ctx *T, now int64) (bool, Failure) {
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

// fieldNode is one field path with the operators applied to its value.
type fieldNode[T any] struct {
	field string
	get   Getter[T]
	tests []test
}

func (n *fieldNode[T]) eval(ctx *T, now int64) bool {
	v := n.get(ctx)
	for i := range n.tests {
		if !n.tests[i].fn(v, now) {
			return false
		}
	}
	return true
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
