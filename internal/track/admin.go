package track

import (
	"errors"
	"fmt"
	"math"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules"
)

// ErrUnknownVisitor is returned for a visitor id with no stored journey.
var ErrUnknownVisitor = errors.New("unknown visitor")

// ErrInvalidVisitorID is returned for a string that is not a visitor id at all. Such an
// error matches ErrUnknownVisitor too: no visitor has that id.
var ErrInvalidVisitorID = errors.New("not a visitor id")

// maxVIDEcho bounds how much of a malformed visitor id an error repeats.
const maxVIDEcho = 40

// invalidVID is the error of a malformed visitor id; it echoes only its start.
type invalidVID struct{ echo string }

// Error says what a visitor id looks like.
func (e invalidVID) Error() string {
	return fmt.Sprintf("%q is not a visitor id (want %d lower-case hex digits)", e.echo, VIDLen)
}

// Is matches ErrInvalidVisitorID and ErrUnknownVisitor.
func (e invalidVID) Is(target error) bool {
	return target == ErrInvalidVisitorID || target == ErrUnknownVisitor
}

// CheckVID returns nil for a well-formed visitor id; otherwise an error matching
// ErrInvalidVisitorID that repeats at most the first 40 bytes of vid.
func CheckVID(vid string) error {
	if ValidVID(vid) {
		return nil
	}
	if len(vid) > maxVIDEcho {
		vid = vid[:maxVIDEcho] + "…"
	}
	return invalidVID{vid}
}

// Visitor returns the stored journey of vid (following a merge to the known user's journey).
// A malformed vid is ErrInvalidVisitorID; one without a journey ErrUnknownVisitor.
func (t *Tracker) Visitor(vid string) (*journey.State, error) {
	if err := CheckVID(vid); err != nil {
		return nil, err
	}
	w := t.pool.Get().(*work)
	defer t.putWork(w)
	if canon, ok, err := t.alias(w, vid); err != nil {
		return nil, err
	} else if ok {
		vid = canon
	}
	w.getBuf = visitorKey(w.getBuf[:0], vid)
	val, err := t.st.Get(w.getBuf, nil)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownVisitor, vid)
	}
	if err != nil {
		return nil, fmt.Errorf("load visitor %s: %w", vid, err)
	}
	st := new(journey.State)
	if err := journey.Decode(val, st); err != nil {
		return nil, fmt.Errorf("decode visitor %s: %w", vid, err)
	}
	st.VID = vid
	return st, nil
}

// eraseChunk bounds one erase commit; an erase of a long journey takes several commits, and
// running it again finishes an interrupted one.
const eraseChunk = 2000

// Erase deletes everything that belongs to visitor vid: the journey, its event log records,
// identity links and aliases (following a merge to the known user's journey, which is erased
// whole). It returns the number of keys deleted; ErrUnknownVisitor when there was nothing.
func (t *Tracker) Erase(vid string) (int, error) {
	if err := CheckVID(vid); err != nil {
		return 0, err
	}
	w := t.pool.Get().(*work)
	defer t.putWork(w)
	if canon, ok, err := t.alias(w, vid); err != nil {
		return 0, err
	} else if ok {
		vid = canon
	}
	w.lockIDs = append(w.lockIDs[:0], vid)
	t.lock(w)
	defer t.unlock(w)
	t.forgetLocked(vid)

	// Delete what the index lists in chunks, each index entry with the keys it stands for,
	// then the state together with the event keys still waiting in it.
	deleted := 0
	for {
		n, owned := 0, 0
		err := t.scanOwned(vid, func(indexKey, ownedPart, val []byte) error {
			err := ownedKeys(ownedPart, val, func(k []byte) error {
				w.ops = append(w.ops, Op{Key: w.key(func(d []byte) []byte { return append(d, k...) }), Delete: true})
				owned++
				return nil
			})
			if err != nil {
				return err
			}
			w.ops = append(w.ops, Op{Key: w.key(func(d []byte) []byte { return append(d, indexKey...) }), Delete: true})
			if n++; n == eraseChunk {
				return ErrStop // Badger iterators must not overlap the writes they would see
			}
			return nil
		})
		if err == nil && len(w.ops) > 0 {
			err = t.st.Write(w.ops)
		}
		if err != nil {
			return deleted, fmt.Errorf("erase %s: %w", vid, err)
		}
		deleted += owned
		w.ops, w.arena = w.ops[:0], w.arena[:0]
		if n < eraseChunk {
			break
		}
	}
	// The ids its journey pushed out: hashes, not counted as the visitor's records, but of
	// no use to anyone once the journey is gone.
	if err := t.erasePacks(w, vid); err != nil {
		return deleted, fmt.Errorf("erase %s: %w", vid, err)
	}
	w.getBuf = visitorKey(w.getBuf[:0], vid)
	val, err := t.st.Get(w.getBuf, nil)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return deleted, fmt.Errorf("erase %s: %w", vid, err)
	}
	if err == nil {
		if err := journey.Decode(val, &w.state); err != nil {
			t.cfg.Logger.Error("erased visitor state does not decode; its latest events are left to expire", "vid", vid, "err", err)
		}
		w.ops = append(w.ops, Op{Key: w.getBuf, Delete: true})
		for _, k := range loggedKeys(nil, &w.state) {
			w.ops = append(w.ops, Op{Key: k, Delete: true})
		}
		if err := t.st.Write(w.ops); err != nil {
			return deleted, fmt.Errorf("erase %s: %w", vid, err)
		}
		deleted += len(w.ops)
	}
	if deleted == 0 {
		return 0, fmt.Errorf("%w: %s", ErrUnknownVisitor, vid)
	}
	return deleted, nil
}

// Events calls fn with each event log record whose time is in [from, to) (Unix ms), oldest
// first. rec is valid only during the call; decode it with event.DecodeRecord. Returning
// ErrStop from fn ends the export early.
func (t *Tracker) Events(from, to int64, fn func(rec []byte) error) error {
	if from < 0 {
		from = 0
	}
	if to <= 0 || to == math.MaxInt64 {
		to = math.MaxInt64
	}
	start := eventKey(nil, from, 0)
	end := eventKey(nil, to, 0)
	return t.st.Scan(start, end, func(_, val []byte) error { return fn(val) })
}

// Explain says, for visitor vid, why each slot shows what it shows and why each prompt is or
// is not offered: every rule with the first clause that failed and the value seen, the
// experiment buckets, and the cap or show policy that blocked a prompt. With pageURL the
// rules are evaluated as on a pageview of that URL now; without it, as on the visitor's last
// page when last seen. With site, only the rules that serve that site apply; without it,
// every rule does. Nothing is changed.
func (t *Tracker) Explain(vid, site, pageURL, slot, prompt string) (rules.Explanation, error) {
	st, err := t.Visitor(vid)
	if err != nil {
		return rules.Explanation{}, err
	}
	var h *event.Hit
	if pageURL != "" {
		w := t.pool.Get().(*work)
		defer t.putWork(w)
		w.device, w.geo = st.Device, st.Geo
		w.decideEvent.Reset()
		w.decideEvent.Type, w.decideEvent.URL = event.TypePageview, pageURL
		h = &w.decideHit
		t.enrichHit(h, &w.decideEvent, site, st.VID, t.now().UnixMilli(), w)
	}
	set := t.rules.Load()
	ex := set.Explain(st, h, site, slot, prompt)
	if set.HasAutomations() && slot == "" && prompt == "" {
		as, err := t.AutoState(st.VID)
		if err != nil {
			return ex, err
		}
		ex.Automations = set.ExplainAutomations(st, &as, ex.Now, site)
	}
	return ex, nil
}

// UserVID returns the visitor id linked to user uid of site, "" when the user has none.
func (t *Tracker) UserVID(site, uid string) (string, error) {
	w := t.pool.Get().(*work)
	defer t.putWork(w)
	return t.linkedVID(w, site, uid)
}
