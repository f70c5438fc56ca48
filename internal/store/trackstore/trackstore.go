// Package trackstore joins the Badger store to the tracker: it adapts *store.DB to the
// track.Store interface. The two packages do not know each other (store imports no internal
// package; track imports no storage engine), so their op types and sentinel errors are
// translated here, for the command and for tests that run the tracker on real storage.
package trackstore

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/track"
)

// Options returns opt with the tracker's event log routed to the store's event store
// (store.Options.EventPrefix): its records are written once and read rarely, and there they
// stay out of the main LSM tree.
func Options(opt store.Options) store.Options {
	opt.EventPrefix = track.EventPrefix
	return opt
}

// Adapter is a *store.DB as a track.Store.
type Adapter struct{ DB *store.DB }

var (
	_ track.Store        = Adapter{}
	_ track.RangeScanner = Adapter{}
)

// New returns db as a track.Store.
func New(db *store.DB) Adapter { return Adapter{DB: db} }

// track.Op and store.Op have identical fields, which this conversion checks at compile time;
// that makes a slice of one a valid slice of the other, so Write converts without copying.
var _ = store.Op(track.Op{})

// Get implements track.Store.
func (a Adapter) Get(key, dst []byte) ([]byte, error) {
	v, err := a.DB.Get(key, dst)
	if errors.Is(err, store.ErrNotFound) {
		return v, track.ErrNotFound
	}
	return v, err
}

// GetMany implements track.Store.
func (a Adapter) GetMany(keys [][]byte, fn func(i int, val []byte) error) error {
	return a.DB.GetMany(keys, fn)
}

// Write implements track.Store without copying the ops.
func (a Adapter) Write(ops []track.Op) error {
	if len(ops) == 0 {
		return nil
	}
	err := a.DB.Write(unsafe.Slice((*store.Op)(unsafe.Pointer(&ops[0])), len(ops)))
	if errors.Is(err, store.ErrDiskFull) {
		return diskFull{err}
	}
	if errors.Is(err, store.ErrBacklog) {
		return fmt.Errorf("%w (%w)", track.ErrOverloaded, err)
	}
	return err
}

// diskFull is the store's disk-full error as the tracker knows it: it matches
// track.ErrDiskFull and store.ErrDiskFull, and keeps the store's message.
type diskFull struct{ err error }

func (d diskFull) Error() string { return d.err.Error() }

func (d diskFull) Is(target error) bool { return target == track.ErrDiskFull }

func (d diskFull) Unwrap() error { return d.err }

// Scan implements track.Store.
func (a Adapter) Scan(start, end []byte, fn func(key, val []byte) error) error {
	return a.DB.Scan(start, end, func(k, v []byte) error { return stop(fn(k, v)) })
}

// ScanRanges implements track.RangeScanner.
func (a Adapter) ScanRanges(lo, hi []byte, next func() (start, end []byte, own, ok bool), fn func(key, val []byte) error) error {
	return a.DB.ScanRanges(lo, hi, next, func(k, v []byte) error { return stop(fn(k, v)) })
}

// stop translates the tracker's early-stop sentinel into the store's.
func stop(err error) error {
	if errors.Is(err, track.ErrStop) {
		return store.ErrStop
	}
	return err
}
