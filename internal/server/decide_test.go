package server_test

import (
	"strings"
	"testing"
)

// TestDecideValidates: /v1/decide holds its parameters to the same rules as a hit, and
// explains a refusal in words.
func TestDecideValidates(t *testing.T) {
	ts := start(t)
	long := strings.Repeat("s", 65)
	tests := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		reason, says             string
	}{
		{"content type", "POST", "/v1/decide", `{"site":"shop"}`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "content_type", "Content-Type"},
		{"not an object", "POST", "/v1/decide", `[]`, nil, 400, "bad_json", "want a JSON object, not array"},
		{"wrong type", "POST", "/v1/decide", `{"site":"shop","slots":"hero"}`, nil, 400, "bad_json", `"slots" must be a list, not string`},
		{"unknown field", "POST", "/v1/decide", `{"site":"shop","sltos":["hero"]}`, nil, 400, "bad_json", `unknown field "sltos"`},
		{"trailing data", "POST", "/v1/decide", `{"site":"shop"} {"site":"shop"}`, nil, 400, "bad_json", "after the JSON object"},
		{"cut short", "POST", "/v1/decide", `{"site":"shop"`, nil, 400, "bad_json", "cut short"},
		{"consent in the body", "POST", "/v1/decide", `{"site":"shop","consent":"Denied"}`, nil, 400, "bad_request", `consent: want granted or denied, got "Denied"`},
		{"consent in the query", "GET", "/v1/decide?site=shop&consent=no", "", nil, 400, "bad_request", "consent"},
		{"trailing brace", "POST", "/v1/decide", `{"site":"shop"}}`, nil, 400, "bad_json", "after the JSON object"},
	}
	for _, tt := range tests {
		r := ts.do(t, tt.method, tt.path, tt.body, tt.headers...)
		e := decode[struct{ Error, Reason string }](t, r.body)
		if r.status != tt.status || e.Reason != tt.reason || !strings.Contains(e.Error, tt.says) {
			t.Errorf("%s: %d %q %s; want %d %s saying %q", tt.name, r.status, r.header.Get("X-Pathlight-Reason"), r.body, tt.status, tt.reason, tt.says)
		}
		if strings.Contains(r.body, "struct") {
			t.Errorf("%s: the error shows Go types: %s", tt.name, r.body)
		}
	}
	// Slots no rule can define are not answered, as in a hit; the others are.
	r := ts.do(t, "GET", "/v1/decide?site=shop&slots=,hero,"+long, "")
	if d := decode[struct {
		Decisions struct{ Slots map[string]any }
	}](t, r.body); r.status != 200 || len(d.Decisions.Slots) != 1 || d.Decisions.Slots["hero"] == nil {
		t.Fatalf("decide with an empty and a long slot name: %d %s; want the hero decided alone", r.status, r.body)
	}
	// Consent denied in the query: decisions, but no cookie.
	r = ts.do(t, "GET", "/v1/decide?site=shop&slots=hero&consent=denied", "")
	if r.status != 200 || len(r.cookies) != 0 {
		t.Fatalf("decide with consent=denied: %d with cookies %v; want 200 and none", r.status, r.cookies)
	}
}
