package track_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// BenchmarkTrackAutomations measures a returning visitor's pageview with the rules alone and
// with automations watching a segment, conversions and inactivity (each hit then reads the
// visitor's automation memory), and reports the ratio of the two in the same run.
func BenchmarkTrackAutomations(b *testing.B) {
	const base = `
steps:
  - {id: viewed, stage: consideration, when: {event.type: pageview}}
  - {id: bought, stage: retention, when: {event.name: purchase}, conversion: true}
segments:
  many_views: {when: {steps.viewed.count: {$gte: 1000000}}}
`
	const autos = `
destinations:
  crm: {url: "http://127.0.0.1:9/hook"}
automations:
  heavy: {on: {enters: many_views}, to: crm}
  bought: {on: {converts: bought}, to: crm}
  lapsed: {on: {inactive: 30d}, to: crm}
`
	// Both trackers take turns hit by hit, so that the machine's load weighs on both alike.
	trs := [2]*track.Tracker{newTracker(b, track.Config{}), newTracker(b, track.Config{})}
	trs[0].SetRules(autoSet(b, base))
	trs[1].SetRules(autoSet(b, base+autos))
	vid := fmt.Sprintf("%032x", 7)
	ev := []event.Event{{Type: event.TypePageview, URL: "https://shop.example/p"}}
	batch := &event.Batch{Site: "shop", VID: vid, Events: ev}
	var res track.Result
	var spent [2]time.Duration
	b.ResetTimer()
	for i := range b.N {
		for k, tr := range trs {
			ev[0].ID = fmt.Sprintf("b%d", i)
			res.Reset()
			start := time.Now()
			if err := tr.Track(&track.Request{Batch: batch, UserAgent: chromeUA}, &res); err != nil {
				b.Fatal(err)
			}
			spent[k] += time.Since(start)
		}
	}
	b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "ns/hit-rules")
	b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "ns/hit-automations")
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "ratio")
	// Allocations do not depend on the machine's load.
	var allocs [2]float64
	n := 0
	for k, tr := range trs {
		allocs[k] = testing.AllocsPerRun(200, func() {
			n++
			ev[0].ID = fmt.Sprintf("a%d-%d", k, n)
			res.Reset()
			if err := tr.Track(&track.Request{Batch: batch, UserAgent: chromeUA}, &res); err != nil {
				b.Fatal(err)
			}
		})
	}
	b.ReportMetric(allocs[0], "allocs/hit-rules")
	b.ReportMetric(allocs[1], "allocs/hit-automations")
}
