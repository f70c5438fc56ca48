package analytics

import (
	"encoding/binary"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// recordHead is the beginning of an event-log record: all a full build needs of most
// records. Reading it costs a few varints and no allocation, where event.DecodeRecord copies
// the record; over a million records that is most of a rebuild's time.
type recordHead struct {
	typ        event.Type
	bot        bool
	site, vid  []byte
	id, name   []byte
	ok         bool // false: not a version-1 record; decode it with event.DecodeRecord
	hasPayload bool // a prompt event or a tracker record: decode it whole
}

// Layout of a version-1 record, as event.AppendRecord documents it: version, flags, type,
// device, time, the client time when the ts flag is set, then the strings Site, VID, ID,
// Name, … A test checks this reader against event.DecodeRecord.
const (
	recVersion1 = 1
	recFlagTS   = 1 << 0
	recFlagBot  = 1 << 2
)

// readHead reads the head of rec. It never panics: a record it cannot read has ok false.
func readHead(rec []byte) recordHead {
	var h recordHead
	if len(rec) < 4 || rec[0] != recVersion1 {
		return h
	}
	flags := rec[1]
	h.typ, h.bot = event.Type(rec[2]), flags&recFlagBot != 0
	pos := 4
	skip := func() bool {
		_, n := binary.Varint(rec[pos:])
		pos += n
		return n > 0
	}
	str := func() ([]byte, bool) {
		l, n := binary.Uvarint(rec[pos:])
		if n <= 0 || l > uint64(len(rec)-pos-n) {
			return nil, false
		}
		pos += n
		s := rec[pos : pos+int(l)]
		pos += int(l)
		return s, true
	}
	if !skip() || (flags&recFlagTS != 0 && !skip()) {
		return h
	}
	var ok bool
	for _, p := range []*[]byte{&h.site, &h.vid, &h.id, &h.name} {
		if *p, ok = str(); !ok {
			return h
		}
	}
	h.ok = true
	h.hasPayload = h.typ == event.TypePrompt || (h.typ == event.TypeEvent && string(h.name) == track.HoldoutPromptEvent)
	return h
}

// eventTime returns the time of a version-1 record (its head was read).
func eventTime(rec []byte) int64 {
	t, _ := binary.Varint(rec[4:])
	return t
}
