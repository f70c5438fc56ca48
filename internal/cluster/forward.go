package cluster

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/pathlight/pathlight/internal/track"
)

const (
	hdrShard    = "Pathlight-Shard"
	hdrNotOwner = "Pathlight-Not-Owner"
)

// HandleForwarded sets the function that answers a hit another node forwarded: it takes
// the request another node's Forward sent and returns the reply to send back.
func (n *Node) HandleForwarded(fn func(req []byte) []byte) { n.fwdFn.Store(&fn) }

// Forward routes a hit of visitor vid. When this node owns the visitor's shard it returns
// forwarded false at once (or once it has caught up on a shard it just took): the caller
// answers it. Otherwise it sends the request encode returns (called once, only then) to the
// owner and returns the owner's reply. When no owner answers within --cluster-wait (none
// known, a takeover under way, the owner gone, NATS out of reach), it returns forwarded
// false: the caller answers from its local state, degraded.
//
// A visitor with a request waiting in this node's outbox is answered here too (its hit
// queued behind that request), so that the owner tracks the visitor's hits in the order
// they came.
func (n *Node) Forward(vid string, encode func() []byte) (reply []byte, forwarded bool) {
	if n.out.pendingVisitor(vid) {
		return nil, false
	}
	return n.forward(vid, kindHTTP, encode)
}

// Kinds of forwarded requests.
const (
	kindHTTP  = ""      // an HTTP request, answered by HandleForwarded's function
	kindTrack = "track" // a track.Request (Track), answered by the tracker
)

func (n *Node) forward(vid, kind string, encode func() []byte) (reply []byte, forwarded bool) {
	shard := Shard(vid, n.opt.Shards)
	var req []byte
	deadline := time.Now().Add(n.opt.Wait)
	var looked time.Time
	for time.Now().Before(deadline) {
		if n.own.owns(shard) {
			return nil, false
		}
		owner := n.own.owner(shard)
		if owner == "" && time.Since(looked) >= 100*time.Millisecond {
			// No owner known: the lease bucket may know one its watch has not told of yet
			// (a watch that restarts after a NATS server died, say).
			looked = time.Now()
			n.refreshOwnerBy(shard, deadline)
			owner = n.own.owner(shard)
		}
		if owner == "" || owner == n.opt.Node {
			time.Sleep(10 * time.Millisecond) // a takeover under way, or this node catching up
			continue
		}
		if req == nil {
			req = encode()
		}
		msg := nats.NewMsg(subjectFwd + owner)
		msg.Data = req
		msg.Header.Set(hdrShard, strconv.Itoa(shard))
		if kind != kindHTTP {
			msg.Header.Set(hdrKind, kind)
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		resp, err := n.nc.RequestMsgWithContext(ctx, msg)
		cancel()
		switch {
		case err == nil && resp.Header.Get(hdrNotOwner) == "":
			n.forwarded.Add(1)
			return resp.Data, true
		case err == nil, errors.Is(err, nats.ErrNoResponders):
			// The owner has moved on, or is gone: look at the lease again.
			n.refreshOwner(shard)
			time.Sleep(10 * time.Millisecond)
		default:
			n.fwdFailed.Add(1)
			return nil, false
		}
	}
	n.fwdFailed.Add(1)
	return nil, false
}

// refreshOwner reads the lease of shard again.
func (n *Node) refreshOwner(shard int) { n.refreshOwnerBy(shard, time.Now().Add(n.opt.Wait)) }

// refreshOwnerBy reads the lease of shard again, waiting for the bucket until deadline.
func (n *Node) refreshOwnerBy(shard int, deadline time.Time) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	e, err := n.leases.Get(ctx, leaseKey(shard))
	if err != nil || time.Since(e.Created()) >= n.opt.Lease {
		n.setOwner(shard, "", time.Time{})
		return
	}
	n.setOwner(shard, string(e.Value()), e.Created())
}

// serveForward answers a hit another node forwarded, when this node owns its shard.
func (n *Node) serveForward(m *nats.Msg) {
	go func() {
		shard, err := strconv.Atoi(m.Header.Get(hdrShard))
		fn := n.fwdFn.Load()
		kind := m.Header.Get(hdrKind)
		if err != nil || (fn == nil && kind == kindHTTP) || shard < 0 || shard >= n.opt.Shards {
			n.notOwner(m)
			return
		}
		deadline := time.Now().Add(n.opt.Wait)
		for !n.own.owns(shard) {
			if !n.own.held(shard) || time.Now().After(deadline) {
				n.notOwner(m)
				return
			}
			time.Sleep(5 * time.Millisecond) // caught up soon
		}
		if kind == kindTrack {
			_ = m.Respond(n.serveTrack(m.Data))
			return
		}
		_ = m.Respond((*fn)(m.Data))
	}()
}

func (n *Node) notOwner(m *nats.Msg) {
	r := nats.NewMsg(m.Reply)
	r.Header.Set(hdrNotOwner, n.opt.Node)
	_ = m.RespondMsg(r)
}

// MintVID returns a new visitor id in a shard this node owns, so that the new visitor's
// next hits come here; "" when it owns none (a random id is minted then).
func (n *Node) MintVID() string {
	if _, ready := n.own.count(); ready == 0 {
		return ""
	}
	for i := 0; i < 10_000; i++ {
		vid := track.NewVID()
		if n.own.owns(Shard(vid, n.opt.Shards)) {
			return vid
		}
	}
	return ""
}
