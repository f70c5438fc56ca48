package hitgen

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestNext checks that every body is a well-formed hit carrying the number of events Next
// reports, with event ids unique across two generators of distinct prefixes, and that the
// mix of event types is the documented one.
func TestNext(t *testing.T) {
	type hit struct {
		Site   string `json:"site"`
		Events []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
			URL  string `json:"url"`
		} `json:"events"`
		Slots []string `json:"slots"`
	}
	gens := []*Gen{New(rand.New(rand.NewPCG(1, 2)), "a-"), New(rand.New(rand.NewPCG(1, 2)), "b-")}
	seen := map[string]bool{}
	types := map[string]int{}
	const hits = 10_000
	var body []byte
	for i := range hits {
		g := gens[i%len(gens)]
		var n int
		body, n = g.Next(body[:0], i%1000)
		var h hit
		if err := json.Unmarshal(body, &h); err != nil {
			t.Fatalf("body %d is not JSON: %v\n%s", i, err, body)
		}
		if h.Site != "demo" || len(h.Slots) != 4 || len(h.Events) != n {
			t.Fatalf("body %d: site %q, %d slots, %d events (Next said %d)\n%s", i, h.Site, len(h.Slots), len(h.Events), n, body)
		}
		for _, e := range h.Events {
			if seen[e.ID] {
				t.Fatalf("event id %q repeated", e.ID)
			}
			seen[e.ID] = true
			if !strings.HasPrefix(e.URL, "https://shop.example/") {
				t.Errorf("event url %q is not of the shop", e.URL)
			}
			types[e.Type]++
		}
	}
	// 55% pageviews, 25% events, 15% engagement, 5% both a pageview and an event.
	for typ, want := range map[string]float64{"pageview": 0.60, "event": 0.30, "engagement": 0.15} {
		if got := float64(types[typ]) / hits; got < want-0.02 || got > want+0.02 {
			t.Errorf("%s share = %.3f; want %.2f±0.02", typ, got, want)
		}
	}
}
