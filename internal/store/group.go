package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
)

// Group commit. Every Badger transaction pays a fixed price on top of its keys: a commit
// timestamp under the oracle's lock, two watermark updates through a channel, a request to
// Badger's writer and a wake-up of the waiting goroutine. At thousands of small commits per
// second (one per hit) that price is a large share of a hit's cost. Write therefore hands its
// ops to one committer goroutine, which folds the writes of every caller waiting at that
// moment into one transaction, commits it without waiting (Badger keeps commits in order)
// and wakes each caller when the shared commit is durable. A caller still sees its own ops
// applied all together or not at all: a group holds whole writes only, and when a group
// cannot be committed as one, each of its writes is committed on its own.
const (
	// groupMaxOps and groupMaxBytes bound one group, far below Badger's own transaction
	// limits; a single write above them is committed alone.
	groupMaxOps   = 1024
	groupMaxBytes = 1 << 20
	// groupQueue is how many writes may wait for the committer.
	groupQueue = 1024
)

// errClosed is returned by Write after Close.
var errClosed = errors.New("store: closed")

// pending is one caller's write waiting in the queue.
type pending struct {
	ops  []Op
	done chan error // buffered: the committer never blocks on a caller
}

var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan error, 1)} }}

// committer owns the queue of writes and the goroutine that commits them in groups.
type committer struct {
	db     *badger.DB
	queue  chan *pending
	mu     sync.RWMutex // guards closed against a send on the closed queue
	closed bool
	wg     sync.WaitGroup // the loop and the commits it has in flight

	groups, writes atomic.Uint64 // committed so far, for GroupStats
}

func newCommitter(db *badger.DB) *committer {
	c := &committer{db: db, queue: make(chan *pending, groupQueue)}
	c.wg.Add(1)
	go c.loop()
	return c
}

// write commits ops as one group member and waits for the outcome.
func (c *committer) write(ops []Op) error {
	if opsSize(ops) > groupMaxBytes || len(ops) > groupMaxOps {
		return commitAlone(c.db, ops)
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

// close stops taking writes, commits those already queued and waits for every commit.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	close(c.queue)
	c.mu.Unlock()
	c.wg.Wait()
}

// loop takes the first waiting write, adds every other write already queued, up to the
// group bounds, and commits them together.
func (c *committer) loop() {
	defer c.wg.Done()
	for first := range c.queue {
		group := []*pending{first}
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
		c.commit(group)
	}
}

// commit sends one group to Badger and returns without waiting for the disk; the callback
// wakes the group's callers. A group Badger refuses whole is committed write by write.
func (c *committer) commit(group []*pending) {
	txn := c.db.NewTransaction(true)
	for _, p := range group {
		if err := setOps(txn, p.ops); err != nil {
			txn.Discard()
			c.commitEach(group)
			return
		}
	}
	c.wg.Add(1)
	txn.CommitWith(func(err error) {
		defer c.wg.Done()
		if err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
		for _, p := range group {
			p.done <- err
		}
	})
}

func (c *committer) commitEach(group []*pending) {
	for _, p := range group {
		p.done <- commitAlone(c.db, p.ops)
	}
}

// commitAlone commits ops in a transaction of their own and waits for it.
func commitAlone(db *badger.DB, ops []Op) error {
	txn := db.NewTransaction(true)
	defer txn.Discard()
	if err := setOps(txn, ops); err != nil {
		return err
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("commit %d ops: %w", len(ops), err)
	}
	return nil
}

// setOps adds ops to txn.
func setOps(txn *badger.Txn, ops []Op) error {
	for i := range ops {
		op := &ops[i]
		var err error
		if op.Delete {
			err = txn.Delete(op.Key)
		} else {
			e := badger.NewEntry(op.Key, op.Value)
			if op.TTL > 0 {
				e = e.WithTTL(op.TTL)
			}
			err = txn.SetEntry(e)
		}
		if err != nil {
			return fmt.Errorf("write %d ops: %w", len(ops), err)
		}
	}
	return nil
}

func opsSize(ops []Op) int {
	n := 0
	for i := range ops {
		n += len(ops[i].Key) + len(ops[i].Value)
	}
	return n
}
