package cluster

import (
	"bytes"

	"github.com/pathlight/pathlight/internal/track"
)

// Spend sent through the admin API is a file per source in each node's data directory; in a
// fleet each change travels through the stream as one op under Zs <source> (the whole new
// file, or a delete), which every other node writes to its own file.
var spendPrefix = []byte{'Z', 's'}

// ReplicateSpend publishes a change of a spend source (csv nil: deleted) to the fleet; the
// change is refused when neither the stream nor the outbox takes it.
func (n *Node) ReplicateSpend(source string, csv []byte) error {
	op := track.Op{Key: append(append([]byte(nil), spendPrefix...), source...), Value: csv, Delete: csv == nil}
	_, err := n.commit([]track.Op{op}, track.Commit{})
	return err
}

// SetSpendApplier sets the function that writes another node's change of a spend source
// here (csv nil: deleted); call it before Run.
func (n *Node) SetSpendApplier(fn func(source string, csv []byte) error) { n.spendFn = fn }

// applySpend hands the spend changes among ops to the applier.
func (n *Node) applySpend(ops []track.Op) {
	if n.spendFn == nil {
		return
	}
	for i := range ops {
		op := &ops[i]
		if !bytes.HasPrefix(op.Key, spendPrefix) {
			continue
		}
		var csv []byte
		if !op.Delete {
			csv = append([]byte{}, op.Value...)
		}
		if err := n.spendFn(string(op.Key[len(spendPrefix):]), csv); err != nil {
			n.log.Error("cluster: writing another node's spend failed", "source", string(op.Key[len(spendPrefix):]), "err", err)
		}
	}
}
