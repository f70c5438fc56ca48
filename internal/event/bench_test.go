package event

import "testing"

func BenchmarkDecodeBatch(b *testing.B) {
	single := `{"site":"demo","vid":"v_8f14e45fceea167a","id":"0b7c3f2e-6f1d-4a8e-9c1a-2f5d3e4b6a70","type":"pageview",` +
		`"url":"https://shop.example.com/products/blue-shoe?utm_source=newsletter&utm_medium=email",` +
		`"ref":"https://mail.example.net/","title":"Blue Shoe \u2013 Example Shop",` +
		`"props":{"category":"shoes","price":59.9,"logged_in":false},"slots":["hero","sidebar"]}`
	cases := []struct {
		name string
		body string
	}{
		{"pageview", pageviewBody},
		{"pageview-single", single},
		{"batch-20", batchBody(20)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			body := []byte(c.body)
			lim := DefaultLimits()
			var batch Batch
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				batch.Reset()
				if _, err := DecodeBatch(body, &batch, testNow, &lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAppendRecord(b *testing.B) {
	h := sampleHit()
	buf := AppendRecord(nil, h)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRecord(buf[:0], h)
	}
}

func BenchmarkDecodeRecord(b *testing.B) {
	rec := AppendRecord(nil, sampleHit())
	var h Hit
	var e Event
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeRecord(rec, &h, &e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendRecordJSON(b *testing.B) {
	h := sampleHit()
	buf := AppendRecordJSON(nil, h)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendRecordJSON(buf[:0], h)
	}
}
