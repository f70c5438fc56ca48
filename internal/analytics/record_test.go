package analytics

import (
	"fmt"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// TestReadHeadMatchesDecodeRecord checks the head reader against the record codec on records
// of every type, with and without a client time and the bot flag, so that a change to the
// record layout that keeps its version byte cannot go unnoticed.
func TestReadHeadMatchesDecodeRecord(t *testing.T) {
	var cases []event.Hit
	for _, typ := range []event.Type{event.TypePageview, event.TypeEvent, event.TypeIdentify, event.TypeEngagement, event.TypePrompt} {
		for _, ts := range []int64{0, 1_700_000_000_000, -5} {
			for _, bot := range []bool{false, true} {
				e := &event.Event{ID: fmt.Sprint("id-", typ, ts), Type: typ, TS: ts, Name: "add_to_cart", URL: "https://shop.example/", Prompt: "nps", Action: "answered", Answer: "9"}
				cases = append(cases, event.Hit{Event: e, Site: "shop", VID: "0123456789abcdef0123456789abcdef", Time: 1_700_000_000_500, Device: event.Device{Bot: bot}})
			}
		}
	}
	holdout := &event.Event{Type: event.TypeEvent, Name: track.HoldoutPromptEvent, Props: event.Props{{Key: "prompt", Val: event.StringValue("nps")}}}
	cases = append(cases, event.Hit{Event: holdout, Site: "blog", Time: 42})
	for _, want := range cases {
		rec := event.AppendRecord(nil, &want)
		var (
			h event.Hit
			e event.Event
		)
		if err := event.DecodeRecord(rec, &h, &e); err != nil {
			t.Fatal(err)
		}
		got := readHead(rec)
		if !got.ok || got.typ != e.Type || got.bot != h.Device.Bot || string(got.site) != h.Site ||
			string(got.vid) != h.VID || string(got.id) != e.ID || string(got.name) != e.Name || eventTime(rec) != h.Time {
			t.Errorf("readHead(%+v) = %+v; want the fields DecodeRecord reads", want, got)
		}
		if wantPayload := e.Type == event.TypePrompt || e.Name == track.HoldoutPromptEvent; got.hasPayload != wantPayload {
			t.Errorf("readHead(%v %q).hasPayload = %v; want %v", e.Type, e.Name, got.hasPayload, wantPayload)
		}
		for i := range rec {
			_ = readHead(rec[:i]) // never panics on a truncated record
		}
	}
	if readHead([]byte{2, 0, 1, 1, 0}).ok {
		t.Error("readHead of a version-2 record is ok; want it left to DecodeRecord")
	}
}
