package automate

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// Key layout (one prefix byte each, beside the tracker's):
//
//	x <vid>                                  the visitor's automation memory (rules.AutoState, JSON)
//	w <due ms BE64> <vid> 0 <automation>     a timer of a time-based trigger, empty value
//	q <destination> 0 <seq BE64>             a pending delivery (Delivery, JSON)
//	k <destination> 0 <seq BE64>             a dead delivery, kept for replay (Delivery, JSON)
//	f <fired ms BE64> <seq BE64>             one firing, for counts per day (Fired, JSON)
//
// Every one of them but the firing log is listed in the visitor's ownership index, so an
// erase drops them; the firing log names no visitor.
const (
	PrefixAuto  = 'x'
	PrefixTimer = 'w'
	PrefixQueue = 'q'
	PrefixDead  = 'k'
	PrefixFired = 'f'
)

// Fired is a record of the firing log: which automation fired, for which site.
type Fired struct {
	Automation string `json:"a"`
	Site       string `json:"s,omitempty"`
}

// FiredKey appends the firing log key of a firing at ms to dst.
func FiredKey(dst []byte, at int64, seq uint64) []byte {
	dst = binary.BigEndian.AppendUint64(append(dst, PrefixFired), uint64(at))
	return binary.BigEndian.AppendUint64(dst, seq)
}

// FiredAt returns the time of a firing log key.
func FiredAt(k []byte) int64 {
	if len(k) < 9 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(k[1:9]))
}

// FiredRange returns the scan range of the firings in [from, to), Unix ms.
func FiredRange(from, to int64) (start, end []byte) {
	return FiredKey(nil, max(from, 0), 0), FiredKey(nil, max(to, 0), 0)
}

// AutoKey appends the key of vid's automation memory to dst.
func AutoKey(dst []byte, vid string) []byte { return append(append(dst, PrefixAuto), vid...) }

// TimerKey appends the key of a timer to dst.
func TimerKey(dst []byte, due int64, vid, automation string) []byte {
	dst = binary.BigEndian.AppendUint64(append(dst, PrefixTimer), uint64(due))
	dst = append(append(dst, vid...), 0)
	return append(dst, automation...)
}

// ParseTimerKey splits a timer key.
func ParseTimerKey(k []byte) (due int64, vid, automation string, err error) {
	if len(k) < 10 || k[0] != PrefixTimer {
		return 0, "", "", errors.New("not a timer key")
	}
	rest := k[9:]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return 0, "", "", errors.New("timer key without a visitor")
	}
	return int64(binary.BigEndian.Uint64(k[1:9])), string(rest[:i]), string(rest[i+1:]), nil
}

// TimersUpTo returns the scan range of timers due at or before now.
func TimersUpTo(now int64) (start, end []byte) {
	return []byte{PrefixTimer}, binary.BigEndian.AppendUint64([]byte{PrefixTimer}, uint64(now+1))
}

// QueueKey appends the key of a pending delivery to dst.
func QueueKey(dst []byte, dest string, seq uint64) []byte {
	return deliveryKey(dst, PrefixQueue, dest, seq)
}

// DeadKey appends the key of a dead delivery to dst.
func DeadKey(dst []byte, dest string, seq uint64) []byte {
	return deliveryKey(dst, PrefixDead, dest, seq)
}

func deliveryKey(dst []byte, p byte, dest string, seq uint64) []byte {
	dst = append(append(append(dst, p), dest...), 0)
	return binary.BigEndian.AppendUint64(dst, seq)
}

// Range returns the scan range of one kind of delivery key (PrefixQueue or PrefixDead), of one
// destination or, with dest "", of all.
func Range(p byte, dest string) (start, end []byte) {
	if dest == "" {
		return []byte{p}, []byte{p + 1}
	}
	start = append(append([]byte{p}, dest...), 0)
	end = append(append([]byte{p}, dest...), 1)
	return start, end
}
