package reportstore

import (
	"bytes"
	"encoding/binary"

	"github.com/pathlight/pathlight/internal/track"
)

// Reading the records of a run of days. A packed day keeps its records in packs, whose keys
// (L day part) sort before most of the keys of the single records packing deleted; Badger
// keeps those deletes until its compactions reach the last level, about 2,700 a day over
// the last three months at 1,000,000 visitors, and an iterator steps over every one of them
// on its way to the next live key. So a store that reads ranges at one snapshot
// (track.RangeScanner) is read a day at a time: first the prefix of the day's parts 0–255
// (L day 0x00, the day's packs, and any single record whose id starts with a zero byte),
// bounded to it; a packed day with fewer than 256 parts holds nothing more (a packed day
// has no single record, and its parts are numbered from 0 without a gap), so the scan goes
// on with the next day's prefix; a day with more parts is read on to its end; at the first
// day that is not packed (the recent days, or a day without any record) the scan reads
// every key after the prefix to the end. Each key is read once, in key order, as one Scan
// would read them: the reports see the same records in the same order.

// scanRecords calls fn for the keys under pRecord from day lo on, in key order, at one
// snapshot.
func (s *Store) scanRecords(lo int64, fn func(key, val []byte) error) error {
	start, end := dayBytes([]byte{pRecord}, lo), []byte{pRecord + 1}
	rs, ok := s.kv.(track.RangeScanner)
	if !ok {
		return s.kv.Scan(start, end, fn)
	}
	d := &dayRanges{day: lo}
	return rs.ScanRanges(start, end, d.next, func(k, v []byte) error {
		d.saw(k)
		return fn(k, v)
	})
}

// dayRanges chooses the ranges of scanRecords, by what the range before held.
type dayRanges struct {
	day   int64
	state int
	part0 bool // the prefix just read held part 0 of day: day is packed
	full  bool // it held part 255: the day may have more parts
}

// The states of dayRanges.
const (
	dayPrefix = iota // next: day's prefix of parts 0–255
	dayAfter         // the prefix is read: the next day, or the rest of this one
	dayEnd           // every key is read
)

func (d *dayRanges) next() (start, end []byte, ok bool) {
	switch d.state {
	case dayPrefix:
		d.part0, d.full = false, false
		d.state = dayAfter
		p := append(dayBytes([]byte{pRecord}, d.day), 0)
		return p, append(dayBytes([]byte{pRecord}, d.day), 1), true
	case dayAfter:
		rest := append(dayBytes([]byte{pRecord}, d.day), 1)
		switch {
		case d.part0 && !d.full: // packed, every part read
			d.day++
			d.state = dayPrefix
			return d.next()
		case d.part0: // packed, with more parts: to the end of the day
			d.day++
			d.state = dayPrefix
			return rest, dayBytes([]byte{pRecord}, d.day), true
		default: // not packed: everything after
			d.state = dayEnd
			return rest, []byte{pRecord + 1}, true
		}
	}
	return nil, nil, false
}

// saw notes a key of the range being read.
func (d *dayRanges) saw(k []byte) {
	if d.state != dayAfter || len(k) != packLen || !bytes.Equal(k[1:5], dayBytes(nil, d.day)) {
		return
	}
	switch binary.BigEndian.Uint16(k[5:]) {
	case 0:
		d.part0 = true
	case 255:
		d.full = true
	}
}
