package track

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pathlight/pathlight/internal/journey"
)

// Spill packs. A journey remembers its last ids (journey.State.Recent); when more than
// journey.MaxRecent are inside their 48 h window, the oldest are pushed out together, half
// the list at once, and stored in one key of the visitor ("i" vid and the first id's hash):
// for each id, the 48 bits of its hash that journeys keep (6 bytes, little-endian) and when
// it was accepted (Unix seconds, 4 bytes, little-endian). The key expires with the last id's
// window. A pack is written once, so a busy visitor costs the store one key per 33 ids, in
// the visitor's own part of the key space, where one key per id at random places used to
// make most of the tree's entries and of its compactions.
//
// Packs are read whole, by a range read of the visitor's prefix, only when the spill memo
// does not know the visitor or may hold an id of its batch (see readSpilled). A merge moves
// the anonymous visitor's packs to the known user, and an erase deletes them.

// packedIDLen is the size of one id in a spill pack.
const packedIDLen = 6 + 4

func spillPackPrefix(dst []byte, vid string) []byte {
	return append(append(dst, pPack), vid...)
}

func spillPackKey(dst []byte, vid string, first uint64) []byte {
	return appendHash48(spillPackPrefix(dst, vid), first)
}

// appendPackedID appends r in a pack's form.
func appendPackedID(dst []byte, r journey.RecentID) []byte {
	return binary.LittleEndian.AppendUint32(appendHash48(dst, r.Hash), uint32(r.At))
}

// decodePack calls fn with each id of a pack's value.
func decodePack(key, val []byte, fn func(journey.RecentID)) error {
	if len(val)%packedIDLen != 0 {
		return fmt.Errorf("spill pack %x: %d bytes, not a multiple of %d", key, len(val), packedIDLen)
	}
	for off := 0; off < len(val); off += packedIDLen {
		var b [8]byte
		copy(b[:6], val[off:off+6])
		fn(journey.RecentID{
			Hash: binary.LittleEndian.Uint64(b[:]),
			At:   int64(binary.LittleEndian.Uint32(val[off+6:])),
		})
	}
	return nil
}

// scanPacks calls fn with every id of vid's spill packs, whether or not still in its window.
func (t *Tracker) scanPacks(vid string, fn func(journey.RecentID)) error {
	start := spillPackPrefix(nil, vid)
	end := prefixEnd(start)
	return t.st.Scan(start, end, func(k, v []byte) error { return decodePack(k, v, fn) })
}

// movePacks adds to w.ops the writes that move old's spill packs to visitor to (a merge):
// each pack under the same first id, until the end of its last id's window, and the delete
// of the original; the packs the batch itself wrote for old are written for to instead. It
// returns the end of the last window of the ids moved (0: none).
func (t *Tracker) movePacks(w *work, old, to string) (int64, error) {
	start := spillPackPrefix(nil, old)
	var last int64
	// Packs this batch wrote before the merge are not stored yet: they move in the batch.
	for i := range w.ops {
		if op := &w.ops[i]; !op.Delete && hasPrefix(op.Key, start) {
			first := op.Key[len(start):]
			op.Key = w.key(func(d []byte) []byte { return append(spillPackPrefix(d, to), first...) })
		}
	}
	err := t.st.Scan(start, prefixEnd(start), func(k, v []byte) error {
		var until int64
		if err := decodePack(k, v, func(r journey.RecentID) { until = max(until, r.At+dedupWindowSec) }); err != nil {
			return err
		}
		w.ops = append(w.ops, Op{Key: w.key(func(d []byte) []byte { return append(d, k...) }), Delete: true})
		if until <= w.wall {
			return nil
		}
		last = max(last, until)
		first := k[len(start):]
		w.ops = append(w.ops, Op{
			Key:   w.key(func(d []byte) []byte { return append(spillPackPrefix(d, to), first...) }),
			Value: w.key(func(d []byte) []byte { return append(d, v...) })[:len(v):len(v)],
			TTL:   time.Duration(until-w.wall) * time.Second,
		})
		return nil
	})
	return last, err
}

// erasePacks deletes vid's spill packs, in writes of at most eraseChunk keys.
func (t *Tracker) erasePacks(w *work, vid string) error {
	start := spillPackPrefix(nil, vid)
	end := prefixEnd(start)
	for {
		n := 0
		err := t.st.Scan(start, end, func(k, _ []byte) error {
			w.ops = append(w.ops, Op{Key: w.key(func(d []byte) []byte { return append(d, k...) }), Delete: true})
			if n++; n == eraseChunk {
				return ErrStop // Badger iterators must not overlap the writes they would see
			}
			return nil
		})
		if err == nil && len(w.ops) > 0 {
			err = t.st.Write(w.ops)
		}
		w.ops, w.arena = w.ops[:0], w.arena[:0]
		if err != nil || n < eraseChunk {
			return err
		}
	}
}

// prefixEnd returns the first key after every key that starts with prefix.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
