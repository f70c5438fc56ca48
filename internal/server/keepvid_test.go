package server_test

import (
	"encoding/json"
	"testing"
)

// The snippet keeps a copy of the visitor id in the page's own storage, so that journeys hold
// where the browser drops the server's cookie; keep_vid tells it when it may.
func TestReplySaysWhetherTheVisitorIdMayBeKept(t *testing.T) {
	const pageview = `{"site":"shop","events":[{"id":"k1","type":"pageview","url":"https://shop.example/"}]}`
	type keepReply struct {
		VID     string `json:"vid"`
		KeepVID *bool  `json:"keep_vid"`
	}
	tests := []struct {
		name    string
		flags   []string
		headers []string
		keep    bool
		vid     bool // a vid is answered
	}{
		{"cookie mode", nil, nil, true, true},
		{"cookieless mode", []string{"--identity", "cookieless"}, nil, false, true},
		{"Global Privacy Control", nil, []string{"Sec-GPC", "1"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := start(t, tt.flags...)
			r := ts.do(t, "POST", "/v1/hit", pageview, tt.headers...)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var got keepReply
			if err := json.Unmarshal([]byte(r.body), &got); err != nil {
				t.Fatalf("reply %s: %v", r.body, err)
			}
			if got.KeepVID == nil {
				t.Fatalf("reply %s has no keep_vid", r.body)
			}
			if *got.KeepVID != tt.keep || (got.VID != "") != tt.vid {
				t.Errorf("reply vid %q, keep_vid %v; want a vid %v, keep_vid %v", got.VID, *got.KeepVID, tt.vid, tt.keep)
			}
		})
	}
}

// A well-formed vid in the body wins over none: the id the snippet kept holds the journey
// together without any cookie.
func TestBodyVIDHoldsTheJourneyWithoutCookie(t *testing.T) {
	ts := start(t)
	first := decode[hitReply](t, ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"b1","type":"pageview","url":"https://shop.example/"}]}`).body)
	second := decode[hitReply](t, ts.do(t, "POST", "/v1/hit", `{"site":"shop","vid":"`+first.VID+`","events":[{"id":"b2","type":"pageview","url":"https://shop.example/pricing"}]}`).body)
	if second.VID != first.VID {
		t.Fatalf("second hit with the body vid %s answered vid %s; want the same visitor", first.VID, second.VID)
	}
	st, err := ts.tracker.Visitor(first.VID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pageviews != 2 {
		t.Errorf("visitor %s has %d pageviews; want 2", first.VID, st.Pageviews)
	}
}
