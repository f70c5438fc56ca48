package rules

import (
	"strconv"

	"github.com/pathlight/pathlight/internal/event"
)

// AppendJSON appends d as the "decisions" object of the wire contract:
// {"slots": {"<slot>": {"variant", "content", "experiment"?}}, "prompts": [...],
// "capture"?: {"rule", "heatmap", "replay", "snapshot"?: ["<band>", …]}} (capture only when the
// page is sampled; snapshot only when the server asks for one). It produces
// what encoding/json would for the same fields (without its HTML escaping, which a JSON
// reply does not need) and allocates nothing beyond growing b, so the reply of a hit can be
// written from a pooled buffer. WouldHave, Exposures and Holdout are for logs, not the wire.
func (d *Decisions) AppendJSON(b []byte) []byte {
	b = append(b, `{"slots":{`...)
	for i := range d.Slots {
		s := &d.Slots[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, s.Slot)
		b = append(b, `:{"variant":`...)
		b = event.AppendJSONString(b, s.Variant)
		b = append(b, `,"content":`...)
		b = event.AppendJSONString(b, s.Content)
		if s.Experiment != "" {
			b = append(b, `,"experiment":`...)
			b = event.AppendJSONString(b, s.Experiment)
		}
		b = append(b, '}')
	}
	b = append(b, `},"prompts":[`...)
	for i := range d.Prompts {
		if i > 0 {
			b = append(b, ',')
		}
		b = d.Prompts[i].appendJSON(b)
	}
	b = append(b, ']')
	if d.Capture.Any() {
		b = append(b, `,"capture":{"rule":`...)
		b = event.AppendJSONString(b, d.Capture.Rule)
		b = append(b, `,"heatmap":`...)
		b = strconv.AppendBool(b, d.Capture.Heatmap)
		b = append(b, `,"replay":`...)
		b = strconv.AppendBool(b, d.Capture.Replay)
		if len(d.Snapshot) > 0 {
			b = appendStrings(b, `,"snapshot":[`, d.Snapshot)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func (p *Prompt) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = event.AppendJSONString(b, p.ID)
	b = append(b, `,"kind":`...)
	b = event.AppendJSONString(b, p.Kind)
	b = append(b, `,"trigger":{"type":`...)
	b = event.AppendJSONString(b, p.Trigger.Type)
	if p.Trigger.Seconds != 0 {
		b = append(b, `,"seconds":`...)
		b = strconv.AppendInt(b, int64(p.Trigger.Seconds), 10)
	}
	if p.Trigger.Percent != 0 {
		b = append(b, `,"percent":`...)
		b = strconv.AppendInt(b, int64(p.Trigger.Percent), 10)
	}
	if p.Trigger.Event != "" {
		b = append(b, `,"event":`...)
		b = event.AppendJSONString(b, p.Trigger.Event)
	}
	b = append(b, '}')
	b = appendField(b, "question", p.Question)
	b = appendField(b, "type", p.Type)
	if len(p.Choices) > 0 {
		b = appendStrings(b, `,"choices":[`, p.Choices)
	}
	b = appendField(b, "message", p.Message)
	if p.Action != nil {
		b = append(b, `,"action":{`...)
		if p.Action.URL != "" {
			b = append(b, `"url":`...)
			b = event.AppendJSONString(b, p.Action.URL)
		} else {
			b = append(b, `"event":`...)
			b = event.AppendJSONString(b, p.Action.Event)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendField appends ,"name":"value" when value is not empty (omitempty).
func appendField(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return event.AppendJSONString(b, value)
}

// appendStrings appends open (a member's name and the array's opening bracket, as
// `,"name":[`), xs as JSON strings and the closing bracket.
func appendStrings(b []byte, open string, xs []string) []byte {
	b = append(b, open...)
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, x)
	}
	return append(b, ']')
}
