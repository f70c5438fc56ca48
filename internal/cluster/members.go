package cluster

import (
	"context"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// members is what a node knows of the fleet's heartbeats, from a watch of the bucket
// pathlight_nodes: listing the bucket's keys every lease round would create a consumer on
// the NATS servers each time, a load that slows them most when they recover from a failure.
type members struct {
	mu    sync.Mutex
	seen  map[string]time.Time // node → when its heartbeat was last written
	ready bool                 // the watch delivered the bucket's current values
}

// live returns the nodes whose heartbeat is younger than ttl, self always among them, and
// whether the watch has caught up with the bucket.
func (m *members) live(self string, ttl time.Duration) (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 1
	for node, at := range m.seen {
		if node != self && time.Since(at) < ttl {
			n++
		}
	}
	return n, m.ready
}

// watchNodes follows the heartbeats. Every node heartbeats every third of the lease, this
// one included; until a new watch has caught up, the count of live nodes is read from the
// bucket itself.
func (n *Node) watchNodes() {
	n.watchBucket(n.nodes, "nodes", n.applyHeartbeat, func() {
		n.members.mu.Lock()
		n.members.ready = false
		n.members.mu.Unlock()
	})
}

// applyHeartbeat records one update of the heartbeat bucket.
func (n *Node) applyHeartbeat(e jetstream.KeyValueEntry) {
	n.members.mu.Lock()
	defer n.members.mu.Unlock()
	switch {
	case e == nil:
		n.members.ready = true
	case e.Operation() == jetstream.KeyValuePut:
		if n.members.seen == nil {
			n.members.seen = map[string]time.Time{}
		}
		n.members.seen[e.Key()] = e.Created()
	default:
		delete(n.members.seen, e.Key())
	}
}

// liveNodes returns how many nodes heartbeat, this one counted: from the watch once it
// caught up, else by listing the bucket.
func (n *Node) liveNodes(ctx context.Context) int {
	if live, ready := n.members.live(n.opt.Node, n.opt.Lease); ready {
		return live
	}
	keys, err := n.nodes.Keys(ctx)
	if err != nil || len(keys) == 0 {
		return 1
	}
	return len(keys)
}
