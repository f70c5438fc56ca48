package main

import (
	"log/slog"

	"github.com/pathlight/pathlight/internal/cluster"
	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/server"
	"github.com/pathlight/pathlight/internal/track"
)

// joinFleet joins the fleet --cluster names; local is the node's own store, watched.
func joinFleet(c *config.Cluster, local track.Store, log *slog.Logger) (*cluster.Node, error) {
	node, err := cluster.Start(cluster.Options{
		URLs: c.URLs, Node: c.Node, Replicas: c.Replicas, Shards: c.Shards, Wait: c.Wait, Outbox: c.Outbox,
		Lease: c.Lease, Creds: c.Creds, TLSCA: c.TLSCA, TLSCert: c.TLSCert, TLSKey: c.TLSKey,
		User: c.User, Password: c.Password, Logger: log, Local: local,
	})
	if err != nil {
		return nil, err
	}
	log.Info("joined the fleet", "node", c.Node, "nats", c.URLs, "shards", c.Shards)
	return node, nil
}

// serverFleetOf adapts a node to the server's view of it; nil without a cluster.
func serverFleetOf(n *cluster.Node) server.Cluster {
	if n == nil {
		return nil
	}
	return fleetView{n}
}

type fleetView struct{ *cluster.Node }

// Status implements server.Cluster.
func (v fleetView) Status() server.ClusterStatus {
	st := v.Node.Status()
	return server.ClusterStatus{
		Node: st.Node, StreamConnected: st.StreamConnected, ShardsOwned: st.ShardsOwned, Shards: st.Shards,
		OutboxEvents: st.OutboxEvents, OutboxBytes: st.OutboxBytes, OutboxAgeSeconds: st.OutboxAgeSeconds,
		AppliedSeq: st.AppliedSeq, StreamLastSeq: st.StreamLastSeq, Forwarded: st.Forwarded,
		ForwardFailures: st.ForwardFailures, Applied: st.Applied, Takeovers: st.Takeovers,
		TakeoverSeconds: st.TakeoverSeconds,
	}
}
