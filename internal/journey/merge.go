package journey

import (
	"slices"

	"github.com/pathlight/pathlight/internal/event"
)

// Merge folds src, another visitor's state, into dst: identity linking calls it when an
// identified user is seen on a second device or cookie. Afterwards dst shares no memory with
// src. The rules are:
//
//   - VID, UserID, Stage and Segments: dst's, or src's when dst has none.
//   - FirstSeen and LastSeen: the earliest and the latest; Device and Geo: those of the state
//     seen last (the latest known).
//   - Sessions, Pageviews, Conversions and Value: summed. Touchpoints, StepHistory and
//     ConversionList: merged in time order, keeping the newest of each bound.
//   - Paths, Events and Steps: counts of the same key summed, first and last times widened;
//     keys beyond the bounds overflow as in Apply (Steps keep the most recently reached).
//   - Experiments and Traits: dst wins on conflict; src's others are added while there is
//     room.
//   - Prompts: counts summed, the latest LastShown kept. The current session after the merge
//     is the one started last, so PromptSession comes from the state that owns it and a
//     prompt shown in it keeps LastSession equal to Sessions; other session numbers only stay
//     below Sessions, since interleaved sessions have no exact numbering.
//   - Recent: both lists in acceptance order, unbounded; the caller trims it with TrimRecent
//     and keeps the ids pushed out. SpillUntil: the later. Logged: both lists in time
//     order, unbounded; the caller writes out full packs.
func Merge(dst, src *State) {
	if dst == nil || src == nil || dst == src {
		return
	}
	dCur, sCur := dst.Session(), src.Session()
	srcCurrent := sCur != nil && (dCur == nil || sCur.StartedAt > dCur.StartedAt)
	srcLater := src.LastSeen > dst.LastSeen
	dstSessions, srcSessions := dst.Sessions, src.Sessions

	if dst.VID == "" {
		dst.VID = src.VID
	}
	if dst.UserID == "" {
		dst.UserID = src.UserID
	}
	if dst.Stage == "" {
		dst.Stage = src.Stage
	}
	if len(dst.Segments) == 0 {
		dst.Segments = slices.Clone(src.Segments)
	}
	switch {
	case src.FirstSeen == 0 && src.LastSeen == 0:
	case dst.FirstSeen == 0 && dst.LastSeen == 0:
		dst.FirstSeen, dst.LastSeen = src.FirstSeen, src.LastSeen
	default:
		dst.FirstSeen = min(dst.FirstSeen, src.FirstSeen)
		dst.LastSeen = max(dst.LastSeen, src.LastSeen)
	}
	if src.Device != (event.Device{}) && (srcLater || dst.Device == (event.Device{})) {
		dst.Device = src.Device
	}
	if src.Geo != (event.Geo{}) && (srcLater || dst.Geo == (event.Geo{})) {
		dst.Geo = src.Geo
	}

	dst.Sessions = satAdd32(dst.Sessions, src.Sessions)
	dst.Touchpoints = mergeByTime(dst.Touchpoints, src.Touchpoints, MaxTouchpoints, touchpointAt)
	for i := range dst.Touchpoints {
		dst.Touchpoints[i].ClickIDs = slices.Clone(dst.Touchpoints[i].ClickIDs)
	}
	dst.Pageviews = satAdd32(dst.Pageviews, src.Pageviews)
	dst.Paths = mergeCounts(dst.Paths, src.Paths, MaxPaths, OtherPath)
	dst.Events = mergeCounts(dst.Events, src.Events, MaxEvents, OtherEvent)
	dst.Steps = mergeCounts(dst.Steps, src.Steps, MaxSteps, "")
	dst.StepHistory = mergeByTime(dst.StepHistory, src.StepHistory, MaxStepHistory, markAt)

	dst.Conversions = satAdd32(dst.Conversions, src.Conversions)
	dst.Value += src.Value
	dst.ConversionList = mergeByTime(dst.ConversionList, src.ConversionList, MaxConversions, conversionAt)

	for _, a := range src.Experiments {
		if dst.Assignment(a.Experiment) == nil && len(dst.Experiments) < MaxExperiments {
			dst.Experiments = append(dst.Experiments, a)
		}
	}
	for _, p := range src.Traits {
		if traitIndex(dst.Traits, p.Key) < 0 && len(dst.Traits) < MaxTraits {
			dst.Traits = append(dst.Traits, p)
		}
	}
	mergePrompts(dst, src, dstSessions, srcSessions, srcCurrent)
	mergeRecent(dst, src)
	mergeLogged(dst, src)
}

// mergeCounts folds the counts of src into dst by key. Keys beyond max go to the overflow
// bucket other; when other is "" (steps), a new key instead replaces the least recently seen
// one if it was seen more recently.
func mergeCounts(dst, src []Count, max int, other string) []Count {
	for _, c := range src {
		if c.N == 0 {
			continue
		}
		if i := countIndex(dst, c.Key); i >= 0 {
			dst[i].add(c.N, c.FirstAt, c.LastAt)
			continue
		}
		if other == "" {
			if len(dst) < max {
				dst = append(dst, c)
			} else if j := leastRecent(dst); dst[j].LastAt < c.LastAt {
				dst[j] = c
			}
			continue
		}
		named := len(dst)
		bucket := countIndex(dst, other)
		if bucket >= 0 {
			named--
		}
		switch {
		case named < max:
			dst = append(dst, c)
		case bucket < 0:
			dst = append(dst, Count{Key: other, N: c.N, FirstAt: c.FirstAt, LastAt: c.LastAt})
		default:
			dst[bucket].add(c.N, c.FirstAt, c.LastAt)
		}
	}
	return dst
}

// mergePrompts folds src's prompt stats into dst's; see Merge for the session numbering.
func mergePrompts(dst, src *State, dstSessions, srcSessions uint32, srcCurrent bool) {
	total := dst.Sessions
	renumber := func(n, origin uint32, current bool) uint32 {
		switch {
		case current && n == origin && n > 0:
			return total
		case n >= total && total > 0:
			return total - 1
		}
		return n
	}
	for i := range dst.Prompts {
		p := &dst.Prompts[i]
		p.LastSession = renumber(p.LastSession, dstSessions, !srcCurrent)
	}
	for _, p := range src.Prompts {
		p.LastSession = renumber(p.LastSession, srcSessions, srcCurrent)
		q := dst.Prompt(p.ID)
		switch {
		case q != nil:
			q.Shown = satAdd32(q.Shown, p.Shown)
			q.Dismissed = satAdd32(q.Dismissed, p.Dismissed)
			q.Answered = satAdd32(q.Answered, p.Answered)
			if p.LastShown > q.LastShown {
				q.LastShown, q.LastSession = p.LastShown, p.LastSession
			}
		case len(dst.Prompts) < MaxPrompts:
			dst.Prompts = append(dst.Prompts, p)
		default:
			if j := oldestPrompt(dst.Prompts); dst.Prompts[j].LastShown < p.LastShown {
				dst.Prompts[j] = p
			}
		}
	}
	dst.PromptLast = max(dst.PromptLast, src.PromptLast)
	if srcCurrent {
		dst.PromptSession = src.PromptSession
	}
}
