package config

import (
	"fmt"
	"strconv"
)

// MinMemory is the smallest memory budget: below it Badger's memtables (at least 32 MiB
// each, see MemoryPlan) would take most of it.
const MinMemory = 256 << 20

// MemoryPlan is how a memory budget is shared out. Every part is a fixed share of the
// budget, so raising --memory raises them all; what is left over (Work) is the headroom of
// the hit path, the reports in flight and the Go runtime.
type MemoryPlan struct {
	Budget int64
	// MemTable is the size of one Badger memtable and MemTables how many Badger keeps
	// (one taking writes, the others waiting to be flushed): 3/16 of the budget together,
	// and at least 32 MiB each, since a memtable bounds a transaction (an erasure writes up
	// to 34,000 keys at once). A disk reserve may make them smaller (store.Options).
	MemTable  int64
	MemTables int
	// BlockCache is Badger's cache of decompressed table blocks (1/8) and IndexCache its
	// cache of table indexes and Bloom filters (1/16): without a bound the index cache
	// grows with the size of the store.
	BlockCache int64
	IndexCache int64
	// StateCache is the tracker's cache of encoded visitor states (1/8).
	StateCache int64
	// ReportCache bounds the report results and daily rollups kept in memory (1/16).
	ReportCache int64
	// Work is what is left (7/16): hits in flight, report working sets, the runtime.
	Work int64
	// GoLimit is the soft limit of the Go runtime (debug.SetMemoryLimit, GOMEMLIMIT): the
	// budget less the part of Badger's memory the Go heap does not hold (table files are
	// mapped, not allocated), so the garbage collector works harder before the process
	// outgrows the budget.
	GoLimit int64
}

// PlanMemory shares out a budget of b bytes.
func PlanMemory(b int64) MemoryPlan {
	p := MemoryPlan{Budget: b, MemTables: 3, MemTable: max(b/16, 32<<20)}
	p.BlockCache = b / 8
	p.IndexCache = b / 16
	p.StateCache = b / 8
	p.ReportCache = b / 16
	p.Work = b - int64(p.MemTables)*p.MemTable - p.BlockCache - p.IndexCache - p.StateCache - p.ReportCache
	p.GoLimit = b - b/16
	return p
}

// MemoryPlan shares out the configured budget.
func (c *Config) MemoryPlan() MemoryPlan { return PlanMemory(c.Memory) }

// String lists the parts in MiB, for the log.
func (p MemoryPlan) String() string {
	mib := func(n int64) string { return strconv.FormatInt(n>>20, 10) + "MiB" }
	return fmt.Sprintf("budget %s: badger memtables %d×%s, block cache %s, index cache %s; state cache %s, report cache %s; headroom %s; GOMEMLIMIT %s",
		mib(p.Budget), p.MemTables, mib(p.MemTable), mib(p.BlockCache), mib(p.IndexCache), mib(p.StateCache), mib(p.ReportCache), mib(p.Work), mib(p.GoLimit))
}
