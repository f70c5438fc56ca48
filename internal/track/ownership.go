package track

import (
	"fmt"

	"github.com/pathlight/pathlight/internal/journey"
)

// The ownership index lists every key that belongs to a visitor ("o" vid 0 owned-key), so
// that an erase finds them all and a visitor's timeline reads only the visitor's own events.
// Identity links and aliases are indexed one key each. Event-log records, one per event, are
// indexed in packs: the journey collects the keys of its latest events (State.Logged) and,
// every journey.MaxLogged of them, the tracker writes one pack ("o" vid 0 "P" and the first
// event's key; the value holds the time and sequence of each event, 16 bytes apiece), so the
// index costs one key per 16 events instead of one per event. The keys still waiting in the
// journey are read from it. Readers also take an index entry naming one event key, the form
// written before packs existed.

// packMark starts the owned part of a pack's index key.
const packMark = 'P'

// packRefLen is the size of one event key in a pack: the event key without its prefix byte.
const packRefLen = eventKeyLen - 1

// packLogged writes the pending event keys of st as packs while there are enough of them.
func (t *Tracker) packLogged(w *work, st *journey.State, vid string) {
	for len(st.Logged) >= journey.MaxLogged {
		refs := st.Logged[:journey.MaxLogged]
		k := w.key(func(d []byte) []byte {
			return eventKey(append(ownerPrefix(d, vid), packMark), refs[0].TS, refs[0].Seq)
		})
		v := w.key(func(d []byte) []byte {
			for _, r := range refs {
				d = appendEventRef(d, r.TS, r.Seq)
			}
			return d
		})
		w.ops = append(w.ops, Op{Key: k, Value: v, TTL: t.cfg.Retention})
		st.Logged = append(st.Logged[:0], st.Logged[journey.MaxLogged:]...)
	}
}

// ownedKeys calls fn with each key an index entry stands for: the event keys of a pack, or
// the one owned key of any other entry. key is valid only during the call.
func ownedKeys(owned, val []byte, fn func(key []byte) error) error {
	if len(owned) == 0 || owned[0] != packMark {
		return fn(owned)
	}
	if len(val)%packRefLen != 0 {
		return fmt.Errorf("ownership pack %x: %d bytes, not a multiple of %d", owned, len(val), packRefLen)
	}
	var k [eventKeyLen]byte
	k[0] = pEvent
	for off := 0; off < len(val); off += packRefLen {
		copy(k[1:], val[off:off+packRefLen])
		if err := fn(k[:]); err != nil {
			return err
		}
	}
	return nil
}

// scanOwned calls fn with every index entry of vid: the whole index key, the owned part and
// the value (a pack's event keys); all are valid only during the call.
func (t *Tracker) scanOwned(vid string, fn func(indexKey, owned, val []byte) error) error {
	prefix := ownerPrefix(nil, vid)
	end := append(prefix[:len(prefix)-1:len(prefix)-1], 1) // the 0 after vid, plus one
	return t.st.Scan(prefix, end, func(k, v []byte) error { return fn(k, k[len(prefix):], v) })
}

// loggedKeys appends the event keys still waiting in st to dst.
func loggedKeys(dst [][]byte, st *journey.State) [][]byte {
	for _, r := range st.Logged {
		dst = append(dst, eventKey(nil, r.TS, r.Seq))
	}
	return dst
}
