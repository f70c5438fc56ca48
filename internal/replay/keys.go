package replay

import (
	"encoding/binary"
)

// Key kinds, beside the tracker's and the heatmaps' (docs/architecture.md lists them all).
const (
	kindChunk   = 'y' // y session 0 seq(4, BE) → the chunk, gzip
	kindSession = 's' // s session → Session (JSON)
	kindVisitor = 'p' // p vid 0 session → empty
	kindPeriod  = 'z' // z site 0 started(8, BE) session → vid
	kindDay     = 'Y' // Y day(4, BE) → bytes stored that day (8, BE)
)

func chunkPrefix(session string) []byte {
	k := make([]byte, 0, len(session)+6)
	return append(append(append(k, kindChunk), session...), 0)
}

func chunkKey(session string, seq uint32) []byte {
	return binary.BigEndian.AppendUint32(chunkPrefix(session), seq)
}

func sessionKey(session string) []byte {
	return append([]byte{kindSession}, session...)
}

func visitorPrefix(vid string) []byte {
	k := make([]byte, 0, len(vid)+2)
	return append(append(append(k, kindVisitor), vid...), 0)
}

func visitorKey(vid, session string) []byte {
	return append(visitorPrefix(vid), session...)
}

func periodPrefix(site string) []byte {
	k := make([]byte, 0, len(site)+2)
	return append(append(append(k, kindPeriod), site...), 0)
}

func periodKey(site string, started int64, session string) []byte {
	k := binary.BigEndian.AppendUint64(periodPrefix(site), uint64(max(started, 0)))
	return append(k, session...)
}

func dayKey(day uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{kindDay}, day)
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
