package journey_test

import (
	"fmt"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

func ExampleApply() {
	s := &journey.State{}
	ad := event.Source{Source: "google", Medium: "cpc", Campaign: "spring", Channel: "Paid Search"}
	hits := []*event.Hit{
		{Event: &event.Event{Type: event.TypePageview}, VID: "v1", Time: 1_700_000_000_000,
			Page: event.Page{Path: "/pricing"}, Source: ad},
		// Ten minutes later, a direct pageview: same session, which keeps its source.
		{Event: &event.Event{Type: event.TypePageview}, VID: "v1", Time: 1_700_000_600_000,
			Page: event.Page{Path: "/signup"}, Source: event.Source{Source: "(direct)"}},
	}
	for _, h := range hits {
		c := journey.Apply(s, h, journey.Options{})
		fmt.Printf("new visitor %v, new session %v\n", c.NewVisitor, c.NewSession)
	}
	fmt.Println(s.Sessions, s.Session().Channel, s.Session().LandingPage, s.Pageviews)
	// Output:
	// new visitor true, new session true
	// new visitor false, new session false
	// 1 Paid Search /pricing 2
}

func ExampleDecode() {
	s := &journey.State{}
	journey.Apply(s, &event.Hit{Event: &event.Event{Type: event.TypePageview}, VID: "v1",
		Time: 1_700_000_000_000, Page: event.Page{Path: "/"}}, journey.Options{})
	record := s.AppendBinary(nil)

	pooled := &journey.State{} // in a server, from a sync.Pool
	if err := journey.Decode(record, pooled); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(pooled.VID, pooled.Pageviews, pooled.Path("/").N)
	// Output: v1 1 1
}
