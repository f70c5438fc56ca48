package cluster

import (
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// While the outbox holds a write of a key, a commit that writes the key queues behind it and
// one that does not goes to the stream; after a restart the outbox knows its keys again.
func TestOutboxQueuesOnlyCommitsOfWaitingKeys(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	st := trackstore.New(db)
	var o outbox
	if err := o.open(st, 1<<20); err != nil {
		t.Fatal(err)
	}
	v := []track.Op{{Key: []byte("vAAAA"), Value: []byte("1")}, {Key: []byte("e-record-1")}}
	w := []track.Op{{Key: []byte("vBBBB"), Value: []byte("1")}}
	if !o.direct(v) || !o.direct(w) {
		t.Fatal("an empty outbox holds commits back")
	}
	if err := o.add(st, v, false, "id-1", "0123456789abcdef", encodeOps(nil, v, time.Now()), 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	if o.direct(v) || o.direct([]track.Op{{Key: []byte("vAAAA")}}) {
		t.Fatal("a commit of a waiting key may overtake it")
	}
	if !o.direct(w) {
		t.Fatal("a commit of other keys waits behind the outbox")
	}
	if got, err := st.Get([]byte("vAAAA"), nil); err != nil || string(got) != "1" {
		t.Fatalf("the queued commit is not in the local store: %q, %v", got, err)
	}
	_ = db.Close()

	db, err = store.Open(dir, store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var o2 outbox
	if err := o2.open(trackstore.New(db), 1<<20); err != nil {
		t.Fatal(err)
	}
	if n, _, _, _ := o2.stats(); n != 1 || o2.direct(v) || !o2.direct(w) {
		t.Fatalf("after a restart: %d entries, direct(v) %v, direct(w) %v; want 1, false, true", n, o2.direct(v), o2.direct(w))
	}
}
