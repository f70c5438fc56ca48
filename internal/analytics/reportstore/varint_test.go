package reportstore

import (
	"encoding/binary"
	"math"
	"testing"
)

// TestDecoderVarintsMatchEncodingBinary: the decoder's varints (with their one-byte fast
// path) read every number as encoding/binary does, at the one-byte boundaries and beyond,
// and refuse a cut or overlong number as it does.
func TestDecoderVarintsMatchEncodingBinary(t *testing.T) {
	var us []uint64
	var is []int64
	for _, x := range []int64{0, 1, 2, 63, 64, 65, 127, 128, 129, 255, 8191, 8192, 1 << 40, math.MaxInt64, -1, -2, -63, -64, -65, -128, math.MinInt64} {
		is = append(is, x)
		us = append(us, uint64(x))
	}
	for _, u := range us {
		b := binary.AppendUvarint(nil, u)
		d := &decoder{b: append(b, 7)}
		if got := d.uvarint(); got != u || d.err != nil || len(d.b) != 1 {
			t.Errorf("uvarint(%x) = %d, %v, %d bytes left; want %d", b, got, d.err, len(d.b), u)
		}
	}
	for _, x := range is {
		b := binary.AppendVarint(nil, x)
		d := &decoder{b: append(b, 7)}
		if got := d.varint(); got != x || d.err != nil || len(d.b) != 1 {
			t.Errorf("varint(%x) = %d, %v, %d bytes left; want %d", b, got, d.err, len(d.b), x)
		}
	}
	for _, b := range [][]byte{nil, {0x80}, {0xff, 0xff}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if d := (&decoder{b: b}); d.uvarint() != 0 || d.err == nil {
			t.Errorf("uvarint(%x): no error", b)
		}
		if d := (&decoder{b: b}); d.varint() != 0 || d.err == nil {
			t.Errorf("varint(%x): no error", b)
		}
	}
}
