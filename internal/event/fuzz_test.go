package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzDecodeBatch checks that DecodeBatch never panics, agrees with encoding/json on what is
// valid JSON, keeps nothing that aliases the body, and that what it accepts survives being
// encoded with AppendBatchJSON and decoded again unchanged.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range []string{
		pageviewBody,
		batchBody(5),
		`{"site":"demo","id":"e1","type":"event","name":"signup","props":{"plan":"pro"},"slots":["hero"]}`,
		`{"events":[{"id":"e1","type":"identify","user_id":"u1","traits":{"a":1,"a":2}}]}`,
		`{"events":[{"id":"e1","type":"prompt","prompt":"nps","action":"answered","answer":"\ud83d\ude00\u2028"}]}`,
		`{"events":[{"id":"e1","type":"engagement","engaged_ms":1.5e3,"scroll":-0}],"x":[{"y":[null,true]}]}`,
		`{"events":[{"id":"e1","type":"pageview","props":{"n":-1.25e-7,"m":123456789012345678901}}]}`,
		"{\"a\":\"\xff\\ud800\\udc00\\ud800\"}",
		`{"events":[1]}`,
		`{"a":` + strings.Repeat("[", 40),
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		var b Batch
		rej, err := DecodeBatch(body, &b, testNow, nil)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("DecodeBatch(%q) = %v; want a *DecodeError", orig, err)
			}
			if strings.HasPrefix(de.Reason, "invalid JSON") && !strings.Contains(de.Reason, "nesting") && json.Valid(orig) {
				t.Fatalf("DecodeBatch(%q) = %v; encoding/json says the JSON is valid", orig, err)
			}
			return
		}
		if !json.Valid(orig) {
			t.Fatalf("DecodeBatch(%q) accepted it; encoding/json says the JSON is invalid", orig)
		}
		if len(rej)+len(b.Events) > DefaultLimits().MaxEvents {
			t.Fatalf("DecodeBatch(%q) = %d events and %d rejections; want at most %d", orig, len(b.Events), len(rej), DefaultLimits().MaxEvents)
		}
		enc := AppendBatchJSON(nil, &b)
		for i := range body {
			body[i] = '#'
		}
		if again := AppendBatchJSON(nil, &b); !bytes.Equal(again, enc) {
			t.Fatalf("DecodeBatch(%q) aliases the body: %s became %s", orig, enc, again)
		}
		var b2 Batch
		rej2, err := DecodeBatch(enc, &b2, testNow, nil)
		if err != nil || len(rej2) != 0 {
			t.Fatalf("DecodeBatch(AppendBatchJSON(DecodeBatch(%q))) = %v, %v; want it accepted whole\nre-encoded: %s", orig, rej2, err, enc)
		}
		if enc2 := AppendBatchJSON(nil, &b2); !bytes.Equal(enc2, enc) {
			t.Fatalf("round trip of %q: %s; want %s", orig, enc2, enc)
		}
	})
}

// FuzzDecodeRecord checks that DecodeRecord never panics on arbitrary bytes and that a record
// it accepts re-encodes to a record that decodes to the same hit, byte-stable from then on.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(AppendRecord(nil, sampleHit()))
	f.Add(AppendRecord(nil, &Hit{}))
	h := sampleHit()
	h.Page.URL = "https://other.example/"
	h.Event.TS = 0
	h.Event.Props = append(h.Event.Props, Prop{Key: "f", Val: NumberValue(1.5)}, Prop{Key: "z", Val: NumberValue(math0())})
	f.Add(AppendRecord(nil, h))
	f.Add([]byte{1, 0xff})
	f.Add([]byte{2})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Hit
		var e Event
		if err := DecodeRecord(data, &h, &e); err != nil {
			if !errors.Is(err, ErrCorruptRecord) && !errors.Is(err, ErrRecordVersion) {
				t.Fatalf("DecodeRecord(%x) = %v; want ErrCorruptRecord or ErrRecordVersion", data, err)
			}
			return
		}
		enc := AppendRecord(nil, &h)
		var h2 Hit
		var e2 Event
		if err := DecodeRecord(enc, &h2, &e2); err != nil {
			t.Fatalf("DecodeRecord(AppendRecord(DecodeRecord(%x))) = %v", data, err)
		}
		if !sameHit(&h, &h2) {
			t.Fatalf("round trip of %x: %+v %+v; want %+v %+v", data, h2, e2, h, e)
		}
		if enc2 := AppendRecord(nil, &h2); !bytes.Equal(enc2, enc) {
			t.Fatalf("re-encoding %x: %x; want %x", data, enc2, enc)
		}
		if js := AppendRecordJSON(nil, &h); !json.Valid(js) {
			t.Fatalf("AppendRecordJSON(DecodeRecord(%x)) = %s; not valid JSON", data, js)
		}
	})
}

// FuzzDecodeDecide checks that DecodeDecide never panics, refuses only with a *DecodeError,
// accepts only valid JSON, and agrees with encoding/json on the site and url of what it
// accepts, also once the body has been overwritten.
func FuzzDecodeDecide(f *testing.F) {
	for _, s := range []string{
		`{"site":"demo","vid":"0123456789abcdef0123456789abcdef","consent":"granted","slots":["hero","x"],"url":"https://shop.example/?a=1"}`,
		`{"site":"demo","site":"other"}`,
		`{"url":"\u00e9\ud83d\ude00","slots":null}`,
		`{"Site":"demo"}`,
		`{"site":"demo"} []`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		var b Batch
		url, err := DecodeDecide(body, &b, nil)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("DecodeDecide(%q) = %v; want a *DecodeError", orig, err)
			}
			return
		}
		for i := range body {
			body[i] = '#' // what was decoded must not change with the body
		}
		var members map[string]any
		if err := json.Unmarshal(orig, &members); err != nil {
			t.Fatalf("DecodeDecide(%q) accepted it; encoding/json says %v", orig, err)
		}
		if u, _ := members["url"].(string); u != url {
			t.Fatalf("DecodeDecide(%q) url = %q; encoding/json reads %q", orig, url, u)
		}
		if s, _ := members["site"].(string); s != b.Site {
			t.Fatalf("DecodeDecide(%q) site = %q; encoding/json reads %q", orig, b.Site, s)
		}
	})
}
