package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/track"
)

// Two nodes on one NATS server: hits on each reach the other's store through the stream,
// through the watched store (so its reports hear them), and a node started later with an
// empty data directory replays the whole stream.
func TestReplicationBetweenNodes(t *testing.T) {
	ns, a, b := startPair(t)

	var vids []string
	for i := 0; i < 20; i++ {
		n := a
		if i%2 == 1 {
			n = b
		}
		res := n.hit(t, "", fmt.Sprintf("first-%d", i))
		if res.Queued || len(res.Accepted) != 1 {
			t.Fatalf("hit %d: queued %v, accepted %v", i, res.Queued, res.Accepted)
		}
		if !n.node.Owns(res.VID) {
			t.Fatalf("hit %d: %s minted %s in a shard it does not own", i, n.name, res.VID)
		}
		vids = append(vids, res.VID)
	}
	// A second hit of each visitor on its owner.
	for i, vid := range vids {
		n := a
		if b.node.Owns(vid) {
			n = b
		}
		n.hit(t, vid, fmt.Sprintf("second-%d", i))
	}
	for _, n := range []*testNode{a, b} {
		waitFor(t, 10*time.Second, n.name+" hears every event", func() bool { return n.feed.eventCount() == 40 })
		for _, vid := range vids {
			if got := n.pageviews(t, vid); got != 2 {
				t.Errorf("%s: visitor %s has %d pageviews; want 2", n.name, vid, got)
			}
		}
	}
	// A third node with an empty data directory replays the stream.
	c := startNode(t, t.TempDir(), nodeOptions("c", ns.url()))
	waitFor(t, 10*time.Second, "c replays the stream", func() bool { return c.feed.eventCount() == 40 })
	for _, vid := range vids {
		if got := c.pageviews(t, vid); got != 2 {
			t.Errorf("c: visitor %s has %d pageviews; want 2", vid, got)
		}
	}
	st := c.node.Status()
	if st.AppliedSeq != st.StreamLastSeq || st.Applied == 0 {
		t.Errorf("c: status %+v; want applied up to the stream's last sequence", st)
	}
}

// A node that lost its lease (another node took the shard and published to it) has its
// write refused by JetStream's fence, and nothing of it is stored locally either.
func TestStaleOwnerIsFenced(t *testing.T) {
	ns := startNATS(t)
	opt := nodeOptions("a", ns.url())
	opt.Shards = 1
	a := startNode(t, t.TempDir(), opt)
	waitOwned(t, a)
	vid := a.hit(t, "", "one").VID

	// Another process takes the shard over behind a's back (as after a pause longer than
	// the lease) and publishes to it.
	st := a.node.own.ready(0)
	ctx := context.Background()
	if _, err := a.node.leases.Update(ctx, leaseKey(0), []byte("b"), st.rev); err != nil {
		t.Fatal(err)
	}
	msg := a.node.message(subjectShard+"0", "other", false, encodeOps(nil, nil, time.Now()))
	if _, err := a.node.js.PublishMsg(ctx, msg); err != nil {
		t.Fatal(err)
	}
	before := a.feed.eventCount()
	err := trackErr(a, vid, "two")
	if !errors.Is(err, ErrFenced) || !errors.Is(err, track.ErrOverloaded) {
		t.Fatalf("write of a stale owner: err = %v; want ErrFenced", err)
	}
	if a.feed.eventCount() != before || a.pageviews(t, vid) != 1 {
		t.Fatalf("a fenced write was stored locally: %d events, %d pageviews", a.feed.eventCount(), a.pageviews(t, vid))
	}
	if a.node.Owns(vid) {
		t.Fatal("a still owns the shard after its write was fenced")
	}
	info, _ := a.node.stream.Info(ctx)
	if info.State.Msgs != 2 {
		t.Fatalf("stream holds %d messages; want 2 (a's first commit, the other's)", info.State.Msgs)
	}
}

func trackErr(n *testNode, vid, id string) error {
	res := &track.Result{}
	req := hitRequest(vid, id)
	return n.tracker.Track(req, res)
}

// A publish of this process's that timed out but was stored leaves its fence behind; the
// next write learns the sequence from the stream and goes through: the node keeps its shard.
func TestOwnTimedOutPublishDoesNotFenceTheOwner(t *testing.T) {
	ns := startNATS(t)
	opt := nodeOptions("a", ns.url())
	opt.Shards = 1
	a := startNode(t, t.TempDir(), opt)
	waitOwned(t, a)
	vid := a.hit(t, "", "one").VID
	// As if a publish of a's had timed out after the stream stored it.
	msg := a.node.message(subjectShard+"0", a.node.instance, false, encodeOps(nil, nil, time.Now()))
	if _, err := a.node.js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if err := trackErr(a, vid, "two"); err != nil {
		t.Fatalf("write after an own stored publish: %v", err)
	}
	if !a.node.Owns(vid) || a.pageviews(t, vid) != 2 {
		t.Fatalf("owns %v, %d pageviews; want the shard kept and 2 pageviews", a.node.Owns(vid), a.pageviews(t, vid))
	}
}

// A hit whose wait ran out before its commit (it waited on a forward first) is queued at
// once instead of waiting on the stream again; the stream is not taken for down, and the
// outbox drains.
func TestCommitPastItsDeadlineIsQueued(t *testing.T) {
	ns := startNATS(t)
	a := startNode(t, t.TempDir(), nodeOptions("a", ns.url()))
	waitOwned(t, a)
	req := hitRequest("", "late")
	req.NewVID = a.node.MintVID()
	req.Deadline = time.Now().Add(-time.Millisecond)
	var res track.Result
	start := time.Now()
	if err := a.tracker.Track(req, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Queued || time.Since(start) > a.node.opt.Wait {
		t.Fatalf("queued %v after %v; want queued at once", res.Queued, time.Since(start))
	}
	if !a.node.Status().StreamConnected {
		t.Fatal("a late hit marked the stream unreachable")
	}
	waitFor(t, 10*time.Second, "the outbox drains", func() bool { return a.node.Status().OutboxBytes == 0 })
	if res := a.hit(t, res.VID, "next"); res.Queued {
		t.Fatal("the next hit is queued")
	}
}

// CatchUp returns once this node has applied what the stream held when it was called.
func TestCatchUp(t *testing.T) {
	_, a, b := startPair(t)
	for i := 0; i < 20; i++ {
		vid := b.hit(t, "", fmt.Sprintf("c-%d", i)).VID
		a.node.CatchUp()
		if got := a.pageviews(t, vid); got != 1 {
			t.Fatalf("after CatchUp, a has %d pageviews of b's new visitor; want 1", got)
		}
	}
}
