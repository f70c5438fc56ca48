package event

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// This file holds the small append-style JSON writer behind AppendBatchJSON and
// AppendRecordJSON: objects whose empty members are left out, strings escaped so that the
// output is always valid UTF-8 JSON.

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string literal: quotes, escapes, invalid UTF-8 as
// U+FFFD, and U+2028 and U+2029 escaped. It is the one string writer of every package that
// writes JSON by hand on a hot path (journey views, decisions, replies).
func AppendJSONString(dst []byte, s string) []byte { return appendString(dst, s) }

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, and U+2028 and
// U+2029 are escaped so that the output is also valid JavaScript.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if plain[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			switch r {
			case '\u2028':
				dst = append(dst, `\u2028`...)
			case '\u2029':
				dst = append(dst, `\u2029`...)
			default:
				dst = append(dst, `\ufffd`...)
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendFloat appends f as a JSON number, in the same form as encoding/json: plain decimals
// for everyday magnitudes, exponents for very large or small ones. JSON has no NaN or
// infinity: they are written as null.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Shorten a two-digit negative exponent: 1e-07 → 1e-7.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendValue appends v as a JSON scalar.
func appendValue(dst []byte, v Value) []byte {
	switch v.Kind {
	case KindString:
		return appendString(dst, v.Str)
	case KindNumber:
		return appendFloat(dst, v.Num)
	case KindBool:
		if v.Num != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	}
	return append(dst, "null"...)
}

// object writes the members of one JSON object, adding commas between them.
type object struct {
	b []byte
	n int // members written
}

// open starts a JSON object after dst.
func open(dst []byte) object { return object{b: append(dst, '{')} }

// close ends the object and returns the buffer.
func (o *object) close() []byte { return append(o.b, '}') }

// key writes the name of the next member.
func (o *object) key(k string) {
	if o.n > 0 {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = appendString(o.b, k)
	o.b = append(o.b, ':')
}

// str writes a string member, unless s is empty.
func (o *object) str(k, s string) {
	if s != "" {
		o.key(k)
		o.b = appendString(o.b, s)
	}
}

// int writes an integer member, unless v is zero.
func (o *object) int(k string, v int64) {
	if v != 0 {
		o.key(k)
		o.b = strconv.AppendInt(o.b, v, 10)
	}
}

// props writes p as a flat object member, unless p is empty.
func (o *object) props(k string, p Props) {
	if len(p) == 0 {
		return
	}
	o.key(k)
	in := open(o.b)
	for i := range p {
		in.key(p[i].Key)
		in.b = appendValue(in.b, p[i].Val)
	}
	o.b = in.close()
}
