package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/track"
)

// A consumer that stops delivering (as the client's ordered consumer can after the NATS
// server holding it dies during a leader election) is replaced: the node goes on applying
// the other nodes' commits, from the sequence after the last one it applied.
func TestStalledConsumerIsReplaced(t *testing.T) {
	_, a, b := startPair(t)
	a.hit(t, "", "before")
	waitFor(t, 10*time.Second, "b applies a's first commit", func() bool { return b.feed.eventCount() == 1 })

	// b's consumer stops delivering, as a stalled one does.
	b.node.consMu.Lock()
	b.node.stopConsumer()
	b.node.consMu.Unlock()
	for i := 0; i < 5; i++ {
		a.hit(t, "", fmt.Sprintf("after-%d", i))
	}
	waitFor(t, 10*time.Second, "b applies the commits made after its consumer stalled", func() bool {
		return b.feed.eventCount() == 6
	})
	st := b.node.Status()
	if st.AppliedSeq != st.StreamLastSeq || b.node.consumerRestarts.Load() == 0 {
		t.Fatalf("b: applied %d of %d, consumer restarts %d", st.AppliedSeq, st.StreamLastSeq, b.node.consumerRestarts.Load())
	}
}

// After the NATS server restarts, a node learns the owners of the shards again and forwards
// another node's visitors' hits to them within a few leases, rather than queueing them for
// as long as its lease watch stays silent: a forward that knows no owner reads the lease
// bucket, and a silent watch is started again.
func TestForwardingResumesAfterNATSRestart(t *testing.T) {
	ns, a, b := startPair(t)
	vid := a.hit(t, "", "first").VID
	_, other := ownerAndOther(a, b, vid)
	for round := 0; round < 3; round++ {
		ns.stop()
		waitFor(t, 10*time.Second, "the nodes see the stream down", func() bool {
			return !a.node.Status().StreamConnected && !b.node.Status().StreamConnected
		})
		ns.start()
		i := 0
		waitFor(t, 8*time.Second, "a hit on the other node is forwarded to the visitor's owner again", func() bool {
			i++
			res := &track.Result{}
			if err := other.node.Track(other.tracker)(hitRequest(vid, fmt.Sprintf("r%d-%d", round, i)), res); err != nil {
				return false
			}
			return !res.Queued && other.node.Status().OutboxBytes == 0
		})
	}
}
