package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// inBatch wraps event objects in a batch body.
func inBatch(events ...string) string {
	return `{"site":"demo","events":[` + strings.Join(events, ",") + `]}`
}

// props returns a props object with n keys.
func props(n int) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"k%d":%d`, i, i)
	}
	sb.WriteByte('}')
	return sb.String()
}

func TestDecodeBatchShapes(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		site    string
		vid     string
		consent Consent
		ids     []string
		slots   []string
	}{
		{"batch", pageviewBody, "demo", "v_8f14e45fceea167a", ConsentGranted,
			[]string{"0b7c3f2e-6f1d-4a8e-9c1a-2f5d3e4b6a70"}, []string{"hero", "sidebar"}},
		{"single event", `{"site":"demo","vid":"v1","consent":"denied","id":"e1","type":"pageview","slots":["hero"]}`,
			"demo", "v1", ConsentDenied, []string{"e1"}, []string{"hero"}},
		{"single event, fields after batch members", `{"slots":["a"],"type":"pageview","site":"s","id":"e1"}`,
			"s", "", ConsentUnset, []string{"e1"}, []string{"a"}},
		{"empty batch", `{"events":[]}`, "", "", ConsentUnset, nil, nil},
		{"null events is a batch", `{"site":"demo","events":null}`, "demo", "", ConsentUnset, nil, nil},
		{"an empty site is no site", `{"site":"","slots":["hero"]}`, "", "", ConsentUnset, nil, []string{"hero"}},
		{"slots no rule can define are not asked", `{"slots":["a","","` + strings.Repeat("s", 65) + `","b"]}`, "", "", ConsentUnset, nil, []string{"a", "b"}},
		{"slots past the 20th are not asked", `{"slots":[` + strings.Repeat(`"s",`, 24) + `"s"]}`, "", "", ConsentUnset, nil, strings.Split(strings.Repeat("s,", 19)+"s", ",")},
		{"decisions only", `{"site":"demo","slots":["hero"]}`, "demo", "", ConsentUnset, nil, []string{"hero"}},
		{"empty object", `{}`, "", "", ConsentUnset, nil, nil},
		{"nulls are absent", `{"site":null,"vid":null,"consent":null,"slots":null,"events":[{"id":"e1","type":"pageview","url":null,"ts":null,"props":null}]}`,
			"", "", ConsentUnset, []string{"e1"}, nil},
		{"whitespace everywhere", " \t\r\n{ \"site\" : \"demo\" , \"events\" : [ { \"id\" : \"e1\" , \"type\" : \"pageview\" } ] } \n",
			"demo", "", ConsentUnset, []string{"e1"}, nil},
		{"escaped member names", `{"s\u0069te":"demo","\u0065vents":[{"\u0069d":"e1","typ\u0065":"pageview"}]}`,
			"demo", "", ConsentUnset, []string{"e1"}, nil},
		{"unknown members of every kind", `{"x":{"a":[1,{"b":null}],"c":"\"}"},"events":[{"id":"e1","type":"pageview","future":[[],{}],"n":-1.5e-3}],"y":true}`,
			"", "", ConsentUnset, []string{"e1"}, nil},
		{"empty consent", `{"consent":"","events":[]}`, "", "", ConsentUnset, nil, nil},
		{"bad vid dropped: too long", `{"vid":"` + strings.Repeat("v", 65) + `","events":[]}`, "", "", ConsentUnset, nil, nil},
		{"bad vid dropped: space", `{"vid":"a b","events":[]}`, "", "", ConsentUnset, nil, nil},
		{"bad vid dropped: non-ASCII", `{"vid":"caf\u00e9","events":[]}`, "", "", ConsentUnset, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Batch
			rej, err := DecodeBatch([]byte(tt.body), &b, testNow, nil)
			if err != nil || len(rej) != 0 {
				t.Fatalf("DecodeBatch(%q) = %v, %v; want no rejections, nil", tt.body, rej, err)
			}
			var ids []string
			for _, e := range b.Events {
				ids = append(ids, e.ID)
			}
			got := fmt.Sprintf("site=%q vid=%q consent=%d ids=%q slots=%q", b.Site, b.VID, b.Consent, ids, b.Slots)
			want := fmt.Sprintf("site=%q vid=%q consent=%d ids=%q slots=%q", tt.site, tt.vid, tt.consent, tt.ids, tt.slots)
			if got != want {
				t.Errorf("DecodeBatch(%q) = %s; want %s", tt.body, got, want)
			}
		})
	}
}

func TestDecodeBatchFields(t *testing.T) {
	var b Batch
	if _, err := DecodeBatch([]byte(pageviewBody), &b, testNow, nil); err != nil {
		t.Fatalf("DecodeBatch(pageviewBody) = %v", err)
	}
	want := Event{
		ID:    "0b7c3f2e-6f1d-4a8e-9c1a-2f5d3e4b6a70",
		Type:  TypePageview,
		TS:    1700000000000,
		URL:   "https://shop.example.com/products/blue-shoe?utm_source=newsletter&utm_medium=email",
		Ref:   "https://mail.example.net/",
		Title: "Blue Shoe – Example Shop",
		Props: Props{
			{Key: "category", Val: StringValue("shoes")},
			{Key: "price", Val: NumberValue(59.9)},
			{Key: "logged_in", Val: BoolValue(false)},
		},
	}
	if len(b.Events) != 1 || !sameEvent(&b.Events[0], &want) {
		t.Fatalf("DecodeBatch(pageviewBody).Events = %+v; want [%+v]", b.Events, want)
	}

	body := inBatch(`{"id":"p1","type":"prompt","prompt":"nps","action":"answered","answer":"9 \ud83d\ude00",` +
		`"user_id":"u1","traits":{"plan":"pro","seats":3,"trial":true,"churn":null},"engaged_ms":1234.9,"scroll":55.5,"name":"n"}`)
	if _, err := DecodeBatch([]byte(body), &b, testNow, nil); err != nil {
		t.Fatalf("DecodeBatch(%q) = %v", body, err)
	}
	want = Event{
		ID: "p1", Type: TypePrompt, Name: "n", Prompt: "nps", Action: ActionAnswered, Answer: "9 😀",
		UserID: "u1", EngagedMS: 1234, ScrollPct: 55,
		Traits: Props{
			{Key: "plan", Val: StringValue("pro")},
			{Key: "seats", Val: NumberValue(3)},
			{Key: "trial", Val: BoolValue(true)},
			{Key: "churn", Val: Value{}},
		},
	}
	if len(b.Events) != 1 || !sameEvent(&b.Events[0], &want) {
		t.Errorf("DecodeBatch(%q).Events = %+v; want [%+v]", body, b.Events, want)
	}
}

func TestDecodeBatchDuplicateProps(t *testing.T) {
	body := inBatch(`{"id":"e1","type":"pageview","props":{"a":1,"b":2,"a":"last","c":3,"b":null}}`)
	var b Batch
	if _, err := DecodeBatch([]byte(body), &b, testNow, nil); err != nil {
		t.Fatalf("DecodeBatch(%q) = %v", body, err)
	}
	want := Props{{Key: "a", Val: StringValue("last")}, {Key: "b", Val: Value{}}, {Key: "c", Val: NumberValue(3)}}
	if len(b.Events) != 1 || !sameProps(b.Events[0].Props, want) {
		t.Errorf("DecodeBatch(%q).Events = %+v; want props %+v", body, b.Events, want)
	}
}

func TestDecodeBatchRejections(t *testing.T) {
	lim := DefaultLimits()
	long := func(n int) string { return strings.Repeat("a", n) }
	future := strconv.FormatInt(testNow+lim.MaxFuture.Milliseconds()+1, 10)
	past := strconv.FormatInt(testNow-lim.MaxPast.Milliseconds()-1, 10)
	tests := []struct {
		event  string
		id     string
		reason string
	}{
		{`{"type":"pageview"}`, "", "missing id"},
		{`{"id":"","type":"pageview"}`, "", "missing id"},
		{`{"id":"` + long(65) + `","type":"pageview"}`, "", "id longer than 64 bytes"},
		{`{"id":"a b","type":"pageview"}`, "", "id is not printable ASCII without spaces"},
		{`{"id":"caf\u00e9","type":"pageview"}`, "", "id is not printable ASCII without spaces"},
		{`{"id":"e1"}`, "e1", "missing type"},
		{`{"id":"e1","type":""}`, "e1", "missing type"},
		{`{"id":"e1","type":"foo"}`, "e1", `unknown type "foo"`},
		{`{"id":"e1","type":"` + long(40) + `"}`, "e1", `unknown type "` + long(32) + `..."`},
		{`{"id":"e1","type":"event","name":"` + long(129) + `"}`, "e1", "name longer than 128 bytes"},
		{`{"id":"e1","type":"pageview","url":"` + long(2049) + `"}`, "e1", "url longer than 2048 bytes"},
		{`{"id":"e1","type":"identify","user_id":"` + long(257) + `"}`, "e1", "user_id longer than 256 bytes"},
		{`{"id":"e1","type":"prompt","action":"shown","prompt":"` + long(129) + `"}`, "e1", "prompt id longer than 128 bytes"},
		{`{"id":"e1","type":"prompt","prompt":"p","action":"answered","answer":"` + long(2001) + `"}`, "e1", "answer longer than 2000 bytes"},
		{`{"id":"e1","type":"pageview","props":` + props(51) + `}`, "e1", "more than 50 props"},
		{`{"id":"e1","type":"identify","user_id":"u","traits":` + props(51) + `}`, "e1", "more than 50 traits"},
		{`{"id":"e1","type":"pageview","props":{"` + long(65) + `":1}}`, "e1", "prop key longer than 64 bytes"},
		{`{"id":"e1","type":"identify","user_id":"u","traits":{"` + long(65) + `":1}}`, "e1", "trait key longer than 64 bytes"},
		{`{"id":"e1","type":"pageview","props":{"":1}}`, "e1", "empty prop key"},
		{`{"id":"e1","type":"pageview","props":{"x":"` + long(1025) + `"}}`, "e1", "prop value longer than 1024 bytes"},
		{`{"id":"e1","type":"pageview","props":{"x":{"y":1}}}`, "e1", `prop "x" is not a scalar`},
		{`{"id":"e1","type":"pageview","props":{"x":[1]}}`, "e1", `prop "x" is not a scalar`},
		{`{"id":"e1","type":"identify","user_id":"u","traits":{"t":[]}}`, "e1", `trait "t" is not a scalar`},
		{`{"id":"e1","type":"pageview","props":{"x":1e400}}`, "e1", `prop "x" is out of range (numbers are limited to ±9007199254740992)`},
		{`{"id":"e1","type":"event","name":"purchase","props":{"value":1e308}}`, "e1", `prop "value" is out of range (numbers are limited to ±9007199254740992)`},
		{`{"id":"e1","type":"event","name":"purchase","props":{"value":-12345678901234567890}}`, "e1", `prop "value" is out of range (numbers are limited to ±9007199254740992)`},
		{`{"id":"e1","type":"identify","user_id":"u","traits":{"ltv":1e16}}`, "e1", `trait "ltv" is out of range (numbers are limited to ±9007199254740992)`},
		{`{"id":"e1","type":"pageview","ts":` + future + `}`, "e1", "ts more than 24h in the future"},
		{`{"id":"e1","type":"pageview","ts":1e300}`, "e1", "ts more than 24h in the future"},
		{`{"id":"e1","type":"pageview","ts":` + past + `}`, "e1", "ts older than 48h"},
		{`{"id":"e1","type":"pageview","ts":-1}`, "e1", "ts older than 48h"},
		{`{"id":"e1","type":"event"}`, "e1", "event without name"},
		{`{"id":"e1","type":"identify"}`, "e1", "identify without user_id"},
		{`{"id":"e1","type":"prompt","action":"shown"}`, "e1", "prompt without prompt id"},
		{`{"id":"e1","type":"prompt","prompt":"p"}`, "e1", "prompt without action"},
		{`{"id":"e1","type":"prompt","prompt":"p","action":"x"}`, "e1", `unknown prompt action "x"`},
		{`{"id":"e1","type":"pageview","action":"clicked"}`, "e1", `unknown prompt action "clicked"`},
		{`{"id":"e1","type":"engagement","engaged_ms":-1}`, "e1", "engaged_ms out of range"},
		{`{"id":"e1","type":"engagement","engaged_ms":86400001}`, "e1", "engaged_ms out of range"},
		{`{"id":"e1","type":"engagement","scroll":101}`, "e1", "scroll out of range 0-100"},
		{`{"id":"e1","type":"engagement","scroll":-1}`, "e1", "scroll out of range 0-100"},
	}
	for _, tt := range tests {
		body := inBatch(`{"id":"ok1","type":"pageview"}`, tt.event, `{"id":"ok2","type":"pageview"}`)
		var b Batch
		rej, err := DecodeBatch([]byte(body), &b, testNow, &lim)
		want := []Rejection{{ID: tt.id, Index: 1, Reason: tt.reason}}
		if err != nil || fmt.Sprint(rej) != fmt.Sprint(want) {
			t.Errorf("DecodeBatch(%q) = %v, %v; want %v, nil", tt.event, rej, err, want)
			continue
		}
		if len(b.Events) != 2 || b.Events[0].ID != "ok1" || b.Events[1].ID != "ok2" {
			t.Errorf("DecodeBatch(%q).Events = %+v; want ok1 and ok2", tt.event, b.Events)
		}
		// The same event alone, as a single-event body, is rejected alike.
		want[0].Index = 0
		if rej, err := DecodeBatch([]byte(tt.event), &b, testNow, &lim); err != nil || fmt.Sprint(rej) != fmt.Sprint(want) || len(b.Events) != 0 {
			t.Errorf("DecodeBatch(%q) = %v, %v, %d events; want %v, nil, 0 events", tt.event, rej, err, len(b.Events), want)
		}
	}
}

func TestDecodeBatchLimitsInclusive(t *testing.T) {
	lim := DefaultLimits()
	long := func(n int) string { return strings.Repeat("a", n) }
	events := []string{
		`{"id":"` + long(64) + `","type":"pageview","url":"` + long(2048) + `","ref":"` + long(2048) + `","title":"` + long(512) + `","props":` + props(50) + `}`,
		`{"id":"e2","type":"event","name":"` + long(128) + `","props":{"` + long(64) + `":"` + long(1024) + `"}}`,
		`{"id":"e3","type":"identify","user_id":"` + long(256) + `","traits":` + props(50) + `}`,
		`{"id":"e4","type":"prompt","prompt":"` + long(128) + `","action":"dismissed","answer":"` + long(1000) + `"}`,
		`{"id":"e5","type":"engagement","engaged_ms":86400000,"scroll":100}`,
		`{"id":"e6","type":"pageview","ts":` + strconv.FormatInt(testNow+lim.MaxFuture.Milliseconds(), 10) + `}`,
		`{"id":"e7","type":"pageview","ts":` + strconv.FormatInt(testNow-lim.MaxPast.Milliseconds(), 10) + `}`,
		`{"id":"e8","type":"pageview","ts":0,"engaged_ms":0,"scroll":0}`,
	}
	body := inBatch(events...)
	var b Batch
	rej, err := DecodeBatch([]byte(body), &b, testNow, &lim)
	if err != nil || len(rej) != 0 || len(b.Events) != len(events) {
		t.Errorf("DecodeBatch(events at their limits) = %v, %v, %d events; want none, nil, %d events", rej, err, len(b.Events), len(events))
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	many := func(n int, s string) string { return strings.TrimSuffix(strings.Repeat(s+",", n), ",") }
	tests := []struct {
		body   string
		reason string
	}{
		{``, "invalid JSON at offset 0: unexpected end of input"},
		{`   `, "invalid JSON at offset 3: unexpected end of input"},
		{`[]`, "expected a JSON object, got array"},
		{`"x"`, "expected a JSON object, got string"},
		{`null`, "expected a JSON object, got null"},
		{`12`, "expected a JSON object, got number"},
		{`[} `, "invalid JSON at offset 1: unexpected '}'"},
		{"\xef\xbb\xbf{}", "invalid JSON at offset 0: unexpected byte 0xef"},
		{`{"a":}`, "invalid JSON at offset 5: unexpected '}'"},
		{`{"a":1,}`, "invalid JSON at offset 7: unexpected '}'"},
		{`{"a":1 "b":2}`, `invalid JSON at offset 7: unexpected '"'`},
		{`{1:2}`, "invalid JSON at offset 1: unexpected '1'"},
		{`{"a" 1}`, "invalid JSON at offset 5: unexpected '1'"},
		{`{"a":1} x`, "invalid JSON at offset 8: unexpected 'x'"},
		{`{"a":1}{}`, "invalid JSON at offset 7: unexpected '{'"},
		{`{"a":"b`, "invalid JSON at offset 7: unexpected end of input in string"},
		{"{\"a\":\"\x01\"}", "invalid JSON at offset 6: control character in string"},
		{`{"a":"\q"}`, `invalid JSON at offset 6: invalid escape '\q'`},
		{`{"a":"\u12"}`, `invalid JSON at offset 6: invalid \u escape`},
		{`{"id":"\u12x4","type":"pageview"}`, `invalid JSON at offset 7: invalid \u escape`},
		{`{"a":01}`, "invalid JSON at offset 6: unexpected '1'"},
		{`{"a":1.}`, "invalid JSON at offset 7: invalid number"},
		{`{"a":1e}`, "invalid JSON at offset 7: invalid number"},
		{`{"a":-}`, "invalid JSON at offset 6: invalid number"},
		{`{"a":+1}`, "invalid JSON at offset 5: unexpected '+'"},
		{`{"a":tru}`, "invalid JSON at offset 8: unexpected '}'"},
		{`{"a":nul`, "invalid JSON at offset 8: unexpected end of input"},
		{`{"a":` + strings.Repeat("[", 40), "invalid JSON at offset 36: nesting deeper than 32 levels"},
		{`{"events":[{"id":"e1","type":"pageview","props":{"x":` + strings.Repeat("[", 30) + `]}}]}`,
			"invalid JSON at offset 81: nesting deeper than 32 levels"},
		{`{"events":{}}`, "events: expected array, got object"},
		{`{"events":"x"}`, "events: expected array, got string"},
		{`{"events":[1]}`, "events[0]: expected object, got number"},
		{`{"events":[{},[]]}`, "events[1]: expected object, got array"},
		{`{"events":[{"props":[]}]}`, "events[0].props: expected object, got array"},
		{`{"events":[{},{},{},{"props":"x"}]}`, "events[3].props: expected object, got string"},
		{`{"events":[{"traits":1}]}`, "events[0].traits: expected object, got number"},
		{`{"events":[{"ts":"1700000000000"}]}`, "events[0].ts: expected number, got string"},
		{`{"events":[{"scroll":true}]}`, "events[0].scroll: expected number, got boolean"},
		{`{"events":[{"engaged_ms":{}}]}`, "events[0].engaged_ms: expected number, got object"},
		{`{"events":[{"id":1}]}`, "events[0].id: expected string, got number"},
		{`{"events":[{"type":["pageview"]}]}`, "events[0].type: expected string, got array"},
		{`{"events":[{"url":false}]}`, "events[0].url: expected string, got boolean"},
		{`{"events":[{"props":{"a":}}]}`, "invalid JSON at offset 25: unexpected '}'"},
		{`{"id":1}`, "id: expected string, got number"},
		{`{"site":"s","props":[1]}`, "props: expected object, got array"},
		{`{"site":1}`, "site: expected string, got number"},
		{`{"vid":true}`, "vid: expected string, got boolean"},
		{`{"consent":0}`, "consent: expected string, got number"},
		{`{"consent":"maybe"}`, `consent: unknown value "maybe"`},
		{`{"site":"` + strings.Repeat("s", 65) + `"}`, "site longer than 64 bytes"},
		{`{"site":"my site"}`, "site is not printable ASCII without spaces"},
		{`{"site":"a b"}`, "site is not printable ASCII without spaces"},
		{`{"id":"top","type":"pageview","events":[{"id":"e1","type":"pageview"}]}`, `event members beside "events": a body is one event, or a batch with every event in "events"`},
		{`{"events":null,"url":"https://shop.example/"}`, `event members beside "events": a body is one event, or a batch with every event in "events"`},
		{`{"slots":"hero"}`, "slots: expected array, got string"},
		{`{"slots":[1]}`, "slots[0]: expected string, got number"},
		{`{"events":[` + many(101, `{}`) + `]}`, "more than 100 events"},
		{`{"site":"a","site":"b"}`, `duplicate key "site"`},
		{`{"events":[],"events":[]}`, `duplicate key "events"`},
		{`{"id":"a","id":"b"}`, `duplicate key "id"`},
		{`{"events":[{"id":"a","type":"pageview","id":"b"}]}`, `events[0]: duplicate key "id"`},
		{`{"events":[{"props":{},"pr\u006fps":{}}]}`, `events[0]: duplicate key "props"`},
	}
	for _, tt := range tests {
		var b Batch
		rej, err := DecodeBatch([]byte(tt.body), &b, testNow, nil)
		var de *DecodeError
		if !errors.As(err, &de) || de.Reason != tt.reason {
			t.Errorf("DecodeBatch(%q) = %v, %v; want DecodeError %q", tt.body, rej, err, tt.reason)
			continue
		}
		if rej != nil || len(b.Events) != 0 || len(b.Slots) != 0 {
			t.Errorf("DecodeBatch(%q) kept %v, %d events, %d slots after an error; want nothing", tt.body, rej, len(b.Events), len(b.Slots))
		}
		if de.Offset < 0 || de.Offset > len(tt.body) {
			t.Errorf("DecodeBatch(%q).Offset = %d; want within the body", tt.body, de.Offset)
		}
	}
}

func TestDecodeBatchStrings(t *testing.T) {
	tests := []struct {
		json string // the JSON text of a string, quotes included
		want string
	}{
		{`"plain"`, "plain"},
		{`""`, ""},
		{`"\"\\\/\b\f\n\r\t"`, "\"\\/\b\f\n\r\t"},
		{`"\u0041\u00e9\u20AC"`, "Aé€"},
		{`"\u0000"`, "\x00"},
		{`"\ud83d\ude00"`, "😀"},
		{`"\uD83D\uDE00x"`, "😀x"},
		{`"\ud83d"`, "\uFFFD"},
		{`"\ud83dx"`, "\uFFFDx"},
		{`"\ude00\ud83d"`, "\uFFFD\uFFFD"},
		{`"\ud83d\u0041"`, "\uFFFDA"},
		{`"\ud83d\ud83d\ude00"`, "\uFFFD😀"},
		{`"é😀 raw"`, "é😀 raw"},
		{"\"\xff\"", "\uFFFD"},
		{"\"a\xc3\"", "a\uFFFD"},
		{"\"\xed\xa0\x80\"", "\uFFFD\uFFFD\uFFFD"},
		{"\"\u2028\"", "\u2028"},
		{`"a\\u0041"`, `a\u0041`},
	}
	for _, tt := range tests {
		var ref string
		if err := json.Unmarshal([]byte(tt.json), &ref); err != nil || ref != tt.want {
			t.Errorf("json.Unmarshal(%s) = %q, %v; the table disagrees with encoding/json: want %q", tt.json, ref, err, tt.want)
		}
		prop := ""
		if tt.want != "" {
			prop = `,"props":{` + tt.json + `:` + tt.json + `}`
		}
		body := `{"events":[{"id":"e1","type":"pageview","title":` + tt.json + prop + `}]}`
		var b Batch
		if rej, err := DecodeBatch([]byte(body), &b, testNow, nil); err != nil || len(b.Events) != 1 {
			t.Errorf("DecodeBatch(%s) = %v, %v; want 1 event", tt.json, rej, err)
			continue
		}
		e := &b.Events[0]
		if e.Title != tt.want {
			t.Errorf("DecodeBatch(%s).Title = %q; want %q", tt.json, e.Title, tt.want)
		}
		if tt.want != "" && (len(e.Props) != 1 || e.Props[0].Key != tt.want || e.Props[0].Val.Str != tt.want) {
			t.Errorf("DecodeBatch(%s).Props = %+v; want the key and value %q", tt.json, e.Props, tt.want)
		}
	}
}

// TestDecodeBatchCutsRefAndTitle: a referrer or title past its limit is cut, at a character
// boundary, and the event kept.
func TestDecodeBatchCutsRefAndTitle(t *testing.T) {
	lim := DefaultLimits()
	title := strings.Repeat("長", 200) // 600 bytes: the cut falls inside the 171st character
	ref := "https://ref.example/" + strings.Repeat("r", 3000)
	body := `{"events":[{"id":"e1","type":"pageview","title":"` + title + `","ref":"` + ref + `"}]}`
	var b Batch
	rej, err := DecodeBatch([]byte(body), &b, testNow, &lim)
	if err != nil || len(rej) != 0 || len(b.Events) != 1 {
		t.Fatalf("DecodeBatch = %v, %v, %d events; want the event kept", rej, err, len(b.Events))
	}
	if e := b.Events[0]; e.Title != strings.Repeat("長", 170) || e.Ref != ref[:lim.MaxURL] {
		t.Fatalf("title %d bytes, ref %d bytes; want 510 (170 whole characters) and %d", len(e.Title), len(e.Ref), lim.MaxURL)
	}
}

func TestDecodeBatchNumbers(t *testing.T) {
	tests := []struct {
		json string
		want Value
	}{
		{`0`, NumberValue(0)},
		{`-0`, NumberValue(math0())},
		{`42`, NumberValue(42)},
		{`-17`, NumberValue(-17)},
		{`59.9`, NumberValue(59.9)},
		{`1e3`, NumberValue(1000)},
		{`1E+3`, NumberValue(1000)},
		{`2.5e-3`, NumberValue(0.0025)},
		{`123456789012345`, NumberValue(123456789012345)},
		{`-9007199254740992`, NumberValue(-9007199254740992)},
		{`9007199254740993`, NumberValue(9007199254740992)},
		{`1e-400`, NumberValue(0)},
		{`true`, BoolValue(true)},
		{`false`, BoolValue(false)},
		{`null`, Value{}},
	}
	for _, tt := range tests {
		body := `{"events":[{"id":"e1","type":"pageview","props":{"n":` + tt.json + `}}]}`
		var b Batch
		if _, err := DecodeBatch([]byte(body), &b, testNow, nil); err != nil || len(b.Events) != 1 {
			t.Errorf("DecodeBatch(%s) = %v, %d events", tt.json, err, len(b.Events))
			continue
		}
		if got := b.Events[0].Props[0].Val; !sameValue(got, tt.want) {
			t.Errorf("DecodeBatch(%s) prop = %+v; want %+v", tt.json, got, tt.want)
		}
	}
}

// math0 returns negative zero, which a constant expression cannot.
func math0() float64 {
	z := 0.0
	return -z
}

func TestDecodeBatchTimeFields(t *testing.T) {
	body := inBatch(`{"id":"e1","type":"engagement","ts":1700000000000.7,"engaged_ms":1.5e3,"scroll":99.9}`)
	var b Batch
	if _, err := DecodeBatch([]byte(body), &b, testNow, nil); err != nil || len(b.Events) != 1 {
		t.Fatalf("DecodeBatch(%q) = %v, %d events; want nil, 1 event", body, err, len(b.Events))
	}
	e := b.Events[0]
	if e.TS != 1700000000000 || e.EngagedMS != 1500 || e.ScrollPct != 99 {
		t.Errorf("DecodeBatch(%q) = ts %d, engaged %d, scroll %d; want 1700000000000, 1500, 99", body, e.TS, e.EngagedMS, e.ScrollPct)
	}
	// The window follows the clock it is given.
	later := testNow + 72*time.Hour.Milliseconds()
	rej, err := DecodeBatch([]byte(body), &b, later, nil)
	if err != nil || len(rej) != 1 || rej[0].Reason != "ts older than 48h" {
		t.Errorf("DecodeBatch(%q, now+72h) = %v, %v; want ts older than 48h", body, rej, err)
	}
}

func TestDecodeBatchNoAlias(t *testing.T) {
	body := []byte(`{"site":"demo","vid":"visitor1","events":[{"id":"e1","type":"identify","name":"nm","url":"https://u/",` +
		`"ref":"https://r/","title":"tt","props":{"pk":"pv"},"user_id":"uid","traits":{"tk":"tv"},"answer":"ans",` +
		`"prompt":"pr","action":"shown"}],"slots":["hero"]}`)
	var b Batch
	if _, err := DecodeBatch(body, &b, testNow, nil); err != nil || len(b.Events) != 1 {
		t.Fatalf("DecodeBatch(%q) = %v, %d events", body, err, len(b.Events))
	}
	before := string(AppendBatchJSON(nil, &b))
	for i := range body {
		body[i] = 'X'
	}
	if after := string(AppendBatchJSON(nil, &b)); after != before {
		t.Errorf("after overwriting the body, batch = %s; want %s", after, before)
	}
}

func TestDecodeBatchReuse(t *testing.T) {
	var b Batch
	first := inBatch(
		`{"id":"a","type":"pageview","props":{"p":"1","q":"2"}}`,
		`{"id":"bad","type":"nope","props":{"x":"1"}}`,
		`{"id":"c","type":"identify","user_id":"u","traits":{"t":"1"},"props":{"r":"3"}}`,
	)
	rej, err := DecodeBatch([]byte(first), &b, testNow, nil)
	if err != nil || len(rej) != 1 || len(b.Events) != 2 {
		t.Fatalf("DecodeBatch(%q) = %v, %v, %d events; want 1 rejection, 2 events", first, rej, err, len(b.Events))
	}
	// Each kept event must own its props storage, or the next decode would corrupt it.
	b.Events[0].Props = append(b.Events[0].Props[:0], Prop{Key: "changed"})
	if got := b.Events[1].Props; len(got) != 1 || got[0].Key != "r" {
		t.Fatalf("after editing event 0, event 1 props = %+v; want [r]", got)
	}

	second := `{"events":[{"id":"z","type":"event","name":"n"},{"id":"y","type":"pageview"},{"id":"x","type":"pageview"}]}`
	if _, err := DecodeBatch([]byte(second), &b, testNow, nil); err != nil || len(b.Events) != 3 {
		t.Fatalf("DecodeBatch(%q) = %v, %d events", second, err, len(b.Events))
	}
	for _, e := range b.Events {
		if len(e.Props) != 0 || len(e.Traits) != 0 || e.UserID != "" {
			t.Errorf("reused event %q = %+v; want nothing left from the previous batch", e.ID, e)
		}
	}
	if b.Site != "" || len(b.Slots) != 0 {
		t.Errorf("reused batch = site %q, slots %q; want empty", b.Site, b.Slots)
	}

	b.Reset()
	if len(b.Events) != 0 || cap(b.Events) < 3 {
		t.Errorf("Reset() = %d events, cap %d; want 0 events, capacity kept", len(b.Events), cap(b.Events))
	}
}
