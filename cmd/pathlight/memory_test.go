package main

import (
	be "encoding/binary"
	"errors"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/store"
)

// TestGoLimitFollowsBudget: the budget sets the Go runtime's soft limit, unless GOMEMLIMIT
// says otherwise.
func TestGoLimitFollowsBudget(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	log := slog.New(slog.DiscardHandler)
	plan := config.PlanMemory(256 << 20)
	applyGoLimit(plan, func(string) string { return "" }, log)
	if got := debug.SetMemoryLimit(-1); got != plan.GoLimit {
		t.Errorf("memory limit = %d; want the plan's %d", got, plan.GoLimit)
	}
	debug.SetMemoryLimit(old)
	applyGoLimit(plan, func(k string) string {
		if k == "GOMEMLIMIT" {
			return "1GiB"
		}
		return ""
	}, log)
	if got := debug.SetMemoryLimit(-1); got != old {
		t.Errorf("with GOMEMLIMIT set, memory limit = %d; want it left at %d", got, old)
	}
}

// TestGCPercentOfServe checks that serve lets the heap grow by gcPercent between two
// collections, and that a GOGC in the environment is left in force.
func TestGCPercentOfServe(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	log := slog.New(slog.DiscardHandler)
	applyGCPercent(func(string) string { return "" }, log)
	if got := debug.SetGCPercent(100); got != gcPercent {
		t.Errorf("GC percent = %d; want %d", got, gcPercent)
	}
	applyGCPercent(func(k string) string {
		if k == "GOGC" {
			return "150"
		}
		return ""
	}, log)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, GC percent = %d; want it left at 100", got)
	}
}

// TestStoreHeapWithinPlan writes a sustained volume shaped like Pathlight's (per hit: a
// visitor state, a report record, a time-ordered event record, a spilled id, and an ownership
// pack every 16 events) through a store sized by a memory plan, enough for Badger to flush
// and compact level after level, and checks that the live heap, as the garbage collector
// measures it, never passes the shares the plan gives the store: its memtables, table
// builders, index cache and write backlog (plus a little for the test's own data). Before
// the builders had a share and a bound, Badger's pooled builders alone held several times
// the plan (500 MiB live against shares of 208 MiB).
func TestStoreHeapWithinPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("writes some 300 MB through the store: not in -short")
	}
	plan := config.PlanMemory(config.MinMemory)
	if got, want := plan.Builders, store.TableBuilderMemory(plan.MemTable); got != want {
		t.Fatalf("plan: builders %d; want store.TableBuilderMemory = %d", got, want)
	}
	if got, want := plan.MemTableMemory, int64(plan.MemTables)*store.MemTableMemory(plan.MemTable); got != want {
		t.Fatalf("plan: memtables %d; want %d × store.MemTableMemory = %d", got, plan.MemTables, want)
	}
	if got, want := plan.EventBuilders, store.TableBuilderMemory(plan.EventMemTable); got != want {
		t.Fatalf("plan: event store builders %d; want store.TableBuilderMemory = %d", got, want)
	}
	if got, want := plan.EventMemTableMemory, int64(plan.EventMemTables)*store.MemTableMemory(plan.EventMemTable); got != want {
		t.Fatalf("plan: event store memtables %d; want %d × store.MemTableMemory = %d", got, plan.EventMemTables, want)
	}
	db, err := store.Open(t.TempDir(), storeOptions(plan))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	share := plan.MemTableMemory + plan.Builders + plan.IndexCache + plan.Backlog +
		plan.EventMemTableMemory + plan.EventBuilders + plan.EventIndexCache
	// The test's own buffers, goroutines and Badger's small structures; and what the
	// collector counts live because it was allocated while it marked (a quarter of the
	// share covers it under this rate of allocation).
	slack := 16<<20 + share/4

	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the live heap is measured at every collection; sample it often
		defer wg.Done()
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	rng := rand.New(rand.NewPCG(1, 2))
	state, record, event := make([]byte, 1600), make([]byte, 3500), make([]byte, 240)
	for i := range record {
		record[i] = byte(rng.Uint32())
	}
	copy(state, record)
	copy(event, record)
	const visitors, hits = 20000, 60000
	vid := make([]byte, 17)
	for h := 0; h < hits; h++ {
		v := rng.IntN(visitors)
		be.BigEndian.PutUint64(vid[1:], uint64(v))
		be.BigEndian.PutUint64(vid[9:], uint64(v)*2654435761)
		vk, lk, ok := append([]byte{'v'}, vid[1:]...), append([]byte{'L', 0, 0, 0, 1}, vid[1:]...), append([]byte{'o'}, vid[1:]...)
		ek := be.BigEndian.AppendUint64(be.BigEndian.AppendUint64([]byte{'e'}, uint64(h)), uint64(h))
		rk := be.BigEndian.AppendUint64([]byte{'r'}, rng.Uint64())[:7]
		ops := []store.Op{
			{Key: vk, Value: state}, {Key: lk, Value: record}, {Key: ek, Value: event},
			{Key: rk, TTL: 48 * time.Hour},
		}
		if h%16 == 0 {
			ops = append(ops, store.Op{Key: append(ok, 0, 'P'), Value: event})
		}
		// A write faster than Badger takes it meets the backlog bound: the server answers
		// 503 and the sender retries, as here.
		err := db.Write(ops)
		for tries := 0; errors.Is(err, store.ErrBacklog) && tries < 30; tries++ {
			err = db.Write(ops)
		}
		if err != nil {
			t.Fatalf("write %d: %v", h, err)
		}
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	lsm, _, _ := db.Sizes()
	t.Logf("live heap peak %d MiB; the store's shares %d MiB (+%d MiB); Badger's tables %d MiB",
		peak.Load()>>20, share>>20, slack>>20, lsm>>20)
	if lsm < 64<<20 {
		t.Fatalf("Badger's tables hold %d MiB: too little written to flush and compact", lsm>>20)
	}
	if p := int64(peak.Load()); p > share+slack {
		t.Errorf("live heap reached %d MiB; want at most the store's shares of the plan, %d MiB (+%d MiB)", p>>20, share>>20, slack>>20)
	}
}
