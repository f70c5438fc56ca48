package cond

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
)

// valueCond compiles a condition on one value (GrowthBook's evalConditionValue): a scalar
// for loose equality, an object of operators, or an array or plain object for deep
// equality. insensitive is set for the elements of $alli: string equality ignores case.
func (c *config) valueCond(x any, insensitive bool) ([]test, error) {
	switch v := x.(type) {
	case string:
		t := test{op: "$eq", want: v, fn: looseStringEq(v, insensitive)}
		if !insensitive {
			t.fast = fastPath{kind: fastStr, str: v}
		}
		return []test{t}, nil
	case bool:
		// GrowthBook: value !== null && !!value === condition.
		return []test{{op: "$eq", want: strconv.FormatBool(v), fn: func(a Value, _ int64) bool {
			return !a.Nullish() && truthy(a) == v
		}}}, nil
	case nil:
		return []test{{op: "$eq", want: "null", fn: func(a Value, _ int64) bool { return a.Nullish() }}}, nil
	case []any:
		return c.deepEq(x)
	}
	if f, ok := toFloat(x); ok {
		// GrowthBook: value * 1 === condition, so "10" equals 10 and null equals 0.
		return []test{{op: "$eq", want: operandText(x), fn: func(a Value, _ int64) bool {
			if a.Kind == KindNumber {
				return a.Num == f
			}
			return toNumber(a) == f
		}, fast: fastPath{kind: fastNum, num: f, accept: [3]bool{false, true, false}}}}, nil
	}
	m, ok := asMap(x)
	if !ok {
		return nil, fmt.Errorf("%w: %w", ErrOperand, errUnsupported{x})
	}
	if !isOperatorObject(m) {
		if op := firstOperator(m); op != "" && !c.lenient {
			return nil, fmt.Errorf("%w mixes the operator %s with plain keys: write operators only, or quote a literal object", ErrOperand, op)
		}
		return c.deepEq(x)
	}
	keys := sortedKeys(m)
	tests := make([]test, 0, len(keys))
	for _, op := range keys {
		fn, err := c.operator(op, m[op])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		tests = append(tests, test{op: op, want: operandText(m[op]), fn: fn, fast: fastFor(op, m[op])})
	}
	return tests, nil
}

// deepEq compiles equality with an array or a plain object.
func (c *config) deepEq(x any) ([]test, error) {
	w, err := fromAny(x)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOperand, err)
	}
	return []test{{op: "$eq", want: operandText(x), fn: func(a Value, _ int64) bool { return deepEqual(a, w) }}}, nil
}

// isOperatorObject is GrowthBook's test for an object of operators: at least one key, and
// every key starts with "$".
func isOperatorObject(m map[string]any) bool {
	if len(m) == 0 {
		return false
	}
	for k := range m {
		if k == "" || k[0] != '$' {
			return false
		}
	}
	return true
}

// firstOperator returns the smallest key starting with "$", or "".
func firstOperator(m map[string]any) string {
	op := ""
	for k := range m {
		if k != "" && k[0] == '$' && (op == "" || k < op) {
			op = k
		}
	}
	return op
}

// looseStringEq is GrowthBook's value + "" === condition (or, for $alli elements,
// String(value).toLowerCase() === condition.toLowerCase()). Numbers compare through the
// number the condition spells canonically, so that no number is formatted per evaluation.
func looseStringEq(want string, insensitive bool) vfunc {
	if insensitive {
		lower := toLowerJS(want)
		return func(a Value, _ int64) bool {
			if a.Kind == KindString {
				return equalLower(a.Str, lower)
			}
			return equalLower(toString(a), lower)
		}
	}
	num := stringToNumber(want)
	canonical := string(appendJSNumber(nil, num)) == want
	return func(a Value, _ int64) bool {
		switch a.Kind {
		case KindString:
			return a.Str == want
		case KindNumber:
			return canonical && (a.Num == num || math.IsNaN(a.Num) && math.IsNaN(num))
		case KindMissing, KindNull:
			return want == "null"
		case KindBool:
			return want == strconv.FormatBool(a.Bool)
		case KindObject:
			return want == "[object Object]"
		}
		return toString(a) == want
	}
}

func never(Value, int64) bool { return false }

// lenientOr returns never when the condition is lenient, and err otherwise: what GrowthBook
// evaluates as false is a compile error in strict mode.
func (c *config) lenientOr(err error) (vfunc, error) {
	if c.lenient {
		return never, nil
	}
	return nil, err
}

// operator compiles one operator of an operator object.
func (c *config) operator(op string, x any) (vfunc, error) {
	switch op {
	case "$eq", "$ne":
		w, err := c.scalar(x)
		if err != nil {
			return nil, err
		}
		eq := func(a Value, _ int64) bool { return strictEqual(a, w) }
		if w.Kind == KindString {
			eq = func(a Value, _ int64) bool { return a.Kind == KindString && a.Str == w.Str }
		}
		if op == "$ne" {
			return not(eq), nil
		}
		return eq, nil
	case "$gt", "$gte", "$lt", "$lte":
		w, err := c.scalar(x)
		if err != nil {
			return nil, err
		}
		return compareOp(op, toPrimitive(w)), nil
	case "$exists":
		b, ok := x.(bool)
		if !ok {
			if !c.lenient {
				return nil, fmt.Errorf("%w must be true or false, got %s", ErrOperand, typeName(x))
			}
			b = truthy(FromAny(x))
		}
		return func(a Value, _ int64) bool { return a.Nullish() != b }, nil
	case "$in", "$nin", "$ini", "$nini":
		items, ok := x.([]any)
		if !ok {
			return c.lenientOr(fmt.Errorf("%w must be a list, got %s", ErrOperand, typeName(x)))
		}
		set, err := newInSet(items, op == "$ini" || op == "$nini")
		if err != nil {
			return nil, err
		}
		if op == "$nin" || op == "$nini" {
			return func(a Value, _ int64) bool { return !set.match(a) }, nil
		}
		return func(a Value, _ int64) bool { return set.match(a) }, nil
	case "$inGroup", "$notInGroup":
		return c.group(op, x)
	case "$not":
		tests, err := c.valueCond(x, false)
		if err != nil {
			return nil, err
		}
		return not(allTests(tests)), nil
	case "$size":
		return c.size(x)
	case "$elemMatch":
		return c.elemMatch(x)
	case "$all", "$alli":
		return c.all(op, x)
	case "$regex", "$regexi":
		return c.regex(op, x)
	case "$type":
		return c.typeOp(x)
	case "$veq", "$vne", "$vgt", "$vgte", "$vlt", "$vlte":
		return c.version(op, x)
	case "$within":
		return c.within(x)
	case "$before", "$after":
		return c.beforeAfter(op, x)
	}
	return c.lenientOr(ErrUnknownOperator)
}

func not(f vfunc) vfunc { return func(a Value, now int64) bool { return !f(a, now) } }

// scalar converts the operand of a comparison. Strict conditions take strings, numbers,
// booleans and null; lenient ones anything, compared as JavaScript would.
func (c *config) scalar(x any) (Value, error) {
	w, err := fromAny(x)
	if err != nil {
		return Value{}, fmt.Errorf("%w: %w", ErrOperand, err)
	}
	if !c.lenient && (w.Kind == KindArray || w.Kind == KindObject) {
		return Value{}, fmt.Errorf("%w must be a string, number, boolean or null, got %s", ErrOperand, typeName(x))
	}
	return w, nil
}

// orderings maps a comparison operator to the results of compareJS (-1, 0, 1) it accepts.
var orderings = map[string][3]bool{
	"$gt": {false, false, true}, "$gte": {false, true, true},
	"$lt": {true, false, false}, "$lte": {true, true, false},
	"$vgt": {false, false, true}, "$vgte": {false, true, true},
	"$vlt": {true, false, false}, "$vlte": {true, true, false},
	"$veq": {false, true, false}, "$vne": {true, false, true},
}

// compareOp compiles $gt, $gte, $lt and $lte with JavaScript's relational comparison: two
// strings compare as strings, anything else as numbers, and NaN compares false.
func compareOp(op string, w primitive) vfunc {
	accept := orderings[op]
	return func(a Value, _ int64) bool {
		if a.Kind == KindNumber && !w.isStr {
			x, y := a.Num, w.num
			switch {
			case x < y:
				return accept[0]
			case x > y:
				return accept[2]
			case x == y:
				return accept[1]
			}
			return false // NaN
		}
		c, ok := compareJS(toPrimitive(a), w)
		return ok && accept[c+1]
	}
}

// group compiles $inGroup and $notInGroup: membership in a saved group, as $in.
func (c *config) group(op string, x any) (vfunc, error) {
	id, ok := x.(string)
	if !ok {
		return nil, fmt.Errorf("%w must be a saved group id, got %s", ErrOperand, typeName(x))
	}
	items, found := c.groups[id]
	if !found && !c.lenient {
		return nil, fmt.Errorf("%w: unknown saved group %q", ErrOperand, id)
	}
	set, err := newInSet(items, false)
	if err != nil {
		return nil, fmt.Errorf("saved group %q: %w", id, err)
	}
	if op == "$notInGroup" {
		return func(a Value, _ int64) bool { return !set.match(a) }, nil
	}
	return func(a Value, _ int64) bool { return set.match(a) }, nil
}

// size compiles $size: the array's length must meet the operand, a number or a condition.
func (c *config) size(x any) (vfunc, error) {
	if _, isNum := toFloat(x); !isNum && !c.lenient {
		if m, ok := asMap(x); !ok || !isOperatorObject(m) {
			return nil, fmt.Errorf("%w must be a number or an operator object, got %s", ErrOperand, typeName(x))
		}
	}
	tests, err := c.valueCond(x, false)
	if err != nil {
		return nil, err
	}
	f := allTests(tests)
	return func(a Value, now int64) bool {
		return a.Kind == KindArray && f(NumberValue(float64(len(a.Arr))), now)
	}, nil
}

// elemMatch compiles $elemMatch: some truthy element of the array meets the operand, an
// operator object applied to the element, or a condition object on the element's fields.
func (c *config) elemMatch(x any) (vfunc, error) {
	m, ok := asMap(x)
	if !ok {
		return nil, fmt.Errorf("%w must be a condition object, got %s", ErrOperand, typeName(x))
	}
	if isOperatorObject(m) {
		tests, err := c.valueCond(m, false)
		if err != nil {
			return nil, err
		}
		f := allTests(tests)
		return func(a Value, now int64) bool {
			if a.Kind != KindArray {
				return false
			}
			for _, e := range a.Arr {
				if truthy(e) && f(e, now) {
					return true
				}
			}
			return false
		}, nil
	}
	dc := &docCompiler[Value]{cfg: c, resolve: valueResolver}
	n, err := dc.doc(m)
	if err != nil {
		return nil, err
	}
	return func(a Value, now int64) bool {
		if a.Kind != KindArray {
			return false
		}
		for i := range a.Arr {
			// The element's address, not a copy's: a copy would escape to the heap.
			if e := &a.Arr[i]; truthy(*e) && n.eval(e, now) {
				return true
			}
		}
		return false
	}, nil
}

// all compiles $all and $alli: every operand item is met by some element of the array.
func (c *config) all(op string, x any) (vfunc, error) {
	items, ok := x.([]any)
	if !ok {
		return c.lenientOr(fmt.Errorf("%w must be a list, got %s", ErrOperand, typeName(x)))
	}
	fs := make([]vfunc, len(items))
	for i, item := range items {
		tests, err := c.valueCond(item, op == "$alli")
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w", i, err)
		}
		fs[i] = allTests(tests)
	}
	return func(a Value, now int64) bool {
		if a.Kind != KindArray {
			return false
		}
		for _, f := range fs {
			found := false
			for _, e := range a.Arr {
				if f(e, now) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}, nil
}

// regex compiles $regex and $regexi (case-insensitive). The pattern is compiled once, with
// Go's RE2 syntax: JavaScript's lookarounds and backreferences are compile errors.
// Non-string values are matched in their JavaScript string form, as RegExp.test does.
func (c *config) regex(op string, x any) (vfunc, error) {
	s, ok := x.(string)
	if !ok {
		return nil, fmt.Errorf("%w must be a string, got %s", ErrOperand, typeName(x))
	}
	if op == "$regexi" {
		s = "(?i)" + s
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return c.lenientOr(err)
	}
	return func(a Value, _ int64) bool {
		if a.Kind == KindString {
			return re.MatchString(a.Str)
		}
		return re.MatchString(toString(a))
	}, nil
}

// typeKinds maps the $type names to kinds.
var typeKinds = map[string]Kind{
	"string": KindString, "number": KindNumber, "boolean": KindBool,
	"object": KindObject, "array": KindArray, "null": KindNull,
}

// typeOp compiles $type; a missing field has the type null, as in GrowthBook.
func (c *config) typeOp(x any) (vfunc, error) {
	s, _ := x.(string)
	k, ok := typeKinds[s]
	if !ok {
		got := operandText(x)
		if x == nil {
			got = `null (write "null", quoted)`
		}
		return c.lenientOr(fmt.Errorf("%w must be one of string, number, boolean, object, array, null; got %s", ErrOperand, got))
	}
	if k == KindNull {
		return func(a Value, _ int64) bool { return a.Nullish() }, nil
	}
	return func(a Value, _ int64) bool { return a.Kind == k }, nil
}

// version compiles $veq, $vne, $vgt, $vgte, $vlt and $vlte: the operand is padded once,
// the value at each evaluation into a stack buffer.
func (c *config) version(op string, x any) (vfunc, error) {
	w, err := fromAny(x)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOperand, err)
	}
	if !c.lenient && w.Kind != KindString && w.Kind != KindNumber {
		return nil, fmt.Errorf("%w must be a version string, got %s", ErrOperand, typeName(x))
	}
	want := paddedVersion(w)
	accept := orderings[op]
	return func(a Value, _ int64) bool {
		var buf [64]byte
		got := appendPaddedVersion(buf[:0], a)
		return accept[compareStrings(got, want)+1]
	}, nil
}
