//go:build !race

package event

import "testing"

// The request and export paths must not allocate per field: one string allocation per
// decoded batch or record, nothing when encoding into a buffer with room.
func TestAllocations(t *testing.T) {
	lim := DefaultLimits()
	var b Batch
	h := sampleHit()
	rec := AppendRecord(nil, h)
	buf := make([]byte, 0, 4096)
	pageview, batch := []byte(pageviewBody), []byte(batchBody(20))
	var dh Hit
	var de Event
	// What is measured must work: a decode that failed early would allocate nothing.
	for name, body := range map[string][]byte{"pageview": pageview, "batch": batch} {
		if rej, err := DecodeBatch(body, &b, testNow, &lim); err != nil || len(rej) != 0 || len(b.Events) == 0 {
			t.Fatalf("DecodeBatch(%s) = %v, %v with %d events; want every event accepted", name, rej, err, len(b.Events))
		}
	}
	if err := DecodeRecord(rec, &dh, &de); err != nil {
		t.Fatalf("DecodeRecord = %v", err)
	}
	tests := []struct {
		name string
		max  float64
		fn   func()
	}{
		{"DecodeBatch(pageview)", 1, func() { DecodeBatch(pageview, &b, testNow, &lim) }},
		{"DecodeBatch(batch of 20)", 1, func() { DecodeBatch(batch, &b, testNow, &lim) }},
		{"AppendRecord", 0, func() { buf = AppendRecord(buf[:0], h) }},
		{"DecodeRecord", 1, func() { DecodeRecord(rec, &dh, &de) }},
		{"AppendRecordJSON", 0, func() { buf = AppendRecordJSON(buf[:0], h) }},
		{"AppendBatchJSON", 0, func() { buf = AppendBatchJSON(buf[:0], &b) }},
	}
	for _, tt := range tests {
		tt.fn() // warm the pooled capacity
		if got := testing.AllocsPerRun(100, tt.fn); got > tt.max {
			t.Errorf("%s allocates %v times; want at most %v", tt.name, got, tt.max)
		}
	}
}
