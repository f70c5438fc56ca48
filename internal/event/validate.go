package event

import (
	"strconv"
	"unicode/utf8"
)

// check validates a decoded event and returns why it is rejected, or "" when it is kept. note
// is the first problem found while parsing, if any. The id is checked first, so that a
// rejection can name the event whenever the event names itself. check also folds duplicate
// prop and trait keys (the last value wins) and makes a valid action one of the Action
// constants.
func check(e *Event, note string, now int64, lim *Limits) string {
	switch {
	case e.ID == "":
		return "missing id"
	case len(e.ID) > lim.MaxIDLen:
		return "id longer than " + strconv.Itoa(lim.MaxIDLen) + " bytes"
	case !printableID(e.ID):
		return "id is not printable ASCII without spaces"
	case note != "":
		return note
	case e.Type == TypeInvalid:
		return "missing type"
	}
	if r := checkLen("name", e.Name, lim.MaxName); r != "" {
		return r
	}
	if r := checkLen("url", e.URL, lim.MaxURL); r != "" {
		return r
	}
	// A referrer or a title past its limit is cut rather than cost the event: neither keys
	// anything (the referrer's host is what the channel needs), and a long title is common.
	e.Ref = CutUTF8(e.Ref, lim.MaxURL)
	e.Title = CutUTF8(e.Title, lim.MaxTitle)
	if r := checkLen("user_id", e.UserID, lim.MaxUserID); r != "" {
		return r
	}
	if r := checkLen("prompt id", e.Prompt, lim.MaxName); r != "" {
		return r
	}
	if r := checkLen("answer", e.Answer, lim.MaxAnswer); r != "" {
		return r
	}
	var r string
	if e.Props, r = checkProps("prop", e.Props, lim); r != "" {
		return r
	}
	if e.Traits, r = checkProps("trait", e.Traits, lim); r != "" {
		return r
	}
	if e.TS != 0 {
		switch {
		case e.TS > now+lim.MaxFuture.Milliseconds():
			return "ts more than " + hours(lim.MaxFuture.Hours()) + " in the future"
		case e.TS < now-lim.MaxPast.Milliseconds():
			return "ts older than " + hours(lim.MaxPast.Hours())
		}
	}
	switch e.Action {
	case "":
	case ActionShown:
		e.Action = ActionShown
	case ActionDismissed:
		e.Action = ActionDismissed
	case ActionAnswered:
		e.Action = ActionAnswered
	default:
		return "unknown prompt action " + quote([]byte(e.Action))
	}
	switch e.Type {
	case TypeEvent:
		if e.Name == "" {
			return "event without name"
		}
	case TypeIdentify:
		if e.UserID == "" {
			return "identify without user_id"
		}
	case TypePrompt:
		if e.Prompt == "" {
			return "prompt without prompt id"
		}
		if e.Action == "" {
			return "prompt without action"
		}
	}
	if e.EngagedMS < 0 || e.EngagedMS > lim.MaxEngaged.Milliseconds() {
		return "engaged_ms out of range"
	}
	if e.ScrollPct < 0 || e.ScrollPct > 100 {
		return "scroll out of range 0-100"
	}
	return ""
}

// checkLen checks the length of the field named what.
func checkLen(what, s string, limit int) string {
	if len(s) > limit {
		return what + " longer than " + strconv.Itoa(limit) + " bytes"
	}
	return ""
}

// CutUTF8 returns s cut to at most n bytes, never inside a UTF-8 sequence.
func CutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// hours formats a limit in hours for a reason: "24h".
func hours(h float64) string { return strconv.FormatFloat(h, 'f', -1, 64) + "h" }

// checkProps folds duplicate keys of p, the last value winning at the first key's place, and
// checks its keys and values. what is "prop" or "trait". Their number is checked while
// decoding, which stops keeping members past Limits.MaxProps.
func checkProps(what string, p Props, lim *Limits) (Props, string) {
	for i := 1; i < len(p); i++ {
		for j := range i {
			if p[j].Key == p[i].Key {
				p[j].Val = p[i].Val
				p = append(p[:i], p[i+1:]...)
				i--
				break
			}
		}
	}
	for i := range p {
		switch {
		case p[i].Key == "":
			return p, "empty " + what + " key"
		case len(p[i].Key) > lim.MaxKey:
			return p, what + " key longer than " + strconv.Itoa(lim.MaxKey) + " bytes"
		case len(p[i].Val.Str) > lim.MaxValue:
			return p, what + " value longer than " + strconv.Itoa(lim.MaxValue) + " bytes"
		}
	}
	return p, ""
}
