package event

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the byte-level JSON scanner under DecodeBatch: whitespace, strings, numbers,
// literals and skipping of values the decoder does not keep. It follows RFC 8259 strictly and
// decodes strings exactly as encoding/json does (invalid UTF-8 and lone surrogates become
// U+FFFD), which the differential tests check.

// plain marks the bytes a string can hold as they are: printable ASCII other than '"' and '\'.
// Anything else takes the slow path (escapes, control characters, UTF-8).
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// replacement is U+FFFD in UTF-8, what invalid input bytes and lone surrogates decode to.
const replacement = "\uFFFD"

// ws skips JSON whitespace.
func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// peek returns the byte at d.pos, or 0 at the end of input (0 is never valid there).
func (d *decoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// syntaxErr reports invalid JSON at d.pos.
func (d *decoder) syntaxErr(msg string) error {
	return &DecodeError{Offset: d.pos, Reason: "invalid JSON at offset " + strconv.Itoa(d.pos) + ": " + msg}
}

// unexpected reports the byte at d.pos (or the end of input) as out of place.
func (d *decoder) unexpected() error {
	if d.pos >= len(d.data) {
		return d.syntaxErr("unexpected end of input")
	}
	c := d.data[d.pos]
	if c > 0x20 && c < 0x7f {
		return d.syntaxErr("unexpected '" + string(rune(c)) + "'")
	}
	return d.syntaxErr("unexpected byte 0x" + strconv.FormatUint(uint64(c)|0x100, 16)[1:])
}

// expect consumes the byte c, or fails.
func (d *decoder) expect(c byte) error {
	if d.peek() != c {
		return d.unexpected()
	}
	d.pos++
	return nil
}

// str decodes the JSON string at d.pos, which starts with '"', appending its text to d.buf.
// It returns where the text sits in d.buf. Most strings are plain ASCII: they are copied in
// one append.
func (d *decoder) str() (off, n int, err error) {
	data := d.data
	start := d.pos + 1
	i := start
	for i < len(data) && plain[data[i]] {
		i++
	}
	off = len(d.buf)
	d.buf = append(d.buf, data[start:i]...)
	if i < len(data) && data[i] == '"' {
		d.pos = i + 1
		return off, i - start, nil
	}
	if err := d.strSlow(i); err != nil {
		return 0, 0, err
	}
	return off, len(d.buf) - off, nil
}

// strSlow continues str from data[i], a byte that is not plain.
func (d *decoder) strSlow(i int) error {
	data := d.data
	for {
		if i >= len(data) {
			d.pos = i
			return d.syntaxErr("unexpected end of input in string")
		}
		c := data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return nil
		case c == '\\':
			var err error
			if i, err = d.escape(i); err != nil {
				return err
			}
		case c < 0x20:
			d.pos = i
			return d.syntaxErr("control character in string")
		case c < 0x80:
			j := i + 1
			for j < len(data) && plain[data[j]] {
				j++
			}
			d.buf = append(d.buf, data[i:j]...)
			i = j
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				d.buf = append(d.buf, replacement...)
			} else {
				d.buf = append(d.buf, data[i:i+size]...)
			}
			i += size
		}
	}
}

// escape decodes the escape sequence at data[i] ('\') into d.buf and returns the index after
// it. A \u escape of a surrogate is joined with a following low surrogate escape; a lone
// surrogate becomes U+FFFD and what follows it is decoded on its own, as encoding/json does.
func (d *decoder) escape(i int) (int, error) {
	data := d.data
	if i+1 >= len(data) {
		d.pos = len(data)
		return 0, d.syntaxErr("unexpected end of input in string")
	}
	var c byte
	switch data[i+1] {
	case '"', '\\', '/':
		c = data[i+1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r := hex4(data[i+2:])
		if r < 0 {
			d.pos = i
			return 0, d.syntaxErr("invalid \\u escape")
		}
		i += 6
		if utf16.IsSurrogate(r) {
			pair := rune(-1)
			if i+1 < len(data) && data[i] == '\\' && data[i+1] == 'u' {
				pair = hex4(data[i+2:])
			}
			if dec := utf16.DecodeRune(r, pair); dec != utf8.RuneError {
				r = dec
				i += 6
			} else {
				r = utf8.RuneError
			}
		}
		d.buf = utf8.AppendRune(d.buf, r)
		return i, nil
	default:
		d.pos = i
		return 0, d.syntaxErr("invalid escape '\\" + printable(data[i+1]) + "'")
	}
	d.buf = append(d.buf, c)
	return i + 2, nil
}

// printable returns c as text for an error message.
func printable(c byte) string {
	if c > 0x20 && c < 0x7f {
		return string(rune(c))
	}
	return "\\x" + strconv.FormatUint(uint64(c)|0x100, 16)[1:]
}

// hex4 decodes four hex digits at the start of b, or returns -1.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// skipStr skips the JSON string at d.pos, checking its escapes but not decoding it.
func (d *decoder) skipStr() error {
	data := d.data
	i := d.pos + 1
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return nil
		case c == '\\':
			if i+1 >= len(data) {
				i++
				continue
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if hex4(data[i+2:]) < 0 {
					d.pos = i
					return d.syntaxErr("invalid \\u escape")
				}
				i += 6
			default:
				d.pos = i
				return d.syntaxErr("invalid escape '\\" + printable(data[i+1]) + "'")
			}
		case c < 0x20:
			d.pos = i
			return d.syntaxErr("control character in string")
		default:
			i++
		}
	}
	d.pos = len(data)
	return d.syntaxErr("unexpected end of input in string")
}

// num scans the JSON number at d.pos and returns its value. Integers of up to 15 digits, the
// common case (timestamps, counts), are converted exactly without strconv. A number too large
// for a float64 returns ±Inf, which validation rejects wherever it matters.
func (d *decoder) num() (float64, error) {
	data := d.data
	start := d.pos
	i := start
	neg := i < len(data) && data[i] == '-'
	if neg {
		i++
	}
	var mant uint64
	digits := 0
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && '1' <= data[i] && data[i] <= '9':
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			mant = mant*10 + uint64(data[i]-'0')
			digits++
			i++
		}
	default:
		d.pos = i
		return 0, d.syntaxErr("invalid number")
	}
	exact := digits <= 15
	if i < len(data) && data[i] == '.' {
		i++
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			d.pos = i
			return 0, d.syntaxErr("invalid number")
		}
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		exact = false
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= len(data) || data[i] < '0' || data[i] > '9' {
			d.pos = i
			return 0, d.syntaxErr("invalid number")
		}
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		exact = false
	}
	d.pos = i
	if exact {
		f := float64(mant)
		if neg {
			f = -f
		}
		return f, nil
	}
	// The syntax is checked above, so the only error left is ErrRange, with f = ±Inf.
	f, _ := strconv.ParseFloat(string(data[start:i]), 64)
	return f, nil
}

// lit consumes the literal word (true, false or null) at d.pos.
func (d *decoder) lit(word string) error {
	end := d.pos + len(word)
	if end > len(d.data) || string(d.data[d.pos:end]) != word {
		for i := 0; i < len(word) && d.pos < len(d.data) && d.data[d.pos] == word[i]; i++ {
			d.pos++
		}
		return d.unexpected()
	}
	d.pos = end
	return nil
}

// openContainer consumes the '{' or '[' at d.pos and the whitespace after it, checking the
// nesting limit: depth is how many containers enclose this one. It reports whether the
// container is empty, in which case its closing byte is consumed too.
func (d *decoder) openContainer(depth int, closing byte) (empty bool, err error) {
	if depth >= d.lim.MaxDepth {
		return false, d.syntaxErr("nesting deeper than " + strconv.Itoa(d.lim.MaxDepth) + " levels")
	}
	d.pos++
	d.ws()
	if d.peek() == closing {
		d.pos++
		return true, nil
	}
	return false, nil
}

// next consumes what follows a member or element: ',' (there is another one) or the closing
// byte (there is not).
func (d *decoder) next(closing byte) (more bool, err error) {
	d.ws()
	switch d.peek() {
	case ',':
		d.pos++
		d.ws()
		return true, nil
	case closing:
		d.pos++
		return false, nil
	}
	return false, d.unexpected()
}

// key reads an object member name and the ':' after it, leaving d.pos at the value. Names
// without escapes are returned as a slice of the input; others are decoded into d.kbuf. Either
// way the result is only valid until the next call.
func (d *decoder) key() ([]byte, error) {
	if d.peek() != '"' {
		return nil, d.unexpected()
	}
	data := d.data
	start := d.pos + 1
	i := start
	for i < len(data) && plain[data[i]] {
		i++
	}
	var k []byte
	if i < len(data) && data[i] == '"' {
		k = data[start:i]
		d.pos = i + 1
	} else {
		mark := len(d.buf)
		off, n, err := d.str()
		if err != nil {
			return nil, err
		}
		// Known names are short; a longer one only needs to match none of them.
		k = d.kbuf[:copy(d.kbuf[:], d.buf[off:off+n])]
		if n > len(d.kbuf) {
			k = nil
		}
		d.buf = d.buf[:mark]
	}
	d.ws()
	if err := d.expect(':'); err != nil {
		return nil, err
	}
	d.ws()
	return k, nil
}

// skip skips the JSON value at d.pos, checking its syntax; depth is how many containers
// enclose it.
func (d *decoder) skip(depth int) error {
	switch c := d.peek(); c {
	case '"':
		return d.skipStr()
	case '{', '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		empty, err := d.openContainer(depth, closing)
		if err != nil || empty {
			return err
		}
		for {
			if c == '{' {
				if d.peek() != '"' {
					return d.unexpected()
				}
				if err := d.skipStr(); err != nil {
					return err
				}
				d.ws()
				if err := d.expect(':'); err != nil {
					return err
				}
				d.ws()
			}
			if err := d.skip(depth + 1); err != nil {
				return err
			}
			more, err := d.next(closing)
			if err != nil || !more {
				return err
			}
		}
	case 't':
		return d.lit("true")
	case 'f':
		return d.lit("false")
	case 'n':
		return d.lit("null")
	default:
		if c == '-' || ('0' <= c && c <= '9') {
			_, err := d.num()
			return err
		}
		return d.unexpected()
	}
}

// jsonKind names the kind of JSON value that starts with c, for type errors; "" when no value
// starts with c.
func jsonKind(c byte) string {
	switch {
	case c == '"':
		return "string"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || ('0' <= c && c <= '9'):
		return "number"
	}
	return ""
}
