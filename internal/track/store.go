package track

import (
	"errors"
	"time"
)

// Store is what the tracker needs of storage: point reads, atomic multi-key writes and ordered
// scans over byte keys. The store package's *DB provides it (joined in cmd); tests may use
// the same real store in a temporary directory.
type Store interface {
	// Get appends the value of key to dst; ErrNotFound when absent or expired.
	Get(key, dst []byte) ([]byte, error)
	// GetMany reads keys from one snapshot and calls fn with the index and value of each
	// key that exists; val lives only during fn.
	GetMany(keys [][]byte, fn func(i int, val []byte) error) error
	// Write commits all ops atomically.
	Write(ops []Op) error
	// Scan calls fn for each key in [start, end) in order; key and val live only during fn.
	Scan(start, end []byte, fn func(key, val []byte) error) error
}

// RangeScanner is a Store that can also read a run of ranges within [lo, hi) at one
// snapshot, each range chosen by next after the keys of the ones before (see the store
// package's DB.ScanRanges): a reader that knows which parts of a span hold live keys reads
// only those, and meets none of the deleted keys between them. A range next gives with own
// set is read by an iterator of its own, bounded to the range, never by one the scan shares
// among its ranges: the reader knows that deleted keys follow it. Optional: a Store without
// it is read with one Scan of [lo, hi).
type RangeScanner interface {
	ScanRanges(lo, hi []byte, next func() (start, end []byte, own, ok bool), fn func(key, val []byte) error) error
}

// Op is one write of an atomic batch: set key to value (expiring after TTL when TTL > 0) or
// delete key. Its layout matches the store package's Op so the adapter converts for free.
type Op struct {
	Key    []byte
	Value  []byte
	TTL    time.Duration
	Delete bool
}

// ErrNotFound is what Store.Get returns for a missing key.
var ErrNotFound = errors.New("not found")

// ErrDiskFull is what Store.Write returns, wrapped, when the store refuses a write because
// its disk is nearly full: nothing of the write is stored, and the same write succeeds once
// space is freed. The tracker passes it on (wrapped), so that a hit is answered "retry
// later" rather than counted as accepted.
var ErrDiskFull = errors.New("disk full")

// ErrOverloaded is what Store.Write returns when storage is too far behind to take more
// writes for now: the caller should answer "busy, retry later".
var ErrOverloaded = errors.New("storage is behind: retry later")

// ErrStop, returned from a scan callback, ends the scan without error.
var ErrStop = errors.New("stop scan")
