package rules

import (
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends d as the "decisions" object of the wire contract:
// {"slots": {"<slot>": {"variant", "content", "experiment"?}}, "prompts": [...]}. It produces
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
		b = appendString(b, s.Slot)
		b = append(b, `:{"variant":`...)
		b = appendString(b, s.Variant)
		b = append(b, `,"content":`...)
		b = appendString(b, s.Content)
		if s.Experiment != "" {
			b = append(b, `,"experiment":`...)
			b = appendString(b, s.Experiment)
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
	return append(b, "]}"...)
}

func (p *Prompt) appendJSON(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, p.ID)
	b = append(b, `,"kind":`...)
	b = appendString(b, p.Kind)
	b = append(b, `,"trigger":{"type":`...)
	b = appendString(b, p.Trigger.Type)
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
		b = appendString(b, p.Trigger.Event)
	}
	b = append(b, '}')
	b = appendField(b, "question", p.Question)
	b = appendField(b, "type", p.Type)
	if len(p.Choices) > 0 {
		b = append(b, `,"choices":[`...)
		for i, c := range p.Choices {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, c)
		}
		b = append(b, ']')
	}
	b = appendField(b, "message", p.Message)
	if p.Action != nil {
		b = append(b, `,"action":{`...)
		if p.Action.URL != "" {
			b = append(b, `"url":`...)
			b = appendString(b, p.Action.URL)
		} else {
			b = append(b, `"event":`...)
			b = appendString(b, p.Action.Event)
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
	return appendString(b, value)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, and U+2028 and
// U+2029 are escaped so that the output is also valid JavaScript, as encoding/json does.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[last:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			last = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[last:i]...)
			b = append(b, `\ufffd`...)
			i += size
			last = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[last:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			last = i
			continue
		}
		i += size
	}
	b = append(b, s[last:]...)
	return append(b, '"')
}
