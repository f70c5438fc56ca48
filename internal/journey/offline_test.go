package journey

import (
	"testing"

	"github.com/pathlight/pathlight/internal/event"
)

// An event a back end sends never opens a session: it happened off the site. It counts in
// the visitor's totals, and in the session live at its time when there is one.
func TestOfflineEventOpensNoSession(t *testing.T) {
	var s State
	pv := &event.Hit{Event: &event.Event{Type: event.TypePageview}, Time: t0, Source: event.Source{Source: "google", Medium: "cpc", Channel: "Paid Search"}}
	pv.Page.Path = "/"
	Apply(&s, pv, Options{})
	deal := &event.Hit{Event: &event.Event{Type: event.TypeEvent, Name: "deal_won"}, Time: t0 + 5*24*3_600_000, Offline: true}
	if c := Apply(&s, deal, Options{}); c.NewSession {
		t.Fatal("an offline event opened a session")
	}
	browser := &event.Hit{Event: &event.Event{Type: event.TypeEvent, Name: "deal_won"}, Time: t0 + 6*24*3_600_000}
	if c := Apply(&s, browser, Options{}); !c.NewSession {
		t.Fatal("a browser event after the timeout opened no session (the contrast this test relies on)")
	}
	if s.Sessions != 2 || s.Event("deal_won").N != 2 || s.Touchpoints[0].Channel != "Paid Search" {
		t.Fatalf("sessions %d, deal_won %d, first channel %q", s.Sessions, s.Event("deal_won").N, s.Touchpoints[0].Channel)
	}
	var fresh State
	Apply(&fresh, &event.Hit{Event: &event.Event{Type: event.TypeEvent, Name: "deal_won"}, Time: t0, Offline: true}, Options{})
	if fresh.Sessions != 0 || len(fresh.Touchpoints) != 0 || fresh.Event("deal_won").N != 1 {
		t.Fatalf("offline first event: sessions %d, touchpoints %d", fresh.Sessions, len(fresh.Touchpoints))
	}
}
