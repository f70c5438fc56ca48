package automate

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules"
)

// The ad platforms' conversion payloads, built from the click ids Pathlight recorded on the
// visitor's sessions. Field rules, from the vendors' documentation:
//
// Meta Conversions API (POST /{pixel}/events, body {"data": [event]}): event_name, event_time
// (Unix seconds, at most 7 days in the past, else the whole request is refused),
// action_source and user_data are required; user_data.fbc is "fb.1.<ms the click id was
// first seen>.<fbclid exactly as received>" and is not hashed, external_id should be hashed
// (SHA-256, hex); event_id deduplicates; custom_data carries value and currency.
//
// Google Ads click conversions (customers/{id}:uploadClickConversions): each conversion has
// exactly one of gclid, gbraid and wbraid, the conversion action's resource name, a
// conversionDateTime "yyyy-mm-dd hh:mm:ss+|-hh:mm" after the click and within 90 days of it,
// a value with its ISO 4217 currency, and an orderId that deduplicates; partialFailure must
// be true.

// MetaMaxAge is how old an event Meta's Conversions API still takes.
const MetaMaxAge = 7 * 24 * time.Hour

// GoogleClickWindow is the longest click-through window of Google Ads conversion actions.
const GoogleClickWindow = 90 * 24 * time.Hour

// MetaRequest is the body of a Conversions API call.
type MetaRequest struct {
	Data []MetaEvent `json:"data"`
}

// MetaEvent is one server event.
type MetaEvent struct {
	EventName    string          `json:"event_name"`
	EventTime    int64           `json:"event_time"`
	EventID      string          `json:"event_id"`
	ActionSource string          `json:"action_source"`
	UserData     MetaUserData    `json:"user_data"`
	CustomData   *MetaCustomData `json:"custom_data,omitempty"`
}

// MetaUserData holds the customer information parameters Pathlight has: the click id and a
// hashed external id.
type MetaUserData struct {
	Fbc        string   `json:"fbc"`
	ExternalID []string `json:"external_id"`
}

// MetaCustomData is the conversion's value.
type MetaCustomData struct {
	Value    float64 `json:"value"`
	Currency string  `json:"currency"`
}

// GoogleAdsRequest is the body of an uploadClickConversions call.
type GoogleAdsRequest struct {
	Conversions    []ClickConversion `json:"conversions"`
	PartialFailure bool              `json:"partialFailure"`
}

// ClickConversion is one Google Ads click conversion.
type ClickConversion struct {
	Gclid              string  `json:"gclid,omitempty"`
	Gbraid             string  `json:"gbraid,omitempty"`
	Wbraid             string  `json:"wbraid,omitempty"`
	ConversionAction   string  `json:"conversionAction"`
	ConversionDateTime string  `json:"conversionDateTime"`
	ConversionValue    float64 `json:"conversionValue"`
	CurrencyCode       string  `json:"currencyCode"`
	OrderID            string  `json:"orderId"`
}

// firingValue is the value of the conversion the firing is about: the conversion recorded at
// the moment it fired, 0 when there is none.
func firingValue(st *journey.State, at int64) float64 {
	for i := len(st.ConversionList) - 1; i >= 0; i-- {
		if c := st.ConversionList[i]; c.At == at {
			return c.Value
		}
	}
	return 0
}

// click returns the newest value of click id name and when its session started; "" when the
// visitor has none.
func click(st *journey.State, name string) (string, int64) {
	var v string
	var at int64
	for _, tp := range st.Touchpoints {
		for _, c := range tp.ClickIDs {
			if c.Name == name {
				v, at = c.Value, tp.StartedAt
			}
		}
	}
	return v, at
}

// hashedID is the SHA-256 (hex) of the visitor's user id, or of the visitor id.
func hashedID(st *journey.State) string {
	id := st.UserID
	if id == "" {
		id = st.VID
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func metaEvent(dest *rules.Destination, m *Message) (*MetaRequest, bool) {
	fbclid, clickAt := click(m.St, "fbclid")
	if fbclid == "" || time.Duration(m.Now-m.Fire.At)*time.Millisecond > MetaMaxAge {
		return nil, false
	}
	name := dest.EventName
	if name == "" {
		name = m.Fire.Automation
	}
	ev := MetaEvent{
		EventName: name, EventTime: m.Fire.At / 1000, EventID: m.ID, ActionSource: "system_generated",
		UserData: MetaUserData{Fbc: "fb.1." + strconv.FormatInt(clickAt, 10) + "." + fbclid, ExternalID: []string{hashedID(m.St)}},
	}
	if v := firingValue(m.St, m.Fire.At); v > 0 {
		ev.CustomData = &MetaCustomData{Value: v, Currency: dest.Currency}
	}
	return &MetaRequest{Data: []MetaEvent{ev}}, true
}

func googleConversion(dest *rules.Destination, m *Message) (*GoogleAdsRequest, bool) {
	c := ClickConversion{
		ConversionAction: dest.ConversionAction, ConversionValue: firingValue(m.St, m.Fire.At),
		CurrencyCode: dest.Currency, OrderID: m.ID,
		ConversionDateTime: time.UnixMilli(m.Fire.At).UTC().Format("2006-01-02 15:04:05-07:00"),
	}
	var clickAt int64
	switch {
	case has(m.St, "gclid"):
		c.Gclid, clickAt = click(m.St, "gclid")
	case has(m.St, "gbraid"):
		c.Gbraid, clickAt = click(m.St, "gbraid")
	case has(m.St, "wbraid"):
		c.Wbraid, clickAt = click(m.St, "wbraid")
	default:
		return nil, false
	}
	if m.Fire.At <= clickAt || time.Duration(m.Fire.At-clickAt)*time.Millisecond > GoogleClickWindow {
		return nil, false
	}
	return &GoogleAdsRequest{Conversions: []ClickConversion{c}, PartialFailure: true}, true
}

func has(st *journey.State, name string) bool {
	v, _ := click(st, name)
	return v != ""
}
