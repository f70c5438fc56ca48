package track

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/pathlight/pathlight/internal/journey"
)

// VisitorEvents calls fn with each event log record of visitor vid (following a merge to the
// known user's journey), oldest first: what a visitor's timeline shows. The records are found
// through the ownership index, so the cost grows with the visitor's own history, not with the
// size of the log. rec is valid only during the call; decode it with event.DecodeRecord.
// Returning ErrStop from fn ends the walk early. ErrUnknownVisitor means vid has neither a
// journey nor any event.
func (t *Tracker) VisitorEvents(vid string, fn func(rec []byte) error) error {
	if !ValidVID(vid) {
		return fmt.Errorf("%w: %q is not a visitor id", ErrUnknownVisitor, vid)
	}
	w := t.pool.Get().(*work)
	canon, ok, err := t.alias(w, vid)
	t.putWork(w)
	if err != nil {
		return err
	}
	if ok {
		vid = canon
	}

	var keys [][]byte
	err = t.scanOwned(vid, func(_, owned, val []byte) error {
		return ownedKeys(owned, val, func(k []byte) error {
			if len(k) == eventKeyLen && k[0] == pEvent {
				keys = append(keys, append([]byte(nil), k...))
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("index of visitor %s: %w", vid, err)
	}
	var st journey.State
	found, err := t.State(vid, &st)
	if err != nil {
		return err
	}
	if !found && len(keys) == 0 {
		return fmt.Errorf("%w: %s", ErrUnknownVisitor, vid)
	}
	keys = loggedKeys(keys, &st)
	// Event keys start with their big-endian time: in key order is in time order. Packs are
	// in order already, but a merge interleaves two visitors' events.
	slices.SortFunc(keys, bytes.Compare)
	// A record that expired after the index was read is simply absent from GetMany.
	err = t.st.GetMany(keys, func(_ int, val []byte) error { return fn(val) })
	if err != nil && !errors.Is(err, ErrStop) {
		return fmt.Errorf("events of visitor %s: %w", vid, err)
	}
	return nil
}
