package track

import (
	"errors"
	"fmt"

	"github.com/pathlight/pathlight/internal/journey"
)

// Visitors calls fn with every stored visitor state, in visitor id order: what reports read
// to build their index of journeys. The State is reused between calls and its strings share
// one copy of the stored record, so fn must copy what it keeps. A record that does not decode
// is logged and skipped; an error from fn (other than ErrStop, which ends the scan early)
// ends the scan and is returned.
func (t *Tracker) Visitors(fn func(*journey.State) error) error {
	var st journey.State
	start, end := []byte{pVisitor}, []byte{pVisitor + 1}
	err := t.st.Scan(start, end, func(key, val []byte) error {
		if err := journey.Decode(val, &st); err != nil {
			t.cfg.Logger.Warn("visitor state does not decode; left out of reports", "vid", string(key[1:]), "err", err)
			return nil
		}
		st.VID = string(key[1:])
		return fn(&st)
	})
	if err != nil && !errors.Is(err, ErrStop) {
		return fmt.Errorf("scan visitors: %w", err)
	}
	return nil
}

// State reads the stored state of vid into st, without following a merge to the known
// user's journey (unlike Visitor): it reports false when vid has no state of its own. The
// strings of st share one copy of the record, or the cached journey's strings. It reads under
// the visitor's lock, so it sees a commit and the cache entry that goes with it together, and
// from the cache when it can: reports refresh the journeys that hits just changed, which are
// the cached ones.
func (t *Tracker) State(vid string, st *journey.State) (bool, error) {
	w := t.pool.Get().(*work)
	defer t.putWork(w)
	w.lockIDs = append(w.lockIDs[:0], vid)
	t.lock(w)
	if _, cached := t.journeys.get(vid, st); cached {
		t.unlock(w)
		st.VID = vid
		return true, nil
	}
	val, err := t.st.Get(w.key(func(d []byte) []byte { return visitorKey(d, vid) }), w.getBuf[:0])
	t.unlock(w)
	w.getBuf = val[:0]
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load visitor %s: %w", vid, err)
	}
	if err := journey.Decode(val, st); err != nil {
		return false, fmt.Errorf("decode visitor %s: %w", vid, err)
	}
	st.VID = vid
	return true, nil
}
