package replay

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/heatmap"
)

// demoChunk returns the JSON of a typical replay chunk, with SESSION… and SEQ to fill in,
// and its size: testdata/demo-session.json.gz holds the events of a minute on the demo shop
// (browsing, adding to the cart, typing in the checkout form), recorded by pl-rr.js in
// Chromium; they are cut into the 5-second chunks the snippet sends, and the chunk of median
// size is taken, or with largest the largest (a page's full snapshot).
func demoChunk(tb testing.TB, largest bool) (body []byte, raw int) {
	f, err := os.Open("testdata/demo-session.json.gz")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	var evs []json.RawMessage
	if err := json.Unmarshal(data, &evs); err != nil {
		tb.Fatal(err)
	}
	var chunks [][]json.RawMessage
	var start int64 = -1
	for _, e := range evs {
		var h struct{ Timestamp int64 }
		_ = json.Unmarshal(e, &h)
		if start < 0 || h.Timestamp-start >= 5000 {
			chunks = append(chunks, nil)
			start = h.Timestamp
		}
		chunks[len(chunks)-1] = append(chunks[len(chunks)-1], e)
	}
	bodies := make([][]byte, len(chunks))
	for i, c := range chunks {
		ev, _ := json.Marshal(c)
		bodies[i] = fmt.Appendf(nil, `{"site":"demo","vid":"0123456789abcdef0123456789abcdef","session":"SESSION-0000000000000000000000000000","page":"https://shop.example/checkout","seq":SEQ,"events":%s}`, ev)
	}
	slices.SortFunc(bodies, func(a, b []byte) int { return len(a) - len(b) })
	mid := bodies[len(bodies)/2]
	if largest {
		mid = bodies[len(bodies)-1]
	}
	return mid, len(mid)
}

// BenchmarkIngestReplayChunk is the server's cost of one typical replay chunk (the median
// 5-second chunk of a minute on the demo shop): decompress, parse and check every event,
// then store it on real Badger with the session's metadata and indexes and the day's count.
// Run it with BenchmarkIngestHeatmapBatch, the baseline: one heatmap capture batch of 10
// clicks parsed and folded into a full table.
func BenchmarkIngestReplayChunk(b *testing.B) { benchIngest(b, false) }

// BenchmarkIngestReplaySnapshot is BenchmarkIngestReplayChunk for the largest chunk of the
// minute: one that holds a page's full snapshot.
func BenchmarkIngestReplaySnapshot(b *testing.B) { benchIngest(b, true) }

func benchIngest(b *testing.B, largest bool) {
	st := openStore(b)
	r := New(st, Config{Retention: time.Hour, SessionCap: 1 << 40, DailyCap: 1 << 40})
	tmpl, raw := demoChunk(b, largest)
	// Each iteration is a new chunk: sessions of 100 chunks.
	bodies := make([][]byte, 1000)
	for i := range bodies {
		s := bytes.Replace(tmpl, []byte("SESSION-0000000000000000000000000000"), fmt.Appendf(nil, "session-%029d", i/100), 1)
		s = bytes.Replace(s, []byte("SEQ"), fmt.Appendf(nil, "%d", i%100), 1)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(s)
		_ = zw.Close()
		bodies[i] = buf.Bytes()
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		body := bodies[i%len(bodies)]
		c, err := Parse(body)
		if err != nil {
			b.Fatal(err)
		}
		// A new session id for every round over the bodies, so that no chunk is a duplicate.
		c.Session = fmt.Sprintf("r%d-%s", i/len(bodies), c.Session)
		if _, err := r.Record("demo", "0123456789abcdef0123456789abcdef", c, at); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(raw), "raw-B/chunk")
	b.ReportMetric(float64(len(bodies[0])), "gzip-B/chunk")
}

// BenchmarkIngestHeatmapBatch is the baseline of BenchmarkIngestReplayChunk: a heatmap
// capture batch of 10 clicks, parsed and folded into a page's table already at its bound of
// 100 elements, with its dedup mark, on real Badger.
func BenchmarkIngestHeatmapBatch(b *testing.B) {
	st := openStore(b)
	rec := heatmap.New(st, time.Hour)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	fill := &heatmap.Batch{ID: "fill", URL: "https://shop.example/pricing", Width: 1280}
	for i := range 100 {
		fill.Clicks = append(fill.Clicks, heatmap.WireClick{Sel: fmt.Sprintf("main>section:nth-of-type(%d)>button", i), X: 0.5, Y: 0.5, PX: float64(i * 10), PY: float64(i * 40)})
	}
	if _, err := rec.Record("demo", fill, nil, at); err != nil {
		b.Fatal(err)
	}
	var clicks []string
	for i := range 10 {
		clicks = append(clicks, fmt.Sprintf(`{"s":"main>section:nth-of-type(%d)>button","x":0.4,"y":0.6,"px":%d,"py":%d}`, i*7, i*10, i*40))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		body := fmt.Appendf(nil, `{"site":"demo","id":"batch-%d","ts":1,"url":"https://shop.example/pricing","w":1280,"clicks":[%s]}`, i, joinComma(clicks))
		batch, err := heatmap.ParseBatch(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := rec.Record("demo", batch, nil, at); err != nil {
			b.Fatal(err)
		}
	}
}

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x)
	}
	return b.String()
}
