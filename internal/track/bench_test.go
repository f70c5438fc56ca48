//go:build unix

package track_test

import (
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// BenchmarkTrackReturning tracks hits of 1,000 returning visitors, as the load run sends them
// (make bench-load): a pageview or a commerce event asking for the four slots of the example
// rules, on a real store, one hit at a time. After the first rounds every visitor's journey is
// cached and busy (full step history and recent ids, a spill pack every 33 hits, answered
// from the spill memo), so what it measures is a hit of a cached visitor: the tracker's own
// work and the store's commit. Beside the time per hit it reports the process's CPU time per
// hit (cpu-ns/op, user and system, the store's background work included), which a busy
// shared machine disturbs less.
func BenchmarkTrackReturning(b *testing.B) {
	b.Run("store", func(b *testing.B) {
		benchReturning(b, newTracker(b, track.Config{SiteHosts: map[string][]string{"demo": {"shop.example"}}}))
	})
	// The same hits on a store in memory (reportstore.Memory) instead of the store: the tracker's own work, with
	// nothing in the background to disturb the figure.
	b.Run("map", func(b *testing.B) {
		benchReturning(b, track.New(reportstore.NewMemory(), nil, nil, track.Config{SiteHosts: map[string][]string{"demo": {"shop.example"}}}))
	})
}

func benchReturning(b *testing.B, tr *track.Tracker) {
	tr.SetRules(exampleRules(b))
	const visitors = 1000
	vids := make([]string, visitors)
	for i := range vids {
		vids[i] = fmt.Sprintf("%016x%016x", 0x5eed0000+i, i*2654435761)
	}
	paths := []string{"/", "/products/trail-jacket", "/pricing", "/cart", "/checkout", "/category/jackets"}
	slots := []string{"hero", "home_returning", "cart_message", "pricing_offer"}
	batch := &event.Batch{Site: "demo", Slots: slots, Events: make([]event.Event, 1)}
	req := &track.Request{Batch: batch, UserAgent: chromeUA, IP: netip.MustParseAddr("203.0.113.9"), Decisions: true}
	var res track.Result
	hit := func(i int) {
		batch.VID = vids[i%visitors]
		e := &batch.Events[0]
		*e = event.Event{ID: fmt.Sprintf("b%d", i), Type: event.TypePageview, URL: "https://shop.example" + paths[i%len(paths)]}
		if i%4 == 1 {
			e.Type, e.Name = event.TypeEvent, "add_to_cart"
			e.Props = event.Props{{Key: "price", Val: event.NumberValue(129.5)}, {Key: "currency", Val: event.StringValue("EUR")}}
		}
		res.Reset()
		if err := tr.Track(req, &res); err != nil || len(res.Accepted) != 1 {
			b.Fatalf("Track = %v, accepted %v", err, res.Accepted)
		}
	}
	for i := range 200 * visitors { // every visitor busy before the clock starts
		hit(i)
	}
	b.ReportAllocs()
	i := 200 * visitors
	cpu0 := cpuTime()
	for b.Loop() {
		hit(i)
		i++
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
