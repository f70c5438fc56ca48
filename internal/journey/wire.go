package journey

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// The primitives of the binary codec. Unsigned numbers are uvarints; times and other signed
// numbers are zigzag varints of a difference from a reference time (wrapping arithmetic, so
// every int64 round-trips); floats are their IEEE bits byte-reversed as a uvarint, which
// makes 0 one byte and round amounts two or three; strings are a uvarint length and bytes.

func appendUint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendTime(b []byte, t, ref int64) []byte { return binary.AppendVarint(b, t-ref) }

func appendFloat(b []byte, f float64) []byte {
	return binary.AppendUvarint(b, bits.ReverseBytes64(math.Float64bits(f)))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendStringPrev writes s as a uvarint 0 when it equals prev, the same field of the
// previous touchpoint, else as its length plus one and its bytes: a visitor's sessions share
// most of their channel, source and medium strings.
func appendStringPrev(b []byte, s, prev string) []byte {
	if s == prev {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(s))+1)
	return append(b, s...)
}

// decoder reads a record. Its error is sticky: after the first failure every read returns a
// zero value and consumes nothing, so decoding code checks the error once at the end, and
// loops stop because lengths read as 0.
type decoder struct {
	data []byte
	off  int
	err  error

	// copied is data as one string, made on the first string that cannot be reused: the
	// strings of a decoded State are substrings of it, one allocation for all of them.
	copied    string
	hasCopied bool
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("decode journey state: "+format+" at offset %d: %w",
			append(args, d.off, ErrCorrupt)...)
	}
	d.off = len(d.data)
}

func (d *decoder) remaining() int { return len(d.data) - d.off }

func (d *decoder) u8() byte {
	if d.off >= len(d.data) {
		d.fail("truncated record")
		return 0
	}
	c := d.data[d.off]
	d.off++
	return c
}

// u48 reads 6 bytes, little-endian: a hash, which a varint would only lengthen.
func (d *decoder) u48() uint64 {
	if d.err != nil || d.remaining() < 6 {
		d.fail("truncated record")
		return 0
	}
	var v uint64
	for i := 5; i >= 0; i-- {
		v = v<<8 | uint64(d.data[d.off+i])
	}
	d.off += 6
	return v
}

func (d *decoder) flag() bool {
	switch d.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	if d.err == nil {
		d.off--
		d.fail("invalid boolean")
	}
	return false
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.data[d.off:])
	if n <= 0 {
		d.fail("invalid varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) count() uint32 {
	v := d.uvarint()
	if v > math.MaxUint32 {
		d.fail("count %d out of range", v)
		return 0
	}
	return uint32(v)
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.data[d.off:])
	if n <= 0 {
		d.fail("invalid varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) time(ref int64) int64 { return ref + d.varint() }

func (d *decoder) float() float64 {
	return math.Float64frombits(bits.ReverseBytes64(d.uvarint()))
}

// length reads a list length and checks it against max and against the bytes left, each
// entry taking at least minSize bytes, so that a corrupt length never makes a huge slice.
func (d *decoder) length(what string, max, minSize int) int {
	v := d.uvarint()
	if v > uint64(max) {
		d.fail("%d %s, more than %d", v, what, max)
		return 0
	}
	if n := int(v); n > d.remaining()/minSize {
		d.fail("%d %s with %d bytes left", n, what, d.remaining())
		return 0
	}
	return int(v)
}

// strN reads a string of n bytes, returning old when it holds the same text: decoding a
// visitor into the State it came from allocates nothing.
func (d *decoder) strN(n uint64, old string) string {
	if n > uint64(d.remaining()) {
		d.fail("string of %d bytes with %d left", n, d.remaining())
		return ""
	}
	start := d.off
	d.off += int(n)
	b := d.data[start:d.off]
	if string(b) == old {
		return old
	}
	if len(b) == 0 {
		return ""
	}
	if !d.hasCopied {
		d.copied, d.hasCopied = string(d.data), true
	}
	return d.copied[start:d.off]
}

func (d *decoder) str(old string) string { return d.strN(d.uvarint(), old) }

// strPrev reads a string written by appendStringPrev.
func (d *decoder) strPrev(old, prev string) string {
	h := d.uvarint()
	if h == 0 {
		return prev
	}
	return d.strN(h-1, old)
}

// grow returns s resized to n, reusing its array and keeping the old entries past its length,
// whose strings and buffers decoding reuses.
func grow[T any](s []T, n int) []T {
	if n <= cap(s) {
		return s[:n]
	}
	s = s[:cap(s)]
	return append(s, make([]T, n-len(s))...)
}
