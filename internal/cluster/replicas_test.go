package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Three NATS servers, the stream and buckets with three replicas: a node keeps answering
// while one server is killed, and every acknowledged event is in the stream once.
func TestThreeReplicasSurviveAServerKill(t *testing.T) {
	servers := startNATSCluster(t)
	var urls []string
	for _, s := range servers {
		urls = append(urls, s.url())
	}
	opt := nodeOptions("a", urls...)
	opt.Replicas, opt.Wait = 3, 2*time.Second
	a := startNode(t, t.TempDir(), opt) // waits for the servers to elect a JetStream leader
	waitOwned(t, a)
	queued, sent := 0, 0
	for i := 0; i < 60; i++ {
		if i == 20 {
			servers[0].stop() // SIGKILL
		}
		res := a.hit(t, "", fmt.Sprintf("k-%d", i))
		sent++
		if res.Queued {
			queued++
		}
	}
	waitFor(t, 20*time.Second, "the outbox drains", func() bool { return a.node.Status().OutboxBytes == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var events int
	info, err := a.node.stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := a.node.stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		ops, err := decodeOps(m.Data, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		events += eventCount(ops)
	}
	if events != sent {
		t.Fatalf("the stream holds %d events; want the %d sent, each once (%d were queued)", events, sent, queued)
	}
	if !strings.Contains(fmt.Sprint(info.Config.Replicas), "3") {
		t.Fatalf("stream replicas %d; want 3", info.Config.Replicas)
	}
}
