package track

import "encoding/binary"

// Key layout. Each kind of record has a one-byte prefix so that scans of one kind never touch
// another:
//
//	v <vid>                          visitor state (journey codec)
//	a <vid>                          alias: an anonymous visitor id merged into a known user's id
//	u <site> 0 <user id>             identity link: user id → visitor id
//	d <site> 0 <event id>            site-wide dedup mark, 48 h TTL, empty value (see dedup.go)
//	r <id hash, 6 bytes LE>          spilled dedup mark of a journey's Recent list, TTL to the
//	                                 end of the id's 48 h window, empty value: past the
//	                                 visitor's maxPacked ids in packs, and by releases before
//	                                 spill packs
//	i <vid> <id hash, 6 bytes LE>    spill pack: ids pushed out of the journey's Recent list
//	                                 together, keyed by the first one's hash (see spillpack.go)
//	e <ts ms BE64> <seq BE64>        event log record (event.AppendRecord), time-ordered
//	o <vid> 0 <owned key>            ownership index: every key that belongs to a visitor, for erase
//	m <name>                         server metadata (the cookieless salt of each day)
//
// The event log's sequence number makes keys unique within a millisecond; it starts from the
// process start time in nanoseconds so that keys written after a restart never collide.
const (
	pVisitor = 'v'
	pAlias   = 'a'
	pUser    = 'u'
	pDedup   = 'd'
	pSpill   = 'r'
	pPack    = 'i'
	pEvent   = 'e'
	pOwner   = 'o'
	pMeta    = 'm'
)

// EventPrefix is the first byte of every event log key: records written once, in time
// order, read by point gets and time scans, deleted by erase and expired by retention. A
// store may keep these keys apart from the others (see trackstore).
const EventPrefix = pEvent

// eventKeyLen is the length of an event log key.
const eventKeyLen = 1 + 8 + 8

func visitorKey(dst []byte, vid string) []byte {
	return append(append(dst, pVisitor), vid...)
}

func aliasKey(dst []byte, vid string) []byte {
	return append(append(dst, pAlias), vid...)
}

func userKey(dst []byte, site, uid string) []byte {
	dst = append(append(dst, pUser), site...)
	return append(append(dst, 0), uid...)
}

func dedupKey(dst []byte, site, id string) []byte {
	dst = append(append(dst, pDedup), site...)
	return append(append(dst, 0), id...)
}

// spillKey is the key of an id hash pushed out of a journey's Recent list: the low 48 bits
// that journeys keep (the site is part of the hash).
func spillKey(dst []byte, h uint64) []byte {
	return appendHash48(append(dst, pSpill), h)
}

// appendHash48 appends the low 48 bits of an id hash, little-endian: the bits journeys, spill
// keys and spill packs keep.
func appendHash48(dst []byte, h uint64) []byte {
	return append(dst, byte(h), byte(h>>8), byte(h>>16), byte(h>>24), byte(h>>32), byte(h>>40))
}

func eventKey(dst []byte, ts int64, seq uint64) []byte {
	return appendEventRef(append(dst, pEvent), ts, seq)
}

// appendEventRef appends an event log key without its prefix byte: time, then sequence.
func appendEventRef(dst []byte, ts int64, seq uint64) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	return binary.BigEndian.AppendUint64(dst, seq)
}

func ownerPrefix(dst []byte, vid string) []byte {
	dst = append(append(dst, pOwner), vid...)
	return append(dst, 0)
}

func ownerKey(dst []byte, vid string, owned []byte) []byte {
	return append(ownerPrefix(dst, vid), owned...)
}

func metaKey(dst []byte, name string) []byte {
	return append(append(dst, pMeta), name...)
}
