package reportstore

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/pathlight/pathlight/internal/track"
)

// Segment reach: per site (and "" for every site), how many visitors with a journey the
// store holds and how many of them each segment holds. Put keeps the counts current from
// the changes it writes, so reading them costs one key; Recount sets them from every record
// (after a rebuild, and daily, since records that expire are not subtracted).

func reachKey(site string) []byte { return metaKey("reach\x00" + site) }

// countReach adds sign × the visitor's counts to m.
func countReach(m map[string]map[string]int, v *Visitor, sign int) {
	if v == nil || !v.HasState {
		return
	}
	add := func(site string) {
		c := m[site]
		if c == nil {
			c = map[string]int{}
			m[site] = c
		}
		c[""] += sign // the visitors
		for _, sg := range v.J.Segments {
			c["s:"+sg] += sign
		}
	}
	add("")
	for _, site := range v.Sites {
		add(site)
	}
}

// readReach returns the stored counts of site.
func (s *Store) readReach(site string) (map[string]int, error) {
	b, err := s.kv.Get(reachKey(site), nil)
	if errors.Is(err, track.ErrNotFound) {
		return map[string]int{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read reach: %w", err)
	}
	var m map[string]int
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&m); err != nil || m == nil {
		return map[string]int{}, nil
	}
	return m, nil
}

func reachOp(site string, m map[string]int) (track.Op, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(m); err != nil {
		return track.Op{}, err
	}
	return track.Op{Key: reachKey(site), Value: b.Bytes()}, nil
}

// reachOps appends the writes of the counts changed by deltas.
func (s *Store) reachOps(ops []track.Op, deltas map[string]map[string]int) ([]track.Op, error) {
	for _, site := range slices.Sorted(maps.Keys(deltas)) {
		d := deltas[site]
		cur, err := s.readReach(site)
		if err != nil {
			return ops, err
		}
		changed := false
		for k, n := range d {
			if n == 0 {
				continue
			}
			changed = true
			if cur[k] += n; cur[k] <= 0 {
				delete(cur, k)
			}
		}
		if !changed {
			continue
		}
		op, err := reachOp(site, cur)
		if err != nil {
			return ops, err
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// Reach returns how many visitors with a journey site ("" for every site) has, and how
// many of them are in each segment.
func (s *Store) Reach(site string) (visitors int, segments map[string]int, err error) {
	m, err := s.readReach(site)
	if err != nil {
		return 0, nil, err
	}
	segments = map[string]int{}
	for k, n := range m {
		if sg, ok := cutPrefix(k, "s:"); ok {
			segments[sg] = n
		}
	}
	return m[""], segments, nil
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

// Recount sets the reach counts from every record, reading them in pages of ChunkSize so
// that it holds no more than one page; pause is called between pages (to pace background
// work) and may end it with an error.
func (s *Store) Recount(pause func() error) error {
	counts := map[string]map[string]int{}
	in := NewInterner()
	count := func(_, rec []byte, tab []string) error {
		if v, err := decodeVisitorIn("", rec, in, nil, tab); err == nil {
			countReach(counts, v, +1)
		}
		return nil
	}
	for _, prefix := range []byte{pPack, pRecord} {
		start, end := []byte{prefix}, []byte{prefix + 1}
		for {
			n := 0
			var last []byte
			err := s.kv.Scan(start, end, func(key, val []byte) error {
				if n == ChunkSize {
					return track.ErrStop
				}
				n++
				last = append(last[:0], key...)
				switch {
				case len(key) == 5+vidBytes && prefix == pRecord:
					return count(nil, val, nil)
				case isPackKey(key):
					_ = eachPacked(val, in, count) // a corrupt pack counts what it holds before the damage
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("scan visitor records: %w", err)
			}
			if n < ChunkSize {
				break
			}
			start = append(last, 0)
			if pause != nil {
				if err := pause(); err != nil {
					return err
				}
			}
		}
	}
	// Replace every site's counts, also those of sites no record names any more.
	var ops []track.Op
	err := s.kv.Scan(metaKey("reach\x00"), metaKey("reach\x01"), func(key, _ []byte) error {
		if _, ok := counts[string(key[len(metaKey("reach\x00")):])]; !ok {
			ops = append(ops, track.Op{Key: bytes.Clone(key), Delete: true})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, site := range slices.Sorted(maps.Keys(counts)) {
		op, err := reachOp(site, counts[site])
		if err != nil {
			return err
		}
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return nil
	}
	return s.kv.Write(ops)
}
