package cond

import (
	"fmt"
	"slices"
)

// config is what every level of one Compile call shares, the typed context's and the
// element documents' of $elemMatch alike.
type config struct {
	lenient  bool
	groups   map[string][]any
	hasNow   bool     // Options.Now is set
	needsNow bool     // a clause reads the time
	steps    []string // steps named by $sequence and $count
}

// docCompiler compiles condition objects (GrowthBook's evalCondition level) over a context
// of type T: the typed context at the top, the array elements inside $elemMatch.
type docCompiler[T any] struct {
	cfg     *config
	resolve Resolver[T]
	history func(ctx *T) []StepAt
	top     bool     // fields are recorded for Cond.Fields
	fields  []string // the paths resolved so far
}

// doc compiles one condition object: every key must hold. Keys are compiled in sorted order
// so that Explain reports the same first failure whatever the decoder's map order.
func (d *docCompiler[T]) doc(c map[string]any) (node[T], error) {
	keys := sortedKeys(c)
	kids := make([]node[T], 0, len(keys))
	for _, k := range keys {
		n, err := d.clause(k, c[k])
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	return newAllNode(kids), nil
}

// clause compiles one key of a condition object: a logical operator, a journey operator or
// a field path. As in GrowthBook, any other key is a field path, "$groups" included.
func (d *docCompiler[T]) clause(k string, v any) (node[T], error) {
	switch k {
	case "$and", "$or", "$nor":
		kids, err := d.list(k, v)
		if err != nil {
			return nil, err
		}
		switch k {
		case "$and":
			return newAllNode(kids), nil
		case "$or":
			return &anyNode[T]{kids: kids, want: operandText(v)}, nil
		}
		inner := &anyNode[T]{kids: kids}
		return &notNode[T]{op: k, inner: inner, fields: fieldsOf[T](inner), want: operandText(v)}, nil
	case "$not":
		m, ok := asMap(v)
		if !ok {
			return nil, fmt.Errorf("$not: %w must be a condition object, got %s", ErrOperand, typeName(v))
		}
		inner, err := d.doc(m)
		if err != nil {
			return nil, fmt.Errorf("$not: %w", err)
		}
		return &notNode[T]{op: k, inner: inner, fields: fieldsOf(inner), want: operandText(v)}, nil
	case "$sequence":
		n, err := d.sequence(v)
		if err != nil {
			return nil, fmt.Errorf("$sequence: %w", err)
		}
		return n, nil
	case "$count":
		n, err := d.count(v)
		if err != nil {
			return nil, fmt.Errorf("$count: %w", err)
		}
		return n, nil
	}
	if d.resolve == nil {
		return nil, fmt.Errorf("%s: no resolver for fields", k)
	}
	get, err := d.resolve(k)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k, err)
	}
	tests, err := d.cfg.valueCond(v, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", k, err)
	}
	if d.top {
		d.fields = append(d.fields, k)
	}
	return newFieldNode(k, get, tests), nil
}

// list compiles the operand of $and, $or and $nor: a list of condition objects.
func (d *docCompiler[T]) list(op string, v any) ([]node[T], error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: %w must be a list of conditions, got %s", op, ErrOperand, typeName(v))
	}
	kids := make([]node[T], 0, len(items))
	for i, item := range items {
		m, ok := asMap(item)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: %w must be a condition object, got %s", op, i, ErrOperand, typeName(item))
		}
		n, err := d.doc(m)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", op, i, err)
		}
		kids = append(kids, n)
	}
	return kids, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// operandText renders an operand for Explain: strings as they are, the rest as JSON.
func operandText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return string(appendJSON(nil, FromAny(v)))
}
