package journey

import (
	"math"
	"strconv"
	"time"

	"github.com/pathlight/pathlight/internal/event"
)

// jsonTime is RFC 3339 in UTC with milliseconds, the precision of Pathlight's clocks.
const jsonTime = "2006-01-02T15:04:05.000Z07:00"

// AppendJSON appends the admin API view of s (GET /api/v1/visitors/{vid}) to dst as one JSON
// object and returns the extended buffer. Times are RFC 3339 UTC strings, or null when unset
// (0); lists keep their State order; counts keyed by name (paths, events, steps, experiments,
// prompts, traits, click ids) are objects. A non-finite number is written as null, and
// invalid UTF-8 in a string as U+FFFD, so the output is always valid JSON.
func (s *State) AppendJSON(dst []byte) []byte {
	b := append(dst, `{"vid":`...)
	b = event.AppendJSONString(b, s.VID)
	b = append(b, `,"user_id":`...)
	b = event.AppendJSONString(b, s.UserID)
	b = append(b, `,"first_seen":`...)
	b = appendJSONTime(b, s.FirstSeen)
	b = append(b, `,"last_seen":`...)
	b = appendJSONTime(b, s.LastSeen)

	b = append(b, `,"sessions":[`...)
	for i := range s.Touchpoints {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.Touchpoints[i].appendJSON(b)
	}
	b = append(b, `],"session_count":`...)
	b = strconv.AppendUint(b, uint64(s.Sessions), 10)

	b = append(b, `,"device":{"type":`...)
	b = event.AppendJSONString(b, s.Device.Type.String())
	b = append(b, `,"os":`...)
	b = event.AppendJSONString(b, s.Device.OS)
	b = append(b, `,"browser":`...)
	b = event.AppendJSONString(b, s.Device.Browser)
	b = append(b, `,"bot":`...)
	b = strconv.AppendBool(b, s.Device.Bot)
	b = append(b, `},"geo":{"country":`...)
	b = event.AppendJSONString(b, s.Geo.Country)
	b = append(b, `,"region":`...)
	b = event.AppendJSONString(b, s.Geo.Region)
	b = append(b, `,"city":`...)
	b = event.AppendJSONString(b, s.Geo.City)
	b = append(b, `,"tz":`...)
	b = event.AppendJSONString(b, s.Geo.TimeZone)

	b = append(b, `},"pageviews":`...)
	b = strconv.AppendUint(b, uint64(s.Pageviews), 10)
	b = append(b, `,"paths":`...)
	b = appendJSONCounts(b, s.Paths)
	b = append(b, `,"events":`...)
	b = appendJSONCounts(b, s.Events)

	b = append(b, `,"steps":{`...)
	for i := range s.Steps {
		c := &s.Steps[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, c.Key)
		b = append(b, `:{"count":`...)
		b = strconv.AppendUint(b, uint64(c.N), 10)
		b = append(b, `,"first_at":`...)
		b = appendJSONTime(b, c.FirstAt)
		b = append(b, `,"last_at":`...)
		b = appendJSONTime(b, c.LastAt)
		b = append(b, '}')
	}
	b = append(b, `},"step_history":[`...)
	for i, m := range s.StepHistory {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"step":`...)
		b = event.AppendJSONString(b, m.Step)
		b = append(b, `,"at":`...)
		b = appendJSONTime(b, m.At)
		b = append(b, '}')
	}
	b = append(b, `],"stage":`...)
	b = event.AppendJSONString(b, s.Stage)
	b = append(b, `,"segments":[`...)
	for i, seg := range s.Segments {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, seg)
	}

	b = append(b, `],"conversions":`...)
	b = strconv.AppendUint(b, uint64(s.Conversions), 10)
	b = append(b, `,"value":`...)
	b = appendJSONFloat(b, s.Value)
	b = append(b, `,"conversion_list":[`...)
	for i, c := range s.ConversionList {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"step":`...)
		b = event.AppendJSONString(b, c.Step)
		b = append(b, `,"at":`...)
		b = appendJSONTime(b, c.At)
		b = append(b, `,"value":`...)
		b = appendJSONFloat(b, c.Value)
		b = append(b, '}')
	}

	b = append(b, `],"experiments":{`...)
	for i, a := range s.Experiments {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, a.Experiment)
		b = append(b, `:{"variant":`...)
		b = event.AppendJSONString(b, a.Variant)
		b = append(b, `,"at":`...)
		b = appendJSONTime(b, a.At)
		b = append(b, `,"exposed":`...)
		b = strconv.AppendBool(b, a.Exposed)
		b = append(b, '}')
	}
	b = append(b, `},"prompts":{`...)
	for i, p := range s.Prompts {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, p.ID)
		b = append(b, `:{"shown":`...)
		b = strconv.AppendUint(b, uint64(p.Shown), 10)
		b = append(b, `,"dismissed":`...)
		b = strconv.AppendUint(b, uint64(p.Dismissed), 10)
		b = append(b, `,"answered":`...)
		b = strconv.AppendUint(b, uint64(p.Answered), 10)
		b = append(b, `,"last_shown":`...)
		b = appendJSONTime(b, p.LastShown)
		b = append(b, `,"last_session":`...)
		b = strconv.AppendUint(b, uint64(p.LastSession), 10)
		b = append(b, '}')
	}
	b = append(b, `},"traits":{`...)
	for i, p := range s.Traits {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, p.Key)
		b = append(b, ':')
		b = appendJSONValue(b, p.Val)
	}
	return append(b, "}}"...)
}

func (tp *Touchpoint) appendJSON(b []byte) []byte {
	b = append(b, `{"started_at":`...)
	b = appendJSONTime(b, tp.StartedAt)
	b = append(b, `,"last_at":`...)
	b = appendJSONTime(b, tp.LastAt)
	b = append(b, `,"channel":`...)
	b = event.AppendJSONString(b, tp.Channel)
	b = append(b, `,"source":`...)
	b = event.AppendJSONString(b, tp.Source)
	b = append(b, `,"medium":`...)
	b = event.AppendJSONString(b, tp.Medium)
	b = append(b, `,"campaign":`...)
	b = event.AppendJSONString(b, tp.Campaign)
	b = append(b, `,"term":`...)
	b = event.AppendJSONString(b, tp.Term)
	b = append(b, `,"content":`...)
	b = event.AppendJSONString(b, tp.Content)
	b = append(b, `,"landing_page":`...)
	b = event.AppendJSONString(b, tp.LandingPage)
	b = append(b, `,"ref_host":`...)
	b = event.AppendJSONString(b, tp.RefHost)
	b = append(b, `,"click_ids":{`...)
	for i, id := range tp.ClickIDs {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, id.Name)
		b = append(b, ':')
		b = event.AppendJSONString(b, id.Value)
	}
	b = append(b, `},"pageviews":`...)
	b = strconv.AppendUint(b, uint64(tp.Pageviews), 10)
	b = append(b, `,"engaged_ms":`...)
	b = strconv.AppendInt(b, tp.EngagedMS, 10)
	return append(b, '}')
}

// appendJSONCounts writes counts as an object of key to N.
func appendJSONCounts(b []byte, cs []Count) []byte {
	b = append(b, '{')
	for i := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, cs[i].Key)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(cs[i].N), 10)
	}
	return append(b, '}')
}

func appendJSONTime(b []byte, ms int64) []byte {
	if ms == 0 {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = time.UnixMilli(ms).UTC().AppendFormat(b, jsonTime)
	return append(b, '"')
}

// appendJSONFloat writes f as encoding/json does: plain decimals, exponents only for very
// small or large magnitudes, and null (which JSON has instead) for NaN and infinities.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

func appendJSONValue(b []byte, v event.Value) []byte {
	switch v.Kind {
	case event.KindString:
		return event.AppendJSONString(b, v.Str)
	case event.KindNumber:
		return appendJSONFloat(b, v.Num)
	case event.KindBool:
		return strconv.AppendBool(b, v.Num != 0)
	}
	return append(b, "null"...)
}
