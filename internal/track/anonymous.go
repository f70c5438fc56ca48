package track

import (
	"strings"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/rules"
)

// Hits without a visitor id: visitors without consent (Sec-GPC: 1, consent denied, or
// --consent required without a grant) and bots. Their events are counted, so their records
// are logged, but a record without a visitor id is out of reach of an erasure: nothing in it
// may identify a person. anonymize keeps what describes the traffic (which page, which
// campaign, which kind of device, which country, what happened) and drops what describes the
// person. docs/architecture.md ("What is kept without consent") gives the reason for each
// field; TestAnonymousRecordsHoldNoIdentifier checks every one.

// anonymize fills dst, and ev which dst points to, with the record of h that a hit without a
// visitor id may keep. h and its event are left as they are: decisions still read them.
func anonymize(dst *event.Hit, ev *event.Event, h *event.Hit, set *rules.Set) {
	e := h.Event
	ev.Reset()
	ev.ID, ev.Type, ev.Name, ev.TS = e.ID, e.Type, e.Name, e.TS
	ev.Prompt, ev.Action = e.Prompt, e.Action
	if e.Action == event.ActionAnswered && closedAnswer(set, e.Prompt) {
		ev.Answer = e.Answer
	}
	ev.EngagedMS, ev.ScrollPct = e.EngagedMS, e.ScrollPct
	for _, p := range e.Props {
		// Numbers and booleans (value, quantity, in_stock) add up in aggregates; a string
		// may be anything the page put there, a name or an address included.
		if p.Val.Kind == event.KindNumber || p.Val.Kind == event.KindBool {
			ev.Props = append(ev.Props, p)
		}
	}
	path := redactPath(h.Page.Path)
	ev.URL = anonymousURL(e.URL, h.Page.Host, path)

	clickIDs := dst.Source.ClickIDs[:0]
	*dst = event.Hit{
		Event:  ev,
		Site:   h.Site,
		Time:   h.Time,
		Device: h.Device, // device class, OS and browser names; the user agent is never stored
		Geo:    event.Geo{Country: h.Geo.Country},
		Page:   event.Page{URL: ev.URL, Host: h.Page.Host, Path: path},
		Source: event.Source{
			Source:   h.Source.Source,
			Medium:   h.Source.Medium,
			Campaign: h.Source.Campaign,
			Channel:  h.Source.Channel,
			RefHost:  h.Source.RefHost,
			ClickIDs: clickIDs,
		},
	}
}

// closedAnswer reports whether the answers to prompt are from a closed set (a choice, a
// rating, a score), which identify nobody; a text survey's or a chat prompt's answer is free
// text.
func closedAnswer(set *rules.Set, prompt string) bool {
	for _, s := range set.Surveys() {
		if s.ID == prompt {
			return s.Type != rules.SurveyText
		}
	}
	return false
}

// anonymousURL is the page URL without user info, port, query or fragment, and with the
// redacted path: "https://shop.example/p/:redacted" for
// "https://jane:pw@shop.example:8443/p/jane@mail.example?email=jane@mail.example#token".
func anonymousURL(raw, host, path string) string {
	scheme := ""
	switch {
	case hasPrefixFold(raw, "https://"):
		scheme = "https:"
	case hasPrefixFold(raw, "http://"):
		scheme = "http:"
	}
	if host == "" {
		return path
	}
	return scheme + "//" + host + path
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// redactedSegment replaces a path segment that may identify a person.
const redactedSegment = ":redacted"

// redactPath replaces each path segment that may identify someone with ":redacted": one with
// an "@" (an address), one with a run of six or more digits or nine digits in all (an account,
// order or phone number), and one with a word of eight or more letters and digits that
// switches between them three times or more (a token, a hash). Slugs ("top-10-boots-for-2026"),
// product names ("iphone15pro") and short ids ("p/42") stay. A path without such a segment is returned as it is.
func redactPath(p string) string {
	if !strings.ContainsFunc(p, isDigitOrAt) {
		return p
	}
	var b strings.Builder
	for i, seg := range strings.Split(p, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		if identifying(seg) {
			b.WriteString(redactedSegment)
		} else {
			b.WriteString(seg)
		}
	}
	return b.String()
}

func isDigitOrAt(r rune) bool { return r == '@' || r >= '0' && r <= '9' }

// identifying reports whether a path segment may identify a person (see redactPath).
func identifying(seg string) bool {
	if strings.Contains(strings.ToLower(seg), "%40") { // an escaped "@"
		return true
	}
	run, digits := 0, 0
	// The current word (a run of letters and digits): its length, and how often it switches
	// between letters and digits. A token switches often ("9f86d0818"); a product name once
	// or twice ("iphone15pro").
	word, switches, last := 0, 0, byte(0)
	for i := 0; i <= len(seg); i++ {
		c := byte('/')
		if i < len(seg) {
			c = seg[i]
		}
		kind := byte(0)
		switch {
		case c == '@':
			return true
		case c >= '0' && c <= '9':
			kind = 'd'
			run++
			digits++
			if run >= 6 || digits >= 9 {
				return true
			}
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			kind = 'l'
			run = 0
		default:
			run = 0
		}
		if kind != 0 {
			if word > 0 && kind != last {
				switches++
			}
			word, last = word+1, kind
			continue
		}
		if word >= 8 && switches >= 3 {
			return true
		}
		word, switches = 0, 0
	}
	return false
}

// RedactPath returns p with each path segment that may identify a person replaced by
// ":redacted", as anonymous records keep it. Aggregates keyed by page (the heatmaps) use it,
// so that no page key holds an address or a token.
func RedactPath(p string) string { return redactPath(p) }
