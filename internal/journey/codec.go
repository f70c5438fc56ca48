package journey

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pathlight/pathlight/internal/event"
)

// Version is the encoding version AppendBinary writes: the first byte of every record.
// Decode keeps reading every earlier version, so stored visitors survive upgrades.
const Version = 2

// KeepsRecent reports whether an encoded record holds the recent event ids (Recent,
// SpillUntil): records written before version 2 do not.
func KeepsRecent(record []byte) bool { return len(record) > 0 && record[0] >= 2 }

// Errors of Decode, wrapped with the place of the failure.
var (
	ErrCorrupt = errors.New("corrupt journey state")
	ErrVersion = errors.New("unknown journey state version")
)

// Minimum encoded sizes of list entries, which bound a list's length by the bytes left.
const (
	minTouchpoint = 13 // 2 times, 8 strings, click ids, pageviews, engaged time
	minClickID    = 2
	minCount      = 4
	minTrait      = 2
	minMark       = 2
	minConversion = 3
	minAssignment = 4
	minPrompt     = 6
	minRecent     = 7
	minLogged     = 2
)

// AppendBinary appends the version-2 encoding of s to dst and returns the extended buffer.
// It allocates only to grow dst.
//
// The record is the version byte, then the fields in State order: the visitor ids,
// FirstSeen as a varint, every other time as a varint difference (from FirstSeen, from the
// previous entry of a time-ordered list, or from the entry's first time), counts as uvarints,
// each list as its length and entries. A touchpoint's strings that equal the previous
// touchpoint's are one byte, and step history marks and conversions name their step by its
// index in Steps.
//
// Each list is written with at most its Max entries (plus the overflow bucket of Paths and
// Events): the newest of time-ordered lists, the first of the others. A State grown past a
// bound by direct edits therefore loses its excess when stored, and every record AppendBinary
// writes decodes.
func (s *State) AppendBinary(dst []byte) []byte {
	b := append(dst, Version)
	b = appendString(b, s.VID)
	b = appendString(b, s.UserID)
	base := s.FirstSeen
	b = appendTime(b, base, 0)
	b = appendTime(b, s.LastSeen, base)

	b = appendUint(b, uint64(s.Sessions))
	tps := tail(s.Touchpoints, MaxTouchpoints)
	b = appendUint(b, uint64(len(tps)))
	prev, ref := &Touchpoint{}, base
	for i := range tps {
		tp := &tps[i]
		b = appendTime(b, tp.StartedAt, ref)
		b = appendTime(b, tp.LastAt, tp.StartedAt)
		b = appendStringPrev(b, tp.Channel, prev.Channel)
		b = appendStringPrev(b, tp.Source, prev.Source)
		b = appendStringPrev(b, tp.Medium, prev.Medium)
		b = appendStringPrev(b, tp.Campaign, prev.Campaign)
		b = appendStringPrev(b, tp.Term, prev.Term)
		b = appendStringPrev(b, tp.Content, prev.Content)
		b = appendStringPrev(b, tp.LandingPage, prev.LandingPage)
		b = appendStringPrev(b, tp.RefHost, prev.RefHost)
		ids := head(tp.ClickIDs, MaxClickIDs)
		b = appendUint(b, uint64(len(ids)))
		for _, id := range ids {
			b = appendString(b, id.Name)
			b = appendString(b, id.Value)
		}
		b = appendUint(b, uint64(tp.Pageviews))
		b = appendTime(b, tp.EngagedMS, 0)
		prev, ref = tp, tp.StartedAt
	}

	b = appendUint(b, uint64(s.Pageviews))
	b = appendCounts(b, head(s.Paths, MaxPaths+1), base)
	b = appendCounts(b, head(s.Events, MaxEvents+1), base)

	b = append(b, byte(s.Device.Type))
	b = appendString(b, s.Device.OS)
	b = appendString(b, s.Device.Browser)
	b = appendBool(b, s.Device.Bot)
	b = appendString(b, s.Geo.Country)
	b = appendString(b, s.Geo.Region)
	b = appendString(b, s.Geo.City)
	b = appendString(b, s.Geo.TimeZone)

	traits := head(s.Traits, MaxTraits)
	b = appendUint(b, uint64(len(traits)))
	for _, p := range traits {
		b = appendString(b, p.Key)
		b = appendValue(b, p.Val)
	}

	b = appendString(b, s.Stage)
	steps := head(s.Steps, MaxSteps)
	b = appendCounts(b, steps, base)
	var idx stepIndex
	idx.init(steps)
	hist := tail(s.StepHistory, MaxStepHistory)
	b = appendUint(b, uint64(len(hist)))
	ref = base
	for _, m := range hist {
		// idx.find, its common case inlined: up to 200 marks per record.
		i, ok := idx.cached(m.Step)
		if !ok {
			i = idx.probe(m.Step)
		}
		b = appendStepRef(b, m.Step, i)
		b = appendTime(b, m.At, ref)
		ref = m.At
	}
	b = appendUint(b, uint64(len(s.Segments)))
	for _, seg := range s.Segments {
		b = appendString(b, seg)
	}

	b = appendUint(b, uint64(s.Conversions))
	b = appendFloat(b, s.Value)
	convs := tail(s.ConversionList, MaxConversions)
	b = appendUint(b, uint64(len(convs)))
	ref = base
	for _, c := range convs {
		b = appendStepRef(b, c.Step, idx.find(c.Step))
		b = appendTime(b, c.At, ref)
		b = appendFloat(b, c.Value)
		ref = c.At
	}

	exps := head(s.Experiments, MaxExperiments)
	b = appendUint(b, uint64(len(exps)))
	for _, a := range exps {
		b = appendString(b, a.Experiment)
		b = appendString(b, a.Variant)
		b = appendTime(b, a.At, base)
		b = appendBool(b, a.Exposed)
	}
	prompts := head(s.Prompts, MaxPrompts)
	b = appendUint(b, uint64(len(prompts)))
	for _, p := range prompts {
		b = appendString(b, p.ID)
		b = appendUint(b, uint64(p.Shown))
		b = appendUint(b, uint64(p.Dismissed))
		b = appendUint(b, uint64(p.Answered))
		b = appendTime(b, p.LastShown, base)
		b = appendUint(b, uint64(p.LastSession))
	}
	b = appendTime(b, s.PromptLast, base)
	b = appendUint(b, uint64(s.PromptSession))

	// Version 2: the recent event ids, their times in seconds.
	b = appendTime(b, s.SpillUntil, base/1000)
	recent := tail(s.Recent, MaxRecent)
	b = appendUint(b, uint64(len(recent)))
	ref = base / 1000
	for _, r := range recent {
		h := r.Hash & recentHashMask
		b = append(b, byte(h), byte(h>>8), byte(h>>16), byte(h>>24), byte(h>>32), byte(h>>40))
		b = appendTime(b, r.At, ref)
		ref = r.At
	}
	// Pending event-log keys: times from FirstSeen, then from the previous; sequence numbers
	// as signed differences from the previous (they grow within a process).
	b = appendUint(b, uint64(len(s.Logged)))
	ref = base
	var seq uint64
	for _, l := range s.Logged {
		b = appendTime(b, l.TS, ref)
		b = binary.AppendVarint(b, int64(l.Seq-seq))
		ref, seq = l.TS, l.Seq
	}
	return b
}

func head[T any](s []T, n int) []T { return s[:min(len(s), n)] }

func tail[T any](s []T, n int) []T { return s[max(len(s)-n, 0):] }

func appendCounts(b []byte, cs []Count, base int64) []byte {
	b = appendUint(b, uint64(len(cs)))
	for i := range cs {
		c := &cs[i]
		b = appendString(b, c.Key)
		b = appendUint(b, uint64(c.N))
		b = appendTime(b, c.FirstAt, base)
		b = appendTime(b, c.LastAt, c.FirstAt)
	}
	return b
}

// appendStepRef writes a step name as its 1-based index in the Steps written (i, the first
// that holds it: stepIndex.find), or as 0 and the name when they do not hold it (i < 0).
func appendStepRef(b []byte, step string, i int) []byte {
	if i >= 0 {
		return appendUint(b, uint64(i)+1)
	}
	return appendString(append(b, 0), step)
}

// appendValue writes a trait value as its kind and payload; a kind this version does not
// know is written as null.
func appendValue(b []byte, v event.Value) []byte {
	switch v.Kind {
	case event.KindString:
		return appendString(append(b, byte(event.KindString)), v.Str)
	case event.KindNumber:
		return appendFloat(append(b, byte(event.KindNumber)), v.Num)
	case event.KindBool:
		return appendBool(append(b, byte(event.KindBool)), v.Num != 0)
	}
	return append(b, byte(event.KindNull))
}

// Decode replaces s with the State encoded in data, a record written by AppendBinary of this
// or an earlier version. Decoding arbitrary bytes never panics: a record that is truncated,
// malformed or has trailing bytes yields an error wrapping ErrCorrupt, an unknown version
// one wrapping ErrVersion, and s is then Reset.
//
// Decode reuses the arrays of s's slices, and each string of s that equals the decoded one,
// so decoding into a pooled State of similar shape allocates nothing when the visitor's
// strings are unchanged, and once (one copy of data that all new strings share) otherwise.
// s keeps no reference to data.
func Decode(data []byte, s *State) error {
	if len(data) == 0 {
		s.Reset()
		return fmt.Errorf("decode journey state: empty record: %w", ErrCorrupt)
	}
	if data[0] == 0 || data[0] > Version {
		s.Reset()
		return fmt.Errorf("decode journey state: version %d: %w", data[0], ErrVersion)
	}
	d := decoder{data: data, off: 1}
	s.decodeV1(&d)
	s.Recent, s.SpillUntil, s.Logged = s.Recent[:0], 0, s.Logged[:0]
	if data[0] >= 2 {
		s.decodeV2(&d)
	}
	if d.err == nil && d.off != len(data) {
		d.fail("%d bytes after the record", len(data)-d.off)
	}
	if d.err != nil {
		s.Reset()
		return d.err
	}
	return nil
}

// decodeV1 reads the fields of a version-1 record; d holds the first error.
func (s *State) decodeV1(d *decoder) {
	s.VID = d.str(s.VID)
	s.UserID = d.str(s.UserID)
	s.FirstSeen = d.time(0)
	base := s.FirstSeen
	s.LastSeen = d.time(base)

	s.Sessions = d.count()
	s.Touchpoints = grow(s.Touchpoints, d.length("touchpoints", MaxTouchpoints, minTouchpoint))
	var zero Touchpoint
	prev, ref := &zero, base
	for i := range s.Touchpoints {
		tp := &s.Touchpoints[i]
		tp.decode(d, prev, ref)
		prev, ref = tp, tp.StartedAt
	}

	s.Pageviews = d.count()
	s.Paths = decodeCounts(d, s.Paths, "paths", MaxPaths+1, base)
	s.Events = decodeCounts(d, s.Events, "events", MaxEvents+1, base)

	s.Device.Type = event.DeviceType(d.u8())
	s.Device.OS = d.str(s.Device.OS)
	s.Device.Browser = d.str(s.Device.Browser)
	s.Device.Bot = d.flag()
	s.Geo.Country = d.str(s.Geo.Country)
	s.Geo.Region = d.str(s.Geo.Region)
	s.Geo.City = d.str(s.Geo.City)
	s.Geo.TimeZone = d.str(s.Geo.TimeZone)

	s.Traits = grow(s.Traits, d.length("traits", MaxTraits, minTrait))
	for i := range s.Traits {
		p := &s.Traits[i]
		p.Key = d.str(p.Key)
		p.Val = decodeValue(d, p.Val.Str)
	}

	s.Stage = d.str(s.Stage)
	s.Steps = decodeCounts(d, s.Steps, "steps", MaxSteps, base)
	s.StepHistory = grow(s.StepHistory, d.length("step marks", MaxStepHistory, minMark))
	ref = base
	for i := range s.StepHistory {
		m := &s.StepHistory[i]
		m.Step = decodeStepRef(d, m.Step, s.Steps)
		m.At = d.time(ref)
		ref = m.At
	}
	s.Segments = grow(s.Segments, d.length("segments", d.remaining(), 1))
	for i := range s.Segments {
		s.Segments[i] = d.str(s.Segments[i])
	}

	s.Conversions = d.count()
	s.Value = d.float()
	s.ConversionList = grow(s.ConversionList, d.length("conversions", MaxConversions, minConversion))
	ref = base
	for i := range s.ConversionList {
		c := &s.ConversionList[i]
		c.Step = decodeStepRef(d, c.Step, s.Steps)
		c.At = d.time(ref)
		c.Value = d.float()
		ref = c.At
	}

	s.Experiments = grow(s.Experiments, d.length("experiments", MaxExperiments, minAssignment))
	for i := range s.Experiments {
		a := &s.Experiments[i]
		a.Experiment = d.str(a.Experiment)
		a.Variant = d.str(a.Variant)
		a.At = d.time(base)
		a.Exposed = d.flag()
	}
	s.Prompts = grow(s.Prompts, d.length("prompts", MaxPrompts, minPrompt))
	for i := range s.Prompts {
		p := &s.Prompts[i]
		p.ID = d.str(p.ID)
		p.Shown = d.count()
		p.Dismissed = d.count()
		p.Answered = d.count()
		p.LastShown = d.time(base)
		p.LastSession = d.count()
	}
	s.PromptLast = d.time(base)
	s.PromptSession = d.count()
}

// decodeV2 reads the fields version 2 added after those of version 1.
func (s *State) decodeV2(d *decoder) {
	s.SpillUntil = d.time(s.FirstSeen / 1000)
	s.Recent = grow(s.Recent, d.length("recent ids", MaxRecent, minRecent))
	ref := s.FirstSeen / 1000
	for i := range s.Recent {
		r := &s.Recent[i]
		r.Hash = d.u48()
		r.At = d.time(ref)
		ref = r.At
	}
	s.Logged = grow(s.Logged, d.length("event-log keys", d.remaining(), minLogged))
	ref = s.FirstSeen
	var seq uint64
	for i := range s.Logged {
		l := &s.Logged[i]
		l.TS = d.time(ref)
		l.Seq = seq + uint64(d.varint())
		ref, seq = l.TS, l.Seq
	}
}

// decode reads a touchpoint over tp, reusing its strings and click-id buffer; prev is the
// touchpoint decoded before it and ref the time its StartedAt is relative to.
func (tp *Touchpoint) decode(d *decoder, prev *Touchpoint, ref int64) {
	tp.StartedAt = d.time(ref)
	tp.LastAt = d.time(tp.StartedAt)
	tp.Channel = d.strPrev(tp.Channel, prev.Channel)
	tp.Source = d.strPrev(tp.Source, prev.Source)
	tp.Medium = d.strPrev(tp.Medium, prev.Medium)
	tp.Campaign = d.strPrev(tp.Campaign, prev.Campaign)
	tp.Term = d.strPrev(tp.Term, prev.Term)
	tp.Content = d.strPrev(tp.Content, prev.Content)
	tp.LandingPage = d.strPrev(tp.LandingPage, prev.LandingPage)
	tp.RefHost = d.strPrev(tp.RefHost, prev.RefHost)
	tp.ClickIDs = grow(tp.ClickIDs, d.length("click ids", MaxClickIDs, minClickID))
	for i := range tp.ClickIDs {
		id := &tp.ClickIDs[i]
		id.Name = d.str(id.Name)
		id.Value = d.str(id.Value)
	}
	tp.Pageviews = d.count()
	tp.EngagedMS = d.varint()
}

func decodeCounts(d *decoder, cs []Count, what string, max int, base int64) []Count {
	cs = grow(cs, d.length(what, max, minCount))
	for i := range cs {
		c := &cs[i]
		c.Key = d.str(c.Key)
		c.N = d.count()
		c.FirstAt = d.time(base)
		c.LastAt = d.time(c.FirstAt)
	}
	return cs
}

// decodeStepRef reads a step name written by appendStepRef.
func decodeStepRef(d *decoder, old string, steps []Count) string {
	r := d.uvarint()
	if r == 0 {
		return d.str(old)
	}
	if r > uint64(len(steps)) {
		d.fail("step index %d of %d", r, len(steps))
		return ""
	}
	return steps[r-1].Key
}

// decodeValue reads a trait value written by appendValue, reusing old for its string.
func decodeValue(d *decoder, old string) event.Value {
	switch k := event.Kind(d.u8()); k {
	case event.KindNull:
		return event.Value{}
	case event.KindString:
		return event.StringValue(d.str(old))
	case event.KindNumber:
		return event.NumberValue(d.float())
	case event.KindBool:
		return event.BoolValue(d.flag())
	default:
		d.fail("trait kind %d", k)
		return event.Value{}
	}
}

// Reset clears s for reuse, keeping the arrays of its slices (and the entries past their
// lengths, whose strings and buffers Decode and Apply reuse).
func (s *State) Reset() {
	*s = State{
		Touchpoints:    s.Touchpoints[:0],
		Paths:          s.Paths[:0],
		Events:         s.Events[:0],
		Traits:         s.Traits[:0],
		Steps:          s.Steps[:0],
		StepHistory:    s.StepHistory[:0],
		Segments:       s.Segments[:0],
		ConversionList: s.ConversionList[:0],
		Experiments:    s.Experiments[:0],
		Prompts:        s.Prompts[:0],
		Recent:         s.Recent[:0],
		Logged:         s.Logged[:0],
	}
}
