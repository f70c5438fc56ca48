// Package event defines what a beacon hit carries: the Event a browser or back end sends, the
// Batch that wraps events on the wire, and the Hit, an event after the server has identified
// the visitor and enriched it with device, geo and marketing-channel facts.
//
// The package is the root of Pathlight's domain: it imports only the standard library, so the
// wire decoder can be fuzzed and benchmarked on its own, and every other package can share
// its types without cycles.
package event

import "strconv"

// Type is the kind of an event.
type Type uint8

// The event types of the wire contract. The zero value is invalid so that a missing type is
// caught by validation.
const (
	TypeInvalid    Type = iota
	TypePageview        // a page was shown
	TypeEvent           // a named custom event: add_to_cart, purchase, signup …
	TypeIdentify        // the visitor told us who they are: user_id and traits
	TypeEngagement      // engaged time and scroll depth of the page being left
	TypePrompt          // what happened to a survey or chat prompt: shown, dismissed, answered
)

var typeNames = [...]string{"", "pageview", "event", "identify", "engagement", "prompt"}

// String returns the wire name of t ("pageview", "event", …), or "" for TypeInvalid.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// ParseType returns the Type with the wire name s, or TypeInvalid.
func ParseType(s string) Type {
	for i, n := range typeNames {
		if i > 0 && n == s {
			return Type(i)
		}
	}
	return TypeInvalid
}

// Kind is the JSON kind of a Value.
type Kind uint8

// The kinds of scalar a prop or trait may hold. Props are flat: nested objects and arrays are
// rejected by validation.
const (
	KindNull Kind = iota
	KindString
	KindNumber
	KindBool
)

// Value is a flat JSON scalar: a prop or trait value. It is a plain struct, not an interface,
// so that reading it allocates nothing.
type Value struct {
	Kind Kind
	Str  string  // for KindString
	Num  float64 // for KindNumber; 1 or 0 for KindBool
}

// String returns v as text: strings as they are, numbers in their shortest form, booleans as
// "true" or "false", and null as "".
func (v Value) String() string {
	switch v.Kind {
	case KindString:
		return v.Str
	case KindNumber:
		return strconv.FormatFloat(v.Num, 'f', -1, 64)
	case KindBool:
		if v.Num != 0 {
			return "true"
		}
		return "false"
	}
	return ""
}

// StringValue returns a Value of KindString.
func StringValue(s string) Value { return Value{Kind: KindString, Str: s} }

// NumberValue returns a Value of KindNumber.
func NumberValue(n float64) Value { return Value{Kind: KindNumber, Num: n} }

// BoolValue returns a Value of KindBool.
func BoolValue(b bool) Value {
	if b {
		return Value{Kind: KindBool, Num: 1}
	}
	return Value{Kind: KindBool}
}

// Prop is one key and value of an event's props or an identify event's traits.
type Prop struct {
	Key string
	Val Value
}

// Props is a flat, ordered list of key/value pairs. A slice beats a map here: events carry a
// handful of props, and a slice can be reused from a pool without rehashing.
type Props []Prop

// Get returns the value for key and whether it is present.
func (p Props) Get(key string) (Value, bool) {
	for i := range p {
		if p[i].Key == key {
			return p[i].Val, true
		}
	}
	return Value{}, false
}

// Event is one thing that happened in the browser (or on a back end), as sent on the wire.
// Strings in a decoded Event never alias the request buffer: they stay valid after the
// request is answered.
type Event struct {
	ID    string // client-generated unique id (a uuid); the dedup key
	Type  Type
	Name  string // TypeEvent: the event name
	TS    int64  // client time, Unix milliseconds; 0 when absent (the server's clock is used)
	URL   string // the page URL
	Ref   string // the document referrer
	Title string // the page title
	Props Props

	UserID string // TypeIdentify
	Traits Props  // TypeIdentify

	Prompt string // TypePrompt: the prompt id
	Action string // TypePrompt: shown, dismissed or answered
	Answer string // TypePrompt: the answer, for action answered

	EngagedMS int64 // TypeEngagement: visible and focused time on the page, ms
	ScrollPct int   // TypeEngagement: maximum scroll depth, 0–100
}

// Reset clears e for reuse, keeping the capacity of its slices.
func (e *Event) Reset() {
	props, traits := e.Props[:0], e.Traits[:0]
	*e = Event{Props: props, Traits: traits}
}

// Prompt actions reported by the snippet.
const (
	ActionShown     = "shown"
	ActionDismissed = "dismissed"
	ActionAnswered  = "answered"
)

// Consent is what a hit says about the visitor's tracking consent.
type Consent uint8

// Consent states. ConsentUnset means the site did not say; the server's consent mode decides
// what that means.
const (
	ConsentUnset Consent = iota
	ConsentGranted
	ConsentDenied
)

// Batch is the body of POST /v1/hit and /v1/beacon: one or more events from one page, and the
// page slots the snippet wants decisions for.
//
// A Batch may be pooled: DecodeBatch reuses the capacity of its slices and of its own decoding
// scratch space, so a Batch must not be copied by value once it has been decoded into.
type Batch struct {
	Site    string
	VID     string // the visitor id the client knows, if any
	Consent Consent
	Events  []Event
	Slots   []string

	// Scratch space DecodeBatch reuses between calls: unescaped string bytes and where each
	// string goes. Neither is ever referenced by the decoded values.
	buf  []byte
	refs []strRef
}

// Reset clears b for reuse, keeping the capacity of its slices and of its events' slices.
func (b *Batch) Reset() {
	evs := b.Events[:cap(b.Events)]
	for i := range evs {
		evs[i].Reset()
	}
	slots := b.Slots[:0]
	clear(b.Slots[:cap(b.Slots)])
	*b = Batch{Events: b.Events[:0], Slots: slots, buf: b.buf[:0], refs: b.refs[:0]}
}
