package rules

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestAppendJSON compares AppendJSON with encoding/json on the wire shape.
func TestAppendJSON(t *testing.T) {
	d := &Decisions{
		Slots: []SlotDecision{
			{Slot: "hero", Variant: "paid", Content: "<h1>20% \"off\" & more</h1>\n\t\u2028é\x01"},
			{Slot: "checkout_banner", Variant: "badges", Content: "", Experiment: "checkout_trust"},
		},
		Prompts: []Prompt{
			{ID: "exit", Kind: KindSurvey, Trigger: Trigger{Type: TriggerExitIntent}, Question: "Why?", Type: SurveySingleChoice, Choices: []string{"Price", "Other"}},
			{ID: "help", Kind: KindChat, Trigger: Trigger{Type: TriggerIdle, Seconds: 30}, Message: "Help?", Action: &Action{Event: "open-chat"}},
			{ID: "nps", Kind: KindSurvey, Trigger: Trigger{Type: TriggerScroll, Percent: 50}, Question: "Score?", Type: SurveyNPS},
			{ID: "ev", Kind: KindChat, Trigger: Trigger{Type: TriggerEvent, Event: "done"}, Message: "Hi", Action: &Action{URL: "https://x.example/?a=1&b=2"}},
		},
	}
	wire := struct {
		Slots   map[string]SlotDecision `json:"slots"`
		Prompts []Prompt                `json:"prompts"`
	}{Slots: map[string]SlotDecision{}, Prompts: d.Prompts}
	for _, s := range d.Slots {
		wire.Slots[s.Slot] = s
	}
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(wire); err != nil {
		t.Fatal(err)
	}
	got := d.AppendJSON(nil)
	// Map keys are sorted by encoding/json; compare as decoded documents and check validity.
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("AppendJSON produced invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want.Bytes(), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("AppendJSON = %s\nwant %s", got, want.Bytes())
	}
	if empty := (&Decisions{}).AppendJSON(nil); string(empty) != `{"slots":{},"prompts":[]}` {
		t.Errorf("AppendJSON(empty) = %s; want {\"slots\":{},\"prompts\":[]}", empty)
	}
}
