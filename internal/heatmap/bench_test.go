package heatmap

import (
	"fmt"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/track"
)

// BenchmarkRecordClickBatch is the ingest cost of one capture batch of 10 clicks on a page
// whose table already holds 100 elements (the bound), on real Badger: read, merge, write and
// the dedup mark. BenchmarkRecordBaseline writes the same keys without the table's work, so
// the ratio of the two is the cost of aggregation over the store's own.
func BenchmarkRecordClickBatch(b *testing.B) {
	r, batch := benchSetup(b)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		batch.ID = fmt.Sprintf("batch-%d", i)
		if _, err := r.Record("demo", batch, nil, at); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordClickBatchDims is BenchmarkRecordClickBatch for a visitor in 5 dimensions
// (a channel, two segments, an arm, a step): six tables to update.
func BenchmarkRecordClickBatchDims(b *testing.B) {
	r, batch := benchSetup(b)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	dims := []string{"channel:Paid Social", "segment:paid", "segment:returning", "arm:banner:loud", "step:viewed_pricing"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		batch.ID = fmt.Sprintf("batch-%d", i)
		if _, err := r.Record("demo", batch, dims, at); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordBaseline writes a table-sized value and a mark per batch: the store's part
// of a Record.
func BenchmarkRecordBaseline(b *testing.B) {
	r, batch := benchSetup(b)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	if _, err := r.Record("demo", batch, nil, at); err != nil {
		b.Fatal(err)
	}
	key := tableKey("demo", dayOf(at.UnixMilli()), 2, "", "/pricing")
	val, err := r.st.Get(key, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		mark := []byte(fmt.Sprintf("cdemo\x00base-%d", i))
		if _, err := r.st.Get(mark, nil); err == nil {
			b.Fatal("mark exists")
		}
		v, _ := r.st.Get(key, nil)
		if err := r.st.Write([]track.Op{{Key: key, Value: v[:len(val)], TTL: r.ttl}, {Key: mark, Value: []byte{}, TTL: markTTL}}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchSetup(b *testing.B) (*Recorder, *Batch) {
	r := openRecorder(b)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	fill := &Batch{ID: "fill", URL: "https://shop.example/pricing", Width: 1280}
	for i := range TopClicks {
		fill.Clicks = append(fill.Clicks, WireClick{Sel: fmt.Sprintf("main>section:nth-of-type(%d)>button", i), X: 0.5, Y: 0.5, PX: float64(i * 10), PY: float64(i * 40)})
	}
	if _, err := r.Record("demo", fill, nil, at); err != nil {
		b.Fatal(err)
	}
	batch := &Batch{URL: "https://shop.example/pricing", Width: 1280}
	for i := range 10 {
		batch.Clicks = append(batch.Clicks, WireClick{Sel: fmt.Sprintf("main>section:nth-of-type(%d)>button", i*7), X: 0.3, Y: 0.6, PX: 300, PY: float64(i * 90), Rage: i == 3, Dead: i%4 == 0})
	}
	return r, batch
}

// BenchmarkFoldClickBatch is the aggregation alone, without storage: decode a full table,
// add a batch of 10 clicks, encode it.
func BenchmarkFoldClickBatch(b *testing.B) {
	r, batch := benchSetup(b)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	val, err := r.st.Get(tableKey("demo", dayOf(at.UnixMilli()), 2, "", "/pricing"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var out []byte
	for b.Loop() {
		t, err := Decode(val)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range batch.Clicks {
			t.AddClick(clickOf(c, batch.Width))
		}
		out = t.Encode(out[:0])
	}
	b.ReportMetric(float64(len(val)), "table-bytes")
}
