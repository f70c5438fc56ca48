package store

import (
	"bytes"

	"github.com/dgraph-io/badger/v4"
)

// span iterates one Badger instance over [lo, hi) (nil hi: to the last key) at one read
// timestamp, skipping the keys in [skipLo, skipHi) when skipLo is set: a scan reads the main
// instance and the event store each through a span and merges the two.
type span struct {
	it             *badger.Iterator
	txn            *badger.Txn
	lo, hi         []byte
	skipLo, skipHi []byte
	ok             bool // positioned on a key of the span
	// all: the iterator hands over every version, and the span keeps the newest of each
	// key that is not deleted or expired (see newSpanAll); last is the key of the entry
	// before.
	all  bool
	last []byte
}

// newSpan opens a span of db at ts.
func newSpan(db *badger.DB, ts uint64, lo, hi []byte) *span {
	txn := db.NewTransactionAt(ts, false)
	// No prefetch: Badger's prefetch copies every value ahead of the scan into a new buffer,
	// while a scan reads each value in place (item.Value), so a report's scan of a year of
	// records would allocate its whole size again for nothing.
	// A span that is the whole of a prefix's keys iterates bounded to the prefix: Badger's
	// iterator looks one live key ahead, and unbounded it would step over every deleted
	// key after the span (a day's packed records) before it stopped.
	it := txn.NewIterator(badger.IteratorOptions{Prefix: spanPrefix(lo, hi)})
	return &span{txn: txn, it: it, lo: lo, hi: hi}
}

// newSpanAll opens a span of db at ts over [lo, hi) that reads every version of every key
// itself, where an iterator of live keys would step over deleted and expired ones on its
// own: after the span's last live key such an iterator looks ahead to the next live key
// beyond hi, over every delete in between, while this one stops at the first entry at or
// after hi, whatever it is. It costs more within the span (older versions are read and
// passed over), so it is for ranges that are no prefix's span and may be followed by
// deletes (see ScanRanges).
func newSpanAll(db *badger.DB, ts uint64, lo, hi []byte) *span {
	txn := db.NewTransactionAt(ts, false)
	it := txn.NewIterator(badger.IteratorOptions{AllVersions: true, Prefix: spanPrefix(lo, hi)})
	return &span{txn: txn, it: it, lo: lo, hi: hi, all: true}
}

// spanPrefix returns the prefix whose keys are exactly those of [lo, hi), nil when no
// prefix is: the longest prefix of lo whose end (the first key after all of its keys) is hi.
func spanPrefix(lo, hi []byte) []byte {
	if hi == nil {
		return nil
	}
	for n := len(lo); n > 0; n-- {
		if bytes.Equal(prefixEnd(lo[:n]), hi) {
			return lo[:n]
		}
	}
	return nil
}

// prefixEnd returns the first key after every key that starts with p, nil if there is none
// (p is all 0xff bytes).
func prefixEnd(p []byte) []byte {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] != 0xff {
			end := append([]byte(nil), p[:i+1]...)
			end[i]++
			return end
		}
	}
	return nil
}

// seek positions the span on its first key.
func (p *span) seek() {
	p.it.Seek(p.lo)
	p.settle()
}

// rangeFrom makes the span [start, end) (nil end: to the last key) and positions it on its
// first key: where the iterator is, when that is already within it (the span before ended
// where this one starts, or a gap between them holds no live key), else by a seek.
func (p *span) rangeFrom(start, end []byte) {
	p.lo, p.hi = start, end
	if p.it.Valid() && bytes.Compare(p.it.Item().Key(), start) < 0 {
		p.it.Seek(start)
	}
	p.settle()
}

// next moves to the following key of the span.
func (p *span) next() {
	p.it.Next()
	p.settle()
}

func (p *span) key() []byte { return p.it.Item().Key() }

// settle skips the keys to skip and notes whether the iterator is still within the span.
func (p *span) settle() {
	for {
		if !p.it.Valid() {
			p.ok = false
			return
		}
		k := p.it.Item().Key()
		if p.hi != nil && bytes.Compare(k, p.hi) >= 0 {
			p.ok = false
			return
		}
		if p.skipLo != nil && bytes.Compare(k, p.skipLo) >= 0 && bytes.Compare(k, p.skipHi) < 0 {
			p.it.Seek(p.skipHi)
			continue
		}
		if p.all {
			if p.last != nil && bytes.Equal(k, p.last) { // an older version
				p.it.Next()
				continue
			}
			p.last = append(p.last[:0], k...)
			if p.it.Item().IsDeletedOrExpired() {
				p.it.Next()
				continue
			}
		}
		p.ok = true
		return
	}
}

func (p *span) close() {
	p.it.Close()
	p.txn.Discard()
}
