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
// one included, so a watch silent for a whole lease has stalled and is started again.
func (n *Node) watchNodes() {
	for n.ctx.Err() == nil {
		w, err := n.nodes.WatchAll(n.ctx)
		if err != nil {
			time.Sleep(n.opt.Lease / 4)
			continue
		}
		n.followNodes(w)
		_ = w.Stop()
		n.members.mu.Lock()
		n.members.ready = false
		n.members.mu.Unlock()
	}
}

func (n *Node) followNodes(w jetstream.KeyWatcher) {
	silent := time.NewTimer(n.opt.Lease)
	defer silent.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-silent.C:
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if !silent.Stop() {
				select {
				case <-silent.C:
				default:
				}
			}
			silent.Reset(n.opt.Lease)
			n.members.mu.Lock()
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
			n.members.mu.Unlock()
		}
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
