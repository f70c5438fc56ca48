package event

import (
	"strconv"
	"time"
)

// Limits bounds what one request may carry. Requests come from browsers we do not control:
// every size is capped so that a hostile page cannot make a visitor's journey, the event log or
// a report unbounded. Start from DefaultLimits: a zero limit allows nothing.
type Limits struct {
	MaxEvents  int // events in one batch; more makes the whole batch a DecodeError
	MaxIDLen   int // event id, site and client vid length; ids are printable ASCII without spaces
	MaxURL     int // url and ref length
	MaxProps   int // props of one event, and traits of one identify event
	MaxKey     int // prop and trait key length
	MaxValue   int // prop and trait string value length
	MaxName    int // event name and prompt id length
	MaxTitle   int // page title length
	MaxAnswer  int // prompt answer length
	MaxSlots   int // slots asked for in one batch
	MaxSlotLen int // slot name length
	MaxUserID  int // identify user_id length
	MaxDepth   int // JSON nesting depth, unknown fields included

	// MaxFuture and MaxPast bound a client ts around the server's clock. Older events would
	// escape the dedup window, so a replayed event could be counted twice: they are rejected.
	MaxFuture time.Duration
	MaxPast   time.Duration
	// MaxEngaged bounds the engaged time one engagement event may report.
	MaxEngaged time.Duration
}

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
		MaxAnswer:  1000,
		MaxSlots:   20,
		MaxSlotLen: 64,
		MaxUserID:  256,
		MaxDepth:   32,
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
type Rejection struct {
	ID     string // the event id as sent, or "" when the id itself is missing or invalid
	Index  int    // the position of the event in the request (0 for a single-event body)
	Reason string
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

// field is a known event member.
type field uint8

const (
	fID field = iota
	fType
	fName
	fTS
	fURL
	fRef
	fTitle
	fProps
	fUserID
	fTraits
	fPrompt
	fAction
	fAnswer
	fEngaged
	fScroll
	numFields
)

var fieldNames = [numFields]string{
	"id", "type", "name", "ts", "url", "ref", "title", "props", "user_id", "traits",
	"prompt", "action", "answer", "engaged_ms", "scroll",
}

// stringFields maps the plain string members to the field they fill.
var stringFields = [numFields]refKind{
	fID: refID, fName: refName, fURL: refURL, fRef: refRef, fTitle: refTitle,
	fUserID: refUserID, fPrompt: refPrompt, fAction: refAction, fAnswer: refAnswer,
}

// lookupField returns the event member named k.
func lookupField(k []byte) (field, bool) {
	switch string(k) {
	case "id":
		return fID, true
	case "type":
		return fType, true
	case "name":
		return fName, true
	case "ts":
		return fTS, true
	case "url":
		return fURL, true
	case "ref":
		return fRef, true
	case "title":
		return fTitle, true
	case "props":
		return fProps, true
	case "user_id":
		return fUserID, true
	case "traits":
		return fTraits, true
	case "prompt":
		return fPrompt, true
	case "action":
		return fAction, true
	case "answer":
		return fAnswer, true
	case "engaged_ms":
		return fEngaged, true
	case "scroll":
		return fScroll, true
	}
	return 0, false
}

// Batch members, as bits of the set of members already seen.
const (
	bSite = 1 << iota
	bVID
	bConsent
	bSlots
	bEvents
)

// top decodes the whole body.
func (d *decoder) top() error {
	d.ws()
	if c := d.peek(); c != '{' {
		if d.pos >= len(d.data) {
			return d.unexpected()
		}
		start := d.pos
		if err := d.skip(0); err != nil {
			return err
		}
		if err := d.end(); err != nil {
			return err
		}
		return &DecodeError{Offset: start, Reason: "expected a JSON object, got " + jsonKind(c)}
	}
	// Event members of a single-event body are only decoded once the whole object has shown
	// there is no "events" member; until then their value offsets are kept here (+1, so that
	// 0 means absent).
	var fpos [numFields]int
	var seen uint
	empty, err := d.openContainer(0, '}')
	if err != nil {
		return err
	}
	for !empty {
		kpos := d.pos
		k, err := d.key()
		if err != nil {
			return err
		}
		var bit uint
		switch string(k) {
		case "site":
			bit = bSite
		case "vid":
			bit = bVID
		case "consent":
			bit = bConsent
		case "slots":
			bit = bSlots
		case "events":
			bit = bEvents
		}
		if bit != 0 {
			if seen&bit != 0 {
				return d.duplicate(kpos, "", k)
			}
			seen |= bit
			if err := d.batchMember(bit); err != nil {
				return err
			}
		} else {
			if f, ok := lookupField(k); ok {
				if fpos[f] != 0 {
					return d.duplicate(kpos, "", k)
				}
				fpos[f] = d.pos + 1
			}
			if err := d.skip(1); err != nil {
				return err
			}
		}
		more, err := d.next('}')
		if err != nil {
			return err
		}
		empty = !more
	}
	if err := d.end(); err != nil {
		return err
	}
	if seen&bEvents != 0 {
		return nil
	}
	single := false
	for _, p := range fpos {
		single = single || p != 0
	}
	if !single {
		return nil
	}
	d.single = true
	ev := d.newEvent()
	for f, p := range fpos {
		if p != 0 {
			d.pos = p - 1
			if err := d.member(ev, field(f), 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// end checks that only whitespace follows the top-level value.
func (d *decoder) end() error {
	d.ws()
	if d.pos != len(d.data) {
		return d.unexpected()
	}
	return nil
}

// duplicate reports a known member given twice in one object.
func (d *decoder) duplicate(pos int, path string, k []byte) error {
	if path != "" {
		path += ": "
	}
	return &DecodeError{Offset: pos, Reason: path + "duplicate key " + strconv.Quote(string(k))}
}

// typeErr reports a value of the wrong JSON type at d.pos, or a syntax error when no value
// starts there at all.
func (d *decoder) typeErr(path, want string) error {
	got := jsonKind(d.peek())
	if got == "" {
		return d.unexpected()
	}
	return &DecodeError{Offset: d.pos, Reason: path + ": expected " + want + ", got " + got}
}

// isNull consumes a null at d.pos, if there is one.
func (d *decoder) isNull() (bool, error) {
	if d.peek() != 'n' {
		return false, nil
	}
	return true, d.lit("null")
}

// batchMember decodes the value of the batch member bit.
func (d *decoder) batchMember(bit uint) error {
	if null, err := d.isNull(); null || err != nil {
		return err
	}
	switch bit {
	case bEvents:
		return d.events()
	case bSlots:
		return d.slots()
	}
	if d.peek() != '"' {
		name := "consent"
		switch bit {
		case bSite:
			name = "site"
		case bVID:
			name = "vid"
		}
		return d.typeErr(name, "string")
	}
	start := d.pos
	off, n, err := d.str()
	if err != nil {
		return err
	}
	s := d.buf[off : off+n]
	switch bit {
	case bSite:
		if n > d.lim.MaxIDLen {
			return &DecodeError{Offset: start, Reason: "site longer than " + strconv.Itoa(d.lim.MaxIDLen) + " bytes"}
		}
		if !printableID(s) {
			return &DecodeError{Offset: start, Reason: "site is not printable ASCII without spaces"}
		}
		d.ref(refSite, -1, 0, off, n)
	case bVID:
		// A bad vid is the client's cookie gone wrong, not a reason to lose the events:
		// the server assigns a fresh one.
		if n <= d.lim.MaxIDLen && printableID(s) {
			d.ref(refVID, -1, 0, off, n)
		} else {
			d.buf = d.buf[:off]
		}
	case bConsent:
		switch string(s) {
		case "granted":
			d.b.Consent = ConsentGranted
		case "denied":
			d.b.Consent = ConsentDenied
		case "":
		default:
			return &DecodeError{Offset: start, Reason: "consent: unknown value " + quote(s)}
		}
		d.buf = d.buf[:off]
	}
	return nil
}

// printableID reports whether s is non-empty printable ASCII without spaces.
func printableID[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return len(s) > 0
}

// ref records that the string at d.buf[off:off+n] belongs in the field kind of event ev.
func (d *decoder) ref(kind refKind, ev, idx, off, n int) {
	if n == 0 {
		return
	}
	d.refs = append(d.refs, strRef{off: uint32(off), n: uint32(n), ev: int32(ev), idx: int32(idx), kind: kind})
}

// slots decodes the slots array.
func (d *decoder) slots() error {
	if d.peek() != '[' {
		return d.typeErr("slots", "array")
	}
	empty, err := d.openContainer(1, ']')
	if err != nil {
		return err
	}
	for i := 0; !empty; i++ {
		path := func() string { return "slots[" + strconv.Itoa(i) + "]" }
		if i >= d.lim.MaxSlots {
			return &DecodeError{Offset: d.pos, Reason: "more than " + strconv.Itoa(d.lim.MaxSlots) + " slots"}
		}
		if d.peek() != '"' {
			return d.typeErr(path(), "string")
		}
		start := d.pos
		off, n, err := d.str()
		if err != nil {
			return err
		}
		switch {
		case n == 0:
			return &DecodeError{Offset: start, Reason: path() + ": empty"}
		case n > d.lim.MaxSlotLen:
			return &DecodeError{Offset: start, Reason: path() + ": longer than " + strconv.Itoa(d.lim.MaxSlotLen) + " bytes"}
		}
		d.b.Slots = append(d.b.Slots, "")
		d.ref(refSlot, -1, len(d.b.Slots)-1, off, n)
		more, err := d.next(']')
		if err != nil {
			return err
		}
		empty = !more
	}
	return nil
}

// events decodes the events array.
func (d *decoder) events() error {
	if d.peek() != '[' {
		return d.typeErr("events", "array")
	}
	empty, err := d.openContainer(1, ']')
	if err != nil {
		return err
	}
	for i := 0; !empty; i++ {
		if d.peek() != '{' {
			return d.typeErr("events["+strconv.Itoa(i)+"]", "object")
		}
		if i >= d.lim.MaxEvents {
			return &DecodeError{Offset: d.pos, Reason: "more than " + strconv.Itoa(d.lim.MaxEvents) + " events"}
		}
		if err := d.event(d.newEvent()); err != nil {
			return err
		}
		more, err := d.next(']')
		if err != nil {
			return err
		}
		empty = !more
	}
	return nil
}

// newEvent appends an empty event to the batch, reusing a pooled one's slices, and returns
// its index. Events are addressed by index, never by pointer, while decoding: the slice may
// grow.
func (d *decoder) newEvent() int {
	b := d.b
	n := len(b.Events)
	if n < cap(b.Events) {
		b.Events = b.Events[:n+1]
		b.Events[n].Reset()
	} else {
		b.Events = append(b.Events, Event{})
	}
	return n
}

// evPath is the path of member f of event ev in error messages: "events[3].props", or
// "props" in a single-event body.
func (d *decoder) evPath(ev int, f field) string {
	if d.single {
		return fieldNames[f]
	}
	return "events[" + strconv.Itoa(ev) + "]." + fieldNames[f]
}

// event decodes the event object at d.pos into event ev of the batch.
func (d *decoder) event(ev int) error {
	empty, err := d.openContainer(2, '}')
	if err != nil {
		return err
	}
	var seen uint32
	for !empty {
		kpos := d.pos
		k, err := d.key()
		if err != nil {
			return err
		}
		if f, ok := lookupField(k); ok {
			if seen&(1<<f) != 0 {
				return d.duplicate(kpos, "events["+strconv.Itoa(ev)+"]", k)
			}
			seen |= 1 << f
			if err := d.member(ev, f, 3); err != nil {
				return err
			}
		} else if err := d.skip(3); err != nil {
			return err
		}
		more, err := d.next('}')
		if err != nil {
			return err
		}
		empty = !more
	}
	return nil
}

// member decodes the value at d.pos as member f of event ev; depth is how many containers
// enclose the value.
func (d *decoder) member(ev int, f field, depth int) error {
	if null, err := d.isNull(); null || err != nil {
		return err
	}
	switch f {
	case fTS, fEngaged, fScroll:
		c := d.peek()
		if c != '-' && (c < '0' || c > '9') {
			return d.typeErr(d.evPath(ev, f), "number")
		}
		v, err := d.num()
		if err != nil {
			return err
		}
		e := &d.b.Events[ev]
		switch f {
		case fTS:
			e.TS = toInt64(v)
		case fEngaged:
			e.EngagedMS = toInt64(v)
		default:
			e.ScrollPct = int(max(min(v, 1<<31), -1<<31))
		}
		return nil
	case fProps, fTraits:
		if d.peek() != '{' {
			return d.typeErr(d.evPath(ev, f), "object")
		}
		return d.props(ev, f == fTraits, depth)
	}
	if d.peek() != '"' {
		return d.typeErr(d.evPath(ev, f), "string")
	}
	off, n, err := d.str()
	if err != nil {
		return err
	}
	if f == fType {
		s := d.buf[off : off+n]
		t := parseTypeBytes(s)
		if t == TypeInvalid && n > 0 {
			d.note(ev, "unknown type "+quote(s))
		}
		d.b.Events[ev].Type = t
		d.buf = d.buf[:off]
		return nil
	}
	d.ref(stringFields[f], ev, 0, off, n)
	return nil
}

// toInt64 converts a JSON number to an integer, truncating fractions and saturating at the
// int64 range (validation then rejects such values as out of range).
func toInt64(v float64) int64 {
	switch {
	case v != v:
		return 0
	case v >= 1<<63:
		return 1<<63 - 1
	case v <= -1<<63:
		return -1 << 63
	}
	return int64(v)
}

// parseTypeBytes is ParseType without converting s to a string.
func parseTypeBytes(s []byte) Type {
	switch string(s) {
	case "pageview":
		return TypePageview
	case "event":
		return TypeEvent
	case "identify":
		return TypeIdentify
	case "engagement":
		return TypeEngagement
	case "prompt":
		return TypePrompt
	}
	return TypeInvalid
}

// note records a problem that rejects event ev; the first one found is reported.
func (d *decoder) note(ev int, reason string) {
	if n := len(d.notes); n > 0 && d.notes[n-1].Index == ev {
		return
	}
	d.notes = append(d.notes, Rejection{Index: ev, Reason: reason})
}

// props decodes the props (or traits) object at d.pos into event ev. Values must be
// scalars; props past the limit are checked for syntax but not kept.
func (d *decoder) props(ev int, traits bool, depth int) error {
	what, keyKind, valKind := "prop", refPropKey, refPropVal
	if traits {
		what, keyKind, valKind = "trait", refTraitKey, refTraitVal
	}
	empty, err := d.openContainer(depth, '}')
	if err != nil {
		return err
	}
	for count := 0; !empty; count++ {
		if d.peek() != '"' {
			return d.unexpected()
		}
		koff, kn, err := d.str()
		if err != nil {
			return err
		}
		d.ws()
		if err := d.expect(':'); err != nil {
			return err
		}
		d.ws()
		keep := count < d.lim.MaxProps
		if !keep && count == d.lim.MaxProps {
			d.note(ev, "more than "+strconv.Itoa(d.lim.MaxProps)+" "+what+"s")
		}
		var v Value
		voff, vn := 0, 0
		switch c := d.peek(); {
		case c == '"':
			v.Kind = KindString
			if voff, vn, err = d.str(); err != nil {
				return err
			}
		case c == 't':
			v, err = BoolValue(true), d.lit("true")
		case c == 'f':
			v, err = BoolValue(false), d.lit("false")
		case c == 'n':
			err = d.lit("null")
		case c == '{' || c == '[':
			if keep {
				d.note(ev, what+" "+quote(d.buf[koff:koff+kn])+" is not a scalar")
			}
			keep = false
			err = d.skip(depth + 1)
		default:
			if c != '-' && (c < '0' || c > '9') {
				return d.unexpected()
			}
			var f float64
			f, err = d.num()
			v = NumberValue(f)
			if keep && (f-f != 0) {
				d.note(ev, what+" "+quote(d.buf[koff:koff+kn])+" is out of range")
				keep = false
			}
		}
		if err != nil {
			return err
		}
		if keep {
			e := &d.b.Events[ev]
			var i int
			if traits {
				e.Traits = append(e.Traits, Prop{Val: v})
				i = len(e.Traits) - 1
			} else {
				e.Props = append(e.Props, Prop{Val: v})
				i = len(e.Props) - 1
			}
			d.ref(keyKind, ev, i, koff, kn)
			d.ref(valKind, ev, i, voff, vn)
		} else {
			d.buf = d.buf[:koff]
		}
		more, err := d.next('}')
		if err != nil {
			return err
		}
		empty = !more
	}
	return nil
}

// quote returns s quoted for a rejection reason, cut short when long.
func quote(s []byte) string {
	const maxQuoted = 32
	if len(s) > maxQuoted {
		return strconv.Quote(string(s[:maxQuoted]) + "...")
	}
	return strconv.Quote(string(s))
}

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
