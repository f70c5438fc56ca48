package cluster

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// A node that stops renewing (killed: its process gone without releasing) loses its shards
// to the survivor once the leases expire; the survivor catches up first, then serves the
// dead node's visitors with their whole journeys.
func TestLeaseTakeoverAfterOwnerStops(t *testing.T) {
	_, a, b := startPair(t)
	var vids []string
	for i := 0; i < 10; i++ {
		vids = append(vids, b.hit(t, "", fmt.Sprintf("b-%d", i)).VID)
	}
	// b dies: no release, no more renewals.
	b.node.cancel()
	b.node.wg.Wait()
	b.node.nc.Close()
	b.node = nil
	waitFor(t, 10*time.Second, "a owns every shard", func() bool { return a.node.Status().ShardsOwned == 8 })
	st := a.node.Status()
	if st.Takeovers < 8 || st.TakeoverSeconds <= 0 {
		t.Errorf("status %+v; want takeovers counted and timed", st)
	}
	for i, vid := range vids {
		res := a.hit(t, vid, fmt.Sprintf("a-%d", i))
		if res.Queued {
			t.Errorf("hit of %s queued; the stream is up", vid)
		}
		if got := a.pageviews(t, vid); got != 2 {
			t.Errorf("visitor %s has %d pageviews on a after the takeover; want 2", vid, got)
		}
	}
}

// A hit of a visitor whose shard another node owns goes to that node and its reply comes
// back; with the owner gone quiet, the hit is not forwarded and is answered locally.
func TestForwardRoundTrip(t *testing.T) {
	_, a, b := startPair(t)
	b.node.HandleForwarded(func(req []byte) []byte { return append([]byte("b saw "), req...) })
	vid := b.hit(t, "", "x").VID
	reply, forwarded := a.node.Forward(vid, hello)
	if !forwarded || string(reply) != "b saw hello" {
		t.Fatalf("forward: %q, %v; want b's reply", reply, forwarded)
	}
	if _, forwarded := b.node.Forward(vid, hello); forwarded {
		t.Fatal("the owner forwarded a hit of its own shard")
	}
	if st := a.node.Status(); st.Forwarded != 1 {
		t.Fatalf("forwarded = %d; want 1", st.Forwarded)
	}
	// b stops answering (its subscription is gone, its leases still held): a answers.
	_ = b.node.sub.Unsubscribe()
	start := time.Now()
	if _, forwarded := a.node.Forward(vid, hello); forwarded {
		t.Fatal("forwarded to a node that does not answer")
	}
	if wait := time.Since(start); wait > 3*a.node.opt.Wait {
		t.Fatalf("the hit waited %v; --cluster-wait is %v", wait, a.node.opt.Wait)
	}
	if st := a.node.Status(); st.ForwardFailures != 1 {
		t.Fatalf("forward failures = %d; want 1", st.ForwardFailures)
	}
}

// With the NATS server down, hits are answered and queued in the local outbox (durable in
// the store); when it returns the outbox drains, each commit once, and the other node gets
// every event once.
func TestOutboxDrainsOnceAfterNATSRestart(t *testing.T) {
	ns, a, b := startPair(t)
	vid := a.hit(t, "", "before").VID
	waitFor(t, 10*time.Second, "b hears the first hit", func() bool { return b.feed.eventCount() == 1 })

	ns.stop()
	waitFor(t, 10*time.Second, "a sees the stream down", func() bool { return !a.node.Status().StreamConnected })
	for i := 0; i < 5; i++ {
		res := a.hit(t, vid, fmt.Sprintf("down-%d", i))
		if !res.Queued || len(res.Accepted) != 1 {
			t.Fatalf("hit while NATS is down: queued %v, accepted %v; want queued", res.Queued, res.Accepted)
		}
	}
	st := a.node.Status()
	if st.OutboxEvents != 5 || st.OutboxBytes == 0 {
		t.Fatalf("outbox: %+v; want 5 events", st)
	}
	if got := a.pageviews(t, vid); got != 6 {
		t.Fatalf("a's local journey has %d pageviews; want 6", got)
	}

	ns.start()
	waitFor(t, 20*time.Second, "a's outbox drains", func() bool {
		s := a.node.Status()
		return s.StreamConnected && s.OutboxEvents == 0 && s.OutboxBytes == 0
	})
	waitFor(t, 10*time.Second, "b hears every event", func() bool { return b.feed.eventCount() >= 6 })
	time.Sleep(500 * time.Millisecond) // a duplicate would arrive now
	if got := b.feed.eventCount(); got != 6 {
		t.Fatalf("b heard %d events; want 6, each once", got)
	}
	if got := b.pageviews(t, vid); got != 6 {
		t.Fatalf("b's copy of the journey has %d pageviews; want 6", got)
	}
	// As the server sends it: to the visitor's owner, which may be b now.
	res := &track.Result{}
	if err := a.node.Track(a.tracker)(hitRequest(vid, "after"), res); err != nil || res.Queued {
		t.Fatalf("a hit after the drain: err %v, queued %v; want stored", err, res.Queued)
	}
}

func hello() []byte { return []byte("hello") }

// Three nodes share the shards fairly; one that stops cleanly gives its shards back at once
// and the two others take them all.
func TestFairShareAndCleanLeave(t *testing.T) {
	ns := startNATS(t)
	a := startNode(t, t.TempDir(), nodeOptions("a", ns.url()))
	b := startNode(t, t.TempDir(), nodeOptions("b", ns.url()))
	c := startNode(t, t.TempDir(), nodeOptions("c", ns.url()))
	waitOwned(t, a, b, c)
	for _, n := range []*testNode{a, b, c} {
		if owned := n.node.Status().ShardsOwned; owned > 3 {
			t.Errorf("%s owns %d of 8 shards; want at most its share, 3", n.name, owned)
		}
	}
	c.close()
	waitOwned(t, a, b)
}

// Past --cluster-outbox, a commit the stream cannot take is refused (track.ErrQueueFull),
// and nothing of it is stored.
func TestOutboxBound(t *testing.T) {
	ns := startNATS(t)
	opt := nodeOptions("a", ns.url())
	opt.Outbox = 4 << 10
	a := startNode(t, t.TempDir(), opt)
	waitOwned(t, a)
	vid := a.hit(t, "", "first").VID
	ns.stop()
	waitFor(t, 10*time.Second, "a sees the stream down", func() bool { return !a.node.Status().StreamConnected })
	var err error
	queued := 0
	for i := 0; i < 100 && err == nil; i++ {
		var res track.Result
		if err = a.tracker.Track(hitRequest(vid, fmt.Sprintf("q-%d", i)), &res); err == nil {
			queued++
		}
	}
	if !errors.Is(err, track.ErrQueueFull) || queued == 0 {
		t.Fatalf("after %d queued hits: %v; want ErrQueueFull", queued, err)
	}
	if got := a.pageviews(t, vid); got != 1+queued {
		t.Fatalf("%d pageviews; want the %d accepted, and nothing of the refused hit", got, 1+queued)
	}
	if st := a.node.Status(); st.OutboxEvents != int64(queued) || st.OutboxBytes > opt.Outbox {
		t.Fatalf("status %+v; want %d events within the bound of %d bytes", st, queued, opt.Outbox)
	}
}

// Events of back ends (the events API) reach the owner of their visitor through Track, and
// come back with the owner's result.
func TestTrackOnTheOwner(t *testing.T) {
	_, a, b := startPair(t)
	vid := b.hit(t, "", "b-1").VID
	remote := a.node.Track(a.tracker)
	req := hitRequest(vid, "api-1")
	req.Batch.Events[0] = event.Event{ID: "api-1", Type: event.TypeEvent, Name: "order_paid", URL: "https://shop.example/",
		Props: []event.Prop{{Key: "value", Val: event.NumberValue(42)}}}
	req.Decisions, req.Offline = false, true
	var res track.Result
	if err := remote(req, &res); err != nil {
		t.Fatal(err)
	}
	if res.VID != vid || !res.Tracked || len(res.Accepted) != 1 || res.Accepted[0] != "api-1" {
		t.Fatalf("result %+v; want api-1 accepted for %s", res, vid)
	}
	if st := a.node.Status(); st.Forwarded != 1 {
		t.Fatalf("forwarded %d; want the event tracked on b", st.Forwarded)
	}
	st, err := b.tracker.Visitor(vid)
	if err != nil || len(st.Events) != 1 || st.Events[0].Key != "order_paid" {
		t.Fatalf("b's journey: %+v, %v; want the event order_paid", st, err)
	}
	// Sent again, it is a duplicate there.
	res.Reset()
	if err := remote(req, &res); err != nil || len(res.Duplicate) != 1 {
		t.Fatalf("retry: %+v, %v; want a duplicate", res, err)
	}
	// Imported history goes the same way.
	a.tracker.SetImportVia(remote)
	ts := time.Now().Add(-time.Hour).UnixMilli()
	line := fmt.Sprintf(`{"ts":%d,"ua":"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0","batch":{"site":"shop","vid":%q,"events":[{"id":"imp-1","type":"event","name":"signup","url":"https://shop.example/"}]}}`, ts, vid)
	n, err := a.tracker.Import([]byte(line), &track.ImportScratch{}, func(id string) (string, bool) { return id, id == "shop" })
	if err != nil || n.Accepted != 1 {
		t.Fatalf("import: %+v, %v", n, err)
	}
	if st := a.node.Status(); st.Forwarded != 3 {
		t.Fatalf("forwarded %d; want the imported line tracked on b too", st.Forwarded)
	}
	if st, _ := b.tracker.Visitor(vid); len(st.Events) != 2 {
		t.Fatalf("b's journey events %+v; want order_paid and signup", st.Events)
	}
}
