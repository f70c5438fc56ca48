package track

import (
	"fmt"
	"slices"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules"
)

// link handles an identify event for user uid while the batch is being recorded under w.cur:
//
//   - the user is new: link the user to the current visitor;
//   - the user is known under another visitor id and the current visitor is anonymous: merge
//     the current journey into the user's, alias the current id to the user's id, and go on
//     under the user's id (the transport resets the cookie);
//   - the current visitor is already another known user (a shared device): never merge two
//     known users; keep the other user's journey as it is and go on under this user's journey
//     (a fresh one if the user is new).
func (t *Tracker) link(w *work, site, uid string) error {
	linked, err := t.linkedVID(w, site, uid)
	if err != nil {
		return err
	}
	otherUser := w.state.UserID != "" && w.state.UserID != uid
	switch {
	case linked == w.cur:
		return nil
	case linked == "":
		if otherUser {
			t.leaveJourney(w, site)
			t.saveAside(w)
			w.cur = NewVID()
			w.state.Reset()
			w.state.VID = w.cur
		}
		uk := w.key(func(d []byte) []byte { return userKey(d, site, uid) })
		w.ops = append(w.ops, Op{Key: uk, Value: w.key(func(d []byte) []byte { return append(d, w.cur...) }), TTL: t.cfg.Retention})
		t.own(w, w.cur, uk)
		return nil
	case !slices.Contains(w.lockIDs, linked):
		// The link changed between the look-up and the lock; the caller retries.
		return errRelock
	case otherUser:
		t.leaveJourney(w, site)
		t.saveAside(w)
		if err := t.load(w, &w.state, linked); err != nil {
			return err
		}
		w.cur = linked
		return nil
	}
	return t.merge(w, linked)
}

// errRelock asks trackVisitor to start the batch again with a fresh set of locks.
var errRelock = fmt.Errorf("identity link moved while locking")

// merge folds the anonymous journey w.cur into the known user's journey linked, moves
// everything the anonymous id owns to the user, and continues under the user's id.
func (t *Tracker) merge(w *work, linked string) error {
	if err := t.load(w, &w.other, linked); err != nil {
		return err
	}
	journey.Merge(&w.other, &w.state)
	t.trimRecent(w, &w.other)
	t.packLogged(w, &w.other, linked)
	old := w.cur
	ak := w.key(func(d []byte) []byte { return aliasKey(d, old) })
	w.ops = append(w.ops,
		Op{Key: ak, Value: w.key(func(d []byte) []byte { return append(d, linked...) }), TTL: t.cfg.Retention},
		Op{Key: w.key(func(d []byte) []byte { return visitorKey(d, old) }), Delete: true},
	)
	t.own(w, linked, ak)
	// Ownership recorded earlier in this batch moves with the journey…
	prefix := ownerPrefix(nil, old)
	for i := range w.ops {
		if op := &w.ops[i]; !op.Delete && hasPrefix(op.Key, prefix) {
			owned := op.Key[len(prefix):]
			op.Key = w.key(func(d []byte) []byte { return ownerKey(d, linked, owned) })
		}
	}
	// …and so does the ownership already stored.
	err := t.scanOwned(old, func(indexKey, owned, val []byte) error {
		w.ops = append(w.ops,
			Op{Key: w.key(func(d []byte) []byte { return ownerKey(d, linked, owned) }),
				Value: w.key(func(d []byte) []byte { return append(d, val...) })[:len(val):len(val)], TTL: t.cfg.Retention},
			Op{Key: w.key(func(d []byte) []byte { return append(d, indexKey...) }), Delete: true},
		)
		return nil
	})
	if err != nil {
		return fmt.Errorf("move keys of %s to %s: %w", old, linked, err)
	}
	// The anonymous journey's spill packs go with its ids.
	until, err := t.movePacks(w, old, linked)
	if err != nil {
		return fmt.Errorf("move spilled ids of %s to %s: %w", old, linked, err)
	}
	w.other.SpillUntil = max(w.other.SpillUntil, until)
	t.journeys.drop(old)
	// The merged journey holds ids spilled by either: neither memo is complete any more.
	t.memo.forget(old)
	t.memo.forget(linked)
	w.state, w.other = w.other, w.state
	w.cur = linked
	return nil
}

// saveAside adds the write of the current journey as it stands, before the batch moves on to
// another visitor.
func (t *Tracker) saveAside(w *work) {
	st := &w.state
	v := w.key(func(d []byte) []byte { return st.AppendBinary(d) })
	cur := w.cur
	t.journeys.drop(cur) // the saved state is newer than any cached one
	w.ops = append(w.ops, Op{Key: w.key(func(d []byte) []byte { return visitorKey(d, cur) }), Value: v, TTL: t.cfg.Retention})
}

func hasPrefix(b, prefix []byte) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == string(prefix)
}

// Names of the events the tracker logs itself, for reports.
const (
	// ExposureEvent is logged the first time a visitor is assigned to an experiment arm;
	// props experiment and variant.
	ExposureEvent = "$exposure"
	// HoldoutPromptEvent is logged for each prompt a holdout visitor would have been
	// offered; prop prompt.
	HoldoutPromptEvent = "$holdout_prompt"
)

// logDecisions writes what the decisions mean for reports: an exposure event the first time
// a visitor is assigned to an experiment arm, and for holdout visitors the prompts they would
// have been offered, so that lift can be measured.
func (t *Tracker) logDecisions(w *work, h *event.Hit, d *rules.Decisions) {
	for _, x := range d.Exposures {
		t.logExtra(w, h, ExposureEvent, "x:"+x.Experiment+":"+w.cur,
			event.Prop{Key: "experiment", Val: event.StringValue(x.Experiment)},
			event.Prop{Key: "variant", Val: event.StringValue(x.Variant)})
	}
	if d.Holdout && d.WouldHave != nil {
		for _, p := range d.WouldHave.Prompts {
			t.logExtra(w, h, HoldoutPromptEvent, "", event.Prop{Key: "prompt", Val: event.StringValue(p.ID)})
		}
	}
}

func (t *Tracker) logExtra(w *work, page *event.Hit, name, id string, props ...event.Prop) {
	w.extra = append(w.extra, event.Event{})
	e := &w.extra[len(w.extra)-1]
	e.ID, e.Type, e.Name, e.URL = id, event.TypeEvent, name, page.Event.URL
	e.Props = append(e.Props[:0], props...)
	h := *page
	h.Event = e
	h.VID = w.cur
	t.logEvent(w, &h, w.cur)
}
