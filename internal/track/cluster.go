package track

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/pathlight/pathlight/internal/event"
)

// Hooks for cluster mode. Without a cluster none of them is used: the tracker writes to its
// store, mints random ids and keeps its own cookieless salts, as it always did.

// CommitWriter is a Store that can say where a commit went: a cluster store publishes each
// commit to a replicated stream before writing it locally, or keeps it in a local outbox
// when the stream is out of reach (queued). The tracker reports queued in Result.Queued.
type CommitWriter interface {
	Store
	// WriteCommit commits ops as Write does, as c describes them.
	WriteCommit(ops []Op, c Commit) (queued bool, err error)
}

// Commit describes a commit to a CommitWriter.
type Commit struct {
	// Imported says the records come from an import (Tracker.Import).
	Imported bool
	// Site and Accepted are the site and the ids of the events a commit of a hit accepted
	// (none for other writes): ID names the commit from them. Accepted is valid only
	// during WriteCommit.
	Site     string
	Accepted []string
	// Deadline, when set, is when the request waiting for the commit is to be answered
	// (Request.Deadline): past it, a cluster store queues the commit rather than wait on
	// the stream.
	Deadline time.Time
	// Request is the request a commit of a visitor's hits tracks (nil for every other
	// write), and VID the visitor whose journey it writes. A cluster store that cannot
	// publish such a commit, or that does not own the visitor, keeps the request rather
	// than the commit: the visitor's owner tracks it when the stream returns.
	Request *Request
	VID     string
	// NoQueue: fail rather than queue the commit (a request taken from the outbox is
	// being tracked, and stays in the outbox until this succeeds).
	NoQueue bool
}

// SaltSource keeps the cookieless salt of each UTC day where every server of a fleet finds
// the same one: Salt returns the day's salt, storing fresh when the day has none yet.
type SaltSource interface {
	Salt(day string, fresh []byte) ([]byte, error)
}

// ErrQueueFull is what a CommitWriter returns, wrapped, when its local outbox is full: the
// hit is refused (nothing stored) and should be retried later.
var ErrQueueFull = errors.New("local outbox full")

// ErrCommitTooLarge is what a CommitWriter returns, wrapped, for a commit larger than it can
// carry (the NATS servers' max_payload): nothing is stored, and sending it again will not
// help.
var ErrCommitTooLarge = errors.New("commit too large for the fleet's stream")

// WriteCommit commits ops through st the way the tracker does: through a CommitWriter when
// st is one, telling a watcher whether the records were imported.
func WriteCommit(st Store, ops []Op, c Commit) (queued bool, err error) {
	if s, ok := st.(CommitWriter); ok { // a watched store is one, and a cluster store
		return s.WriteCommit(ops, c)
	}
	return false, st.Write(ops)
}

// WriteCommit commits ops, then reports them to the watcher (the outer store is a cluster
// store wrapping the watched one, or the other way round; both work).
func (s watched) WriteCommit(ops []Op, c Commit) (bool, error) {
	queued, err := WriteCommit(s.Store, ops, c)
	if err != nil {
		return false, err
	}
	s.notify(ops, c.Imported)
	return queued, nil
}

// ApplyCommit writes a commit another server of the fleet made to st (the local store,
// watched so that reports hear it), under the locks of the visitors it touches, and drops
// what this tracker remembers of them (cached journeys and automation memory, spill memos),
// so that its next hit reads what the other server wrote.
func (t *Tracker) ApplyCommit(st Store, ops []Op, imported bool) error {
	w := t.pool.Get().(*work)
	defer t.putWork(w)
	w.lockIDs = w.lockIDs[:0]
	for i := range ops {
		if vid := opVisitor(ops[i].Key); vid != "" && !containsString(w.lockIDs, vid) {
			w.lockIDs = append(w.lockIDs, vid)
		}
	}
	t.lock(w)
	defer t.unlock(w)
	if _, err := WriteCommit(st, ops, Commit{Imported: imported}); err != nil {
		return err
	}
	for _, vid := range w.lockIDs {
		t.forgetLocked(vid)
	}
	return nil
}

// Forget drops what this tracker remembers of visitor vid beyond its store (its cached
// journey and automation memory, its spill memo), under the visitor's lock: in cluster
// mode, a journey answered from a replica while the visitor's hits waited in the outbox is
// only remembered here, and is forgotten when those hits are tracked by the owner.
func (t *Tracker) Forget(vid string) {
	w := t.pool.Get().(*work)
	defer t.putWork(w)
	w.lockIDs = append(w.lockIDs[:0], vid)
	t.lock(w)
	defer t.unlock(w)
	t.forgetLocked(vid)
}

// forgetLocked drops what this tracker remembers of vid beyond its store: its cached journey
// and automation memory, and its spill memo. The caller holds vid's lock.
func (t *Tracker) forgetLocked(vid string) {
	t.journeys.drop(vid)
	t.cache.drop(autoCacheKey(vid))
	t.memo.forget(vid)
}

// OpVisitor returns the visitor id a key of the tracker's belongs to ("" for keys of no one
// visitor: event records, dedup marks, server metadata): a state, an alias, an ownership
// index entry or an automation memory.
func OpVisitor(key []byte) string { return opVisitor(key) }

func opVisitor(key []byte) string {
	if len(key) < 1+VIDLen {
		return ""
	}
	switch key[0] {
	case pVisitor, pAlias, 'x':
		if len(key) == 1+VIDLen {
			return string(key[1:])
		}
	case pPack:
		if len(key) == 1+VIDLen+6 {
			return string(key[1 : 1+VIDLen])
		}
	case pOwner:
		if len(key) > 1+VIDLen && key[1+VIDLen] == 0 {
			return string(key[1 : 1+VIDLen])
		}
	case 'w': // an automation timer: due time, then the visitor
		if len(key) > 9+VIDLen && key[9+VIDLen] == 0 {
			return string(key[9 : 9+VIDLen])
		}
	}
	return ""
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// PeekVID returns the visitor whose journey tracking req will write, when it is known
// before tracking: the body's or the cookie's id in cookie mode, the day's hash in
// cookieless mode; the known user's id when that one was merged into a known user's
// journey; and when the batch identifies a user already linked to another journey, that
// journey's id, since the batch is merged into it. "" means a new visitor (an id will be
// minted), a hit kept without per-visitor state (no consent, a bot), or an id not yet
// known. A cluster routes the hit by it, to the one node that writes that journey.
func (t *Tracker) PeekVID(req *Request) string {
	vid := t.peekVID(req)
	if vid == "" {
		return ""
	}
	w := t.pool.Get().(*work)
	defer t.putWork(w)
	if !t.journeys.has(vid) { // a cached journey is no alias
		if canon, ok, err := t.alias(w, vid); err == nil && ok {
			vid = canon
		}
	}
	b := req.Batch
	for i := range b.Events {
		if e := &b.Events[i]; e.Type == event.TypeIdentify && e.UserID != "" {
			if linked, err := t.linkedVID(w, b.Site, e.UserID); err == nil && linked != "" && linked != vid {
				return linked
			}
		}
	}
	return vid
}

// peekVID is PeekVID before aliases and identity links.
func (t *Tracker) peekVID(req *Request) string {
	b := req.Batch
	if !t.consented(b.Consent, req.GPC) {
		return ""
	}
	if t.cfg.Identity == IdentityCookieless {
		now := t.now().UnixMilli()
		if req.Now > 0 {
			now = req.Now
		}
		salt, err := t.salts.get(timeOf(now))
		if err != nil {
			return ""
		}
		return cookielessVID(salt, b.Site, req.IP, req.UserAgent)
	}
	switch {
	case ValidVID(b.VID):
		return b.VID
	case ValidVID(req.CookieVID):
		return req.CookieVID
	}
	return ""
}

func timeOf(ms int64) time.Time { return time.UnixMilli(ms) }

// ID names the commit for deduplication in the stream, "" for a unique name: a commit that
// accepted events is named by the site and the events' ids (hashed when long), so that a
// batch retried after a crash is stored once. Only a cluster store needs it, so a single
// server never builds it.
func (c Commit) ID() string {
	if len(c.Accepted) == 0 {
		return ""
	}
	id := c.Site + ":" + strings.Join(c.Accepted, ",")
	if len(id) <= 200 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return c.Site + ":" + hex.EncodeToString(sum[:])
}
