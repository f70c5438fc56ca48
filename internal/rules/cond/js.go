package cond

import (
	"bytes"
	"cmp"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// GrowthBook's reference SDK is JavaScript, and its operators inherit JavaScript's
// conversions: `value + ""`, `value * 1`, `!!value`, `<` between a string and a number. The
// functions in this file reproduce those conversions over Value, without allocating for
// scalars, so that conditions mean here exactly what they mean in GrowthBook.

// truthy is JavaScript's !!v.
func truthy(v Value) bool {
	switch v.Kind {
	case KindBool:
		return v.Bool
	case KindNumber:
		return v.Num != 0 && !math.IsNaN(v.Num)
	case KindString:
		return v.Str != ""
	case KindArray, KindObject:
		return true
	}
	return false
}

// strictEqual is JavaScript's === between two decoded values: scalars by value; arrays and
// objects never, because two decoded values are never the same reference.
func strictEqual(a, b Value) bool {
	if a.Nullish() || b.Nullish() {
		return a.Nullish() && b.Nullish()
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case KindBool:
		return a.Bool == b.Bool
	case KindNumber:
		return a.Num == b.Num
	case KindString:
		return a.Str == b.Str
	}
	return false
}

// deepEqual is GrowthBook's JSON.stringify(a) === JSON.stringify(b), except that object keys
// compare as a set: JavaScript's key order is insertion order, which decoded Go maps do not
// keep, and no condition author means it.
func deepEqual(a, b Value) bool {
	if a.Nullish() || b.Nullish() {
		return a.Nullish() && b.Nullish()
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case KindBool:
		return a.Bool == b.Bool
	case KindNumber:
		// JSON.stringify writes NaN and the infinities as null.
		if !isFinite(a.Num) || !isFinite(b.Num) {
			return !isFinite(a.Num) && !isFinite(b.Num)
		}
		return a.Num == b.Num
	case KindString:
		return a.Str == b.Str
	case KindArray:
		if len(a.Arr) != len(b.Arr) {
			return false
		}
		for i := range a.Arr {
			if !deepEqual(a.Arr[i], b.Arr[i]) {
				return false
			}
		}
		return true
	case KindObject:
		ak, bk := objectKeys(a.Obj), objectKeys(b.Obj)
		if len(ak) != len(bk) {
			return false
		}
		for _, k := range ak {
			av, _ := a.Obj.Get(k)
			bv, ok := b.Obj.Get(k)
			if !ok || !deepEqual(av, bv) {
				return false
			}
		}
		return true
	}
	return false
}

func objectKeys(o Object) []string {
	if o == nil {
		return nil
	}
	return o.Keys()
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// toNumber is JavaScript's v * 1 (ToNumber), with a missing field as null (0).
func toNumber(v Value) float64 {
	switch v.Kind {
	case KindMissing, KindNull:
		return 0
	case KindBool:
		if v.Bool {
			return 1
		}
		return 0
	case KindNumber:
		return v.Num
	case KindString:
		return stringToNumber(v.Str)
	case KindArray:
		return stringToNumber(toString(v))
	}
	return math.NaN()
}

// toString is JavaScript's String(v), with a missing field as null ("null").
func toString(v Value) string {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindArray:
		return string(appendJoin(nil, v.Arr))
	}
	return scalarString(v)
}

// scalarString is String(v) for every kind but arrays, without allocating except for
// numbers that are not small integers.
func scalarString(v Value) string {
	switch v.Kind {
	case KindBool:
		if v.Bool {
			return "true"
		}
		return "false"
	case KindNumber:
		return string(appendJSNumber(nil, v.Num))
	case KindString:
		return v.Str
	case KindArray:
		return toString(v)
	case KindObject:
		return "[object Object]"
	}
	return "null"
}

// appendJoin is Array.prototype.join(","): null elements are written as empty strings.
func appendJoin(dst []byte, arr []Value) []byte {
	for i, e := range arr {
		if i > 0 {
			dst = append(dst, ',')
		}
		switch e.Kind {
		case KindMissing, KindNull:
		case KindArray:
			dst = appendJoin(dst, e.Arr)
		case KindNumber:
			dst = appendJSNumber(dst, e.Num)
		default:
			dst = append(dst, scalarString(e)...)
		}
	}
	return dst
}

// appendJSNumber appends f as JavaScript's Number.prototype.toString writes it: the shortest
// round-trip digits, in plain notation for exponents from -7 to 20 and as 1.5e+21 outside.
func appendJSNumber(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		return append(dst, '0')
	case f == math.Trunc(f) && math.Abs(f) < 1<<53:
		return strconv.AppendInt(dst, int64(f), 10)
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d.ddde±xx
	mark := bytes.IndexByte(e, 'e')
	exp, _ := strconv.Atoi(string(e[mark+1:]))
	digits := make([]byte, 0, 24)
	digits = append(digits, e[0])
	if mark > 1 {
		digits = append(digits, e[2:mark]...)
	}
	k, n := len(digits), exp+1 // n: the position of the decimal point
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, "0."...)
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

// stringToNumber is JavaScript's Number(s): surrounding white space is ignored, the empty
// string is 0, "Infinity" and 0x/0o/0b integers are numbers, anything else not a decimal
// literal is NaN. It does not allocate.
func stringToNumber(s string) float64 {
	s = trimJSSpace(s)
	if s == "" {
		return 0
	}
	switch s {
	case "Infinity", "+Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	if len(s) > 2 && s[0] == '0' {
		switch s[1] {
		case 'x', 'X':
			return radixToNumber(s[2:], 16)
		case 'o', 'O':
			return radixToNumber(s[2:], 8)
		case 'b', 'B':
			return radixToNumber(s[2:], 2)
		}
	}
	if !isDecimalLiteral(s) {
		return math.NaN()
	}
	// The literal is well formed, so the only error left is ErrRange, with ±Inf or 0 as
	// JavaScript rounds it too.
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func radixToNumber(s string, base int) float64 {
	var f float64
	for i := 0; i < len(s); i++ {
		d := digitVal(s[i])
		if d >= base {
			return math.NaN()
		}
		f = f*float64(base) + float64(d)
	}
	if len(s) > 13 { // beyond 2^53: let strconv round exactly
		if u, err := strconv.ParseUint(s, base, 64); err == nil {
			return float64(u)
		}
	}
	return f
}

func digitVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return 99
}

// isDecimalLiteral reports whether s is a StrDecimalLiteral: [+-] digits [. digits] [e[+-]digits],
// where either side of the point may be empty but not both.
func isDecimalLiteral(s string) bool {
	i := 0
	if s[0] == '+' || s[0] == '-' {
		i++
	}
	start := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intDigits := i - start
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		f := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracDigits = i - f
	}
	if intDigits == 0 && fracDigits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		e := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == e {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// trimJSSpace removes JavaScript white space and line terminators from both ends of s.
func trimJSSpace(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		switch r {
		case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x2028, 0x2029, 0xfeff:
			return true
		}
		return unicode.Is(unicode.Zs, r)
	})
}

// compareStrings orders strings as JavaScript does, by UTF-16 code units. UTF-8 byte order
// is code point order, which differs only where a character above U+FFFF (a surrogate pair
// in UTF-16) meets one in U+E000..U+FFFF, so only that case needs decoding. It takes bytes
// too, so that a padded version built in a stack buffer compares without a copy.
func compareStrings[A, B ~string | ~[]byte](a A, b B) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return cmp.Compare(len(a), len(b))
	}
	if a[i] < utf8.RuneSelf && b[i] < utf8.RuneSelf {
		return cmp.Compare(int(a[i]), int(b[i]))
	}
	for i > 0 && !utf8.RuneStart(a[i]) {
		i--
	}
	ra, _ := utf8.DecodeRuneInString(string(a[i:min(i+utf8.UTFMax, len(a))]))
	rb, _ := utf8.DecodeRuneInString(string(b[i:min(i+utf8.UTFMax, len(b))]))
	return cmp.Compare(utf16Lead(ra), utf16Lead(rb))
}

// utf16Lead returns the first UTF-16 code unit of r.
func utf16Lead(r rune) int {
	if r > 0xffff {
		return 0xd800 + int((r-0x10000)>>10)
	}
	return int(r)
}

// primitive is a value reduced by JavaScript's ToPrimitive for a relational comparison:
// arrays and objects become strings, everything else keeps its kind.
type primitive struct {
	isStr bool
	str   string
	num   float64
}

func toPrimitive(v Value) primitive {
	switch v.Kind {
	case KindString:
		return primitive{isStr: true, str: v.Str}
	case KindArray, KindObject:
		return primitive{isStr: true, str: toString(v)}
	}
	return primitive{num: toNumber(v)}
}

func (p primitive) number() float64 {
	if p.isStr {
		return stringToNumber(p.str)
	}
	return p.num
}

// compareJS is JavaScript's abstract relational comparison of a and b: both strings compare
// as strings, anything else as numbers. ok is false when a number is NaN, where every one of
// < <= > >= is false.
func compareJS(a, b primitive) (c int, ok bool) {
	if a.isStr && b.isStr {
		return compareStrings(a.str, b.str), true
	}
	x, y := a.number(), b.number()
	if math.IsNaN(x) || math.IsNaN(y) {
		return 0, false
	}
	switch {
	case x < y:
		return -1, true
	case x > y:
		return 1, true
	}
	return 0, true
}

// toLowerJS lowers s as String.prototype.toLowerCase does for all but a few context-dependent
// letters (the final sigma), without allocating when s has no upper-case letter.
func toLowerJS(s string) string { return strings.ToLower(s) }

// equalLower reports whether toLowerJS(s) == lower, without allocating for ASCII s.
func equalLower(s, lower string) bool {
	if isASCII(s) {
		if len(s) != len(lower) {
			return false
		}
		for i := 0; i < len(s); i++ {
			if asciiLower(s[i]) != lower[i] {
				return false
			}
		}
		return true
	}
	return toLowerJS(s) == lower
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func asciiLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
