package track

import (
	"errors"
	"fmt"
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

	// Owned keys sort after the index prefix by their own bytes, and event keys start with
	// their big-endian time, so the index already lists the visitor's events in time order.
	prefix := ownerPrefix(nil, vid)
	var keys [][]byte
	err = t.st.ScanKeys(prefix, func(k []byte) error {
		owned := k[len(prefix):]
		if len(owned) == eventKeyLen && owned[0] == pEvent {
			keys = append(keys, append([]byte(nil), owned...))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("index of visitor %s: %w", vid, err)
	}
	if len(keys) == 0 {
		had, err := t.st.Has(visitorKey(nil, vid))
		if err != nil {
			return fmt.Errorf("load visitor %s: %w", vid, err)
		}
		if !had {
			return fmt.Errorf("%w: %s", ErrUnknownVisitor, vid)
		}
		return nil
	}
	// A record that expired after the index was read is simply absent from GetMany.
	err = t.st.GetMany(keys, func(_ int, val []byte) error { return fn(val) })
	if err != nil && !errors.Is(err, ErrStop) {
		return fmt.Errorf("events of visitor %s: %w", vid, err)
	}
	return nil
}
