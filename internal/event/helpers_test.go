package event

import (
	"math"
	"strings"
)

// testNow is the server clock of the tests: 2023-11-14, Unix milliseconds.
const testNow int64 = 1_700_000_000_000

// pageviewBody is a typical snippet hit: one pageview with url, ref, title, three props and two
// slots.
const pageviewBody = `{"site":"demo","vid":"v_8f14e45fceea167a","consent":"granted","events":[` +
	`{"id":"0b7c3f2e-6f1d-4a8e-9c1a-2f5d3e4b6a70","type":"pageview","ts":1700000000000,` +
	`"url":"https://shop.example.com/products/blue-shoe?utm_source=newsletter&utm_medium=email",` +
	`"ref":"https://mail.example.net/","title":"Blue Shoe \u2013 Example Shop",` +
	`"props":{"category":"shoes","price":59.9,"logged_in":false}}],"slots":["hero","sidebar"]}`

// batchBody returns a batch of n events of varied types, as the snippet flushes them.
func batchBody(n int) string {
	var sb strings.Builder
	sb.WriteString(`{"site":"demo","vid":"v_8f14e45fceea167a","events":[`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		id := `"id":"evt-` + strings.Repeat("0", 3) + string(rune('a'+i%26)) + string(rune('a'+i/26)) + `"`
		switch i % 4 {
		case 0:
			sb.WriteString(`{` + id + `,"type":"pageview","ts":1700000000000,"url":"https://shop.example.com/c/shoes?page=2","ref":"https://shop.example.com/","title":"Shoes"}`)
		case 1:
			sb.WriteString(`{` + id + `,"type":"event","name":"add_to_cart","ts":1700000001000,"url":"https://shop.example.com/c/shoes?page=2","props":{"sku":"BS-42","qty":1,"price":59.9}}`)
		case 2:
			sb.WriteString(`{` + id + `,"type":"engagement","ts":1700000002000,"url":"https://shop.example.com/c/shoes?page=2","engaged_ms":15400,"scroll":72}`)
		default:
			sb.WriteString(`{` + id + `,"type":"prompt","ts":1700000003000,"prompt":"nps","action":"answered","answer":"9"}`)
		}
	}
	sb.WriteString(`],"slots":["hero"]}`)
	return sb.String()
}

// sampleHit returns a fully enriched hit, every field set.
func sampleHit() *Hit {
	e := &Event{
		ID:    "0b7c3f2e-6f1d-4a8e-9c1a-2f5d3e4b6a70",
		Type:  TypeEvent,
		Name:  "purchase",
		TS:    testNow - 1500,
		URL:   "https://shop.example.com/checkout/done?utm_source=google&utm_medium=cpc&gclid=abc123",
		Ref:   "https://www.google.com/",
		Title: "Thank you \"for\" shopping \u2013 Example",
		Props: Props{
			{Key: "value", Val: NumberValue(59.9)},
			{Key: "items", Val: NumberValue(2)},
			{Key: "coupon", Val: StringValue("WINTER<10>")},
			{Key: "first", Val: BoolValue(true)},
			{Key: "gift", Val: BoolValue(false)},
			{Key: "note", Val: Value{}},
			{Key: "neg", Val: NumberValue(-12)},
			{Key: "tiny", Val: NumberValue(1e-9)},
		},
		UserID:    "user-42",
		Traits:    Props{{Key: "plan", Val: StringValue("pro")}},
		Prompt:    "nps",
		Action:    ActionAnswered,
		Answer:    "line one\nline two",
		EngagedMS: 15400,
		ScrollPct: 72,
	}
	return &Hit{
		Event:  e,
		Site:   "demo",
		VID:    "v_8f14e45fceea167a",
		Time:   testNow,
		Device: Device{Type: DeviceMobile, OS: "iOS", Browser: "Safari"},
		Geo:    Geo{Country: "GB", Region: "ENG", City: "London", TimeZone: "Europe/London"},
		Page:   Page{URL: e.URL, Host: "shop.example.com", Path: "/checkout/done"},
		Source: Source{
			Source: "google", Medium: "cpc", Campaign: "winter", Term: "shoes", Content: "ad-1",
			Channel: "Paid Search", RefHost: "www.google.com",
			ClickIDs: []ClickID{{Name: "gclid", Value: "abc123"}, {Name: "msclkid", Value: "x"}},
		},
	}
}

// sameValue reports whether a and b are the same scalar; numbers compare by bits so that NaN
// and -0 are told apart.
func sameValue(a, b Value) bool {
	return a.Kind == b.Kind && a.Str == b.Str && math.Float64bits(a.Num) == math.Float64bits(b.Num)
}

// sameProps reports whether a and b hold the same props in the same order; nil and empty are
// the same.
func sameProps(a, b Props) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Key != b[i].Key || !sameValue(a[i].Val, b[i].Val) {
			return false
		}
	}
	return true
}

// sameEvent reports whether a and b are equal field by field.
func sameEvent(a, b *Event) bool {
	return a.ID == b.ID && a.Type == b.Type && a.Name == b.Name && a.TS == b.TS &&
		a.URL == b.URL && a.Ref == b.Ref && a.Title == b.Title && sameProps(a.Props, b.Props) &&
		a.UserID == b.UserID && sameProps(a.Traits, b.Traits) && a.Prompt == b.Prompt &&
		a.Action == b.Action && a.Answer == b.Answer && a.EngagedMS == b.EngagedMS &&
		a.ScrollPct == b.ScrollPct
}

// sameHit reports whether a and b are equal, Page.Query aside (records do not keep it).
func sameHit(a, b *Hit) bool {
	var none Event
	ea, eb := a.Event, b.Event
	if ea == nil {
		ea = &none
	}
	if eb == nil {
		eb = &none
	}
	if len(a.Source.ClickIDs) != len(b.Source.ClickIDs) {
		return false
	}
	for i := range a.Source.ClickIDs {
		if a.Source.ClickIDs[i] != b.Source.ClickIDs[i] {
			return false
		}
	}
	sa, sb := a.Source, b.Source
	sa.ClickIDs, sb.ClickIDs = nil, nil
	pa, pb := a.Page, b.Page
	pa.Query, pb.Query = nil, nil
	return sameEvent(ea, eb) && a.Site == b.Site && a.VID == b.VID && a.Time == b.Time &&
		a.Device == b.Device && a.Geo == b.Geo && pa.URL == pb.URL && pa.Host == pb.Host &&
		pa.Path == pb.Path && sa.Source == sb.Source && sa.Medium == sb.Medium &&
		sa.Campaign == sb.Campaign && sa.Term == sb.Term && sa.Content == sb.Content &&
		sa.Channel == sb.Channel && sa.RefHost == sb.RefHost
}
