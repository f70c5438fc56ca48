package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/track"
)

// ownerAndOther returns the node that owns vid's shard and the other one.
func ownerAndOther(a, b *testNode, vid string) (owner, other *testNode) {
	if a.node.Owns(vid) {
		return a, b
	}
	return b, a
}

// trackHere tracks a hit of vid on n as the server does when the forward to the owner
// failed: on n, from n's replica.
func trackHere(t *testing.T, n *testNode, vid, id string) *track.Result {
	t.Helper()
	res := &track.Result{}
	if err := n.tracker.Track(hitRequest(vid, id), res); err != nil {
		t.Fatalf("%s: track %s: %v", n.name, id, err)
	}
	return res
}

// While every NATS server is down, the owner of a visitor and another node each answer one
// hit of the visitor, the other one from a replica that never heard the owner's. When the
// stream returns, the visitor's journey holds both hits on every node, and every event is
// stored once: the other node's hit is tracked by the owner, not written over its journey.
func TestDegradedHitOfAnotherNodesVisitorIsNotLost(t *testing.T) {
	ns, a, b := startPair(t)
	vid := a.hit(t, "", "first").VID
	owner, other := ownerAndOther(a, b, vid)
	waitFor(t, 10*time.Second, "both nodes hear the first hit", func() bool {
		return a.feed.eventCount() == 1 && b.feed.eventCount() == 1
	})

	ns.stop()
	waitFor(t, 10*time.Second, "both nodes see the stream down", func() bool {
		return !a.node.Status().StreamConnected && !b.node.Status().StreamConnected
	})
	if res := trackHere(t, owner, vid, "on-owner"); !res.Queued || len(res.Accepted) != 1 {
		t.Fatalf("owner: queued %v, accepted %v; want queued", res.Queued, res.Accepted)
	}
	res := trackHere(t, other, vid, "on-other")
	if !res.Queued || len(res.Accepted) != 1 {
		t.Fatalf("other node: queued %v, accepted %v; want queued", res.Queued, res.Accepted)
	}
	// Nothing of it is written to the other node's store: the journey there is the owner's.
	if got, events := other.pageviews(t, vid), other.feed.eventCount(); got != 1 || events != 1 {
		t.Fatalf("the other node stored a journey of %d pageviews and %d events; want its replica's 1 and 1", got, events)
	}

	ns.start()
	for _, n := range []*testNode{a, b} {
		waitFor(t, 30*time.Second, n.name+"'s outbox drains", func() bool {
			s := n.node.Status()
			return s.StreamConnected && s.OutboxEvents == 0 && s.OutboxBytes == 0
		})
	}
	for _, n := range []*testNode{a, b} {
		waitFor(t, 10*time.Second, n.name+" has both hits in the visitor's journey", func() bool {
			return n.pageviews(t, vid) == 3
		})
		time.Sleep(300 * time.Millisecond) // a late overwrite or a second copy would come now
		if got := n.pageviews(t, vid); got != 3 {
			t.Errorf("%s: the journey has %d pageviews; want 3", n.name, got)
		}
		if got := n.eventRecords(t); got != 3 {
			t.Errorf("%s: %d event records in the store; want 3, each once", n.name, got)
		}
	}
}

// A hit the owner stored, answered again by another node whose forward timed out (so it
// tracked it from its replica, which had not heard the owner's commit yet), is stored once
// on every node: the other node keeps no copy of its own.
func TestHitStoredByOwnerAndAnsweredElsewhereIsStoredOnce(t *testing.T) {
	_, a, b := startPair(t)
	vid := a.hit(t, "", "first").VID
	owner, other := ownerAndOther(a, b, vid)
	waitFor(t, 10*time.Second, "both nodes hear the first hit", func() bool {
		return a.feed.eventCount() == 1 && b.feed.eventCount() == 1
	})

	// The other node lags: its consumer stops (it is replaced after a while).
	other.node.consMu.Lock()
	other.node.stopConsumer()
	other.node.consMu.Unlock()
	if res := trackHere(t, owner, vid, "twice"); res.Queued || len(res.Accepted) != 1 {
		t.Fatalf("owner: queued %v, accepted %v", res.Queued, res.Accepted)
	}
	if res := trackHere(t, other, vid, "twice"); len(res.Accepted) != 1 {
		t.Fatalf("other node: accepted %v; want the event its replica does not know yet", res.Accepted)
	}
	for _, n := range []*testNode{a, b} {
		waitFor(t, 20*time.Second, n.name+" converges", func() bool {
			s := n.node.Status()
			return s.OutboxBytes == 0 && s.AppliedSeq == streamLast(t, n) && n.pageviews(t, vid) == 2
		})
	}
	time.Sleep(300 * time.Millisecond)
	for _, n := range []*testNode{a, b} {
		if got := n.eventRecords(t); got != 2 {
			t.Errorf("%s: %d event records in the store; want 2, each once", n.name, got)
		}
		if got := n.pageviews(t, vid); got != 2 {
			t.Errorf("%s: the journey has %d pageviews; want 2", n.name, got)
		}
	}
}

// eventRecords counts the event-log records in n's store (what its export reads).
func (n *testNode) eventRecords(t *testing.T) int {
	t.Helper()
	count := 0
	if err := n.node.local.Scan([]byte{'e'}, []byte{'f'}, func(k, _ []byte) error {
		if len(k) == 17 {
			count++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return count
}

// streamLast asks the stream for its last sequence.
func streamLast(t *testing.T, n *testNode) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := n.node.stream.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.LastSeq
}

// A commit the owner queued while the stream was out of reach, whose events another node
// stored meanwhile under the same message id (the visitor's new owner tracked the hit
// again), leaves no second copy of the events on the node that queued it: the stream
// drops the queued one as a duplicate, and the node deletes its own records of them.
func TestQueuedCommitStoredElsewhereLeavesOneCopy(t *testing.T) {
	_, a, b := startPair(t)
	// b tracks the hit and the stream stores it under the id "shop:x".
	vid := b.hit(t, "", "x").VID
	waitFor(t, 10*time.Second, "a applies b's commit", func() bool { return a.eventRecords(t) == 1 })

	// a's own commit of the same hit waits in its outbox, written locally beside it.
	ekey := append([]byte{'e'}, make([]byte, 16)...)
	ekey[16] = 7
	okey := append(append(append([]byte{'o'}, vid...), 0), ekey...)
	ops := []track.Op{{Key: ekey, Value: []byte("record")}, {Key: okey, Value: []byte{}}}
	now := time.Now()
	if err := a.node.out.add(a.node.local, ops, false, "shop:x", a.node.instance, encodeOps(nil, ops, now), 1, now); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a's outbox drains", func() bool { return a.node.Status().OutboxBytes == 0 })
	if got := a.eventRecords(t); got != 1 {
		t.Fatalf("a holds %d event records after the drain; want b's 1", got)
	}
	if _, err := a.node.local.Get(okey, nil); err == nil {
		t.Fatal("a keeps the ownership index entry of its dropped record")
	}
}

// While a request of a visitor waits in a node's outbox, the visitor's later hits on that
// node are not forwarded nor published ahead of it: they queue behind it, and the owner
// tracks them all.
func TestLaterHitsQueueBehindAWaitingRequest(t *testing.T) {
	_, a, b := startPair(t)
	vid := a.hit(t, "", "first").VID
	owner, other := ownerAndOther(a, b, vid)

	// Each node's outbox holds a request of the visitor, which it cannot drain for now.
	var trackers []*track.Tracker
	for i, n := range []*testNode{other, owner} {
		trackers = append(trackers, n.node.tracker.Swap(nil))
		req := hitRequest(vid, fmt.Sprintf("queued-%d", i))
		req.Arrived = time.Now().UnixMilli()
		if err := n.node.out.addRequest(n.node.local, vid, n.node.instance, encodeRemote(req), 1, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	res := &track.Result{}
	if err := other.node.Track(other.tracker)(hitRequest(vid, "fwd"), res); err != nil || !res.Queued {
		t.Fatalf("a hit of a visitor with a request waiting: err %v, queued %v; want queued behind it, not forwarded", err, res.Queued)
	}
	if res := trackHere(t, owner, vid, "later"); !res.Queued {
		t.Fatal("the owner published a later hit of a visitor with a request waiting ahead of it")
	}
	for i, n := range []*testNode{other, owner} {
		n.node.tracker.Store(trackers[i])
	}
	for _, n := range []*testNode{a, b} {
		waitFor(t, 20*time.Second, n.name+"'s outbox drains", func() bool { return n.node.Status().OutboxBytes == 0 })
	}
	for _, n := range []*testNode{a, b} {
		waitFor(t, 10*time.Second, n.name+" has the five hits", func() bool { return n.pageviews(t, vid) == 5 })
		if got := n.eventRecords(t); got != 5 {
			t.Errorf("%s: %d event records in the store; want 5, each once", n.name, got)
		}
	}
}
