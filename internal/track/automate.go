package track

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pathlight/pathlight/internal/automate"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/rules"
)

// Automations ride on the tracker's commit: the hit that fires one stores its deliveries
// (package automate's outbox keys), the timers it arms or cancels and the visitor's
// automation memory in the same atomic write as the journey, so a firing is never lost and,
// since a retried hit is a duplicate, never stored twice. Every such key is listed in the
// visitor's ownership index, so an erase drops pending deliveries and timers too.

// autoWork is the automation scratch of one Track call.
type autoWork struct {
	loaded bool
	vid    string
	as     rules.AutoState
	was    []byte        // the memory as loaded, to tell whether it changed
	timers []rules.Timer // the timers as loaded
	before rules.Before
	fires  []rules.Fire
	site   string
	stored bool // deliveries or timers were written: wake the deliverer after the commit
}

func (a *autoWork) reset() {
	a.loaded, a.vid, a.site, a.stored = false, "", "", false
	a.as.Reset()
	a.was, a.timers, a.fires = a.was[:0], a.timers[:0], a.fires[:0]
}

// OwnedWrite is a write of a key that belongs to a visitor: the visitor's ownership index
// gains or loses the key with it.
type OwnedWrite struct {
	Key    []byte
	Value  []byte
	TTL    time.Duration
	Delete bool
}

// appendOwned appends the ops of ws (each with its ownership index entry) to w.ops.
func (t *Tracker) appendOwned(w *work, vid string, ws ...OwnedWrite) {
	for _, o := range ws {
		k := w.key(func(d []byte) []byte { return append(d, o.Key...) })
		ok := w.key(func(d []byte) []byte { return ownerKey(d, vid, o.Key) })
		if o.Delete {
			w.ops = append(w.ops, Op{Key: k, Delete: true}, Op{Key: ok, Delete: true})
			continue
		}
		ttl := o.TTL
		if ttl == 0 {
			ttl = t.cfg.Retention
		}
		w.ops = append(w.ops, Op{Key: k, Value: o.Value, TTL: ttl}, Op{Key: ok, Value: []byte{}, TTL: max(ttl, t.cfg.Retention)})
	}
}

// autoLoad reads the automation memory of vid into w.auto (empty for a new visitor).
func (t *Tracker) autoLoad(w *work, vid string, fresh bool) error {
	a := &w.auto
	a.reset()
	a.loaded, a.vid = true, vid
	if fresh {
		return nil
	}
	ck := autoCacheKey(vid)
	val, cached := t.cache.get(ck, a.was[:0])
	if !cached {
		var err error
		val, err = t.st.Get(automate.AutoKey(nil, vid), a.was[:0])
		if errors.Is(err, ErrNotFound) {
			val, err = val[:0], nil
		}
		if err != nil {
			return fmt.Errorf("automations of %s: %w", vid, err)
		}
		t.cache.put(ck, val) // empty: the visitor has no automation memory
	}
	a.was = val
	if len(val) == 0 {
		return nil
	}
	if err := json.Unmarshal(val, &a.as); err != nil {
		t.cfg.Logger.Error("automation memory does not decode; starting afresh", "vid", vid, "err", err)
		a.as.Reset()
		return nil
	}
	a.timers = append(a.timers[:0], a.as.Timers...)
	return nil
}

// autoCacheKey is the state cache's key of a visitor's automation memory, beside (and never
// equal to) the visitor id the cache keeps the journey under.
func autoCacheKey(vid string) string { return "x\x00" + vid }

// autoBefore prepares the evaluation of hit h: the memory of the visitor it is recorded
// under (committing the memory of another visitor the batch left), the timers due by the
// hit's time, and what the hit may change.
func (t *Tracker) autoBefore(w *work, set *rules.Set, h *event.Hit, consent event.Consent, fresh bool) error {
	a := &w.auto
	if !a.loaded || a.vid != w.cur {
		if a.loaded {
			if err := t.autoCommit(w, set); err != nil {
				return err
			}
			// Its memory is committed with the batch, after the cache would learn of it.
			t.cache.drop(autoCacheKey(a.vid))
		}
		if err := t.autoLoad(w, w.cur, fresh); err != nil {
			return err
		}
	}
	a.site = h.Site
	if a.as.Site != h.Site {
		a.as.Site = h.Site
		a.as.MarkChanged()
	}
	if consent == event.ConsentGranted && a.as.Granted == 0 {
		a.as.Granted = h.Time // once: a visitor's every hit saying so must not rewrite the memory
		a.as.MarkChanged()
	}
	a.fires = set.AutoDue(&w.state, &a.as, h.Time, a.fires)
	set.AutoBefore(&w.state, &a.before)
	return nil
}

// autoAfter evaluates the triggers of hit h, now applied to the journey.
func (t *Tracker) autoAfter(w *work, set *rules.Set, h *event.Hit) {
	a := &w.auto
	a.fires = set.Automate(&a.before, &w.state, h, &a.as, a.fires)
}

// autoCommit appends to w.ops the deliveries of what fired, the timers armed and cancelled
// and the changed memory of the visitor in w.auto; the caller commits them with the journey.
func (t *Tracker) autoCommit(w *work, set *rules.Set) error {
	a := &w.auto
	if !a.loaded {
		return nil
	}
	now := t.now().UnixMilli()
	for i := range a.fires {
		f := &a.fires[i]
		rec, err := json.Marshal(automate.Fired{Automation: f.Automation, Site: cmp.Or(f.Site, a.site)})
		if err != nil {
			return err
		}
		fk := w.key(func(d []byte) []byte { return automate.FiredKey(d, f.At, t.seq.Add(1)) })
		w.ops = append(w.ops, Op{Key: fk, Value: w.key(func(d []byte) []byte { return append(d, rec...) }), TTL: t.cfg.Retention})
		for _, id := range f.To {
			dest, ok := set.Destination(id)
			if !ok {
				continue
			}
			d := automate.Delivery{
				ID: automate.MessageID(a.vid, f.Automation, f.N, id), Destination: id, Seq: t.seq.Add(1),
				VID: a.vid, Site: cmp.Or(f.Site, a.site), Automation: f.Automation, Trigger: f.Trigger, FiredAt: f.At, Created: now, Next: now,
			}
			body, send, err := automate.Build(&dest, &automate.Message{ID: d.ID, Site: d.Site, Fire: f, St: &w.state,
				Granted: a.as.Granted > 0, Now: now})
			if err != nil {
				return fmt.Errorf("delivery of %s to %s: %w", f.Automation, id, err)
			}
			if !send {
				continue
			}
			d.Body = body
			val, err := d.MarshalRecord()
			if err != nil {
				return err
			}
			t.appendOwned(w, a.vid, OwnedWrite{Key: d.Key(false), Value: val})
			a.stored = true
		}
	}
	a.fires = a.fires[:0]
	for _, old := range a.timers {
		if !slices.Contains(a.as.Timers, old) {
			t.appendOwned(w, a.vid, OwnedWrite{Key: automate.TimerKey(nil, old.Due, a.vid, old.ID), Delete: true})
		}
	}
	for _, nt := range a.as.Timers {
		if !slices.Contains(a.timers, nt) {
			t.appendOwned(w, a.vid, OwnedWrite{Key: automate.TimerKey(nil, nt.Due, a.vid, nt.ID), Value: []byte{}})
			a.stored = true
		}
	}
	a.timers = append(a.timers[:0], a.as.Timers...)
	if !a.as.Changed() {
		return nil
	}
	val, err := json.Marshal(&a.as)
	if err != nil {
		return err
	}
	if string(val) != string(a.was) {
		if a.as.Empty() {
			t.appendOwned(w, a.vid, OwnedWrite{Key: automate.AutoKey(nil, a.vid), Delete: true})
		} else {
			t.appendOwned(w, a.vid, OwnedWrite{Key: automate.AutoKey(nil, a.vid), Value: val})
		}
		a.was = append(a.was[:0], val...)
	}
	a.as.Saved()
	return nil
}

// autoCommitted keeps the committed automation memory in the state cache and wakes the
// deliverer after a commit that stored deliveries or timers.
func (t *Tracker) autoCommitted(w *work) {
	if w.auto.loaded {
		t.cache.put(autoCacheKey(w.auto.vid), w.auto.was)
	}
	if w.auto.stored && t.cfg.OnOutbox != nil {
		t.cfg.OnOutbox()
	}
	w.auto.stored = false
}

// FireDue fires the timers of visitor vid that are due at now (Unix ms) and deletes the
// timer keys given, which the caller found due; what fires is stored exactly as a hit's
// firings are, under the visitor's lock, in one commit with the deletion. It returns how many
// deliveries it stored. A timer key whose visitor or timer is gone is only deleted.
func (t *Tracker) FireDue(vid string, now int64, timerKeys [][]byte) (int, error) {
	if err := CheckVID(vid); err != nil {
		return 0, err
	}
	w := t.pool.Get().(*work)
	defer t.putWork(w)
	w.lockIDs = append(w.lockIDs[:0], vid)
	t.lock(w)
	defer t.unlock(w)
	if err := t.load(w, &w.state, vid); err != nil {
		return 0, err
	}
	w.cur = vid
	set := t.rules.Load()
	if err := t.autoLoad(w, vid, false); err != nil {
		return 0, err
	}
	w.auto.site = w.auto.as.Site
	if w.state.FirstSeen == 0 && w.state.LastSeen == 0 {
		// No journey under this id (erased, or merged into a known user's): its timers go
		// without firing, with the memory that armed them.
		w.auto.as.Reset()
	}
	w.auto.fires = set.AutoDue(&w.state, &w.auto.as, now, w.auto.fires)
	n := 0
	for _, f := range w.auto.fires {
		n += len(f.To)
	}
	// The keys the caller found are gone once this commits, whether or not their timer fired.
	for _, k := range timerKeys {
		t.appendOwned(w, vid, OwnedWrite{Key: k, Delete: true})
	}
	if err := t.autoCommit(w, set); err != nil {
		return 0, err
	}
	if len(w.ops) == 0 {
		return 0, nil
	}
	if err := t.st.Write(w.ops); err != nil {
		return 0, fmt.Errorf("commit timers of %s: %w", vid, err)
	}
	t.autoCommitted(w)
	return n, nil
}

// WriteOwned commits writes of keys that belong to visitor vid under the visitor's lock,
// each with its ownership index entry, if guard (when not nil) still exists: so that the
// outcome of a delivery attempt never brings back what an erase of the visitor deleted in
// the meantime. It reports whether it wrote.
func (t *Tracker) WriteOwned(vid string, guard []byte, writes []OwnedWrite) (bool, error) {
	w := t.pool.Get().(*work)
	defer t.putWork(w)
	w.lockIDs = append(w.lockIDs[:0], vid)
	t.lock(w)
	defer t.unlock(w)
	if guard != nil {
		if _, err := t.st.Get(guard, nil); errors.Is(err, ErrNotFound) {
			return false, nil
		} else if err != nil {
			return false, err
		}
	}
	t.appendOwned(w, vid, writes...)
	if err := t.st.Write(w.ops); err != nil {
		return false, fmt.Errorf("commit deliveries of %s: %w", vid, err)
	}
	return true, nil
}

// AutoState returns the automation memory of visitor vid (following a merge), for explain
// and the visitor view; empty when there is none.
func (t *Tracker) AutoState(vid string) (rules.AutoState, error) {
	var as rules.AutoState
	if err := CheckVID(vid); err != nil {
		return as, err
	}
	w := t.pool.Get().(*work)
	defer t.putWork(w)
	if canon, ok, err := t.alias(w, vid); err != nil {
		return as, err
	} else if ok {
		vid = canon
	}
	val, err := t.st.Get(automate.AutoKey(nil, vid), nil)
	if errors.Is(err, ErrNotFound) {
		return as, nil
	}
	if err != nil {
		return as, err
	}
	err = json.Unmarshal(val, &as)
	return as, err
}
