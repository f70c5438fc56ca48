package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pathlight/pathlight/internal/track"
)

// ErrFenced is what a commit of a shard this node no longer owns gets: JetStream refused it
// because another node published to the shard since (it wraps track.ErrOverloaded, so the
// hit is answered "retry later", and the retry is forwarded to the new owner).
var ErrFenced = fmt.Errorf("%w: this node lost the visitor's shard", track.ErrOverloaded)

// Store returns the store the tracker (and every other writer of shared data) should use:
// reads go to the local store; each write is published to the stream first and written
// locally after the stream acknowledged it, or kept in the outbox when the stream is out of
// reach.
func (n *Node) Store() track.Store { return clusterStore{n} }

type clusterStore struct{ n *Node }

var _ track.CommitWriter = clusterStore{}

// Get implements track.Store: a read of the local replica.
func (s clusterStore) Get(key, dst []byte) ([]byte, error) { return s.n.local.Get(key, dst) }

// GetMany implements track.Store: reads of the local replica.
func (s clusterStore) GetMany(keys [][]byte, fn func(i int, val []byte) error) error {
	return s.n.local.GetMany(keys, fn)
}

// Scan implements track.Store: a scan of the local replica.
func (s clusterStore) Scan(start, end []byte, fn func(key, val []byte) error) error {
	return s.n.local.Scan(start, end, fn)
}

// Write implements track.Store: the commit goes to the stream, then to the local store.
func (s clusterStore) Write(ops []track.Op) error {
	_, err := s.n.commit(ops, track.Commit{})
	return err
}

// WriteCommit implements track.CommitWriter.
func (s clusterStore) WriteCommit(ops []track.Op, c track.Commit) (bool, error) {
	return s.n.commit(ops, c)
}

// commit publishes ops and writes them locally; see Store.
func (n *Node) commit(ops []track.Op, c track.Commit) (queued bool, err error) {
	if len(ops) == 0 {
		return false, nil
	}
	imported, id := c.Imported, c.ID()
	now := time.Now()
	if id == "" {
		id = n.opt.Node + "." + n.instance + "." + strconv.FormatUint(n.msgSeq.Add(1), 10)
	}
	data := encodeOps(nil, ops, now)
	if max := n.nc.MaxPayload() - 4096; int64(len(data)) > max {
		// Neither the stream nor, later, the outbox's drain could take it.
		return false, fmt.Errorf("%w: %d bytes, and the NATS servers take %d (raise their max_payload)", track.ErrCommitTooLarge, len(data), max)
	}
	deadline := now.Add(n.opt.Wait)
	if !c.Deadline.IsZero() && c.Deadline.Before(deadline) {
		deadline = c.Deadline // what is left of the hit's wait after a forward that failed
	}
	// A commit of a visitor's hits is a write of the visitor's journey, which only the owner
	// of the visitor's shard makes. On another node (the forward to the owner failed), or
	// behind a request of the visitor already waiting, it is not published: the request is
	// kept for the owner to track (see outbox).
	tracked := c.Request != nil && c.VID != ""
	if tracked && !c.NoQueue {
		if !n.own.owns(Shard(c.VID, n.opt.Shards)) || n.out.pendingVisitor(c.VID) {
			return n.queueRequest(ops, c, now)
		}
	}
	if c.NoQueue && tracked && !n.own.owns(Shard(c.VID, n.opt.Shards)) {
		return false, ErrFenced
	}
	if n.reachable.Load() && deadline.After(now) && n.out.direct(ops) {
		shard := shardOf(ops, n.opt.Shards)
		if tracked {
			shard = Shard(c.VID, n.opt.Shards)
		}
		seq, dup, err := n.publish(shard, id, imported, data, deadline)
		if err == nil {
			if dup && !n.ownMessage(seq) {
				// The stream holds this commit's events already, from another node's
				// (or an earlier process's) commit: that one is, or will be, applied
				// here; writing this one too would keep the events twice. An earlier
				// commit of this process (a publish that timed out yet was stored) is
				// not applied by the consumer, and this one is written in its place.
				return false, nil
			}
			if _, err := track.WriteCommit(n.local, ops, track.Commit{Imported: imported}); err != nil {
				// In the stream but not here (a full disk): this node's consumer applies
				// it when it comes by, rather than skipping it as its own.
				n.mustApply.Store(seq, true)
				return false, err
			}
			return false, nil
		}
		if errors.Is(err, ErrFenced) || c.NoQueue {
			return false, err
		}
		if errors.Is(err, context.DeadlineExceeded) && time.Until(now.Add(n.opt.Wait)) > 0 {
			// The hit's own time ran out (it waited on a forward first): the stream may
			// be fine. Queue this one commit and keep publishing the others.
		} else {
			n.log.Warn("cluster: the stream did not take a commit; keeping commits in the outbox", "err", err)
			n.reachable.Store(false)
		}
	} else if c.NoQueue {
		return false, errors.New("cluster: the stream is out of reach")
	}
	if err := n.out.add(n.local, ops, imported, id, n.instance, data, eventCount(ops), now); err != nil {
		return false, err
	}
	return true, nil
}

// ownMessage reports whether the stream's message seq is this process's (or whether that
// cannot be told).
func (n *Node) ownMessage(seq uint64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), n.opt.Wait)
	defer cancel()
	m, err := n.stream.GetMsg(ctx, seq)
	return err != nil || m.Header.Get(hdrInstance) == n.instance
}

// queueRequest keeps the request of a commit of a visitor's hits in the outbox, for the
// owner of the visitor to track when the stream returns; the commit itself is written
// nowhere.
func (n *Node) queueRequest(ops []track.Op, c track.Commit, now time.Time) (bool, error) {
	req := *c.Request
	if req.Now == 0 && req.Arrived == 0 {
		req.Arrived = now.UnixMilli()
	}
	if req.Batch != nil && !track.ValidVID(req.Batch.VID) && !track.ValidVID(req.CookieVID) {
		req.NewVID = c.VID // an id minted for this request: the owner tracks it under the same
	}
	req.Deadline = time.Time{}
	if err := n.out.addRequest(n.local, c.VID, n.instance, encodeRemote(&req), eventCount(ops), now); err != nil {
		return false, err
	}
	return true, nil
}

// publish sends one commit: fenced on the shard's subject when this node owns the shard,
// else on the global subject.
func (n *Node) publish(shard int, id string, imported bool, data []byte, deadline time.Time) (seq uint64, dup bool, err error) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var st *shardState
	if shard >= 0 {
		st = n.own.ready(shard)
	}
	subject := subjectGlobal
	if st != nil {
		subject = subjectShard + strconv.Itoa(shard)
	}
	msg := n.message(subject, n.instance, imported, data)
	if st == nil {
		ack, err := n.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id))
		if err != nil {
			return 0, false, err
		}
		return ack.Sequence, ack.Duplicate, nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for attempt := 0; ; attempt++ {
		ack, err := n.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id), jetstream.WithExpectLastSequencePerSubject(st.last))
		if err == nil {
			if !ack.Duplicate {
				st.last = ack.Sequence
			}
			return ack.Sequence, ack.Duplicate, nil
		}
		if !wrongLastSeq(err) {
			return 0, false, err
		}
		// The shard's subject moved on. When the last message there is this process's own
		// (a publish that timed out but was stored), the fence just did not know it: learn
		// it and publish again. Otherwise another node owns the shard now.
		if attempt == 0 {
			if m, gerr := n.stream.GetLastMsgForSubject(ctx, subject); gerr == nil && m.Header.Get(hdrInstance) == n.instance {
				st.last = m.Sequence
				continue
			}
		}
		n.log.Warn("cluster: a write to a shard was fenced off: another node owns it now", "shard", shard)
		n.own.lose(shard)
		return 0, false, ErrFenced
	}
}

func wrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

func (n *Node) message(subject, instance string, imported bool, data []byte) *nats.Msg {
	msg := nats.NewMsg(subject)
	msg.Data = data
	msg.Header.Set(hdrNode, n.opt.Node)
	msg.Header.Set(hdrInstance, instance)
	if imported {
		msg.Header.Set(hdrImported, "1")
	}
	return msg
}
