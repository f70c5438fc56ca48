package reportstore

import (
	"bytes"
	"encoding/binary"

	"github.com/pathlight/pathlight/internal/track"
)

// Reading the records of a run of days. The packed days' packs are under D, a day after
// another with nothing between them, and are read first, by one scan of that prefix from
// the period's first day on. The single records are under L, where packing deleted the
// records of the days it packed; a store keeps such deletes until its compactions reach
// the last level (about 2,700 a day over the last three months at 1,000,000 visitors), and
// an iterator steps over every one of them on its way to the next live key. So a store that
// reads ranges at one snapshot (track.RangeScanner) reads no L key of a day whose part 0
// the scan of D met: such a day has no single record. The other days are read as the
// releases that kept packs under L wrote them: first the prefix of the day's parts 0–255 (L
// day 0x00: packs of a release before, and any single record whose id starts with a zero
// byte), bounded to it; a day packed that way with fewer than 256 parts holds nothing more,
// so the scan goes on with the next day; a day with more parts is read on to its end; at the
// first day that is not packed the scan reads every key to the end of L. Before that, the
// days before the last packed under D that are not packed under D are read a run of days at
// a time, each run by a range of its own, which meets no delete after it.
// Each key is read once at one snapshot; within D and within L, in key order.

// scanRecords calls fn for the keys of the records filed under day lo and later: those
// under D, then those under L, each in key order, at one snapshot.
func (s *Store) scanRecords(lo int64, fn func(key, val []byte) error) error {
	packs, singles := dayBytes([]byte{pPack}, lo), dayBytes([]byte{pRecord}, lo)
	rs, ok := s.kv.(track.RangeScanner)
	if !ok {
		if err := s.kv.Scan(packs, []byte{pPack + 1}, fn); err != nil {
			return err
		}
		return s.kv.Scan(singles, []byte{pRecord + 1}, fn)
	}
	d := &dayRanges{day: lo, packed: map[int64]bool{}, lastPacked: lo - 1}
	return rs.ScanRanges(packs, []byte{pRecord + 1}, d.next, func(k, v []byte) error {
		d.saw(k)
		return fn(k, v)
	})
}

// dayRanges chooses the ranges of scanRecords, by what the ranges before held.
type dayRanges struct {
	day   int64
	state int
	// the days whose part 0 the scan of D met, and the last of them
	packed     map[int64]bool
	lastPacked int64
	part0      bool // the L prefix just read held part 0 of day: day is packed under L
	full       bool // it held part 255: the day may have more parts
}

// The states of dayRanges.
const (
	dayPackRun = iota // next: the packs under D, from day on
	dayPrefix         // next: day's L prefix of parts 0–255
	dayAfter          // the prefix is read: the next day, or the rest of this one
	dayEnd            // every key is read
)

// next gives the ranges in turn. Each run of days up to the last packed under D that are
// not packed under D is read by one range of its own: the days packed under D after it
// hold the deletes of their single records, over which an iterator shared with the next
// ranges, or one of live keys only, would look ahead (see track.RangeScanner).
func (d *dayRanges) next() (start, end []byte, own, ok bool) {
	switch d.state {
	case dayPackRun:
		d.state = dayPrefix
		return dayBytes([]byte{pPack}, d.day), []byte{pPack + 1}, true, true
	case dayPrefix:
		for d.packed[d.day] {
			d.day++
		}
		if d.day < d.lastPacked {
			from := d.day
			for !d.packed[d.day] {
				d.day++
			}
			return dayBytes([]byte{pRecord}, from), dayBytes([]byte{pRecord}, d.day), true, true
		}
		d.part0, d.full = false, false
		d.state = dayAfter
		p := append(dayBytes([]byte{pRecord}, d.day), 0)
		return p, append(dayBytes([]byte{pRecord}, d.day), 1), false, true
	case dayAfter:
		rest := append(dayBytes([]byte{pRecord}, d.day), 1)
		switch {
		case d.part0 && !d.full: // packed under L, every part read
			d.day++
			d.state = dayPrefix
			return d.next()
		case d.part0: // to the end of the day
			d.day++
			d.state = dayPrefix
			return rest, dayBytes([]byte{pRecord}, d.day), false, true
		default: // not packed: everything after
			d.state = dayEnd
			return rest, []byte{pRecord + 1}, false, true
		}
	}
	return nil, nil, false, false
}

// saw notes a key of the range being read.
func (d *dayRanges) saw(k []byte) {
	if len(k) != packLen {
		return
	}
	part := binary.BigEndian.Uint16(k[5:])
	switch {
	case k[0] == pPack && part == 0:
		day := dayOfKey(k[1:])
		d.packed[day] = true
		d.lastPacked = max(d.lastPacked, day)
	case k[0] == pRecord && d.state == dayAfter && bytes.Equal(k[1:5], dayBytes(nil, d.day)):
		switch part {
		case 0:
			d.part0 = true
		case 255:
			d.full = true
		}
	}
}
