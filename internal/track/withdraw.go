package track

import (
	"fmt"

	"github.com/pathlight/pathlight/internal/automate"
)

// A visitor who gave consent and then withdraws it (a hit with Sec-GPC: 1, "consent":
// "denied", or no grant under --consent required) is no longer tracked: the hit is recorded
// anonymously. The browser still sends the pl_vid cookie (and a page may send a body vid), so
// the tracker knows whose consent ended, and what was set up while it held must not act on it
// later: withdraw cancels the visitor's waiting timers, drops the deliveries not yet sent
// (pending and dead: a dead one would go out on a replay), and forgets the grant that ad
// platform destinations require, in one commit under the visitor's lock. Nothing new is
// stored: the journey and the automation memory's counts stay as they were (erasure is a
// separate request), and no record says that consent was withdrawn.

// withdrawnVID returns the visitor id a hit without consent carries: the body's, else the
// cookie's; "" when neither is well-formed (then the hit costs no store read).
func withdrawnVID(req *Request) string {
	switch {
	case ValidVID(req.Batch.VID):
		return req.Batch.VID
	case ValidVID(req.CookieVID):
		return req.CookieVID
	}
	return ""
}

// withdraw cancels what visitor vid (following a merge into a known user's journey) has
// waiting: timers, pending and dead deliveries, and the consent grant in its automation
// memory. It returns how many timers and deliveries it dropped.
func (t *Tracker) withdraw(w *work, vid string) (int, error) {
	if !t.journeys.has(vid) {
		if canon, ok, err := t.alias(w, vid); err != nil {
			return 0, err
		} else if ok {
			vid = canon
		}
	}
	w.lockIDs = append(w.lockIDs[:0], vid)
	t.lock(w)
	defer t.unlock(w)
	defer func() { w.ops = w.ops[:0]; w.auto.reset() }()

	if err := t.autoLoad(w, vid, false); err != nil {
		return 0, err
	}
	a := &w.auto
	dropped := len(a.as.Timers)
	if dropped > 0 || a.as.Granted != 0 {
		a.as.Timers, a.as.Granted = a.as.Timers[:0], 0
		a.as.MarkChanged()
	}
	// Deliveries are found through the ownership index, whose entries for outbox and dead
	// keys sit together under the key's prefix byte: two short range reads.
	for _, p := range []byte{automate.PrefixQueue, automate.PrefixDead} {
		start := append(ownerPrefix(nil, vid), p)
		end := append(ownerPrefix(nil, vid), p+1)
		err := t.st.Scan(start, end, func(k, _ []byte) error {
			owned := k[len(start)-1:]
			w.ops = append(w.ops,
				Op{Key: w.key(func(d []byte) []byte { return append(d, owned...) }), Delete: true},
				Op{Key: w.key(func(d []byte) []byte { return append(d, k...) }), Delete: true})
			dropped++
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("deliveries of %s: %w", vid, err)
		}
	}
	// The timers' keys and the memory without them and without the grant.
	if err := t.autoCommit(w, t.rules.Load()); err != nil {
		return 0, err
	}
	if len(w.ops) == 0 {
		return 0, nil
	}
	if err := t.st.Write(w.ops); err != nil {
		return 0, fmt.Errorf("commit the withdrawal of %s: %w", vid, err)
	}
	t.autoCommitted(w)
	return dropped, nil
}
