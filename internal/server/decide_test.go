package server_test

import (
	"strings"
	"testing"
)

// TestDecideValidates: /v1/decide holds its parameters to the same rules as a hit, and
// explains a refusal in words, the words of a hit's.
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
		{"not an object", "POST", "/v1/decide", `[]`, nil, 400, "bad_json", "expected a JSON object, got array"},
		{"wrong type", "POST", "/v1/decide", `{"site":"shop","slots":"hero"}`, nil, 400, "bad_json", `slots: expected array, got string`},
		{"unknown field", "POST", "/v1/decide", `{"site":"shop","sltos":["hero"]}`, nil, 400, "bad_json", `unknown key "sltos"`},
		{"a key in another case", "POST", "/v1/decide", `{"site":"shop","Slots":["hero"]}`, nil, 400, "bad_json", `unknown key "Slots"`},
		{"trailing data", "POST", "/v1/decide", `{"site":"shop"} {"site":"shop"}`, nil, 400, "bad_json", "invalid JSON at offset 16: unexpected '{'"},
		{"cut short", "POST", "/v1/decide", `{"site":"shop"`, nil, 400, "bad_json", "unexpected end of input"},
		{"consent in the body", "POST", "/v1/decide", `{"site":"shop","consent":"Denied"}`, nil, 400, "bad_json", `consent: unknown value "Denied"`},
		{"consent in the query", "GET", "/v1/decide?site=shop&consent=no", "", nil, 400, "bad_request", "consent"},
		{"trailing brace", "POST", "/v1/decide", `{"site":"shop"}}`, nil, 400, "bad_json", "unexpected '}'"},
		// The query holds to the body's rule: a misspelt parameter is named, not ignored.
		{"unknown query parameter", "GET", "/v1/decide?site=shop&slot=hero", "", nil, 400, "bad_request", `"slot": unknown parameter; GET /v1/decide takes site, vid, slots, url, consent`},
		{"query parameter twice", "GET", "/v1/decide?site=shop&slots=hero&slots=promo", "", nil, 400, "bad_request", `"slots": given more than once`},
		{"unknown query parameter of a POST", "POST", "/v1/decide?sites=shop", `{"site":"shop"}`, nil, 400, "bad_request", `"sites": unknown parameter; POST /v1/decide takes`},
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

// TestDecideRefusesDuplicateKeys: a member given twice is refused by /v1/decide as by
// /v1/hit, in the same words, rather than the last one winning.
func TestDecideRefusesDuplicateKeys(t *testing.T) {
	ts := start(t)
	for _, body := range []string{
		`{"site":"shop","site":"other"}`,
		`{"site":"shop","\u0073ite":"other"}`,
		`{"site":"shop","vid":"0123456789abcdef0123456789abcdef","vid":"fedcba9876543210fedcba9876543210"}`,
		`{"site":"shop","slots":["hero"],"slots":["pricing_offer"]}`,
		`{"site":"shop","consent":"granted","consent":"denied"}`,
	} {
		hit := ts.do(t, "POST", "/v1/hit", body)
		dec := ts.do(t, "POST", "/v1/decide", body)
		he := decode[struct{ Error, Reason string }](t, hit.body)
		de := decode[struct{ Error, Reason string }](t, dec.body)
		if hit.status != 400 || he.Reason != "bad_json" || !strings.Contains(he.Error, "duplicate key") {
			t.Fatalf("hit %s: %d %s; want 400 bad_json, duplicate key", body, hit.status, hit.body)
		}
		if dec.status != 400 || de.Reason != he.Reason || de.Error != "decide body: "+he.Error {
			t.Errorf("decide %s: %d %s; want 400 %s saying %q as the hit does", body, dec.status, dec.body, he.Reason, he.Error)
		}
	}
	r := ts.do(t, "POST", "/v1/decide", `{"site":"shop","url":"https://shop.example/","url":"https://shop.example/pricing"}`)
	if e := decode[struct{ Error, Reason string }](t, r.body); r.status != 400 || e.Error != `decide body: duplicate key "url"` {
		t.Errorf("decide with two urls: %d %s; want 400 duplicate key \"url\"", r.status, r.body)
	}
	// Each member once is decided.
	r = ts.do(t, "POST", "/v1/decide", `{"site":"shop","vid":null,"consent":"granted","slots":["hero"],"url":"https://shop.example/"}`)
	if d := decode[hitReply](t, r.body); r.status != 200 || d.Decisions.Slots["hero"].Variant == "" {
		t.Fatalf("decide with every member once: %d %s; want the hero decided", r.status, r.body)
	}
}
