package event

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// The event log stores every accepted Hit as a record: a version byte, then the fields in a
// fixed order, integers as varints and strings as a length and bytes. Version 1:
//
//	version   byte (1)
//	flags     byte: recTS (Event.TS is set), recPageURL (Page.URL differs from Event.URL),
//	          recBot (Device.Bot)
//	type      byte: Event.Type
//	device    byte: Device.Type
//	time      varint: Hit.Time
//	ts        varint: Event.TS - Hit.Time, when recTS
//	strings   Site, VID, ID, Name, URL, Ref, Title, UserID, Prompt, Action, Answer
//	engaged   varint: EngagedMS
//	scroll    varint: ScrollPct
//	props     uvarint count, then key string and value for each
//	traits    the same
//	strings   Device.OS, Device.Browser, Geo.Country, Geo.Region, Geo.City, Geo.TimeZone,
//	          Page.URL (when recPageURL), Page.Host, Page.Path, Source.Source, Source.Medium,
//	          Source.Campaign, Source.Term, Source.Content, Source.Channel, Source.RefHost
//	click ids uvarint count, then name and value strings for each
//
// A value is a kind byte (valNull, valString + string, valFloat + 8 bytes little-endian,
// valFalse, valTrue, valInt + varint for integral numbers, the common case). Page.Query is
// not stored: the URL has it. Old versions stay readable: a new layout takes a new version
// byte and DecodeRecord keeps decoding the old ones.
const recordVersion = 1

// Record flags.
const (
	recTS byte = 1 << iota
	recPageURL
	recBot
	recFlags = recTS | recPageURL | recBot
)

// Value kinds in a record.
const (
	valNull byte = iota
	valString
	valFloat
	valFalse
	valTrue
	valInt
)

// ErrCorruptRecord is returned, wrapped, for an event log record that cannot be decoded.
var ErrCorruptRecord = errors.New("corrupt event record")

// ErrRecordVersion is returned, wrapped, for a record written by a newer Pathlight.
var ErrRecordVersion = errors.New("unknown event record version")

// AppendRecord appends the log record of h (and of its Event, which may be nil) to dst.
func AppendRecord(dst []byte, h *Hit) []byte {
	var none Event
	e := h.Event
	if e == nil {
		e = &none
	}
	var flags byte
	if e.TS != 0 {
		flags |= recTS
	}
	if h.Page.URL != e.URL {
		flags |= recPageURL
	}
	if h.Device.Bot {
		flags |= recBot
	}
	dst = append(dst, recordVersion, flags, byte(e.Type), byte(h.Device.Type))
	dst = binary.AppendVarint(dst, h.Time)
	if e.TS != 0 {
		dst = binary.AppendVarint(dst, e.TS-h.Time)
	}
	for _, s := range [...]string{h.Site, h.VID, e.ID, e.Name, e.URL, e.Ref, e.Title, e.UserID, e.Prompt, e.Action, e.Answer} {
		dst = appendRecString(dst, s)
	}
	dst = binary.AppendVarint(dst, e.EngagedMS)
	dst = binary.AppendVarint(dst, int64(e.ScrollPct))
	dst = appendRecProps(dst, e.Props)
	dst = appendRecProps(dst, e.Traits)
	for _, s := range [...]string{h.Device.OS, h.Device.Browser, h.Geo.Country, h.Geo.Region, h.Geo.City, h.Geo.TimeZone} {
		dst = appendRecString(dst, s)
	}
	if flags&recPageURL != 0 {
		dst = appendRecString(dst, h.Page.URL)
	}
	src := &h.Source
	for _, s := range [...]string{h.Page.Host, h.Page.Path, src.Source, src.Medium, src.Campaign, src.Term, src.Content, src.Channel, src.RefHost} {
		dst = appendRecString(dst, s)
	}
	dst = binary.AppendUvarint(dst, uint64(len(src.ClickIDs)))
	for _, c := range src.ClickIDs {
		dst = appendRecString(dst, c.Name)
		dst = appendRecString(dst, c.Value)
	}
	return dst
}

func appendRecString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendRecProps(dst []byte, p Props) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(p)))
	for i := range p {
		dst = appendRecString(dst, p[i].Key)
		v := p[i].Val
		switch v.Kind {
		case KindString:
			dst = appendRecString(append(dst, valString), v.Str)
		case KindNumber:
			// Integral numbers up to 2^53 (counts, prices in cents, ids) are exact as
			// varints and far shorter than eight bytes; -0 keeps its sign as a float.
			if f := v.Num; f == math.Trunc(f) && math.Abs(f) <= 1<<53 && !(f == 0 && math.Signbit(f)) {
				dst = binary.AppendVarint(append(dst, valInt), int64(f))
			} else {
				dst = binary.LittleEndian.AppendUint64(append(dst, valFloat), math.Float64bits(f))
			}
		case KindBool:
			if v.Num != 0 {
				dst = append(dst, valTrue)
			} else {
				dst = append(dst, valFalse)
			}
		default:
			dst = append(dst, valNull)
		}
	}
	return dst
}

// DecodeRecord decodes a record written by AppendRecord into h and e, and points h.Event at
// e. Both are overwritten; the capacity of e's props and traits and of h's click ids is
// reused. Corrupt input returns an error wrapping ErrCorruptRecord or ErrRecordVersion, never
// a panic, and no length read from the record can make it allocate more than the record's
// size.
//
// Ownership: the strings of h and e share one copy of data, so data may be reused as soon as
// DecodeRecord returns (a Badger value, for example). A caller that keeps one of them for long
// while dropping the rest should strings.Clone it.
func DecodeRecord(data []byte, h *Hit, e *Event) error {
	if len(data) == 0 {
		return corrupt("empty record", 0)
	}
	if data[0] != recordVersion {
		return fmt.Errorf("event record version %d: %w", data[0], ErrRecordVersion)
	}
	r := recReader{data: data, pos: 1}
	flags, typ, dev := r.byte(), r.byte(), r.byte()
	if r.err == nil && flags&^recFlags != 0 {
		return corrupt("unknown flags", 1)
	}
	r.arena = string(data)

	e.Reset()
	*h = Hit{
		Event:  e,
		Page:   Page{Query: h.Page.Query[:0]},
		Source: Source{ClickIDs: h.Source.ClickIDs[:0]},
	}
	e.Type, h.Device.Type, h.Device.Bot = Type(typ), DeviceType(dev), flags&recBot != 0
	h.Time = r.varint()
	if flags&recTS != 0 {
		e.TS = h.Time + r.varint()
	}
	for _, p := range [...]*string{&h.Site, &h.VID, &e.ID, &e.Name, &e.URL, &e.Ref, &e.Title, &e.UserID, &e.Prompt, &e.Action, &e.Answer} {
		*p = r.str()
	}
	e.EngagedMS = r.varint()
	e.ScrollPct = int(r.varint())
	e.Props = r.props(e.Props)
	e.Traits = r.props(e.Traits)
	for _, p := range [...]*string{&h.Device.OS, &h.Device.Browser, &h.Geo.Country, &h.Geo.Region, &h.Geo.City, &h.Geo.TimeZone} {
		*p = r.str()
	}
	h.Page.URL = e.URL
	if flags&recPageURL != 0 {
		h.Page.URL = r.str()
	}
	s := &h.Source
	for _, p := range [...]*string{&h.Page.Host, &h.Page.Path, &s.Source, &s.Medium, &s.Campaign, &s.Term, &s.Content, &s.Channel, &s.RefHost} {
		*p = r.str()
	}
	// A click id takes at least two bytes: the count can be no larger than half the rest.
	if n := r.count(2); n > 0 {
		s.ClickIDs = grow(s.ClickIDs, n)
		for range n {
			s.ClickIDs = append(s.ClickIDs, ClickID{Name: r.str(), Value: r.str()})
		}
	}
	if r.err == nil && r.pos != len(data) {
		r.fail("trailing bytes")
	}
	return r.err
}

// recReader reads a record with a sticky error: after the first problem every read returns
// a zero value, and the caller checks err once at the end.
type recReader struct {
	data  []byte
	arena string // data as a string: decoded strings are slices of it
	pos   int
	err   error
}

func corrupt(what string, pos int) error {
	return fmt.Errorf("event record: %s at byte %d: %w", what, pos, ErrCorruptRecord)
}

func (r *recReader) fail(what string) {
	if r.err == nil {
		r.err = corrupt(what, r.pos)
	}
}

func (r *recReader) byte() byte {
	if r.err != nil || r.pos >= len(r.data) {
		r.fail("truncated")
		return 0
	}
	c := r.data[r.pos]
	r.pos++
	return c
}

func (r *recReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.data[r.pos:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.pos += n
	return v
}

func (r *recReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.data[r.pos:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.pos += n
	return v
}

// count reads a list length, checking that the rest of the record can hold that many
// entries of at least minSize bytes each.
func (r *recReader) count(minSize int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64((len(r.data)-r.pos)/minSize) {
		r.fail("list longer than the record")
		return 0
	}
	return int(n)
}

func (r *recReader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.data)-r.pos) {
		r.fail("string longer than the record")
		return ""
	}
	s := r.arena[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s
}

// props reads a props list into dst's storage.
func (r *recReader) props(dst Props) Props {
	dst = dst[:0]
	// A prop takes at least two bytes: a key length and a kind.
	n := r.count(2)
	if n == 0 {
		return dst
	}
	dst = grow(dst, n)
	for range n {
		k := r.str()
		var v Value
		switch kind := r.byte(); kind {
		case valNull:
		case valString:
			v = StringValue(r.str())
		case valFloat:
			if r.err == nil && len(r.data)-r.pos < 8 {
				r.fail("truncated")
			}
			if r.err == nil {
				v = NumberValue(math.Float64frombits(binary.LittleEndian.Uint64(r.data[r.pos:])))
				r.pos += 8
			}
		case valFalse:
			v = BoolValue(false)
		case valTrue:
			v = BoolValue(true)
		case valInt:
			v = NumberValue(float64(r.varint()))
		default:
			r.fail("unknown value kind " + strconv.Itoa(int(kind)))
		}
		if r.err != nil {
			return dst[:0]
		}
		dst = append(dst, Prop{Key: k, Val: v})
	}
	return dst
}

// grow returns s emptied, with room for n elements.
func grow[S ~[]E, E any](s S, n int) S {
	if cap(s) < n {
		return make(S, 0, n)
	}
	return s[:0]
}
