package event

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeDecide(t *testing.T) {
	body := []byte(`{"site":"demo","vid":"0123456789abcdef0123456789abcdef","consent":"denied",` +
		`"slots":["hero","","` + strings.Repeat("s", 65) + `","pricing"],"url":"https://shop.example/\u00e9"}`)
	var b Batch
	url, err := DecodeDecide(body, &b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Site != "demo" || b.VID != "0123456789abcdef0123456789abcdef" || b.Consent != ConsentDenied ||
		strings.Join(b.Slots, ",") != "hero,pricing" || url != "https://shop.example/é" || len(b.Events) != 0 {
		t.Fatalf("decoded site %q vid %q consent %v slots %q url %q events %d", b.Site, b.VID, b.Consent, b.Slots, url, len(b.Events))
	}
	// The strings are copies: the body may be reused.
	for i := range body {
		body[i] = 'x'
	}
	if b.Site != "demo" || url != "https://shop.example/é" || b.Slots[0] != "hero" {
		t.Fatalf("strings alias the body: %q %q %q", b.Site, url, b.Slots)
	}
	// null is absent; an empty object decides with nothing.
	if url, err := DecodeDecide([]byte(` {"site":null,"url":null,"slots":null} `), &b, nil); err != nil || b.Site != "" || url != "" || len(b.Slots) != 0 {
		t.Fatalf("nulls: site %q url %q slots %q err %v", b.Site, url, b.Slots, err)
	}
}

func TestDecodeDecideErrors(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"site":"a","site":"b"}`, `duplicate key "site"`},
		{`{"url":"a","u\u0072l":"b"}`, `duplicate key "url"`},
		{`{"slots":[],"slots":[]}`, `duplicate key "slots"`},
		{`{"events":[]}`, `unknown key "events"`},
		{`{"Site":"a"}`, `unknown key "Site"`},
		{`{"url":1}`, "url: expected string, got number"},
		{`{"slots":"hero"}`, "slots: expected array, got string"},
		{`{"consent":"maybe"}`, `consent: unknown value "maybe"`},
		{`{"site":"a b"}`, "site is not printable ASCII"},
		{`[]`, "expected a JSON object, got array"},
		{`{"site":"a"} 1`, "invalid JSON at offset 13"},
		{``, "unexpected end of input"},
	}
	for _, tt := range tests {
		var b Batch
		b.Slots = append(b.Slots, "left over")
		_, err := DecodeDecide([]byte(tt.body), &b, nil)
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(de.Reason, tt.want) {
			t.Errorf("DecodeDecide(%s) = %v; want a DecodeError saying %q", tt.body, err, tt.want)
		}
		if len(b.Slots) != 0 {
			t.Errorf("DecodeDecide(%s) left slots %q after an error", tt.body, b.Slots)
		}
	}
}
