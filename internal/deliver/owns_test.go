package deliver_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/automate"
	"github.com/pathlight/pathlight/internal/deliver"
	"github.com/pathlight/pathlight/internal/store/trackstore"
)

// In a fleet every node holds every visitor's deliveries; only the owner of the visitor's
// shard sends them (Config.Owns), so a receiver gets each once. Another node's visitor's
// deliveries wait, untouched, until this node owns the visitor.
func TestOnlyTheOwnerSendsDeliveries(t *testing.T) {
	r := newReceiver(t)
	e := newEnv(t, r.srv.URL, deliver.Backoff{First: time.Second, Max: time.Minute, Horizon: 72 * time.Hour})
	mine := e.visit(t, "", "/a1", "/a2")
	theirs := e.visit(t, "", "/b1")
	var all atomic.Bool
	e.d = deliver.New(deliver.Config{Tracker: e.tr, Store: trackstore.New(e.db), Backoff: deliver.DefaultBackoff, Poll: 5 * time.Millisecond,
		Now:    func() time.Time { return time.UnixMilli(e.now.Load()) },
		Owns:   func(vid string) bool { return all.Load() || vid == mine },
		Getenv: func(k string) string { return map[string]string{"CRM_SECRET": secret}[k] }})
	e.pump(t, time.Second, func() bool { acked, _, _, _ := r.snapshot(); return len(acked) == 2 })
	for range 20 {
		e.d.Pass(context.Background())
		e.d.Wait()
	}
	if acked, _, attempts, _ := r.snapshot(); len(acked) != 2 || attempts != 2 {
		t.Fatalf("receiver got %d deliveries in %d attempts; want only the owned visitor's 2", len(acked), attempts)
	}
	if n := e.count(automate.PrefixQueue); n != 1 {
		t.Fatalf("%d deliveries pending; want the other node's visitor's 1 (%s)", n, theirs)
	}
	all.Store(true) // this node takes the other visitor's shard over
	e.pump(t, time.Second, func() bool { acked, _, _, _ := r.snapshot(); return len(acked) == 3 })
}
