package cluster

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// The outbox keeps, in the local store, what the stream did not take, in order. Two kinds
// of entries:
//
//   - a commit (admin writes and the like): written in the same atomic write as the
//     commit's own ops, so a crash of the process keeps both or neither, and published
//     under its message id when the stream returns;
//   - a request (a visitor's hits): the hits are not written to the local store at all,
//     since a journey is only ever written by the owner of its visitor's shard; the
//     request is kept (remoteRequest) and, when the stream returns, tracked by the
//     visitor's owner at the time it first arrived, which folds it into the journey as it
//     stands then. Meanwhile the tracker answers the visitor from its replica and what it
//     remembers of the request (its cached journey), forgotten once the owner tracked it.
//
// Keys: Z o <seq BE64>; value: queued-at Unix ms BE64, events BE32, flags (1: imported,
// 2: a request), instance (16 hex), id length, id (for a request: the visitor's id), then
// the encoded commit or request.
var outboxPrefix = []byte{'Z', 'o'}

// appliedKey holds the last stream sequence applied to the local store.
var appliedKey = []byte{'Z', 'a'}

type outbox struct {
	mu     sync.Mutex
	next   uint64
	count  int   // entries
	events int64 // event records in them
	bytes  int64
	oldest int64 // queued-at of the first entry, Unix ms
	limit  int64
	wake   chan struct{}
	// keys counts, by a hash of the key, the ops of the entries waiting: a commit that
	// writes none of them may go to the stream directly while the outbox drains, since
	// it cannot overtake an older write of the same key; one that writes any of them
	// queues behind it. (Two keys with one hash only make a commit queue needlessly.)
	keys map[uint64]int32
	seed maphash.Seed
}

// pending reports whether any key of ops has a write waiting in the outbox; o.mu is held.
func (o *outbox) pending(ops []track.Op) bool {
	for i := range ops {
		if o.keys[maphash.Bytes(o.seed, ops[i].Key)] > 0 {
			return true
		}
	}
	return false
}

// countKeys adds d to the count of every key of ops; o.mu is held.
func (o *outbox) countKeys(ops []track.Op, d int32) {
	for i := range ops {
		h := maphash.Bytes(o.seed, ops[i].Key)
		if n := o.keys[h] + d; n > 0 {
			o.keys[h] = n
		} else {
			delete(o.keys, h)
		}
	}
}

// direct reports whether a commit of ops may go to the stream now: nothing it writes waits
// in the outbox.
func (o *outbox) direct(ops []track.Op) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.count == 0 || !o.pending(ops)
}

func outboxKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), outboxPrefix...), seq)
}

type outboxEntry struct {
	queued   int64
	events   int
	imported bool
	request  bool // data is a remoteRequest of visitor id, not a commit
	instance string
	id       string
	data     []byte
}

// keysOf returns the keys an entry holds back: a commit's ops' keys, a request's visitor.
func (e *outboxEntry) keysOf() ([]track.Op, error) {
	if e.request {
		return []track.Op{{Key: requestKey(e.id)}}, nil
	}
	return decodeOps(e.data, time.Time{})
}

// requestKey stands for a visitor with a request in the outbox, among the keys waiting.
func requestKey(vid string) []byte { return append([]byte{0, 'r'}, vid...) }

// pendingVisitor reports whether a request of visitor vid waits in the outbox: its later
// hits wait behind it rather than overtake it.
func (o *outbox) pendingVisitor(vid string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.count > 0 && o.keys[maphash.Bytes(o.seed, requestKey(vid))] > 0
}

func (e *outboxEntry) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(e.queued))
	b = binary.BigEndian.AppendUint32(b, uint32(e.events))
	var flags byte
	if e.imported {
		flags |= 1
	}
	if e.request {
		flags |= 2
	}
	b = append(b, flags)
	b = append(b, e.instance...)
	b = binary.AppendUvarint(b, uint64(len(e.id)))
	b = append(b, e.id...)
	return append(b, e.data...)
}

func decodeEntry(v []byte) (outboxEntry, error) {
	var e outboxEntry
	if len(v) < 8+4+1+16 {
		return e, errors.New("short outbox entry")
	}
	e.queued = int64(binary.BigEndian.Uint64(v))
	e.events = int(binary.BigEndian.Uint32(v[8:]))
	e.imported, e.request = v[12]&1 != 0, v[12]&2 != 0
	e.instance = string(v[13:29])
	l, k := binary.Uvarint(v[29:])
	if k <= 0 || uint64(len(v)-29-k) < l {
		return e, errors.New("bad outbox entry")
	}
	e.id = string(v[29+k : 29+k+int(l)])
	e.data = v[29+k+int(l):]
	return e, nil
}

// open counts what the outbox holds after a restart.
func (o *outbox) open(st track.Store, limit int64) error {
	o.limit = limit
	o.wake = make(chan struct{}, 1)
	o.next = uint64(time.Now().UnixNano())
	o.keys, o.seed = map[uint64]int32{}, maphash.MakeSeed()
	end := append(append([]byte(nil), outboxPrefix...), 0xff)
	return st.Scan(outboxPrefix, end, func(k, v []byte) error {
		e, err := decodeEntry(v)
		if err != nil {
			return fmt.Errorf("outbox entry %x: %w", k, err)
		}
		ops, err := e.keysOf()
		if err != nil {
			return fmt.Errorf("outbox entry %x: %w", k, err)
		}
		o.countKeys(ops, 1)
		if o.count == 0 {
			o.oldest = e.queued
		}
		o.count++
		o.events += int64(e.events)
		o.bytes += int64(len(v))
		if s := binary.BigEndian.Uint64(k[2:]); s >= o.next {
			o.next = s + 1
		}
		return nil
	})
}

func (o *outbox) empty() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.count == 0
}

// full reports whether the outbox has reached its bound.
func (o *outbox) full() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.bytes >= o.limit
}

// add writes the commit's ops and its outbox entry in one atomic local write.
func (o *outbox) add(st track.Store, ops []track.Op, imported bool, id, instance string, data []byte, events int, now time.Time) error {
	e := outboxEntry{queued: now.UnixMilli(), events: events, imported: imported, instance: instance, id: id, data: data}
	return o.put(st, &e, ops, ops)
}

// addRequest keeps a request of visitor vid (encodeRemote), and nothing of its commit.
func (o *outbox) addRequest(st track.Store, vid string, instance string, req []byte, events int, now time.Time) error {
	e := outboxEntry{queued: now.UnixMilli(), events: events, request: true, instance: instance, id: vid, data: req}
	return o.put(st, &e, nil, []track.Op{{Key: requestKey(vid)}})
}

// put writes ops and entry e in one atomic local write; keys are what e holds back.
func (o *outbox) put(st track.Store, e *outboxEntry, ops, keys []track.Op) error {
	events, imported := e.events, e.imported
	v := e.encode()
	o.mu.Lock()
	if o.bytes+int64(len(v)) > o.limit {
		o.mu.Unlock()
		return fmt.Errorf("%w: %d bytes of commits wait for the stream", track.ErrQueueFull, o.bytes)
	}
	seq := o.next
	o.next++
	// Counted before the write, so that a concurrent commit sees a non-empty outbox and
	// queues behind this one rather than overtaking it on the stream.
	if o.count == 0 {
		o.oldest = e.queued
	}
	o.count++
	o.events += int64(events)
	o.bytes += int64(len(v))
	o.countKeys(keys, 1)
	o.mu.Unlock()
	all := append(ops[:len(ops):len(ops)], track.Op{Key: outboxKey(seq), Value: v})
	if _, err := track.WriteCommit(st, all, track.Commit{Imported: imported}); err != nil {
		o.mu.Lock()
		o.count--
		o.events -= int64(events)
		o.bytes -= int64(len(v))
		o.countKeys(keys, -1)
		o.mu.Unlock()
		return err
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// stats returns the outbox's entries, events, bytes and the age of its oldest entry.
func (o *outbox) stats() (count int, events, bytes int64, age time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.count > 0 {
		age = time.Since(time.UnixMilli(o.oldest))
	}
	return o.count, o.events, o.bytes, age
}

// drainLoop publishes the outbox, in order and each entry once, whenever the stream is
// reachable and the outbox is not empty.
func (n *Node) drainLoop() {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		case <-n.out.wake:
		}
		if n.out.empty() || !n.streamUp() {
			continue
		}
		if err := n.drain(); errors.Is(err, errDrainLater) {
			continue
		} else if err != nil {
			n.log.Warn("cluster: outbox drain paused", "err", err)
			n.reachable.Store(false)
		}
	}
}

// drain publishes the outbox's entries in order until it is empty or a publish fails. The
// stream deduplicates by the entry's id, so an entry published whose deletion was lost is
// not stored twice.
func (n *Node) drain() error {
	for n.ctx.Err() == nil {
		type item struct {
			key []byte
			e   outboxEntry
			n   int
		}
		var batch []item
		end := append(append([]byte(nil), outboxPrefix...), 0xff)
		err := n.local.Scan(outboxPrefix, end, func(k, v []byte) error {
			e, err := decodeEntry(v)
			if err != nil {
				return err
			}
			e.data = append([]byte(nil), e.data...)
			batch = append(batch, item{append([]byte(nil), k...), e, len(v)})
			if len(batch) == 256 {
				return track.ErrStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, track.ErrStop) {
			return err
		}
		if len(batch) == 0 {
			return nil // an entry counted but not yet written: the next round takes it
		}
		for _, it := range batch {
			if it.e.request {
				if err := n.drainRequest(it.e.id, it.e.data); err != nil {
					return err
				}
			} else {
				ctx, cancel := context.WithTimeout(n.ctx, n.opt.Wait)
				// Under this process's name: the entry is in the local store already
				// (written with it), so this node's consumer must not apply it again.
				msg := n.message(subjectGlobal, n.instance, it.e.imported, it.e.data)
				ack, err := n.js.PublishMsg(ctx, msg, jetstream.WithMsgID(it.e.id))
				cancel()
				if err != nil {
					return err
				}
				if ack.Duplicate && !n.ownMessage(ack.Sequence) {
					// Another node stored these events meanwhile (the visitor's new
					// owner tracked the hit again), and its commit is, or will be,
					// applied here: this node's own copy of the event records goes.
					if err := n.dropEventRecords(it.e.data); err != nil {
						return err
					}
				}
			}
			if err := n.local.Write([]track.Op{{Key: it.key, Delete: true}}); err != nil {
				return err
			}
			ops, _ := it.e.keysOf() // it decoded when it was queued
			n.out.mu.Lock()
			n.out.count--
			n.out.events -= int64(it.e.events)
			n.out.bytes -= int64(it.n)
			n.out.countKeys(ops, -1)
			if n.out.count > 0 {
				n.out.oldest = it.e.queued // about: the next one is no older
			}
			empty := n.out.count == 0
			n.out.mu.Unlock()
			if empty {
				n.log.Info("cluster: outbox drained")
			}
		}
	}
	return nil
}

// OutboxFull reports whether the outbox has reached --cluster-outbox: hits are refused.
func (n *Node) OutboxFull() bool { return n.out.full() }

// errDrainLater pauses the outbox's drain without taking the stream for unreachable: the
// owner of a queued request's visitor is not known or did not answer yet.
var errDrainLater = errors.New("the visitor's owner did not take the queued request yet")

// drainRequest has a request kept in the outbox tracked by the owner of visitor vid: by
// this node when it owns the visitor's shard (what it remembers of the visitor from
// answering the request is forgotten first, so the request is folded into the journey its
// store holds), else by the owner, over NATS. Events the owner already stored (a forward
// that timed out yet reached it) are duplicates there, and stored once.
func (n *Node) drainRequest(vid string, data []byte) error {
	tr := n.tracker.Load()
	if tr == nil {
		return errDrainLater
	}
	shard := Shard(vid, n.opt.Shards)
	for attempt := 0; attempt < 2; attempt++ {
		if n.own.owns(shard) {
			var b event.Batch
			req, err := decodeRemote(data, &b)
			if err != nil {
				n.log.Error("cluster: a request in the outbox does not decode; dropped", "vid", vid, "err", err)
				return nil
			}
			req.FromOutbox, req.Deadline = true, time.Now().Add(n.opt.Wait)
			var res track.Result
			if err := tr.Track(req, &res); err != nil {
				n.log.Warn("cluster: tracking a queued request failed; trying again", "vid", vid, "err", err)
				return errDrainLater
			}
			return nil
		}
		reply, ok := n.forward(vid, kindTrack, func() []byte { return data })
		if !ok {
			n.log.Debug("cluster: no owner took a queued request", "vid", vid, "owner", n.own.owner(shard))
			continue // no owner answered; or this node took the shard meanwhile
		}
		var rr remoteResult
		if err := json.Unmarshal(reply, &rr); err != nil || rr.Error != "" {
			n.log.Warn("cluster: the owner did not take a queued request; trying again", "vid", vid, "err", err, "reason", rr.Error)
			return errDrainLater
		}
		// The owner's commit is in the stream: this node's replica reads it once applied.
		tr.Forget(vid)
		return nil
	}
	return errDrainLater
}

// dropEventRecords deletes from the local store the event-log records a queued commit wrote
// (and their entries in the visitors' ownership indexes), through the watched store so that
// reports forget them too.
func (n *Node) dropEventRecords(data []byte) error {
	ops, err := decodeOps(data, time.Time{})
	if err != nil {
		return err
	}
	var del []track.Op
	for _, op := range ops {
		if op.Delete {
			continue
		}
		if k := op.Key; len(k) == 17 && k[0] == 'e' {
			del = append(del, track.Op{Key: k, Delete: true})
		}
	}
	if len(del) == 0 {
		return nil
	}
	for _, op := range ops {
		k := op.Key
		if op.Delete || len(k) < 1+track.VIDLen+1+17 || k[0] != 'o' {
			continue
		}
		for _, d := range del[:len(del):len(del)] {
			if string(k[len(k)-17:]) == string(d.Key) {
				del = append(del, track.Op{Key: k, Delete: true})
				break
			}
		}
	}
	_, err = track.WriteCommit(n.local, del, track.Commit{})
	return err
}
