package cluster

import (
	"fmt"
	"testing"
	"time"
)

// A consumer that stops delivering (as the client's ordered consumer can after the NATS
// server holding it dies during a leader election) is replaced: the node goes on applying
// the other nodes' commits, from the sequence after the last one it applied.
func TestStalledConsumerIsReplaced(t *testing.T) {
	ns := startNATS(t)
	a := startNode(t, t.TempDir(), nodeOptions("a", ns.url()))
	b := startNode(t, t.TempDir(), nodeOptions("b", ns.url()))
	waitOwned(t, a, b)
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
