package journey

import (
	"unsafe"

	"github.com/pathlight/pathlight/internal/event"
)

// Copy makes dst a copy of src that shares no array with it: applying hits to dst afterwards
// leaves src as it was. The strings are shared (Go strings are immutable). dst's arrays are
// reused when they are large enough, touchpoints' click-id buffers included, so copying into
// a pooled State of similar shape allocates nothing. Copying is a few memory moves: a copy is
// several times cheaper than decoding the same visitor's record.
func Copy(dst, src *State) {
	if dst == src {
		return
	}
	tps := dst.Touchpoints
	*dst = State{
		VID:       src.VID,
		UserID:    src.UserID,
		FirstSeen: src.FirstSeen,
		LastSeen:  src.LastSeen,
		Sessions:  src.Sessions,
		Pageviews: src.Pageviews,
		Device:    src.Device,
		Geo:       src.Geo,
		Stage:     src.Stage,

		Conversions:   src.Conversions,
		Value:         src.Value,
		PromptLast:    src.PromptLast,
		PromptSession: src.PromptSession,
		SpillUntil:    src.SpillUntil,

		Touchpoints:    copyTouchpoints(tps, src.Touchpoints),
		Paths:          append(dst.Paths[:0], src.Paths...),
		Events:         append(dst.Events[:0], src.Events...),
		Traits:         append(dst.Traits[:0], src.Traits...),
		Steps:          append(dst.Steps[:0], src.Steps...),
		StepHistory:    append(dst.StepHistory[:0], src.StepHistory...),
		Segments:       append(dst.Segments[:0], src.Segments...),
		ConversionList: append(dst.ConversionList[:0], src.ConversionList...),
		Experiments:    append(dst.Experiments[:0], src.Experiments...),
		Prompts:        append(dst.Prompts[:0], src.Prompts...),
		Recent:         append(dst.Recent[:0], src.Recent...),
		Logged:         append(dst.Logged[:0], src.Logged...),
	}
}

// copyTouchpoints copies src into dst's array, each touchpoint with click ids of its own: the
// buffer the entry of dst had at that index, else a new one.
func copyTouchpoints(dst, src []Touchpoint) []Touchpoint {
	dst = grow(dst[:0], len(src))
	for i := range src {
		ids := dst[i].ClickIDs
		dst[i] = src[i]
		dst[i].ClickIDs = nil
		if len(src[i].ClickIDs) > 0 || ids != nil {
			dst[i].ClickIDs = append(ids[:0], src[i].ClickIDs...)
		}
	}
	return dst
}

// ClearSpare zeroes the entries past the length of every list of s, so that s keeps no
// string or click-id buffer alive beyond what it holds: for a State kept long (a cache) whose
// arrays once held another visitor's entries.
func (s *State) ClearSpare() {
	for i := len(s.Touchpoints); i < cap(s.Touchpoints); i++ {
		s.Touchpoints[:cap(s.Touchpoints)][i] = Touchpoint{}
	}
	clearSpare(s.Paths)
	clearSpare(s.Events)
	clearSpare(s.Traits)
	clearSpare(s.Steps)
	clearSpare(s.StepHistory)
	clearSpare(s.Segments)
	clearSpare(s.ConversionList)
	clearSpare(s.Experiments)
	clearSpare(s.Prompts)
}

func clearSpare[T any](s []T) { clear(s[len(s):cap(s)]) }

// MemSize returns the bytes s holds in its own memory: the State itself and the arrays of its
// lists (their whole capacity, with the click-id buffers of its touchpoints). The strings are
// not counted: whoever keeps States long bounds them another way (the tracker's state cache
// counts the record a State was decoded from and its latest encoding, see there).
func (s *State) MemSize() int {
	n := int(unsafe.Sizeof(*s))
	n += cap(s.Touchpoints) * int(unsafe.Sizeof(Touchpoint{}))
	for i := range s.Touchpoints[:cap(s.Touchpoints)] {
		n += cap(s.Touchpoints[:cap(s.Touchpoints)][i].ClickIDs) * int(unsafe.Sizeof(event.ClickID{}))
	}
	n += (cap(s.Paths) + cap(s.Events) + cap(s.Steps)) * int(unsafe.Sizeof(Count{}))
	n += cap(s.Traits) * int(unsafe.Sizeof(event.Prop{}))
	n += cap(s.StepHistory) * int(unsafe.Sizeof(StepMark{}))
	n += cap(s.Segments) * int(unsafe.Sizeof(""))
	n += cap(s.ConversionList) * int(unsafe.Sizeof(Conversion{}))
	n += cap(s.Experiments) * int(unsafe.Sizeof(Assignment{}))
	n += cap(s.Prompts) * int(unsafe.Sizeof(PromptStat{}))
	n += cap(s.Recent) * int(unsafe.Sizeof(RecentID{}))
	n += cap(s.Logged) * int(unsafe.Sizeof(LogRef{}))
	return n
}
