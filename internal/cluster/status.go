package cluster

// Status is the node's state for /healthz and /metrics.
type Status struct {
	Node             string
	StreamConnected  bool
	ShardsOwned      int
	Shards           int
	OutboxEvents     int64
	OutboxBytes      int64
	OutboxAgeSeconds float64
	OutboxFull       bool
	AppliedSeq       uint64
	StreamLastSeq    uint64
	Forwarded        uint64
	ForwardFailures  uint64
	Applied          uint64
	Takeovers        uint64
	TakeoverSeconds  float64
}

// Status returns the node's state now.
func (n *Node) Status() Status {
	_, ready := n.own.count()
	_, events, bytes, age := n.out.stats()
	applied, last := n.applied.Load(), n.lastSeq.Load()
	return Status{
		Node: n.opt.Node, StreamConnected: n.reachable.Load(), ShardsOwned: ready, Shards: n.opt.Shards,
		OutboxEvents: events, OutboxBytes: bytes, OutboxAgeSeconds: age.Seconds(), OutboxFull: bytes >= n.out.limit,
		AppliedSeq: applied, StreamLastSeq: max(last, applied),
		Forwarded: n.forwarded.Load(), ForwardFailures: n.fwdFailed.Load(), Applied: n.appliedN.Load(),
		Takeovers: n.takeovers.Load(), TakeoverSeconds: float64(n.takeoverNs.Load()) / 1e9,
	}
}
