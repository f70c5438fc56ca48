package store

import "time"

// Holding rewritten keys. A busy visitor's journey and report record are rewritten with every
// hit, a few times a second: each batch coalesces the rewrites it holds into one Badger write,
// but a batch spans a fraction of a second under load (its bytes bound it, see applyEager),
// so every such key still went to Badger several times a second, and those writes were most
// of the bytes Badger's writer, flushes and compactions moved. So a key of the main instance
// that a batch rewrites (two ops or more on it) is held: the applier keeps its latest op in
// memory, takes it out of the batch, and writes it to Badger only with the batch that comes
// holdFor after the first key was held (or once the held ops take holdMax bytes, or at
// Close). A key held stays held until then, whatever later batches bring for it; a key
// written once in a batch (a spill pack, a dedup mark, a quiet visitor's journey) is written
// at once as before. Event-store keys are never held: they are written once.
//
// The log stays the truth. The position the main instance stores (appliedKey) is the last
// record all of whose ops it holds or that later records overwrite there or in the hold: the
// sequence number before the oldest op held. A replay after a crash starts after it and
// applies every later record in order, so each held key ends with its last op (applying an
// op twice is harmless, see apply.go), and no log segment is deleted while a held op is in
// it. Reads see held ops all along: the overlay keeps each held key's entry, pointing to the
// held copy instead of the record's buffer, until the op is in Badger.
const (
	// holdFor is how long the first op held waits for Badger: the longer, the more
	// rewrites of one key become one write, and the more log a replay after a crash reads
	// (holdFor of writes, at most) and the log keeps on disk.
	holdFor = 4 * time.Second
)

// heldOp is the latest op of a held key, copied out of its record's buffer so that the
// buffer can be freed once the rest of its record is applied.
type heldOp struct {
	op  walOp
	seq uint64 // the record that wrote it
}

// heldMemory is what the overlay accounts for a held op: its key and value and the entries
// that point to them in the overlay and in the hold.
func heldMemory(op *walOp) int64 {
	return int64(len(op.key)+len(op.value)) + 2*entryOverhead
}

// hold takes the ops of keys to be held out of ops and into the hold: those of keys already
// held and those the batch rewrote. It returns the ops left to write now.
func (a *applier) hold(c *coalesced) []*walOp {
	if a.held == nil {
		a.held = make(map[string]*heldOp)
	}
	before := a.heldBytes
	out := c.ops[:0]
	for i, op := range c.ops {
		h, ok := a.held[string(op.key)]
		if !ok && c.writes[i] < 2 {
			out = append(out, op)
			continue
		}
		if !ok {
			h = &heldOp{}
			if len(a.held) == 0 {
				a.heldSince = time.Now()
			}
			a.held[string(op.key)] = h
			h.op.key = append([]byte(nil), op.key...)
		} else {
			a.heldBytes -= heldMemory(&h.op)
		}
		h.op.value = append(h.op.value[:0:0], op.value...)
		h.op.expiresAt, h.op.del, h.seq = op.expiresAt, op.del, c.seqs[i]
		a.heldBytes += heldMemory(&h.op)
	}
	// The records' memory is released once the batch is applied, the held copies' once
	// they are written: count them from now on.
	a.ov.account(a.heldBytes - before)
	return out
}

// heldDue reports whether the held ops go to Badger with this batch.
func (a *applier) heldDue() bool {
	return len(a.held) > 0 && (!a.running.Load() || a.flushHeld ||
		time.Since(a.heldSince) >= a.holdFor || a.heldBytes >= a.holdMax)
}

// heldFrom returns the sequence number of the oldest op held, 0 when none is.
func (a *applier) heldFrom() uint64 {
	var from uint64
	for _, h := range a.held {
		if from == 0 || h.seq < from {
			from = h.seq
		}
	}
	return from
}

// heldTimer returns a channel that fires when the held ops are due while no batch comes:
// never after an apply error (the log keeps them for the next start; retrying at once would
// spin).
func (a *applier) heldTimer() <-chan time.Time {
	if len(a.held) == 0 || a.err != nil {
		return nil
	}
	return time.After(max(a.holdFor-time.Since(a.heldSince), 0))
}
