package event

import "time"

// Limits bounds what one request may carry. Requests come from browsers we do not control:
// every size is capped so that a hostile page cannot make a visitor's journey, the event log or
// a report unbounded. Start from DefaultLimits: a zero limit allows nothing.
type Limits struct {
	MaxEvents  int // events in one batch; more makes the whole batch a DecodeError
	MaxIDLen   int // event id, site and client vid length; ids are printable ASCII without spaces
	MaxURL     int // url and ref length
	MaxProps   int // props of one event, and traits of one identify event, as sent: a repeated key counts each time
	MaxKey     int // prop and trait key length
	MaxValue   int // prop and trait string value length
	MaxName    int // event name and prompt id length
	MaxTitle   int // page title length
	MaxAnswer  int // prompt answer length; a text survey takes 500 characters, up to 4 bytes each
	MaxSlots   int // slots asked for in one batch
	MaxSlotLen int // slot name length
	MaxUserID  int // identify user_id length
	MaxDepth   int // JSON nesting depth, unknown fields included
	// MaxNumber bounds the magnitude of prop and trait numbers. Past 2^53 a JavaScript
	// number no longer holds every integer, and values that large would let a few events
	// overflow the sums of a report (a conversion value of 1e308, twice, is +Inf).
	MaxNumber float64

	// MaxFuture and MaxPast bound a client ts around the server's clock. Older events would
	// escape the dedup window, so a replayed event could be counted twice: they are rejected.
	MaxFuture time.Duration
	MaxPast   time.Duration
	// MaxEngaged bounds the engaged time one engagement event may report.
	MaxEngaged time.Duration
}

// MaxSafeNumber is the default Limits.MaxNumber, 2^53: the largest magnitude up to which a
// JavaScript number holds every integer. Numbers read from strings are held to it too.
const MaxSafeNumber = 1 << 53

// DefaultLimits returns the limits Pathlight uses unless configured otherwise. Lengths are in
// bytes of decoded UTF-8.
func DefaultLimits() Limits {
	return Limits{
		MaxEvents:  100,
		MaxIDLen:   64,
		MaxURL:     2048,
		MaxProps:   50,
		MaxKey:     64,
		MaxValue:   1024,
		MaxName:    128,
		MaxTitle:   512,
		MaxAnswer:  2000,
		MaxSlots:   20,
		MaxSlotLen: 64,
		MaxUserID:  256,
		MaxDepth:   32,
		MaxNumber:  MaxSafeNumber,
		MaxFuture:  24 * time.Hour,
		MaxPast:    48 * time.Hour,
		MaxEngaged: 24 * time.Hour,
	}
}

// DecodeError is a request body that cannot be decoded at all: invalid JSON, or JSON of the
// wrong shape. The whole batch is refused; no event of it is kept.
type DecodeError struct {
	Offset int    // byte offset in the body where decoding stopped
	Reason string // short and human: "events[3].props: expected object"
}

// Error returns the reason.
func (e *DecodeError) Error() string { return e.Reason }

// Rejection is one event of a batch that was refused while the others were kept. The reasons
// are short stable strings ("missing id", "url longer than 2048 bytes") meant for the
// developer looking at the response in the browser's network panel.
// Its JSON form, in replies encoded with encoding/json, has the keys of a hit's reply.
type Rejection struct {
	ID     string `json:"id"`     // the event id as sent, or "" when the id itself is missing or invalid
	Index  int    `json:"index"`  // the position of the event in the request (0 for a single-event body)
	Reason string `json:"reason"` // why, in words
}

// DecodeBatch decodes and validates a request body into b, which is reset first and may be a
// pooled Batch. now is the server's clock in Unix milliseconds; lim nil means DefaultLimits.
//
// The body is either a batch, {"site", "vid", "consent", "events": [...], "slots": [...]}, or
// a single event object that may carry site, vid, consent and slots beside its own fields: a
// top-level "events" key makes it a batch. An object with neither "events" nor any event
// field decodes to no events (a decisions-only request).
//
// A body that is not valid JSON of that shape returns a *DecodeError, and b holds nothing
// usable. Otherwise each event that fails validation is left out of b.Events and reported as
// a Rejection; b.Events keeps the valid ones, in order. Unknown fields are ignored, known
// fields given twice in one object are a DecodeError, and duplicate prop keys keep the last
// value. A vid that is too long or not printable ASCII is dropped (b.VID is "").
//
// Ownership: DecodeBatch copies every string it stores, so the caller may reuse body as soon
// as it returns. The strings of one call share a single allocation, about the size of the text
// they hold; a caller that keeps one of them for long (in a cache, as a map key) while
// dropping the rest should strings.Clone it.
func DecodeBatch(body []byte, b *Batch, now int64, lim *Limits) ([]Rejection, error) {
	if lim == nil {
		def := DefaultLimits()
		lim = &def
	}
	b.Site, b.VID, b.Consent = "", "", ConsentUnset
	b.Events, b.Slots = b.Events[:0], b.Slots[:0]
	d := decoder{data: body, lim: lim, b: b, buf: b.buf[:0], refs: b.refs[:0]}
	err := d.top()
	b.buf, b.refs = d.buf[:0], d.refs[:0]
	if err != nil {
		b.Consent, b.Events, b.Slots = ConsentUnset, b.Events[:0], b.Slots[:0]
		return nil, err
	}
	d.place()
	return d.validate(now), nil
}

// decoder is the state of one DecodeBatch call. Strings are decoded into buf and only turned
// into Go strings at the end, all at once (place), so a batch costs one string allocation
// however many strings it holds; refs records where each one goes.
type decoder struct {
	data   []byte
	pos    int
	lim    *Limits
	b      *Batch
	buf    []byte
	refs   []strRef
	notes  []Rejection // problems found while parsing, by event index; rare
	kbuf   [16]byte    // an object member name that had escapes
	single bool        // the body is one event object, not a batch
}

// strRef is a decoded string waiting in decoder.buf for its place in the Batch.
type strRef struct {
	off, n uint32
	ev     int32 // index in Batch.Events; -1 for the batch's own fields
	idx    int32 // index in Props, Traits or Slots
	kind   refKind
}

// refKind says which string field a strRef fills.
type refKind uint8

const (
	refSite refKind = iota
	refVID
	refSlot
	refID
	refName
	refURL
	refRef
	refTitle
	refUserID
	refPrompt
	refAction
	refAnswer
	refPropKey
	refPropVal
	refTraitKey
	refTraitVal
)

// place turns the decoded text into one string and hands each field its part of it.
func (d *decoder) place() {
	arena := string(d.buf)
	b := d.b
	for _, r := range d.refs {
		s := arena[r.off : r.off+r.n]
		if r.ev < 0 {
			switch r.kind {
			case refSite:
				b.Site = s
			case refVID:
				b.VID = s
			case refSlot:
				b.Slots[r.idx] = s
			}
			continue
		}
		e := &b.Events[r.ev]
		switch r.kind {
		case refID:
			e.ID = s
		case refName:
			e.Name = s
		case refURL:
			e.URL = s
		case refRef:
			e.Ref = s
		case refTitle:
			e.Title = s
		case refUserID:
			e.UserID = s
		case refPrompt:
			e.Prompt = s
		case refAction:
			e.Action = s
		case refAnswer:
			e.Answer = s
		case refPropKey:
			e.Props[r.idx].Key = s
		case refPropVal:
			e.Props[r.idx].Val.Str = s
		case refTraitKey:
			e.Traits[r.idx].Key = s
		case refTraitVal:
			e.Traits[r.idx].Val.Str = s
		}
	}
}

// validate checks every decoded event, keeps the valid ones in order and returns the others
// as rejections.
func (d *decoder) validate(now int64) []Rejection {
	b := d.b
	var rej []Rejection
	notes := d.notes
	w := 0
	for i := range b.Events {
		e := &b.Events[i]
		note := ""
		if len(notes) > 0 && notes[0].Index == i {
			note, notes = notes[0].Reason, notes[1:]
		}
		if reason := check(e, note, now, d.lim); reason != "" {
			id := e.ID
			if len(id) > d.lim.MaxIDLen || !printableID(id) {
				id = ""
			}
			rej = append(rej, Rejection{ID: id, Index: i, Reason: reason})
			continue
		}
		// Swap rather than copy: each pooled event must keep sole use of its slices.
		if w != i {
			b.Events[w], b.Events[i] = b.Events[i], b.Events[w]
		}
		w++
	}
	b.Events = b.Events[:w]
	return rej
}
