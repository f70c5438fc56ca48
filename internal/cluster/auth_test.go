package cluster

import (
	"strings"
	"testing"
)

// A NATS server that asks for a user and password lets in a node that gives them and
// refuses one that does not, with an error that says so.
func TestUserAndPassword(t *testing.T) {
	ns := &natsServer{t: t, bin: natsBinary(t), dir: t.TempDir(), port: freePort(t), extra: []string{"--user", "pl", "--pass", "s3cret"}}
	ns.start()
	t.Cleanup(ns.stop)
	opt := nodeOptions("a", ns.url())
	if _, err := tryStartNode(t, t.TempDir(), opt); err == nil || !strings.Contains(err.Error(), "connect to NATS") || !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("start without credentials: %v; want an authorization error", err)
	}
	opt.User, opt.Password = "pl", "s3cret"
	a := startNode(t, t.TempDir(), opt)
	waitOwned(t, a)
	if res := a.hit(t, "", "auth-1"); res.Queued || len(res.Accepted) != 1 {
		t.Fatalf("hit: %+v", res)
	}
}
