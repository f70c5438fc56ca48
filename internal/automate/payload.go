package automate

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules"
)

// Message is what a payload is built from: one firing of an automation for a visitor, to
// one destination.
type Message struct {
	ID   string // the delivery id (webhook-id)
	Site string
	Fire *rules.Fire
	St   *journey.State
	// Granted reports that the visitor's hits said consent: granted; without it nothing
	// goes to an ad platform.
	Granted bool
	Now     int64 // Unix ms the delivery is written
}

// Build returns the request body of m in the destination's format. ok is false when the
// format has nothing to send for this visitor (for an ad platform: no explicit consent, no
// click id, or a firing the platform would refuse as too old or too far from the click):
// then no delivery is stored.
func Build(dest *rules.Destination, m *Message) (body []byte, ok bool, err error) {
	if dest.AdPlatform() && !m.Granted {
		return nil, false, nil
	}
	switch dest.Format {
	case rules.FormatMeta:
		req, ok := metaEvent(dest, m)
		if !ok {
			return nil, false, nil
		}
		body, err = json.Marshal(req)
		return body, err == nil, err
	case rules.FormatGoogleAds:
		req, ok := googleConversion(dest, m)
		if !ok {
			return nil, false, nil
		}
		body, err = json.Marshal(req)
		return body, err == nil, err
	case rules.FormatPathlight, "":
		body, err = json.Marshal(envelope(m))
		return body, err == nil, err
	case rules.FormatSegment:
		body, err = json.Marshal(segmentBatch(m))
		return body, err == nil, err
	}
	return nil, false, fmt.Errorf("format %q cannot be built", dest.Format)
}

// Envelope is Pathlight's own payload: what fired, for whom, and the journey so far.
type Envelope struct {
	ID         string      `json:"id"`
	Type       string      `json:"type"` // "automation.fired"
	Automation string      `json:"automation"`
	Trigger    string      `json:"trigger"`
	Occurrence uint32      `json:"occurrence"` // the how-manieth firing for this visitor
	FiredAt    string      `json:"fired_at"`   // RFC 3339, UTC
	Site       string      `json:"site,omitempty"`
	Visitor    VisitorInfo `json:"visitor"`
	Journey    Summary     `json:"journey"`
}

// VisitorInfo is who the envelope is about.
type VisitorInfo struct {
	VID       string         `json:"vid"`
	UserID    string         `json:"user_id,omitempty"`
	FirstSeen string         `json:"first_seen,omitempty"`
	LastSeen  string         `json:"last_seen,omitempty"`
	Traits    map[string]any `json:"traits,omitempty"`
	Country   string         `json:"country,omitempty"`
	Device    string         `json:"device,omitempty"`
}

// Summary is the journey in brief: where the visitor came from, how far they went.
type Summary struct {
	Channel      string            `json:"channel,omitempty"` // of the current session
	Source       string            `json:"source,omitempty"`
	Medium       string            `json:"medium,omitempty"`
	Campaign     string            `json:"campaign,omitempty"`
	FirstChannel string            `json:"first_channel,omitempty"`
	ClickIDs     map[string]string `json:"click_ids,omitempty"`
	Stage        string            `json:"stage,omitempty"`
	Steps        []StepSummary     `json:"steps"`
	Segments     []string          `json:"segments"`
	Sessions     uint32            `json:"sessions"`
	Pageviews    uint32            `json:"pageviews"`
	Conversions  uint32            `json:"conversions"`
	Value        float64           `json:"value"`
}

// StepSummary is one step the visitor reached.
type StepSummary struct {
	ID      string `json:"id"`
	Count   uint32 `json:"count"`
	FirstAt string `json:"first_at"`
	LastAt  string `json:"last_at"`
}

func rfc3339(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

func envelope(m *Message) *Envelope {
	st, f := m.St, m.Fire
	e := &Envelope{
		ID: m.ID, Type: "automation.fired", Automation: f.Automation, Trigger: f.Trigger, Occurrence: f.N,
		FiredAt: rfc3339(f.At), Site: m.Site,
		Visitor: VisitorInfo{VID: st.VID, UserID: st.UserID, FirstSeen: rfc3339(st.FirstSeen), LastSeen: rfc3339(st.LastSeen),
			Traits: props(st.Traits), Country: st.Geo.Country, Device: st.Device.Type.String()},
		Journey: Summary{Stage: st.Stage, Segments: append([]string{}, st.Segments...), Sessions: st.Sessions,
			Pageviews: st.Pageviews, Conversions: st.Conversions, Value: st.Value, FirstChannel: st.FirstChannel(),
			Steps: []StepSummary{}},
	}
	if tp := st.Session(); tp != nil {
		e.Journey.Channel, e.Journey.Source, e.Journey.Medium, e.Journey.Campaign = tp.Channel, tp.Source, tp.Medium, tp.Campaign
	}
	e.Journey.ClickIDs = ClickIDs(st)
	for _, s := range st.Steps {
		e.Journey.Steps = append(e.Journey.Steps, StepSummary{ID: s.Key, Count: s.N, FirstAt: rfc3339(s.FirstAt), LastAt: rfc3339(s.LastAt)})
	}
	return e
}

// ClickIDs returns the newest value of each ad click id the visitor's sessions carried.
func ClickIDs(st *journey.State) map[string]string {
	var out map[string]string
	for _, tp := range st.Touchpoints {
		for _, c := range tp.ClickIDs {
			if out == nil {
				out = map[string]string{}
			}
			out[c.Name] = c.Value
		}
	}
	return out
}

func props(p event.Props) map[string]any {
	if len(p) == 0 {
		return nil
	}
	out := make(map[string]any, len(p))
	for _, kv := range p {
		switch kv.Val.Kind {
		case event.KindString:
			out[kv.Key] = kv.Val.Str
		case event.KindNumber:
			out[kv.Key] = kv.Val.Num
		case event.KindBool:
			out[kv.Key] = kv.Val.Num != 0
		default:
			out[kv.Key] = nil
		}
	}
	return out
}
