package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit. Write hands its ops to one committer goroutine, which folds the writes of
// every caller waiting at that moment into one buffer of log records, appends it to the
// write-ahead log with one write(2) (and, with SyncWrites, one fdatasync), records the ops in
// the overlay and wakes each caller. A caller's ops are one record, so they are replayed all
// together or not at all. Badger is updated from the records in the background (apply.go):
// no request waits on Badger's writer, its commit watermark or its memtables.
const (
	// groupMaxOps and groupMaxBytes bound one group; a single write above them is a group
	// of its own.
	groupMaxOps   = 1024
	groupMaxBytes = 1 << 20
	// groupQueue is how many writes may wait for the committer.
	groupQueue = 1024
)

// errClosed is returned by Write after Close.
var errClosed = errors.New("store: closed")

// ErrBacklog is returned by Write when Badger has fallen so far behind the log that the
// writes not yet applied fill Options.MaxBacklog, and stayed so for BacklogWait: the caller
// should answer "busy, retry later" rather than queue without bound.
var ErrBacklog = errors.New("store: writes are waiting to be applied beyond the backlog limit")

// BacklogWait is how long a Write waits for the backlog to fall under its limit before it
// gives up with ErrBacklog.
const BacklogWait = 2 * time.Second

// pending is one caller's write waiting in the queue.
type pending struct {
	ops  []Op
	done chan error // buffered: the committer never blocks on a caller
}

var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan error, 1)} }}

// committer owns the queue of writes, the log writer and the goroutine that commits them.
type committer struct {
	log     *walWriter
	ov      *overlay
	ap      *applier
	nextSeq uint64
	limit   int64 // overlay bytes beyond which writes wait
	queue   chan *pending
	mu      sync.RWMutex // guards closed against a send on the closed queue
	closed  bool
	wg      sync.WaitGroup

	groups, writes atomic.Uint64 // committed so far, for GroupStats
}

func newCommitter(log *walWriter, ov *overlay, ap *applier, nextSeq uint64, limit int64) *committer {
	c := &committer{log: log, ov: ov, ap: ap, nextSeq: nextSeq, limit: limit, queue: make(chan *pending, groupQueue)}
	c.wg.Add(1)
	go c.loop()
	return c
}

// write commits ops as one group member and waits for the outcome.
func (c *committer) write(ops []Op) error {
	if c.ov.size() > c.limit {
		if err := c.ap.waitBelow(c.ov, c.limit, BacklogWait); err != nil {
			return err
		}
	}
	p := pendingPool.Get().(*pending)
	p.ops = ops
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		pendingPool.Put(p)
		return errClosed
	}
	c.queue <- p
	c.mu.RUnlock()
	err := <-p.done
	p.ops = nil
	pendingPool.Put(p)
	return err
}

// close stops taking writes, commits those already queued and waits for them.
func (c *committer) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.queue)
	c.mu.Unlock()
	c.wg.Wait()
}

// loop takes the first waiting write, adds every other write already queued, up to the
// group bounds, and commits them together.
func (c *committer) loop() {
	defer c.wg.Done()
	group := make([]*pending, 0, 64)
	for first := range c.queue {
		group = append(group[:0], first)
		n, size := len(first.ops), opsSize(first.ops)
	gather:
		for n < groupMaxOps && size < groupMaxBytes {
			select {
			case p, ok := <-c.queue:
				if !ok {
					break gather
				}
				group = append(group, p)
				n, size = n+len(p.ops), size+opsSize(p.ops)
			default:
				break gather
			}
		}
		c.groups.Add(1)
		c.writes.Add(uint64(len(group)))
		err := c.commit(group)
		for _, p := range group {
			p.done <- err
		}
		clear(group)
	}
}

// commit appends the group's records to the log and, once they are there, records their ops
// in the overlay and queues them for Badger.
func (c *committer) commit(group []*pending) error {
	size := 0
	for _, p := range group {
		size += recordBound(p.ops)
	}
	// One buffer of exactly enough capacity: the decoded ops point into it, so it must
	// never move; it is never written again once the group is in the log.
	buf := make([]byte, 0, size)
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
	n := walHeader + 8 + binary.MaxVarintLen64
	for i := range ops {
		n += 1 + 3*binary.MaxVarintLen64 + len(ops[i].Key) + len(ops[i].Value)
	}
	return n
}

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
