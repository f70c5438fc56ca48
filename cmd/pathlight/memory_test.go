package main

import (
	be "encoding/binary"
	"errors"
	"log/slog"
	"math/rand/v2"
	"runtime"
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

// TestGCPercentRule: the percentage serve sets puts the next collection at the plan's heap
// goal, or at the live heap plus the plan's headroom once that is more, by the runtime's
// rule (goal = live + (live + stacks and globals) × GOGC/100).
func TestGCPercentRule(t *testing.T) {
	const mib = 1 << 20
	plan := config.PlanMemory(512 * mib)
	if plan.HeapGoal != 384*mib {
		t.Fatalf("heap goal at 512 MiB = %d MiB; want 384", plan.HeapGoal/mib)
	}
	for _, c := range []struct{ live, roots, want int64 }{
		{64 * mib, 0, 500},                            // 64 + 64×5 = 384
		{64 * mib, 16 * mib, 400},                     // 64 + 80×4 = 384
		{300 * mib, 0, 100 * plan.Work / (300 * mib)}, // past goal − headroom: live + headroom
		{0, 0, 100 * 384 / 4},                         // nothing live: the runtime's minimum heap, 4 MiB × GOGC/100, at the goal
		{2 * mib, 0, 100 * 384 / 4},
		{1000 * mib, 0, 100 * plan.Work / (1000 * mib)},
	} {
		if got := gcPercentFor(c.live, c.roots, plan.HeapGoal, plan.Work); int64(got) != c.want {
			t.Errorf("gcPercentFor(live %d MiB, roots %d MiB) = %d; want %d", c.live/mib, c.roots/mib, got, c.want)
		}
	}
	for live := int64(mib); live < 2048*mib; live = live*5/4 + 1 {
		for _, roots := range []int64{0, mib, 20 * mib} {
			p := int64(gcPercentFor(live, roots, plan.HeapGoal, plan.Work))
			next := max(live+(live+roots)*p/100, 4*mib*p/100)
			want := max(plan.HeapGoal, live+plan.Work)
			if d := want - next; d < 0 || d > (live+roots)/100+1 {
				t.Errorf("live %d, roots %d: GOGC %d collects at %d; want %d", live, roots, p, next, want)
			}
		}
	}
}

// TestGCTargetOfServe: serve sets the percentage of the rule for the live heap the last
// collection left, which puts the runtime's own heap goal where the plan says, and leaves a
// GOGC in the environment in force.
func TestGCTargetOfServe(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })
	plan := config.PlanMemory(512 << 20)
	log := slog.New(slog.DiscardHandler)

	stop := applyGCTarget(plan, func(k string) string {
		if k == "GOGC" {
			return "150"
		}
		return ""
	}, log)
	stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("with GOGC set, GC percent = %d; want it left at 100", got)
	}

	g := newGCTarget(plan)
	runtime.GC()
	p := g.adjust(true)
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}, {Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	live, roots := int64(s[0].Value.Uint64()), int64(s[1].Value.Uint64()+s[2].Value.Uint64())
	if want := gcPercentFor(live, roots, plan.HeapGoal, plan.Work); p != want {
		t.Errorf("adjust set %d for live %d, roots %d; want %d", p, live, roots, want)
	}
	if got := debug.SetGCPercent(p); got != p {
		t.Errorf("GC percent = %d; want the %d adjust set", got, p)
	}
	if goal := int64(s[3].Value.Uint64()); goal < plan.HeapGoal*95/100 || goal > plan.HeapGoal*105/100 {
		t.Errorf("the runtime's heap goal = %d MiB; want the plan's %d MiB", goal>>20, plan.HeapGoal>>20)
	}

	// A live heap past the goal less the headroom: the next collection at live + headroom.
	func() {
		keep := make([][]byte, 0, 400)
		for range 400 {
			keep = append(keep, make([]byte, 1<<20))
		}
		runtime.GC()
		g.adjust(false)
		metrics.Read(s)
		live = int64(s[0].Value.Uint64())
		want := max(plan.HeapGoal, live+plan.Work)
		if goal := int64(s[3].Value.Uint64()); goal < want*95/100 || goal > want*105/100 {
			t.Errorf("with %d MiB live, the runtime's heap goal = %d MiB; want %d MiB", live>>20, goal>>20, want>>20)
		}
		runtime.KeepAlive(keep)
	}()
	// The live heap the runtime reports is the last collection's: leave it small, for the
	// tests that read it after this one.
	runtime.GC()
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
