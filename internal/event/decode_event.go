package event

import (
	"math"
	"strconv"
)

// This file decodes the members of one event object: the known fields, props and traits.
// Problems that concern only the event (an unknown type, a nested prop) are noted and reject
// that event later; a value of the wrong JSON type is a DecodeError.

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

// fieldNames are the wire names of the fields, for error messages.
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
			if keep && !(math.Abs(f) <= d.lim.MaxNumber) { // also catches ±Inf
				d.note(ev, what+" "+quote(d.buf[koff:koff+kn])+" is out of range (numbers are limited to ±"+
					strconv.FormatFloat(d.lim.MaxNumber, 'f', -1, 64)+")")
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
