package cluster

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pathlight/pathlight/internal/track"
)

// readApplied reads the last stream sequence applied to the local store (0: none, so a
// node with an empty data directory replays the whole stream).
func readApplied(st track.Store) (uint64, error) {
	v, err := st.Get(appliedKey, nil)
	if errors.Is(err, track.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, errors.New("cluster: the applied sequence in the store does not decode")
	}
	return binary.BigEndian.Uint64(v), nil
}

func (n *Node) saveApplied() error {
	return n.local.Write([]track.Op{{Key: appliedKey, Value: binary.BigEndian.AppendUint64(nil, n.applied.Load())}})
}

// consume applies the stream, from the sequence after the last applied, to the local store:
// commits of other nodes (and of this node's earlier processes) through the tracker, so that
// reports hear them and the tracker forgets what it cached of their visitors. Commits of
// this process are in the local store already and are only counted.
func (n *Node) consume() error {
	// One attempt at (re)creating the consumer on the servers: the client's own retries
	// back off up to a minute, so a node would wait on them long after JetStream is back;
	// watchStream tries again every quarter second instead.
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy, MaxResetAttempts: 1}
	if a := n.applied.Load(); a > 0 {
		cfg = jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: a + 1, MaxResetAttempts: 1}
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.opt.Wait)
	defer cancel()
	cons, err := n.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return err
	}
	cc, err := cons.Consume(n.apply, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		n.log.Debug("cluster: stream consumer", "err", err)
	}))
	if err != nil {
		return err
	}
	n.consMu.Lock()
	n.stopConsumer = func() { stopAndWait(cc) }
	n.consMu.Unlock()
	return nil
}

// stopWait bounds how long stopping a consumer waits for it to deliver its last message.
const stopWait = time.Second

// stopAndWait stops cc and waits, at most stopWait, until it delivers nothing more: the
// client's Stop only asks its subscription to end, and a message already on its way could
// still be applied after Stop returned, by a consumer its successor replaces.
func stopAndWait(cc jetstream.ConsumeContext) {
	cc.Stop()
	t := time.NewTimer(stopWait)
	defer t.Stop()
	select {
	case <-cc.Closed():
	case <-t.C:
	}
}

// stallAfter is how long the consumer may apply nothing while the stream holds messages
// it has not applied before it is replaced.
const stallAfter = 2 * time.Second

// restartConsumer replaces a consumer that stopped delivering. The client's ordered
// consumer recreates itself after most failures, but not after all: when the NATS server
// holding it dies while a stream leader election is under way, its resets can give up or
// wait on heartbeats that never come, and the node would apply nothing more (and so never
// catch up on a shard it takes). A new consumer starts after the last sequence applied.
func (n *Node) restartConsumer() {
	n.consMu.Lock()
	stop := n.stopConsumer
	n.stopConsumer = nil
	n.consMu.Unlock()
	if stop != nil {
		stop()
	}
	if err := n.consume(); err != nil {
		n.log.Warn("cluster: restarting the stream consumer failed; trying again", "err", err)
		return
	}
	n.consumerRestarts.Add(1)
	n.log.Info("cluster: the stream consumer stalled and was restarted", "from", n.applied.Load()+1)
}

// apply applies one message of the stream.
func (n *Node) apply(m jetstream.Msg) {
	meta, err := m.Metadata()
	if err != nil {
		n.log.Error("cluster: stream message without metadata", "err", err)
		return
	}
	// One message at a time: a consumer replaced after a stall may still deliver one
	// while its successor starts.
	n.applyMu.Lock()
	defer n.applyMu.Unlock()
	seq := meta.Sequence.Stream
	if seq <= n.applied.Load() {
		return
	}

	h := m.Headers()
	_, must := n.mustApply.LoadAndDelete(seq)
	if must || h.Get(hdrInstance) != n.instance {
		ops, err := decodeOps(m.Data(), time.Now())
		if err != nil {
			n.log.Error("cluster: a commit of the stream does not decode; skipped", "seq", seq, "err", err)
		} else {
			ops = append(ops, track.Op{Key: appliedKey, Value: binary.BigEndian.AppendUint64(nil, seq)})
			imported := h.Get(hdrImported) == "1"
			for {
				err := n.applyOps(ops, imported)
				if err == nil || n.ctx.Err() != nil {
					break
				}
				n.log.Error("cluster: applying a commit of the stream failed; retrying", "seq", seq, "err", err)
				time.Sleep(time.Second)
			}
			n.applySpend(ops)
			n.appliedN.Add(1)
		}
	}
	n.applied.Store(seq)
	if seq > n.lastSeq.Load() {
		n.lastSeq.Store(seq)
	}
}

func (n *Node) applyOps(ops []track.Op, imported bool) error {
	if t := n.tracker.Load(); t != nil {
		return t.ApplyCommit(n.local, ops, imported)
	}
	_, err := track.WriteCommit(n.local, ops, track.Commit{Imported: imported})
	return err
}

// watchStream follows the stream's last sequence and whether it answers, and saves the
// applied sequence every second.
func (n *Node) watchStream() {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var saved uint64
	last := time.Now()
	progress, progressAt := n.applied.Load(), time.Now()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(n.ctx, n.opt.Wait)
		info, err := n.stream.Info(ctx)
		cancel()
		if err != nil {
			if n.reachable.Swap(false) {
				n.log.Warn("cluster: the stream is unreachable; hits are answered from local state and queued", "err", err)
			}
		} else {
			n.lastSeq.Store(info.State.LastSeq)
			if !n.reachable.Swap(true) {
				n.log.Info("cluster: the stream is reachable again")
			}
		}
		a := n.applied.Load()
		n.consMu.Lock()
		stopped := n.stopConsumer == nil // a restart that failed: tried again at once
		n.consMu.Unlock()
		if stopped && err == nil {
			n.restartConsumer()
			progressAt = time.Now()
		} else if a != progress || a >= n.lastSeq.Load() {
			progress, progressAt = a, time.Now()
		} else if err == nil && time.Since(progressAt) >= stallAfter {
			n.restartConsumer()
			progressAt = time.Now()
		}
		if a := n.applied.Load(); a != saved && time.Since(last) >= time.Second {
			if err := n.saveApplied(); err == nil {
				saved, last = a, time.Now()
			}
		}
	}
}

// streamUp reports whether the stream answered lately.
func (n *Node) streamUp() bool { return n.reachable.Load() }

// CatchUp waits, at most --cluster-wait, until this node has applied every message the
// stream holds now.
func (n *Node) CatchUp() {
	ctx, cancel := context.WithTimeout(context.Background(), n.opt.Wait)
	defer cancel()
	info, err := n.stream.Info(ctx)
	if err != nil {
		return
	}
	for n.applied.Load() < info.State.LastSeq && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
}
