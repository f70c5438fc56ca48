package cluster

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/pathlight/pathlight/internal/track"
)

// A commit travels as its ops: a count, then per op a flag byte (1: delete), the absolute
// expiry in Unix seconds (0: none; absolute, so that applying it later or again expires it
// at the same time), the key and the value, lengths as uvarints.

func encodeOps(dst []byte, ops []track.Op, now time.Time) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ops)))
	for i := range ops {
		op := &ops[i]
		var flag byte
		if op.Delete {
			flag = 1
		}
		dst = append(dst, flag)
		var exp uint64
		if op.TTL > 0 {
			exp = uint64(now.Add(op.TTL).Unix()) + 1
		}
		dst = binary.AppendUvarint(dst, exp)
		dst = binary.AppendUvarint(dst, uint64(len(op.Key)))
		dst = append(dst, op.Key...)
		dst = binary.AppendUvarint(dst, uint64(len(op.Value)))
		dst = append(dst, op.Value...)
	}
	return dst
}

var errBadCommit = errors.New("cluster: commit does not decode")

// decodeOps decodes a commit; ops alias b. Ops whose expiry has passed are left out.
func decodeOps(b []byte, now time.Time) ([]track.Op, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errBadCommit
	}
	b = b[k:]
	ops := make([]track.Op, 0, n)
	for i := uint64(0); i < n; i++ {
		if len(b) < 1 {
			return nil, errBadCommit
		}
		del := b[0] == 1
		b = b[1:]
		exp, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errBadCommit
		}
		b = b[k:]
		var parts [2][]byte
		for j := range parts {
			l, k := binary.Uvarint(b)
			if k <= 0 || uint64(len(b)-k) < l {
				return nil, errBadCommit
			}
			parts[j] = b[k : k+int(l)]
			b = b[k+int(l):]
		}
		op := track.Op{Key: parts[0], Value: parts[1], Delete: del}
		if exp > 0 {
			left := time.Unix(int64(exp), 0).Sub(now)
			if left <= 0 {
				continue
			}
			op.TTL = left
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// shardOf returns the shard of the visitor a commit writes, -1 when it writes no one
// visitor's keys (anonymous hits, metadata, admin writes of no visitor).
func shardOf(ops []track.Op, shards int) int {
	for i := range ops {
		if vid := track.OpVisitor(ops[i].Key); vid != "" {
			return Shard(vid, shards)
		}
	}
	return -1
}

// eventCount counts the event-log records a commit adds (for the outbox's figures).
func eventCount(ops []track.Op) int {
	n := 0
	for i := range ops {
		if k := ops[i].Key; len(k) == 17 && k[0] == 'e' && !ops[i].Delete {
			n++
		}
	}
	return n
}
