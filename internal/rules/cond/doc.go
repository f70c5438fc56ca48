package cond

import "strings"

// Doc is a generic JSON document context, for GrowthBook conformance, for rules tests and
// for attributes that arrive as JSON. Fields are dotted paths into Root.
type Doc struct {
	Root Value
}

// DocResolver resolves a dotted path into Doc.Root with GrowthBook's getPath semantics:
// each part names an object key, an array index ("items.0.name") or an array's length
// ("items.length"); a path through anything else is missing. It accepts every path.
func DocResolver(path string) (Getter[Doc], error) {
	parts := strings.Split(path, ".")
	return func(d *Doc) Value { return lookup(d.Root, parts) }, nil
}

// valueResolver resolves paths inside array elements, for $elemMatch conditions.
func valueResolver(path string) (Getter[Value], error) {
	parts := strings.Split(path, ".")
	return func(v *Value) Value { return lookup(*v, parts) }, nil
}

// lookup follows parts from v.
func lookup(v Value, parts []string) Value {
	for _, p := range parts {
		switch v.Kind {
		case KindObject:
			if v.Obj == nil {
				return Value{}
			}
			next, ok := v.Obj.Get(p)
			if !ok {
				return Value{}
			}
			v = next
		case KindArray:
			if p == "length" {
				v = NumberValue(float64(len(v.Arr)))
				continue
			}
			i, ok := arrayIndex(p)
			if !ok || i >= len(v.Arr) {
				return Value{}
			}
			v = v.Arr[i]
		default:
			return Value{}
		}
	}
	return v
}

// arrayIndex parses a canonical array index: "0", or digits without a leading zero.
func arrayIndex(p string) (int, bool) {
	if p == "" || len(p) > 9 || (p[0] == '0' && len(p) > 1) {
		return 0, false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return 0, false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n, true
}
