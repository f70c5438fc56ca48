package cond

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Kind is the JSON kind of a Value.
//
// The zero Kind is KindMissing, so the zero Value is an absent field: a Getter that finds
// nothing returns Value{}. Like GrowthBook, the operators treat a missing field exactly as
// null (GrowthBook's getPath returns null for both), so `$exists: false` and `$type: null`
// hold for either; the two kinds differ only in how Explain prints them.
type Kind uint8

// The kinds of Value.
const (
	KindMissing Kind = iota // the field is absent
	KindNull
	KindBool
	KindNumber
	KindString
	KindArray
	KindObject
)

// String returns the GrowthBook `$type` name of the kind ("null" for a missing field).
func (k Kind) String() string {
	switch k {
	case KindBool:
		return "boolean"
	case KindNumber:
		return "number"
	case KindString:
		return "string"
	case KindArray:
		return "array"
	case KindObject:
		return "object"
	default:
		return "null"
	}
}

// Value is what a Getter returns: a JSON value without interface boxing, so that scalar
// fields of a typed context cost no allocation.
type Value struct {
	Kind Kind
	Bool bool    // KindBool
	Num  float64 // KindNumber
	Str  string  // KindString
	Arr  []Value // KindArray
	Obj  Object  // KindObject: for generic documents only
}

// Object is a JSON object inside a generic document. A nil Object is an empty object.
type Object interface {
	// Get returns the value of key and whether the object has it.
	Get(key string) (Value, bool)
	// Keys returns the keys of the object; deep equality compares them as a set.
	Keys() []string
}

// Map is the Object that FromAny builds for a JSON object.
type Map map[string]Value

// Get returns the value of key and whether m has it.
func (m Map) Get(key string) (Value, bool) {
	v, ok := m[key]
	return v, ok
}

// Keys returns the keys of m, sorted so that output built from them is stable.
func (m Map) Keys() []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// StringValue returns a string Value.
func StringValue(s string) Value { return Value{Kind: KindString, Str: s} }

// NumberValue returns a number Value.
func NumberValue(n float64) Value { return Value{Kind: KindNumber, Num: n} }

// BoolValue returns a boolean Value.
func BoolValue(b bool) Value { return Value{Kind: KindBool, Bool: b} }

// NullValue returns the JSON null.
func NullValue() Value { return Value{Kind: KindNull} }

// ArrayValue returns an array Value holding vs (not copied).
func ArrayValue(vs []Value) Value { return Value{Kind: KindArray, Arr: vs} }

// ObjectValue returns an object Value backed by o.
func ObjectValue(o Object) Value { return Value{Kind: KindObject, Obj: o} }

// Nullish reports whether v is null or missing: the values GrowthBook's `== null` matches.
func (v Value) Nullish() bool { return v.Kind == KindMissing || v.Kind == KindNull }

// String renders v for people: strings as they are, other values as compact JSON, and a
// missing field as "(missing)". Explain uses it for the value seen.
func (v Value) String() string {
	switch v.Kind {
	case KindMissing:
		return "(missing)"
	case KindString:
		return v.Str
	}
	return string(appendJSON(nil, v))
}

// FromAny converts a decoded JSON or YAML value: map[string]any, []any, string, bool, nil,
// float64, float32, the integer types and json.Number. A time.Time (YAML timestamps) becomes
// its Unix time in milliseconds, the unit of Pathlight's time fields. Any other type
// becomes null; Compile rejects such operands instead.
func FromAny(v any) Value {
	out, err := fromAny(v)
	if err != nil {
		return Value{Kind: KindNull}
	}
	return out
}

// errUnsupported is returned by fromAny for a Go type no JSON document holds.
type errUnsupported struct{ v any }

// Error implements error.
func (e errUnsupported) Error() string { return "unsupported value of type " + typeName(e.v) }

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case map[string]any, map[any]any:
		return "object"
	case []any:
		return "array"
	}
	if _, ok := toFloat(v); ok {
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func fromAny(v any) (Value, error) {
	switch x := v.(type) {
	case nil:
		return Value{Kind: KindNull}, nil
	case string:
		return StringValue(x), nil
	case bool:
		return BoolValue(x), nil
	case time.Time:
		return NumberValue(float64(x.UnixMilli())), nil
	case []any:
		arr := make([]Value, len(x))
		for i, e := range x {
			ev, err := fromAny(e)
			if err != nil {
				return Value{}, err
			}
			arr[i] = ev
		}
		return ArrayValue(arr), nil
	case []string:
		arr := make([]Value, len(x))
		for i, e := range x {
			arr[i] = StringValue(e)
		}
		return ArrayValue(arr), nil
	case map[string]string:
		m := make(Map, len(x))
		for k, e := range x {
			m[k] = StringValue(e)
		}
		return ObjectValue(m), nil
	}
	if m, ok := asMap(v); ok {
		out := make(Map, len(m))
		for k, e := range m {
			ev, err := fromAny(e)
			if err != nil {
				return Value{}, err
			}
			out[k] = ev
		}
		return ObjectValue(out), nil
	}
	if f, ok := toFloat(v); ok {
		return NumberValue(f), nil
	}
	return Value{}, errUnsupported{v}
}

// asMap returns v as a map with string keys; YAML decoders may produce map[any]any.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, e := range m {
			ks, ok := k.(string)
			if !ok {
				return nil, false
			}
			out[ks] = e
		}
		return out, true
	}
	return nil, false
}

// toFloat converts any Go number type, as YAML and JSON decoders produce them.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	}
	return 0, false
}

// appendJSON appends v as compact JSON with JavaScript number formatting and object keys in
// Keys order. A missing value is written as null, as JSON.stringify writes GrowthBook's null.
func appendJSON(dst []byte, v Value) []byte {
	switch v.Kind {
	case KindBool:
		return strconv.AppendBool(dst, v.Bool)
	case KindNumber:
		if math.IsNaN(v.Num) || math.IsInf(v.Num, 0) {
			return append(dst, "null"...)
		}
		return appendJSNumber(dst, v.Num)
	case KindString:
		b, _ := json.Marshal(v.Str) // a string always marshals
		return append(dst, b...)
	case KindArray:
		dst = append(dst, '[')
		for i, e := range v.Arr {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, e)
		}
		return append(dst, ']')
	case KindObject:
		dst = append(dst, '{')
		if v.Obj != nil {
			for i, k := range v.Obj.Keys() {
				if i > 0 {
					dst = append(dst, ',')
				}
				b, _ := json.Marshal(k)
				dst = append(dst, b...)
				dst = append(dst, ':')
				e, _ := v.Obj.Get(k)
				dst = appendJSON(dst, e)
			}
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}
