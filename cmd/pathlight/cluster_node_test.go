package main

// The Pathlight side of the cluster test: nodes started with --cluster, and what their
// /healthz says of the fleet.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clusterLease is the lease the test's nodes take on their shards: short, so that a dead
// node's shards move within the test's bounds.
const clusterLease = "2s"

// startClusterNode runs `pathlight serve --cluster` as node name over data, joined to nc.
func startClusterNode(t *testing.T, nc *natsCluster, name, data string) *serverProc {
	t.Helper()
	return startServe(t, data, "--cluster", nc.urls(), "--node", name, "--cluster-lease", clusterLease,
		"--cluster-replicas", "3")
}

// clusterHealth is /healthz of a node in cluster mode.
type clusterHealth struct {
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Cluster *struct {
		Node          string  `json:"node"`
		Stream        string  `json:"stream"`
		ShardsOwned   int     `json:"shards_owned"`
		Shards        int     `json:"shards"`
		OutboxEvents  int64   `json:"outbox_events"`
		OutboxAge     float64 `json:"outbox_age_seconds"`
		AppliedSeq    uint64  `json:"applied_seq"`
		StreamLastSeq uint64  `json:"stream_last_seq"`
	} `json:"cluster"`
}

// clusterHealthKeys are the members of /healthz's "cluster" object the contract names.
var clusterHealthKeys = []string{"node", "stream", "shards_owned", "shards", "outbox_events", "outbox_age_seconds",
	"applied_seq", "stream_last_seq"}

// clusterMetrics are the metrics of cluster mode the contract names.
var clusterMetrics = []string{"pathlight_cluster_shards_owned", "pathlight_cluster_forwarded_hits_total",
	"pathlight_cluster_forward_failures_total", "pathlight_cluster_stream_connected",
	"pathlight_cluster_stream_lag_messages", "pathlight_cluster_applied_messages_total",
	"pathlight_cluster_outbox_events", "pathlight_cluster_outbox_bytes", "pathlight_cluster_outbox_age_seconds",
	"pathlight_cluster_takeovers_total", "pathlight_cluster_takeover_seconds"}

// checkClusterSurface fails the test for a member of /healthz's cluster object or a metric
// of the contract that a node does not show.
func checkClusterSurface(t *testing.T, client *http.Client, p *serverProc) {
	t.Helper()
	resp, err := client.Get(p.url + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	var body struct {
		Cluster map[string]any `json:"cluster"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	for _, k := range clusterHealthKeys {
		if _, ok := body.Cluster[k]; !ok {
			t.Errorf("%s: /healthz cluster has no %q: %v", p.url, k, body.Cluster)
		}
	}
	for _, m := range clusterMetrics {
		if metric(t, p.url, m) == "" {
			t.Errorf("%s: /metrics has no %s", p.url, m)
		}
	}
}

// readHealth reads a node's /healthz; it must answer 200 whatever the state of the fleet.
func readHealth(client *http.Client, url string) (clusterHealth, error) {
	var h clusterHealth
	resp, err := client.Get(url + "/healthz")
	if err != nil {
		return h, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("GET /healthz = %d; want 200", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return h, fmt.Errorf("GET /healthz: %w", err)
	}
	if h.Cluster == nil {
		return h, fmt.Errorf("GET /healthz has no cluster member")
	}
	return h, nil
}

// waitConverged waits up to d until every node is healthy (status ok), connected to the
// stream, with an empty outbox and every message of the stream applied, the nodes' shards
// add up to the fleet's, and the stream's last sequence has stayed put across two polls.
func waitConverged(t *testing.T, client *http.Client, nodes []*serverProc, d time.Duration) []clusterHealth {
	t.Helper()
	deadline := time.Now().Add(d)
	var last uint64
	for {
		var why []string
		hs := make([]clusterHealth, len(nodes))
		owned, seqs := 0, map[uint64]bool{}
		for i, n := range nodes {
			h, err := readHealth(client, n.url)
			hs[i] = h
			if err != nil {
				why = append(why, err.Error())
				continue
			}
			c := h.Cluster
			if h.Status != "ok" || c.Stream != "connected" || c.OutboxEvents != 0 || c.AppliedSeq != c.StreamLastSeq {
				why = append(why, fmt.Sprintf("%s: status %s (%s), stream %s, outbox %d, applied %d of %d",
					c.Node, h.Status, h.Reason, c.Stream, c.OutboxEvents, c.AppliedSeq, c.StreamLastSeq))
			}
			owned += c.ShardsOwned
			seqs[c.StreamLastSeq] = true
			if owned > 0 && c.Shards > 0 && i == len(nodes)-1 && owned != c.Shards {
				why = append(why, fmt.Sprintf("the nodes own %d shards of %d", owned, c.Shards))
			}
		}
		if len(seqs) > 1 {
			why = append(why, fmt.Sprintf("the nodes see different stream sequences %v", seqs))
		}
		var seq uint64
		for s := range seqs {
			seq = s
		}
		if len(why) == 0 && seq == last {
			return hs
		}
		last = seq
		if time.Now().After(deadline) {
			t.Fatalf("the fleet did not converge within %s:\n%s", d, strings.Join(why, "\n"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// kill sends SIGKILL to a Pathlight node and waits up to 10 s for it to exit.
func kill(p *serverProc) error {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("still running 10s after SIGKILL")
	}
}

// metricSum adds up one metric (a line without labels) over nodes.
func metricSum(t *testing.T, nodes []*serverProc, name string) float64 {
	t.Helper()
	var sum float64
	for _, n := range nodes {
		v := metric(t, n.url, name)
		if v == "" {
			t.Fatalf("%s: /metrics has no %s", n.url, name)
		}
		var f float64
		if _, err := fmt.Sscan(v, &f); err != nil {
			t.Fatalf("%s: /metrics %s %q: %v", n.url, name, v, err)
		}
		sum += f
	}
	return sum
}
