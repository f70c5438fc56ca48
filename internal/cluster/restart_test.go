package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A node restarted over its data directory resumes the stream after the last sequence it
// applied, and finds its outbox as it left it (the outbox is in the store, written with the
// commits): the queued commits are published once the stream is back, each once.
func TestRestartResumesAndKeepsTheOutbox(t *testing.T) {
	ns := startNATS(t)
	dirA := t.TempDir()
	a := startNode(t, dirA, nodeOptions("a", ns.url()))
	b := startNode(t, t.TempDir(), nodeOptions("b", ns.url()))
	waitOwned(t, a, b)
	var vids []string
	for i := 0; i < 3; i++ {
		vids = append(vids, b.hit(t, "", fmt.Sprintf("b-%d", i)).VID)
	}
	vid := a.hit(t, "", "a-0").VID
	waitFor(t, 10*time.Second, "a applies b's hits", func() bool { return a.feed.eventCount() == 4 })

	ns.stop()
	waitFor(t, 10*time.Second, "a sees the stream down", func() bool { return !a.node.Status().StreamConnected })
	for i := 1; i <= 2; i++ {
		if res := a.hit(t, vid, fmt.Sprintf("a-%d", i)); !res.Queued {
			t.Fatal("hit with NATS down not queued")
		}
	}
	a.close() // the process ends with two commits in its outbox

	ns.start()
	a2 := startNode(t, dirA, nodeOptions("a", ns.url()))
	waitFor(t, 20*time.Second, "a's outbox drains after the restart", func() bool {
		s := a2.node.Status()
		return s.StreamConnected && s.OutboxBytes == 0
	})
	waitFor(t, 10*time.Second, "b hears the queued hits", func() bool { return b.feed.eventCount() == 6 })
	time.Sleep(500 * time.Millisecond)
	if got := b.feed.eventCount(); got != 6 {
		t.Fatalf("b heard %d events; want 6, each once", got)
	}
	if got := b.pageviews(t, vid); got != 3 {
		t.Fatalf("b's copy of a's visitor has %d pageviews; want 3", got)
	}
	// The restarted node applied nothing it had already: b's hits came before its stop. It
	// may hear the two queued hits, when they were kept as requests (the lease ran out while
	// NATS was down) and tracked by whichever node owned the visitor when they drained.
	if got := a2.feed.eventCount(); got > 2 {
		t.Fatalf("the restarted node applied %d events; want at most the 2 queued ones (it resumes after its applied sequence)", got)
	}
	for _, v := range vids {
		if a2.pageviews(t, v) != 1 {
			t.Fatalf("a lost b's visitor %s over the restart", v)
		}
	}
}

// An erase on any node reaches every node's copy; cookieless salts are the fleet's, so a
// browser gets the same id on every node.
func TestEraseAndSaltsAreGlobal(t *testing.T) {
	_, a, b := startPair(t)
	vid := a.hit(t, "", "e-1").VID
	waitFor(t, 10*time.Second, "b has the visitor", func() bool { return b.pageviews(t, vid) == 1 })
	if _, err := b.tracker.Erase(vid); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a's copy is erased", func() bool {
		_, err := a.tracker.Visitor(vid)
		return err != nil
	})

	sa, err := a.node.Salt("2026-12-06", []byte("salt-of-a"))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.node.Salt("2026-12-06", []byte("salt-of-b"))
	if err != nil {
		t.Fatal(err)
	}
	if string(sa) != "salt-of-a" || string(sb) != "salt-of-a" {
		t.Fatalf("salts %q and %q; want the first node's on both", sa, sb)
	}
}

// A node whose --cluster-shards differs from the fleet's refuses to start, saying why.
func TestShardCountMustMatchTheFleet(t *testing.T) {
	ns := startNATS(t)
	startNode(t, t.TempDir(), nodeOptions("a", ns.url()))
	opt := nodeOptions("b", ns.url())
	opt.Shards = 16
	_, err := tryStartNode(t, t.TempDir(), opt)
	if err == nil || !strings.Contains(err.Error(), "--cluster-shards 16 differs from the fleet's 8") {
		t.Fatalf("start with another shard count: %v", err)
	}
}
