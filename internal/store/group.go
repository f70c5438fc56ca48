package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit. Every Write is one record of the write-ahead log. The first caller to find
// no commit under way becomes the leader: it appends its own record and every record queued
// meanwhile with one write(2) (and, with SyncWrites, one fdatasync), records their ops in the
// overlay and wakes their callers; callers that arrive while a group is being written queue,
// and the first of them leads the next group. An unhurried write is thus committed by its own
// goroutine with no hand-off at all, and under load the groups grow by themselves. A
// caller's ops are one record, replayed all together or not at all. Badger is updated from
// the records in the background (apply.go): no request waits on Badger's writer, its commit
// watermark or its memtables.
const (
	// groupMaxOps and groupMaxBytes bound one group; a single write above them is a group
	// of its own.
	groupMaxOps   = 1024
	groupMaxBytes = 1 << 20
)

// errClosed is returned by Write after Close.
var errClosed = errors.New("store: closed")

// errLead wakes a queued caller to lead the next group rather than with its outcome.
var errLead = errors.New("store: lead the next group")

// ErrBacklog is returned by Write when Badger has fallen so far behind the log that the
// writes not yet applied fill Options.MaxBacklog, and stayed so for BacklogWait: the caller
// should answer "busy, retry later" rather than queue without bound.
var ErrBacklog = errors.New("store: writes are waiting to be applied beyond the backlog limit")

// BacklogWait is how long a Write waits for the backlog to fall under its limit before it
// gives up with ErrBacklog.
const BacklogWait = 2 * time.Second

// SlowdownMax is how long a write waits before it joins a group when the backlog is just
// short of its bound (see slowdown).
const SlowdownMax = 10 * time.Millisecond

// slowdown is how long a write waits before it joins a group while the backlog holds size
// bytes of its bound limit: nothing up to half the bound, then a wait that grows with the
// backlog to SlowdownMax at the bound. A bound reached holds every write for up to
// BacklogWait (seconds, then refused); slowing the writes over the half before it hands the
// cores to Badger's flushes and compactions first, so that the backlog drains at a cost of
// milliseconds per write, not seconds for some. Below half the bound, where a server that
// keeps up stays, it costs nothing.
func slowdown(size, limit int64) time.Duration {
	soft := limit / 2
	switch {
	case limit <= 0 || size <= soft:
		return 0
	case size >= limit:
		return SlowdownMax
	}
	return time.Duration(float64(SlowdownMax) * float64(size-soft) / float64(limit-soft))
}

// pending is one caller's write.
type pending struct {
	ops  []Op
	done chan error // buffered: a leader never blocks on a caller
}

var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan error, 1)} }}

// committer queues the writes and lets one caller at a time commit them in groups.
type committer struct {
	log     *walWriter
	ov      *overlay
	ap      *applier
	nextSeq uint64 // owned by the leader
	limit   int64  // overlay bytes beyond which writes wait

	mu      sync.Mutex
	waiting []*pending // queued for the next group
	leading bool       // a caller is committing a group
	closed  bool
	idle    sync.Cond // signalled when leading turns false

	groups, writes atomic.Uint64 // committed so far, for GroupStats
	slowed         atomic.Uint64 // writes slowed (see slowdown), for SlowedWrites
	slowedNs       atomic.Int64  // the time they were slowed, in all
	waited         atomic.Uint64 // writes that found the backlog at its bound and waited
}

func newCommitter(log *walWriter, ov *overlay, ap *applier, nextSeq uint64, limit int64) *committer {
	c := &committer{log: log, ov: ov, ap: ap, nextSeq: nextSeq, limit: limit}
	c.idle.L = &c.mu
	return c
}

// write commits ops as one group member and returns the outcome.
func (c *committer) write(ops []Op) error {
	if size := c.ov.size(); size > c.limit {
		c.waited.Add(1)
		if err := c.ap.waitBelow(c.ov, c.limit, BacklogWait); err != nil {
			return err
		}
	} else if d := slowdown(size, c.limit); d > 0 {
		c.slowed.Add(1)
		c.slowedNs.Add(int64(d))
		time.Sleep(d)
	}
	p := pendingPool.Get().(*pending)
	defer func() { p.ops = nil; pendingPool.Put(p) }()
	p.ops = ops
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errClosed
	}
	c.waiting = append(c.waiting, p)
	if c.leading {
		c.mu.Unlock()
		if err := <-p.done; err != errLead {
			return err
		}
	} else {
		c.leading = true
		c.mu.Unlock()
	}
	return c.lead(p)
}

// lead commits the writes queued first (self among them: the leader is always first in the
// queue), wakes their callers, and hands the lead to the next caller queued, if any.
func (c *committer) lead(self *pending) error {
	c.mu.Lock()
	n, size, k := 0, 0, 0
	for k < len(c.waiting) && (k == 0 || (n < groupMaxOps && size < groupMaxBytes)) {
		n, size = n+len(c.waiting[k].ops), size+opsSize(c.waiting[k].ops)
		k++
	}
	group := slices.Clone(c.waiting[:k])
	c.waiting = append(c.waiting[:0], c.waiting[k:]...)
	c.mu.Unlock()

	c.groups.Add(1)
	c.writes.Add(uint64(len(group)))
	err := c.commit(group)
	for _, p := range group[1:] {
		p.done <- err
	}

	c.mu.Lock()
	if len(c.waiting) > 0 {
		next := c.waiting[0]
		c.mu.Unlock()
		next.done <- errLead
	} else {
		c.leading = false
		c.idle.Broadcast()
		c.mu.Unlock()
	}
	return err
}

// close stops taking writes and waits for the groups under way.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	for c.leading {
		c.idle.Wait()
	}
	c.mu.Unlock()
}

// commit appends the group's records to the log and, once they are there, records their ops
// in the overlay and queues them for Badger.
func (c *committer) commit(group []*pending) error {
	size := 0
	for _, p := range group {
		size += recordBound(p.ops)
	}
	// One buffer of enough capacity: the decoded ops point into it, so it must never move;
	// it is never written again once the group is in the log. Its last walHeader bytes are
	// room for the log's end marker, which follows the records in a recycled segment.
	buf := make([]byte, 0, size+walHeader)
	recs := make([]walRecord, len(group))
	now := time.Now()
	first := c.nextSeq
	for i, p := range group {
		recs[i].seq = c.nextSeq
		buf = encodeRecord(buf, c.nextSeq, p.ops, now, &recs[i])
		c.nextSeq++
	}
	if err := c.log.append(buf, first); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	c.ov.put(recs)
	c.ap.enqueue(recs, len(buf))
	return nil
}

// recordBound is an upper bound of the encoded size of a record of ops.
func recordBound(ops []Op) int {
	n := recordHeader
	for i := range ops {
		n += opReserve + len(ops[i].Key) + len(ops[i].Value)
	}
	return n
}

const (
	// recordHeader and opReserve are what recordBound reserves for a record's header and
	// for each op beside its key and value (a flag and three varints).
	recordHeader = walHeader + 8 + binary.MaxVarintLen64
	opReserve    = 1 + 3*binary.MaxVarintLen64
	// walRecordSize is the size of a decoded walRecord (its sequence number and ops slice).
	walRecordSize = 32
)

// encodeRecord appends the record of ops to dst, which must have the capacity for it
// (recordBound), and fills rec with ops that point into dst.
func encodeRecord(dst []byte, seq uint64, ops []Op, now time.Time, rec *walRecord) []byte {
	start := len(dst)
	dst = appendRecord(dst, seq, ops, now)
	if err := decodeBody(dst[start+walHeader:], rec); err != nil {
		panic("store: a record just encoded does not decode: " + err.Error())
	}
	return dst
}

func opsSize(ops []Op) int {
	n := 0
	for i := range ops {
		n += len(ops[i].Key) + len(ops[i].Value)
	}
	return n
}
