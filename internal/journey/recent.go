package journey

import (
	"cmp"
	"slices"
)

// MaxRecent bounds Recent. Ids pushed out while still inside their window are returned to
// the caller of TrimRecent, which must remember them elsewhere: the tracker writes them
// together to a pack of spilled ids and sets SpillUntil, so that no retry is missed.
const MaxRecent = 64

// RecentAfterSpill is how many ids TrimRecent keeps when it pushes some out: the newest half
// of MaxRecent. Pushing out the rest at once, rather than one id per new id, gives the caller
// a batch of ids to store in one write, once per 32 ids at most.
const RecentAfterSpill = MaxRecent / 2

// RecentID is an event accepted for this visitor: the low 48 bits of the hash of its id (a
// visitor's ids collide by chance once in 10^12 events) and when it was accepted, in Unix
// seconds by the server's clock (not the event's). Times and windows of the Recent methods
// are in seconds too.
type RecentID struct {
	Hash uint64
	At   int64
}

// recentHashMask keeps the bits of an id hash that Recent stores.
const recentHashMask = 1<<48 - 1

// HasRecent reports whether an id with hash h was accepted within window of now.
func (s *State) HasRecent(h uint64, now, window int64) bool {
	h &= recentHashMask
	for i := len(s.Recent) - 1; i >= 0; i-- {
		if r := &s.Recent[i]; r.Hash == h && r.At+window > now {
			return true
		}
	}
	return false
}

// AddRecent records that an id with hash h was accepted at now. Recent may then hold more
// than MaxRecent ids, as after Merge: TrimRecent brings it back within its bound.
func (s *State) AddRecent(h uint64, now int64) {
	s.Recent = append(s.Recent, RecentID{Hash: h & recentHashMask, At: now})
}

// TrimRecent forgets ids whose window has passed and, when more than MaxRecent remain (after
// AddRecent or Merge), pushes out all but the RecentAfterSpill newest and appends them to
// spilled, oldest first, which it returns.
func (s *State) TrimRecent(now, window int64, spilled []RecentID) []RecentID {
	// Every hit of a visitor asks, and on most hits no id has left its window: a plain loop
	// answers that without a call per id.
	for i := range s.Recent {
		if s.Recent[i].At+window <= now {
			s.Recent = slices.DeleteFunc(s.Recent, func(r RecentID) bool { return r.At+window <= now })
			break
		}
	}
	if len(s.Recent) > MaxRecent {
		n := len(s.Recent) - RecentAfterSpill
		spilled = append(spilled, s.Recent[:n]...)
		s.Recent = slices.Delete(s.Recent, 0, n)
	}
	return spilled
}

// mergeRecent adds src's recent ids to dst's, in acceptance order, unbounded: the caller
// trims with TrimRecent and keeps what it pushes out.
func mergeRecent(dst, src *State) {
	dst.SpillUntil = max(dst.SpillUntil, src.SpillUntil)
	if len(src.Recent) > 0 {
		dst.Recent = append(dst.Recent, src.Recent...)
		slices.SortStableFunc(dst.Recent, func(a, b RecentID) int { return cmp.Compare(a.At, b.At) })
	}
}

// MaxLogged is how many event-log keys Logged holds before the tracker writes them into its
// ownership index as one pack.
const MaxLogged = 16

// LogRef is the event-log key of one of the visitor's events: its time (Unix ms) and
// sequence number.
type LogRef struct {
	TS  int64
	Seq uint64
}

// mergeLogged adds src's pending event-log keys to dst's, in time order, unbounded: the
// caller writes out full packs.
func mergeLogged(dst, src *State) {
	if len(src.Logged) == 0 {
		return
	}
	dst.Logged = append(dst.Logged, src.Logged...)
	slices.SortStableFunc(dst.Logged, func(a, b LogRef) int {
		return cmp.Or(cmp.Compare(a.TS, b.TS), cmp.Compare(a.Seq, b.Seq))
	})
}
