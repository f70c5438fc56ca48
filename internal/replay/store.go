package replay

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pathlight/pathlight/internal/track"
)

// Session describes one recorded session: what the lists of the admin API show.
type Session struct {
	ID        string   `json:"id"`
	VID       string   `json:"vid"`
	Site      string   `json:"site"`
	StartedAt int64    `json:"started_at"` // the first event's time, Unix ms
	EndedAt   int64    `json:"ended_at"`   // the last event's time
	Pages     []string `json:"pages"`      // paths, in the order first recorded
	Chunks    int      `json:"chunks"`
	Bytes     int64    `json:"bytes"` // stored (compressed)
}

// Config bounds what Recordings keeps.
type Config struct {
	Retention  time.Duration // how long a session is kept after its last chunk; 0: for ever
	SessionCap int64         // most stored bytes of one session
	DailyCap   int64         // most stored bytes of all chunks that arrive in one UTC day
	// Now is the clock that dates page snapshots and asks for them (WantSnapshot); time.Now
	// when nil.
	Now func() time.Time
}

// Errors of Record: the chunk is refused and nothing of it is stored.
var (
	ErrSessionCap = errors.New("the session's recording reached its size cap")
	ErrDailyCap   = errors.New("today's replay storage cap is reached")
)

// Result says what Record did with a chunk.
type Result int

// Results of Record.
const (
	Stored    Result = iota // a new chunk
	Duplicate               // a chunk of that number is stored already: nothing changed
)

// dayMs is a UTC day in milliseconds.
const dayMs = 24 * 60 * 60 * 1000

// dayTTL keeps a day's byte count past the day's end.
const dayTTL = 48 * time.Hour

// Recordings stores replay chunks and reads them back.
type Recordings struct {
	st  track.Store
	cfg Config
	// mu serialises the writes of chunks: a session's metadata and the day's byte count are
	// read, changed and written under it. Chunks arrive every few seconds per recorded
	// visitor, so one lock is no bottleneck, and it makes both caps exact.
	mu sync.Mutex
	// asks remembers which pages' snapshots are today's and which were asked for.
	asks asks
}

// New returns Recordings storing in st.
func New(st track.Store, cfg Config) *Recordings {
	return &Recordings{st: st, cfg: cfg}
}

// Record stores chunk b of visitor vid ("" when unknown), which arrived at at, for site.
func (r *Recordings) Record(site, vid string, b *Batch, at time.Time) (Result, error) {
	path, err := PagePath(b.Page)
	if err != nil {
		return 0, err
	}
	path = track.RedactPath(path)
	var seq uint32
	if b.Seq != nil {
		seq = uint32(*b.Seq)
	}
	size := int64(len(b.Stored))
	day := uint32(at.UnixMilli() / dayMs)

	r.mu.Lock()
	defer r.mu.Unlock()
	if b.SnapshotOnly() {
		return r.recordSnapshot(site, path, b, day)
	}
	ck := chunkKey(b.Session, seq)
	if _, err := r.st.Get(ck, nil); err == nil {
		return Duplicate, nil
	} else if !errors.Is(err, track.ErrNotFound) {
		return 0, err
	}
	sess, found, err := r.session(b.Session)
	if err != nil {
		return 0, err
	}
	if !found {
		sess = Session{ID: b.Session, VID: vid, Site: site, StartedAt: b.First, EndedAt: b.Last}
	}
	if sess.Site != site {
		return 0, bad("session %s belongs to another site", b.Session)
	}
	if sess.Bytes+size > r.cfg.SessionCap && r.cfg.SessionCap > 0 {
		return 0, ErrSessionCap
	}
	dk, today, err := r.admitToday(day, size)
	if err != nil {
		return 0, err
	}

	ops := make([]track.Op, 0, 6)
	if found && b.First < sess.StartedAt {
		// The period index is by start time: an earlier chunk arriving late moves it.
		ops = append(ops, track.Op{Key: periodKey(site, sess.StartedAt, sess.ID), Delete: true})
		sess.StartedAt = b.First
	}
	sess.EndedAt = max(sess.EndedAt, b.Last)
	if !slices.Contains(sess.Pages, path) && len(sess.Pages) < maxPage {
		sess.Pages = append(sess.Pages, path)
	}
	sess.Chunks++
	sess.Bytes += size
	meta, err := json.Marshal(&sess)
	if err != nil {
		return 0, err
	}
	ttl := r.cfg.Retention
	ops = append(ops,
		track.Op{Key: ck, Value: b.Stored, TTL: ttl},
		track.Op{Key: sessionKey(sess.ID), Value: meta, TTL: ttl},
		track.Op{Key: periodKey(site, sess.StartedAt, sess.ID), Value: []byte(sess.VID), TTL: ttl},
		track.Op{Key: dk, Value: binary.BigEndian.AppendUint64(nil, uint64(today+size)), TTL: dayTTL},
	)
	if sess.VID != "" {
		ops = append(ops, track.Op{Key: visitorKey(sess.VID, sess.ID), Value: []byte{}, TTL: ttl})
	}
	var snap []byte
	if b.Snapshot {
		op, _, err := snapshotOp(site, path, b, r.now().UnixMilli())
		if err != nil {
			return 0, err
		}
		op.TTL = ttl
		ops = append(ops, op)
		snap = op.Key
	}
	if err := r.st.Write(ops); err != nil {
		return 0, err
	}
	if snap != nil {
		r.asks.stored(snap, r.now().UnixMilli())
	}
	return Stored, nil
}

// recordSnapshot stores the full snapshot of a snapshot-only chunk (one the server asked
// for, WantSnapshot) as the page's latest, and nothing else: no session, no chunk. Its bytes
// count toward the day's cap like a chunk's. Called with r.mu held.
func (r *Recordings) recordSnapshot(site, path string, b *Batch, day uint32) (Result, error) {
	at := r.now().UnixMilli()
	op, _, err := snapshotOp(site, path, b, at)
	if err != nil {
		return 0, err
	}
	op.TTL = r.cfg.Retention
	size := int64(len(op.Value))
	dk, today, err := r.admitToday(day, size)
	if err != nil {
		return 0, err
	}
	b.Stored = op.Value
	err = r.st.Write([]track.Op{op, {Key: dk, Value: binary.BigEndian.AppendUint64(nil, uint64(today+size)), TTL: dayTTL}})
	if err != nil {
		return 0, err
	}
	r.asks.stored(op.Key, at)
	return Stored, nil
}

func (r *Recordings) dayBytes(key []byte) (int64, error) {
	v, err := r.st.Get(key, nil)
	switch {
	case errors.Is(err, track.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	case len(v) != 8:
		return 0, fmt.Errorf("replay day count %x: %d bytes, want 8", key, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// session reads the metadata of a session.
func (r *Recordings) session(id string) (Session, bool, error) {
	var s Session
	v, err := r.st.Get(sessionKey(id), nil)
	if errors.Is(err, track.ErrNotFound) {
		return s, false, nil
	}
	if err != nil {
		return s, false, err
	}
	if err := json.Unmarshal(v, &s); err != nil {
		return s, false, fmt.Errorf("replay session %s: %w", id, err)
	}
	return s, true, nil
}

// Session returns the metadata of a session; false when it is absent or expired.
func (r *Recordings) Session(id string) (Session, bool, error) {
	if !ValidSession(id) {
		return Session{}, false, nil
	}
	return r.session(id)
}

// Events returns the rrweb events of a session in order (by chunk number, then as sent).
// Chunks that expired are left out.
func (r *Recordings) Events(id string) ([]json.RawMessage, error) {
	var out []json.RawMessage
	p := chunkPrefix(id)
	err := r.st.Scan(p, prefixEnd(p), func(_, v []byte) error {
		evs, err := Events(v)
		if err != nil {
			return fmt.Errorf("replay chunk of %s: %w", id, err)
		}
		out = append(out, evs...)
		return nil
	})
	return out, err
}

// OfVisitor returns the sessions of visitor vid, newest first.
func (r *Recordings) OfVisitor(vid string) ([]Session, error) {
	var ids [][]byte
	p := visitorPrefix(vid)
	err := r.st.Scan(p, prefixEnd(p), func(k, _ []byte) error {
		ids = append(ids, sessionKey(string(k[len(p):])))
		return nil
	})
	if err != nil {
		return nil, err
	}
	out, err := r.sessions(ids)
	slices.SortFunc(out, func(a, b Session) int { return cmpInt(b.StartedAt, a.StartedAt) })
	return out, err
}

// InPeriod calls keep for each session of site that started in [from, to) (Unix ms), newest
// first, with its visitor id, and returns those it keeps, at most limit.
func (r *Recordings) InPeriod(site string, from, to int64, limit int, keep func(vid string) (bool, error)) ([]Session, error) {
	p := periodPrefix(site)
	start := binary.BigEndian.AppendUint64(append([]byte(nil), p...), uint64(max(from, 0)))
	end := binary.BigEndian.AppendUint64(append([]byte(nil), p...), uint64(max(to, 0)))
	type hit struct{ key, vid []byte }
	var hits []hit
	err := r.st.Scan(start, end, func(k, v []byte) error {
		hits = append(hits, hit{sessionKey(string(k[len(p)+8:])), append([]byte(nil), v...)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Reverse(hits)
	var out []Session
	for i := 0; i < len(hits) && len(out) < limit; {
		// Read metadata in groups, newest first, until limit sessions are kept.
		n := min(len(hits)-i, max(limit-len(out), 16))
		keys := make([][]byte, 0, n)
		for _, h := range hits[i : i+n] {
			ok, err := keep(string(h.vid))
			if err != nil {
				return nil, err
			}
			if ok {
				keys = append(keys, h.key)
			}
		}
		i += n
		ss, err := r.sessions(keys)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(ss, func(a, b Session) int { return cmpInt(b.StartedAt, a.StartedAt) })
		out = append(out, ss...)
	}
	return out[:min(len(out), limit)], nil
}

func (r *Recordings) sessions(keys [][]byte) ([]Session, error) {
	out := make([]Session, 0, len(keys))
	err := r.st.GetMany(keys, func(i int, v []byte) error {
		var s Session
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("replay session %q: %w", keys[i][1:], err)
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// Erase deletes every session of the visitors vids (a visitor, and the ids merged into it):
// their chunks, metadata and index entries. It returns the number of sessions deleted.
func (r *Recordings) Erase(vids ...string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, vid := range vids {
		if vid == "" {
			continue
		}
		var ids []string
		p := visitorPrefix(vid)
		err := r.st.Scan(p, prefixEnd(p), func(k, _ []byte) error {
			ids = append(ids, string(k[len(p):]))
			return nil
		})
		if err != nil {
			return n, err
		}
		for _, id := range ids {
			ops := []track.Op{{Key: visitorKey(vid, id), Delete: true}, {Key: sessionKey(id), Delete: true}}
			sess, found, err := r.session(id)
			if err != nil {
				return n, err
			}
			if found {
				ops = append(ops, track.Op{Key: periodKey(sess.Site, sess.StartedAt, id), Delete: true})
			}
			cp := chunkPrefix(id)
			err = r.st.Scan(cp, prefixEnd(cp), func(k, _ []byte) error {
				ops = append(ops, track.Op{Key: append([]byte(nil), k...), Delete: true})
				return nil
			})
			if err != nil {
				return n, err
			}
			if err := r.st.Write(ops); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// admitToday checks that size more bytes fit in the daily cap of day, and returns the day's
// counter key and the bytes stored under it so far (ErrDailyCap when they do not fit).
func (r *Recordings) admitToday(day uint32, size int64) (dk []byte, today int64, err error) {
	dk = dayKey(day)
	if today, err = r.dayBytes(dk); err != nil {
		return nil, 0, err
	}
	if today+size > r.cfg.DailyCap && r.cfg.DailyCap > 0 {
		return nil, 0, ErrDailyCap
	}
	return dk, today, nil
}
