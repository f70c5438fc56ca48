package store

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Moving event keys written before the event store existed. A data directory from an earlier
// release holds them in the main instance. Open notices (a key of the prefix there) and tells
// the overlay, under whose lock reads take their timestamp: until the move ends, reads of
// event keys look in the event store and then in the main instance, scans merge the two (the
// event store wins), and the applier sends deletes of event keys to both, so an erase cannot
// leave a copy behind.
//
// The applier moves the keys itself, between its batches, so that no write of its own races
// the move: a step copies up to one transaction of keys (value and expiry as they are) into
// the event store, commits, then deletes them from the main instance and commits, and moves
// the read timestamp past both. A crash between the two commits leaves the keys in both, the
// same bytes; the next start moves them again. One step runs after each batch, and one every
// migrateIdle while no batch comes, so the move goes on under sustained load without taking
// more than a transaction's worth of the applier at a time.
const migrateIdle = 20 * time.Millisecond

// holdMigration holds every move back (tests read a directory mid-move).
var holdMigration atomic.Bool

// migration is the applier's progress through the main instance's event keys.
type migration struct {
	on    atomic.Bool // keys may remain in the main instance and this run is moving them
	from  []byte      // the next key to look at
	moved atomic.Uint64
}

// active reports whether keys remain to be moved.
func (m *migration) active() bool { return m.on.Load() }

// idle returns a channel that fires when a step is due while no batch comes: nil (never)
// when nothing remains to move.
func (m *migration) idle() <-chan time.Time {
	if !m.on.Load() {
		return nil
	}
	return time.After(migrateIdle)
}

// migrateStep moves the next transaction's worth of event keys; when none remain, it ends
// the move, and reads stop looking for event keys in the main instance.
func (a *applier) migrateStep() {
	if holdMigration.Load() {
		return
	}
	type kv struct {
		key, val []byte
		exp      uint64
	}
	limit := min(a.ev.txnCount, a.main.txnCount) - 1
	budget := min(a.ev.txnBytes, a.main.txnBytes)
	var batch []kv
	txn := a.main.db.NewTransactionAt(math.MaxUint64, false)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{a.prefix}})
	var size int64
	start := a.mig.from
	if start == nil {
		start = []byte{a.prefix}
	}
	var err error
	for it.Seek(start); it.Valid() && int64(len(batch)) < limit && size < budget; it.Next() {
		item := it.Item()
		e := kv{key: item.KeyCopy(nil), exp: item.ExpiresAt()}
		if e.val, err = item.ValueCopy(nil); err != nil {
			break
		}
		size += int64(len(e.key)+len(e.val)) + 64
		batch = append(batch, e)
	}
	it.Close()
	txn.Discard()
	if err != nil {
		a.migrateFailed(err)
		return
	}
	if len(batch) == 0 {
		a.mig.on.Store(false)
		a.ov.eventsMoved()
		a.log.Info("store: event keys moved to the event store", "keys", a.mig.moved.Load())
		return
	}
	// Into the event store first: a crash before the delete leaves the keys in both.
	ev := a.ev.db.NewTransactionAt(math.MaxUint64, true)
	for _, e := range batch {
		ent := badger.NewEntry(e.key, e.val)
		ent.ExpiresAt = e.exp
		if err = ev.SetEntry(ent); err != nil {
			break
		}
	}
	if err == nil {
		a.ts++
		err = ev.CommitAt(a.ts, nil)
	}
	ev.Discard()
	if err != nil {
		a.migrateFailed(err)
		return
	}
	del := a.main.db.NewTransactionAt(math.MaxUint64, true)
	for _, e := range batch {
		if err = del.Delete(e.key); err != nil {
			break
		}
	}
	if err == nil {
		a.ts++
		err = del.CommitAt(a.ts, nil)
	}
	del.Discard()
	if err != nil {
		a.migrateFailed(err)
		return
	}
	a.ov.setReadTs(a.ts)
	a.setDiscardTs()
	a.mig.from = append(batch[len(batch)-1].key, 0)
	a.mig.moved.Add(uint64(len(batch)))
}

// migrateFailed stops the move for this run: reads keep looking in both instances, and the
// next start tries again.
func (a *applier) migrateFailed(err error) {
	a.mig.on.Store(false)
	a.log.Error("store: moving event keys to the event store failed; reads look in both until the next start tries again", "err", err)
}
