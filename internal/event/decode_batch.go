package event

import "strconv"

// This file decodes the top-level object of a request body: the batch members (site, vid,
// consent, slots, events) and, for a single-event body, the event members beside them.

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
	if err := d.object(); err != nil {
		return err
	}
	// Event members of a single-event body are only decoded once the whole object has shown
	// there is no "events" member; until then their value offsets are kept here (+1, so that
	// 0 means absent).
	var fpos [numFields]int
	var seen uint
	objStart := d.pos
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
		if bit := batchBit(k); bit != 0 {
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
	single := false
	for _, p := range fpos {
		single = single || p != 0
	}
	if single && seen&bEvents != 0 {
		// Those members would otherwise vanish without a word in the reply.
		return &DecodeError{Offset: objStart, Reason: `event members beside "events": a body is one event, or a batch with every event in "events"`}
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

// object checks that the body is a JSON object, leaving d.pos at its '{'. Anything else is a
// *DecodeError: a syntax error if it is not JSON at all.
func (d *decoder) object() error {
	d.ws()
	c := d.peek()
	if c == '{' {
		return nil
	}
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

// batchBit returns the bit of the batch member named k, or 0 when k names none.
func batchBit(k []byte) uint {
	switch string(k) {
	case "site":
		return bSite
	case "vid":
		return bVID
	case "consent":
		return bConsent
	case "slots":
		return bSlots
	case "events":
		return bEvents
	}
	return 0
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
		if n == 0 { // as if absent: the server's only site, or a missing_site refusal
			d.buf = d.buf[:off]
			break
		}
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
		if d.peek() != '"' {
			return d.typeErr("slots["+strconv.Itoa(i)+"]", "string")
		}
		off, n, err := d.str()
		if err != nil {
			return err
		}
		// Slots ride along with events: a slot past the limit, or a name no rule can define
		// (empty, or longer than a slot id may be), is not answered, and keeps the page's
		// default, rather than cost the batch its events.
		if n == 0 || n > d.lim.MaxSlotLen || len(d.b.Slots) >= d.lim.MaxSlots {
			d.buf = d.buf[:off]
		} else {
			d.b.Slots = append(d.b.Slots, "")
			d.ref(refSlot, -1, len(d.b.Slots)-1, off, n)
		}
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
