package event

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

func TestRecordRoundTrip(t *testing.T) {
	full := sampleHit()
	otherURL := sampleHit()
	otherURL.Page.URL = "https://canonical.example/"
	noPage := sampleHit()
	noPage.Page = Page{}
	bot := sampleHit()
	bot.Device = Device{Type: DeviceBot, Bot: true}
	bot.Event.TS = 0
	odd := sampleHit()
	odd.Time = -5
	odd.Event.TS = math.MaxInt64
	odd.Event.EngagedMS = math.MinInt64
	odd.Event.ScrollPct = -3
	odd.Event.Type = Type(200)
	odd.Event.Props = Props{
		{Key: "nan", Val: NumberValue(math.NaN())},
		{Key: "inf", Val: NumberValue(math.Inf(-1))},
		{Key: "neg0", Val: NumberValue(math0())},
		{Key: "big", Val: NumberValue(1 << 60)},
		{Key: "max", Val: NumberValue(1 << 53)},
		{Key: "", Val: StringValue("")},
		{Key: "bin", Val: StringValue("\x00\xff")},
	}
	tests := []struct {
		name string
		hit  *Hit
	}{
		{"full", full},
		{"page url differs", otherURL},
		{"no page", noPage},
		{"bot without ts", bot},
		{"edge values", odd},
		{"empty", &Hit{}},
		{"nil event", &Hit{Site: "demo", Time: testNow}},
	}
	for _, tt := range tests {
		rec := AppendRecord([]byte("prefix"), tt.hit)
		if string(rec[:6]) != "prefix" {
			t.Fatalf("AppendRecord(%s) overwrote dst: %q", tt.name, rec[:6])
		}
		rec = rec[6:]
		var h Hit
		var e Event
		if err := DecodeRecord(rec, &h, &e); err != nil {
			t.Errorf("DecodeRecord(AppendRecord(%s)) = %v", tt.name, err)
			continue
		}
		if h.Event != &e {
			t.Errorf("DecodeRecord(%s).Event = %p; want the event passed in, %p", tt.name, h.Event, &e)
		}
		if !sameHit(&h, tt.hit) {
			t.Errorf("DecodeRecord(AppendRecord(%s)) = %+v %+v; want %+v %+v", tt.name, h, e, *tt.hit, tt.hit.Event)
		}
	}
}

func TestRecordRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	str := func() string {
		b := make([]byte, r.IntN(20))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return string(b)
	}
	props := func() Props {
		var p Props
		for range r.IntN(4) {
			var v Value
			switch r.IntN(5) {
			case 0:
				v = StringValue(str())
			case 1:
				v = NumberValue(float64(r.Int64N(1<<60) - 1<<59))
			case 2:
				v = NumberValue(r.NormFloat64())
			case 3:
				v = BoolValue(r.IntN(2) == 0)
			}
			p = append(p, Prop{Key: str(), Val: v})
		}
		return p
	}
	var h2 Hit
	var e2 Event
	for range 2000 {
		e := &Event{
			ID: str(), Type: Type(r.IntN(6)), Name: str(), TS: r.Int64() >> r.IntN(64), URL: str(),
			Ref: str(), Title: str(), Props: props(), UserID: str(), Traits: props(), Prompt: str(),
			Action: str(), Answer: str(), EngagedMS: r.Int64() >> r.IntN(64), ScrollPct: r.IntN(200) - 50,
		}
		h := &Hit{
			Event: e, Site: str(), VID: str(), Time: r.Int64() >> r.IntN(64),
			Device: Device{Type: DeviceType(r.IntN(5)), OS: str(), Browser: str(), Bot: r.IntN(2) == 0},
			Geo:    Geo{Country: str(), Region: str(), City: str(), TimeZone: str()},
			Page:   Page{URL: e.URL, Host: str(), Path: str()},
			Source: Source{Source: str(), Medium: str(), Campaign: str(), Term: str(), Content: str(), Channel: str(), RefHost: str()},
		}
		if r.IntN(3) == 0 {
			h.Page.URL = str()
		}
		for range r.IntN(3) {
			h.Source.ClickIDs = append(h.Source.ClickIDs, ClickID{Name: str(), Value: str()})
		}
		rec := AppendRecord(nil, h)
		// Decoding into a reused hit and event must leave nothing of the previous record.
		if err := DecodeRecord(rec, &h2, &e2); err != nil {
			t.Fatalf("DecodeRecord(AppendRecord(%+v)) = %v", h, err)
		}
		if !sameHit(&h2, h) {
			t.Fatalf("DecodeRecord(AppendRecord(%+v %+v)) = %+v %+v", *h, *e, h2, e2)
		}
	}
}

func TestDecodeRecordCorrupt(t *testing.T) {
	good := AppendRecord(nil, sampleHit())
	// Every truncation fails cleanly.
	for n := range len(good) {
		var h Hit
		var e Event
		if err := DecodeRecord(good[:n], &h, &e); !errors.Is(err, ErrCorruptRecord) {
			t.Errorf("DecodeRecord(record[:%d]) = %v; want ErrCorruptRecord", n, err)
		}
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"version 0", []byte{0, 0, 0, 0}, ErrRecordVersion},
		{"version 2", append([]byte{2}, good[1:]...), ErrRecordVersion},
		{"unknown flag", append([]byte{1, 0x80}, good[2:]...), ErrCorruptRecord},
		{"trailing byte", append(append([]byte(nil), good...), 0), ErrCorruptRecord},
		{"huge string length", []byte{1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrCorruptRecord},
		{"overlong varint", []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrCorruptRecord},
	}
	for _, tt := range tests {
		var h Hit
		var e Event
		if err := DecodeRecord(tt.data, &h, &e); !errors.Is(err, tt.want) {
			t.Errorf("DecodeRecord(%s) = %v; want %v", tt.name, err, tt.want)
		}
	}

	// A props count larger than the record must not be trusted to size an allocation.
	h := &Hit{Event: &Event{}}
	rec := AppendRecord(nil, h)
	// The props count follows the eleven empty strings and two varints after the header
	// and time.
	at := 4 + 1 + 11 + 2
	if rec[at] != 0 {
		t.Fatalf("record layout changed: byte %d = %d; want the props count 0", at, rec[at])
	}
	bad := append(append(append([]byte(nil), rec[:at]...), 0xff, 0xff, 0xff, 0xff, 0x7f), rec[at+1:]...)
	var dh Hit
	var de Event
	if err := DecodeRecord(bad, &dh, &de); !errors.Is(err, ErrCorruptRecord) {
		t.Errorf("DecodeRecord(huge props count) = %v; want ErrCorruptRecord", err)
	}
	if cap(de.Props) > len(bad) {
		t.Errorf("DecodeRecord(huge props count) grew props to %d; want no more than the record size %d", cap(de.Props), len(bad))
	}
}

func TestAppendRecordJSON(t *testing.T) {
	got := AppendRecordJSON(nil, sampleHit())
	want := `{"id":"0b7c3f2e-6f1d-4a8e-9c1a-2f5d3e4b6a70","type":"event","name":"purchase","ts":1700000000000,` +
		`"client_ts":1699999998500,"site":"demo","vid":"v_8f14e45fceea167a",` +
		`"url":"https://shop.example.com/checkout/done?utm_source=google&utm_medium=cpc&gclid=abc123",` +
		`"path":"/checkout/done","host":"shop.example.com","ref":"https://www.google.com/",` +
		`"title":"Thank you \"for\" shopping – Example",` +
		`"props":{"value":59.9,"items":2,"coupon":"WINTER<10>","first":true,"gift":false,"note":null,"neg":-12,"tiny":1e-9},` +
		`"user_id":"user-42","traits":{"plan":"pro"},"prompt":"nps","action":"answered","answer":"line one\nline two",` +
		`"engaged_ms":15400,"scroll":72,"device":{"type":"mobile","os":"iOS","browser":"Safari"},` +
		`"geo":{"country":"GB","region":"ENG","city":"London","tz":"Europe/London"},` +
		`"source":{"source":"google","medium":"cpc","campaign":"winter","term":"shoes","content":"ad-1",` +
		`"channel":"Paid Search","ref_host":"www.google.com","click_ids":{"gclid":"abc123","msclkid":"x"}}}`
	if string(got) != want {
		t.Errorf("AppendRecordJSON(sampleHit) =\n%s\nwant\n%s", got, want)
	}

	tests := []struct {
		name string
		hit  *Hit
		want string
	}{
		{"empty", &Hit{}, `{}`},
		{"nil event, bot", &Hit{Time: 5, Device: Device{Bot: true}}, `{"ts":5,"device":{"bot":true}}`},
		{"same client ts", &Hit{Time: 5, Event: &Event{TS: 5, Type: TypePageview}}, `{"type":"pageview","ts":5}`},
	}
	for _, tt := range tests {
		if got := string(AppendRecordJSON(nil, tt.hit)); got != tt.want {
			t.Errorf("AppendRecordJSON(%s) = %s; want %s", tt.name, got, tt.want)
		}
	}
}

func TestAppendRecordJSONEscaping(t *testing.T) {
	nasty := []string{
		"quote\" backslash\\ slash/", "ctl\x00\x01\x1f\x7f", "nl\n\r\t", "\u2028\u2029", "é😀中",
		"bad\xffutf8\xc3", "<script>&amp;</script>", "",
	}
	for _, s := range nasty {
		h := &Hit{
			Event: &Event{ID: s, Props: Props{{Key: s, Val: StringValue(s)}, {Key: "n", Val: NumberValue(math.NaN())}}},
			Site:  s, Source: Source{ClickIDs: []ClickID{{Name: s + "k", Value: s}}},
		}
		js := AppendRecordJSON(nil, h)
		if !json.Valid(js) {
			t.Errorf("AppendRecordJSON(%q) = %s; not valid JSON", s, js)
			continue
		}
		var got struct {
			ID     string         `json:"id"`
			Site   string         `json:"site"`
			Props  map[string]any `json:"props"`
			Source struct {
				ClickIDs map[string]string `json:"click_ids"`
			} `json:"source"`
		}
		if err := json.Unmarshal(js, &got); err != nil {
			t.Errorf("json.Unmarshal(AppendRecordJSON(%q)) = %v", s, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		wantProps := map[string]any{want: want, "n": nil}
		if s == "" {
			wantProps = map[string]any{"": "", "n": nil}
		}
		if got.ID != want || got.Site != want || !reflect.DeepEqual(got.Props, wantProps) || got.Source.ClickIDs[want+"k"] != want {
			t.Errorf("AppendRecordJSON(%q) decodes to %+v; want every string %q", s, got, want)
		}
	}
}

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0"},
		{math0(), "-0"},
		{1, "1"},
		{-12.5, "-12.5"},
		{59.9, "59.9"},
		{1e20, "100000000000000000000"},
		{1e21, "1e+21"},
		{1e-6, "0.000001"},
		{1e-7, "1e-7"},
		{1.5e-300, "1.5e-300"},
		{math.Inf(1), "null"},
		{math.NaN(), "null"},
	}
	for _, tt := range tests {
		got := string(appendFloat(nil, tt.f))
		if got != tt.want {
			t.Errorf("appendFloat(%v) = %s; want %s", tt.f, got, tt.want)
		}
		if !math.IsNaN(tt.f) && !math.IsInf(tt.f, 0) {
			ref, _ := json.Marshal(tt.f)
			if got != string(ref) && !(tt.f == 0 && math.Signbit(tt.f)) {
				t.Errorf("appendFloat(%v) = %s; encoding/json writes %s", tt.f, got, ref)
			}
		}
	}
}
