package automate

// The Segment spec's batch call (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/):
// an identify call with the visitor's traits, then a track call named after the automation,
// both with userId when the visitor is known and anonymousId always, an ISO 8601 timestamp
// and a messageId unique per call (the delivery id plus the call type), so that a receiver
// that deduplicates on messageId takes a retry once.

// SegmentBatch is the body of a Segment batch call.
type SegmentBatch struct {
	Batch []SegmentCall `json:"batch"`
}

// SegmentCall is one identify or track call of the Segment spec.
type SegmentCall struct {
	Type        string         `json:"type"`
	MessageID   string         `json:"messageId"`
	Timestamp   string         `json:"timestamp"`
	UserID      string         `json:"userId,omitempty"`
	AnonymousID string         `json:"anonymousId"`
	Event       string         `json:"event,omitempty"`      // track
	Properties  map[string]any `json:"properties,omitempty"` // track
	Traits      map[string]any `json:"traits,omitempty"`     // identify
	Context     map[string]any `json:"context,omitempty"`
}

func segmentBatch(m *Message) *SegmentBatch {
	st, f := m.St, m.Fire
	ts := rfc3339(f.At)
	traits := props(st.Traits)
	if traits == nil {
		traits = map[string]any{}
	}
	traits["pathlight_stage"] = st.Stage
	traits["pathlight_segments"] = append([]string{}, st.Segments...)
	ctx := map[string]any{"library": map[string]any{"name": "pathlight"}}
	if tp := st.Session(); tp != nil && (tp.Source != "" || tp.Campaign != "") {
		ctx["campaign"] = map[string]any{"source": tp.Source, "medium": tp.Medium, "name": tp.Campaign}
	}
	steps := make([]string, 0, len(st.Steps))
	for _, s := range st.Steps {
		steps = append(steps, s.Key)
	}
	p := map[string]any{
		"automation": f.Automation, "trigger": f.Trigger, "occurrence": f.N, "stage": st.Stage,
		"steps": steps, "segments": append([]string{}, st.Segments...), "conversions": st.Conversions, "value": st.Value,
	}
	if tp := st.Session(); tp != nil {
		p["channel"], p["campaign"] = tp.Channel, tp.Campaign
	}
	return &SegmentBatch{Batch: []SegmentCall{
		{Type: "identify", MessageID: m.ID + "-identify", Timestamp: ts, UserID: st.UserID, AnonymousID: st.VID, Traits: traits, Context: ctx},
		{Type: "track", MessageID: m.ID + "-track", Timestamp: ts, UserID: st.UserID, AnonymousID: st.VID, Event: f.Automation, Properties: p, Context: ctx},
	}}
}
