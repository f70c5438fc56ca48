package cluster

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// watchBucket follows every key of kv until the node stops, calling apply with each update
// (nil marks the end of the values the bucket held when the watch began). Keys of the buckets
// it follows are rewritten every third of the lease, so a watch silent for a whole lease has
// stalled (as the client's watchers can after the NATS server they were on died): it is
// started again, after calling restarted (when not nil).
func (n *Node) watchBucket(kv jetstream.KeyValue, name string, apply func(jetstream.KeyValueEntry), restarted func()) {
	for n.ctx.Err() == nil {
		w, err := kv.WatchAll(n.ctx)
		if err != nil {
			time.Sleep(n.opt.Lease / 4)
			continue
		}
		n.follow(w, name, apply)
		_ = w.Stop()
		if restarted != nil {
			restarted()
		}
	}
}

// follow applies the watch's updates until it stalls or the node stops.
func (n *Node) follow(w jetstream.KeyWatcher, name string, apply func(jetstream.KeyValueEntry)) {
	silent := time.NewTimer(n.opt.Lease)
	defer silent.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-silent.C:
			n.log.Debug("cluster: a bucket watch went silent; watching again", "bucket", name)
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
			apply(e)
		}
	}
}
