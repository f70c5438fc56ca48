package automate

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules"
)

const (
	clickAt = int64(1772442000000) // 2026-03-02 09:00 UTC
	fireAt  = clickAt + 75*60*1000 // 75 minutes later
	fbclid  = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk"
)

// journeyWithClicks is a visitor who came from a Meta ad and a Google ad and bought for 49.5.
func journeyWithClicks() *journey.State {
	return &journey.State{
		VID: "0123456789abcdef0123456789abcdef", UserID: "u-42", FirstSeen: clickAt - 86_400_000, LastSeen: fireAt,
		Sessions: 2, Pageviews: 7, Stage: "retention", Segments: []string{"returning_customer"},
		Touchpoints: []journey.Touchpoint{
			{StartedAt: clickAt - 86_400_000, Channel: "Paid Search", Source: "google", Medium: "cpc", ClickIDs: []event.ClickID{{Name: "gclid", Value: "Cj0KCQ-old"}}},
			{StartedAt: clickAt, Channel: "Paid Social", Source: "facebook", Medium: "paid_social", Campaign: "spring",
				ClickIDs: []event.ClickID{{Name: "fbclid", Value: fbclid}, {Name: "gclid", Value: "Cj0KCQ-new"}}},
		},
		Steps:       []journey.Count{{Key: "purchased", N: 1, FirstAt: fireAt, LastAt: fireAt}},
		Conversions: 1, Value: 49.5,
		ConversionList: []journey.Conversion{{Step: "purchased", At: fireAt, Value: 49.5}},
		Traits:         event.Props{{Key: "plan", Val: event.StringValue("pro")}},
	}
}

func message(st *journey.State, granted bool) *Message {
	return &Message{ID: "msg_0123456789abcdef01234567", Site: "shop", St: st, Granted: granted, Now: fireAt + 1000,
		Fire: &rules.Fire{Automation: "order_placed", Trigger: "converts purchased", At: fireAt, N: 1, To: []string{"x"}}}
}

func build(t *testing.T, dest rules.Destination, m *Message) map[string]any {
	t.Helper()
	body, ok, err := Build(&dest, m)
	if err != nil || !ok {
		t.Fatalf("Build(%s) = %v, %v", dest.Format, ok, err)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

var (
	isoMillis   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	sha256Hex   = regexp.MustCompile(`^[0-9a-f]{64}$`)
	googleTime  = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d$`)
	convAction  = regexp.MustCompile(`^customers/\d+/conversionActions/\d+$`)
	currency    = regexp.MustCompile(`^[A-Z]{3}$`)
	metaSources = []string{"email", "website", "app", "phone_call", "chat", "physical_store", "system_generated", "business_messaging", "other"}
)

func TestPathlightEnvelope(t *testing.T) {
	v := build(t, rules.Destination{Format: rules.FormatPathlight}, message(journeyWithClicks(), false))
	j := v["journey"].(map[string]any)
	vis := v["visitor"].(map[string]any)
	if v["id"] != "msg_0123456789abcdef01234567" || v["type"] != "automation.fired" || v["automation"] != "order_placed" ||
		!isoMillis.MatchString(v["fired_at"].(string)) || v["occurrence"].(float64) != 1 || v["site"] != "shop" {
		t.Fatalf("envelope head = %v", v)
	}
	if vis["vid"] != "0123456789abcdef0123456789abcdef" || vis["user_id"] != "u-42" || vis["traits"].(map[string]any)["plan"] != "pro" {
		t.Fatalf("visitor = %v", vis)
	}
	if j["channel"] != "Paid Social" || j["campaign"] != "spring" || j["first_channel"] != "Paid Search" || j["stage"] != "retention" ||
		j["value"].(float64) != 49.5 || j["conversions"].(float64) != 1 || len(j["steps"].([]any)) != 1 ||
		j["click_ids"].(map[string]any)["gclid"] != "Cj0KCQ-new" || j["segments"].([]any)[0] != "returning_customer" {
		t.Fatalf("journey = %v", j)
	}
}

// The Segment spec: every call has type, a messageId unique per call, an ISO 8601 timestamp,
// and userId or anonymousId; identify has traits, track has event and properties.
func TestSegmentBatch(t *testing.T) {
	v := build(t, rules.Destination{Format: rules.FormatSegment}, message(journeyWithClicks(), false))
	calls := v["batch"].([]any)
	if len(calls) != 2 {
		t.Fatalf("batch = %v", v)
	}
	seen := map[string]bool{}
	for i, c := range calls {
		call := c.(map[string]any)
		id, _ := call["messageId"].(string)
		ts, _ := call["timestamp"].(string)
		if id == "" || seen[id] || !isoMillis.MatchString(ts) || (call["userId"] == nil && call["anonymousId"] == nil) {
			t.Fatalf("call %d = %v", i, call)
		}
		seen[id] = true
		switch call["type"] {
		case "identify":
			if tr, ok := call["traits"].(map[string]any); !ok || tr["plan"] != "pro" || tr["pathlight_stage"] != "retention" {
				t.Fatalf("identify = %v", call)
			}
		case "track":
			p, ok := call["properties"].(map[string]any)
			if call["event"] != "order_placed" || !ok || p["value"].(float64) != 49.5 || p["channel"] != "Paid Social" {
				t.Fatalf("track = %v", call)
			}
		default:
			t.Fatalf("call type %v", call["type"])
		}
	}
}

func TestMetaConversionsAPI(t *testing.T) {
	dest := rules.Destination{Format: rules.FormatMeta, Currency: "EUR", EventName: "Purchase"}
	v := build(t, dest, message(journeyWithClicks(), true))
	data := v["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("data = %v", v)
	}
	ev := data[0].(map[string]any)
	et := int64(ev["event_time"].(float64))
	if ev["event_name"] != "Purchase" || et != fireAt/1000 || ev["event_id"] != "msg_0123456789abcdef01234567" {
		t.Fatalf("event = %v", ev)
	}
	if src, _ := ev["action_source"].(string); !slices.Contains(metaSources, src) {
		t.Fatalf("action_source %q", src)
	}
	ud := ev["user_data"].(map[string]any)
	// fbc: fb.<subdomain index>.<creation time, ms>.<fbclid unmodified>.
	if ud["fbc"] != "fb.1.1772442000000."+fbclid {
		t.Fatalf("fbc = %v", ud["fbc"])
	}
	ext := ud["external_id"].([]any)
	if len(ext) != 1 || !sha256Hex.MatchString(ext[0].(string)) || strings.Contains(ext[0].(string), "u-42") {
		t.Fatalf("external_id = %v (must be hashed)", ext)
	}
	cd := ev["custom_data"].(map[string]any)
	if cd["value"].(float64) != 49.5 || !currency.MatchString(cd["currency"].(string)) {
		t.Fatalf("custom_data = %v", cd)
	}

	// Nothing goes without explicit consent, without an fbclid, or older than 7 days.
	if _, ok, _ := Build(&dest, message(journeyWithClicks(), false)); ok {
		t.Error("built without consent")
	}
	st := journeyWithClicks()
	st.Touchpoints[1].ClickIDs = st.Touchpoints[1].ClickIDs[1:]
	if _, ok, _ := Build(&dest, message(st, true)); ok {
		t.Error("built without an fbclid")
	}
	m := message(journeyWithClicks(), true)
	m.Now = fireAt + (8 * 24 * time.Hour).Milliseconds()
	if _, ok, _ := Build(&dest, m); ok {
		t.Error("built an event Meta would refuse as older than 7 days")
	}
}

func TestGoogleAdsClickConversion(t *testing.T) {
	dest := rules.Destination{Format: rules.FormatGoogleAds, Currency: "EUR", ConversionAction: "customers/1234567890/conversionActions/987654321"}
	v := build(t, dest, message(journeyWithClicks(), true))
	if v["partialFailure"] != true {
		t.Fatalf("partialFailure = %v", v["partialFailure"])
	}
	cs := v["conversions"].([]any)
	if len(cs) != 1 {
		t.Fatalf("conversions = %v", v)
	}
	c := cs[0].(map[string]any)
	ids := 0
	for _, k := range []string{"gclid", "gbraid", "wbraid"} {
		if _, ok := c[k]; ok {
			ids++
		}
	}
	dt, _ := c["conversionDateTime"].(string)
	if ids != 1 || c["gclid"] != "Cj0KCQ-new" || !convAction.MatchString(c["conversionAction"].(string)) ||
		!googleTime.MatchString(dt) || dt != "2026-03-02 10:15:00+00:00" ||
		c["conversionValue"].(float64) != 49.5 || !currency.MatchString(c["currencyCode"].(string)) || c["orderId"] != "msg_0123456789abcdef01234567" {
		t.Fatalf("conversion = %v", c)
	}
	if parsed, err := time.Parse("2006-01-02 15:04:05-07:00", dt); err != nil || parsed.UnixMilli() <= clickAt {
		t.Fatalf("conversionDateTime %q is not after the click (%v)", dt, err)
	}

	// Without consent, a Google click id, or after the 90-day window: nothing.
	if _, ok, _ := Build(&dest, message(journeyWithClicks(), false)); ok {
		t.Error("built without consent")
	}
	st := journeyWithClicks()
	st.Touchpoints = st.Touchpoints[1:]
	st.Touchpoints[0].ClickIDs = st.Touchpoints[0].ClickIDs[:1]
	if _, ok, _ := Build(&dest, message(st, true)); ok {
		t.Error("built without a gclid")
	}
	m := message(journeyWithClicks(), true)
	m.Fire.At = clickAt + (91 * 24 * time.Hour).Milliseconds()
	if _, ok, _ := Build(&dest, m); ok {
		t.Error("built a conversion 91 days after the click")
	}
}
