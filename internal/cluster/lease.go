package cluster

import (
	"context"
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// shardState is a shard this node holds the lease of.
type shardState struct {
	rev     uint64 // revision of the lease entry, for renewal by compare-and-set
	ready   bool   // caught up: the node serves and publishes for the shard
	since   time.Time
	renewed time.Time  // when the lease was last written (taken or renewed)
	mu      sync.Mutex // one publish at a time, so that the fence is known
	last    uint64     // the stream sequence of the shard subject's last message (the fence)
}

// ownership is what this node knows of the leases: its own, and who holds the others.
type ownership struct {
	mu     sync.RWMutex
	owned  map[int]*shardState
	owners []string    // per shard: the holder at the last look, "" when free
	seen   []time.Time // per shard: when the holder last wrote its lease
	ttl    time.Duration
}

func (o *ownership) init(shards int, ttl time.Duration) {
	o.owned = map[int]*shardState{}
	o.owners = make([]string, shards)
	o.seen = make([]time.Time, shards)
	o.ttl = ttl
}

// owns reports whether this node holds shard's lease and has caught up.
func (o *ownership) owns(shard int) bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	s := o.owned[shard]
	return s != nil && s.ready && time.Since(s.renewed) < o.ttl
}

// ready returns the state of shard when this node holds it and has caught up, else nil.
func (o *ownership) ready(shard int) *shardState {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if s := o.owned[shard]; s != nil && s.ready && time.Since(s.renewed) < o.ttl {
		return s
	}
	return nil
}

// held reports whether this node holds shard's lease, caught up or not.
func (o *ownership) held(shard int) bool {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.owned[shard] != nil
}

// owner returns the node holding shard's lease, "" when none holds it (or its lease ran
// out without a renewal).
func (o *ownership) owner(shard int) string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.owners[shard] != "" && time.Since(o.seen[shard]) >= o.ttl {
		return ""
	}
	return o.owners[shard]
}

// watchLeases keeps the holders of the shards current from the lease bucket's updates, so
// that hits are forwarded to a new owner as soon as it takes a shard. Owners renew their
// leases every third of the lease, so the watch hears something at least that often while
// any shard is held.
func (n *Node) watchLeases() { n.watchBucket(n.leases, "leases", n.applyLease, nil) }

// applyLease records one update of the lease bucket: who holds the shard now, and since when.
func (n *Node) applyLease(e jetstream.KeyValueEntry) {
	if e == nil {
		return // the end of the current values
	}
	shard, err := strconv.Atoi(strings.TrimPrefix(e.Key(), "s"))
	if err != nil || shard < 0 || shard >= n.opt.Shards {
		return
	}
	holder := ""
	if e.Operation() == jetstream.KeyValuePut {
		holder = string(e.Value())
	}
	n.own.mu.Lock()
	n.own.owners[shard], n.own.seen[shard] = holder, e.Created()
	n.own.mu.Unlock()
}

func (o *ownership) count() (owned, ready int) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	for _, s := range o.owned {
		owned++
		if s.ready {
			ready++
		}
	}
	return owned, ready
}

// lose forgets shard: its lease was lost (not renewed in time, or a fenced write refused).
func (o *ownership) lose(shard int) {
	o.mu.Lock()
	delete(o.owned, shard)
	o.mu.Unlock()
}

func leaseKey(shard int) string { return "s" + strconv.Itoa(shard) }

// leaseLoop heartbeats, renews the leases held, takes free shards up to a fair share and
// releases extras, every third of the lease.
func (n *Node) leaseLoop() {
	// A node joins the fleet (heartbeat, leases) only once it has applied the stream as it
	// stood at its start: one started with an empty data directory replays it all first,
	// while the others keep serving its share.
	n.catchUpAtStart()
	tick := time.NewTicker(n.opt.Lease / 3)
	defer tick.Stop()
	for {
		n.leaseRound()
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (n *Node) leaseRound() {
	third := n.opt.Lease / 3
	ctx, cancel := context.WithTimeout(n.ctx, third)
	_, err := n.nodes.Put(ctx, n.opt.Node, []byte(n.instance))
	cancel()
	if err != nil {
		n.log.Warn("cluster: heartbeat", "err", err)
	}
	ctx, cancel = context.WithTimeout(n.ctx, third)
	n.renew(ctx)
	cancel()
	ctx, cancel = context.WithTimeout(n.ctx, third)
	defer cancel()
	live := n.liveNodes(ctx)
	share := (n.opt.Shards + live - 1) / live
	held, _ := n.own.count()
	// Take free or expired shards up to the fair share, starting at this node's own place
	// so that nodes starting together do not all reach for the same shards. The lease
	// bucket's updates (watchLeases) say which shards look free; the bucket decides.
	start := int(hashString(n.opt.Node) % uint32(n.opt.Shards))
	for i := 0; i < n.opt.Shards && held < share; i++ {
		shard := (start + i) % n.opt.Shards
		if n.own.held(shard) || n.own.owner(shard) != "" {
			continue
		}
		e, err := n.leases.Get(ctx, leaseKey(shard))
		switch {
		case err == nil && time.Since(e.Created()) < n.opt.Lease:
			n.setOwner(shard, string(e.Value()), e.Created())
			continue
		case err != nil && !errors.Is(err, jetstream.ErrKeyNotFound):
			if ctx.Err() != nil {
				return
			}
			continue
		}
		var rev uint64
		asked := time.Now() // the lease runs from no later than this
		if err == nil {     // expired but not yet removed: take it over by compare-and-set
			rev, err = n.leases.Update(ctx, leaseKey(shard), []byte(n.opt.Node), e.Revision())
		} else {
			rev, err = n.leases.Create(ctx, leaseKey(shard), []byte(n.opt.Node))
		}
		if err != nil {
			continue // another node was quicker
		}
		held++
		n.acquired(shard, rev, asked)
	}
	if held > share {
		n.releaseExtras(ctx, held-share)
	}
}

func (n *Node) setOwner(shard int, node string, at time.Time) {
	n.own.mu.Lock()
	n.own.owners[shard], n.own.seen[shard] = node, at
	n.own.mu.Unlock()
}

// renew extends every lease held; one that cannot be renewed is lost.
func (n *Node) renew(ctx context.Context) {
	n.own.mu.RLock()
	revs := map[int]uint64{}
	for shard, s := range n.own.owned {
		revs[shard] = s.rev
	}
	n.own.mu.RUnlock()
	started := time.Now()
	// All at once: one after the other, a slow round trip each would leave the last ones
	// unrenewed past their lease on a busy machine.
	var wg sync.WaitGroup
	for shard, rev := range revs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n.renewOne(ctx, shard, rev, started)
		}()
	}
	wg.Wait()
}

// renewOne extends the lease of one shard; a lease that cannot be renewed is lost.
//
// Only a bucket that names another holder, or no holder, takes the lease away at once. A
// renewal that fails otherwise (NATS out of reach, a leader election under way) is tried
// again next round while the lease's time lasts: a short loss of a NATS server does not
// make every node give up its shards and take others, catching up on each.
func (n *Node) renewOne(ctx context.Context, shard int, rev uint64, started time.Time) {
	nrev, err := n.leases.Update(ctx, leaseKey(shard), []byte(n.opt.Node), rev)
	if err != nil && errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		// A renewal whose answer was lost (it timed out under load, yet was stored) leaves
		// this node behind its own lease's revision: the lease is still this node's when
		// the bucket says so, and still fresh.
		if e, gerr := n.leases.Get(ctx, leaseKey(shard)); gerr == nil && string(e.Value()) == n.opt.Node &&
			time.Since(e.Created()) < n.opt.Lease {
			nrev, err = n.leases.Update(ctx, leaseKey(shard), []byte(n.opt.Node), e.Revision())
		}
	}
	if err != nil {
		definite := errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyNotFound) ||
			errors.Is(err, jetstream.ErrKeyDeleted) || wrongLastSeq(err)
		n.own.mu.Lock()
		s := n.own.owned[shard]
		expired := s == nil || time.Since(s.renewed) >= n.opt.Lease
		n.own.mu.Unlock()
		if !definite && !expired {
			return // not necessarily lost: tried again next round, while the lease lasts
		}
		n.log.Warn("cluster: lease lost", "shard", shard, "err", err)
		n.own.lose(shard)
		return
	}
	n.own.mu.Lock()
	if s := n.own.owned[shard]; s != nil {
		s.rev, s.renewed = nrev, started
	}
	n.own.mu.Unlock()
}

// acquired records a new lease and catches up before serving the shard: every message of
// the stream up to its last sequence at acquisition is applied first.
func (n *Node) acquired(shard int, rev uint64, asked time.Time) {
	s := &shardState{rev: rev, since: time.Now(), renewed: asked}
	n.own.mu.Lock()
	n.own.owned[shard] = s
	n.own.owners[shard], n.own.seen[shard] = n.opt.Node, s.since
	n.own.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.catchUp(shard, s)
	}()
}

func (n *Node) catchUp(shard int, s *shardState) {
	for n.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(n.ctx, n.opt.Wait)
		info, err := n.stream.Info(ctx)
		var last uint64
		if err == nil {
			target := info.State.LastSeq
			for n.applied.Load() < target && n.ctx.Err() == nil {
				time.Sleep(5 * time.Millisecond)
			}
			var m *jetstream.RawStreamMsg
			m, err = n.stream.GetLastMsgForSubject(ctx, subjectShard+strconv.Itoa(shard))
			if err == nil {
				// A stale owner may have written to the shard since the target was read:
				// that write too is applied before this node serves the shard.
				last = m.Sequence
				for n.applied.Load() < last && n.ctx.Err() == nil {
					time.Sleep(5 * time.Millisecond)
				}
			} else if errors.Is(err, jetstream.ErrMsgNotFound) {
				err = nil
			}
		}
		cancel()
		if err != nil {
			n.log.Debug("cluster: catching up on a shard", "shard", shard, "err", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		n.own.mu.Lock()
		if n.own.owned[shard] == s {
			s.last, s.ready = last, true
		}
		n.own.mu.Unlock()
		n.takeovers.Add(1)
		n.takeoverNs.Store(int64(time.Since(s.since)))
		n.log.Debug("cluster: shard taken over", "shard", shard, "seconds", time.Since(s.since).Seconds())
		return
	}
}

// releaseExtras gives back k shards (the last taken) so that a node that joins gets its share.
func (n *Node) releaseExtras(ctx context.Context, k int) {
	n.own.mu.Lock()
	var drop []int
	for shard := range n.own.owned {
		drop = append(drop, shard)
	}
	// Give back the shards farthest from this node's starting point.
	start := int(hashString(n.opt.Node) % uint32(n.opt.Shards))
	dist := func(s int) int { return (s - start + n.opt.Shards) % n.opt.Shards }
	for i := range drop {
		for j := i + 1; j < len(drop); j++ {
			if dist(drop[j]) > dist(drop[i]) {
				drop[i], drop[j] = drop[j], drop[i]
			}
		}
	}
	drop = drop[:k]
	revs := make([]uint64, len(drop))
	for i, shard := range drop {
		revs[i] = n.own.owned[shard].rev
		delete(n.own.owned, shard)
	}
	n.own.mu.Unlock()
	for i, shard := range drop {
		_ = n.leases.Delete(ctx, leaseKey(shard), jetstream.LastRevision(revs[i]))
	}
}

// releaseAll gives back every lease, at a clean stop.
func (n *Node) releaseAll() {
	n.own.mu.Lock()
	owned := n.own.owned
	n.own.owned = map[int]*shardState{}
	n.own.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), n.opt.Wait)
	defer cancel()
	for shard, s := range owned {
		_ = n.leases.Delete(ctx, leaseKey(shard), jetstream.LastRevision(s.rev))
	}
}

func hashString(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

// catchUpAtStart waits until the stream is applied up to its last sequence when the node
// started (or until the node stops).
func (n *Node) catchUpAtStart() {
	var target uint64
	for n.ctx.Err() == nil {
		ctx, cancel := context.WithTimeout(n.ctx, n.opt.Wait)
		info, err := n.stream.Info(ctx)
		cancel()
		if err == nil {
			target = info.State.LastSeq
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n.applied.Load() < target {
		n.log.Info("cluster: applying the stream before joining", "from", n.applied.Load(), "to", target)
		start := time.Now()
		for n.applied.Load() < target && n.ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		n.log.Info("cluster: stream applied; joining", "seconds", time.Since(start).Seconds())
	}
}
