package config

import (
	"fmt"
	"strconv"
)

// MinMemory is the smallest memory budget: below it the fixed parts of the plan (the table
// builders and memtables of Badger's two instances at their smallest, the caches) would
// leave too little for the hits in flight and the reports.
const MinMemory = 384 << 20

// MemoryPlan is how a memory budget is shared out: every large, long-lived user of the Go
// heap has a share, and what is left (Work) is the headroom of the hits in flight, the
// reports running and the Go runtime. Raising --memory raises every share.
type MemoryPlan struct {
	Budget int64
	// MemTable is the size of one Badger memtable, and of every table Badger writes,
	// flushed or compacted (1/256 of the budget, a power of two from 2 to 16 MiB: 2 MiB at
	// 512 MiB; smaller tables made Badger take writes three times slower); MemTables is how many memtables Badger keeps (one taking writes, the others
	// waiting for their flush). MemTableMemory is what they hold: each memtable's skiplist
	// takes 1.3 times its size.
	MemTable       int64
	MemTables      int
	MemTableMemory int64
	// Builders is the memory of Badger's table builders, in which flushes and compactions
	// build tables (88 MiB at 512 MiB): sixteen buffers of twice the table size, the eight
	// Badger's pool keeps and as many in flight beside them, and a 3 MiB index for each
	// table being written. Without compression, with one
	// table size at every level and blocks that take Pathlight's largest records, a table
	// always fits its builder's first buffer, so this does not grow with the store.
	Builders int64
	// IndexCache bounds Badger's cache of table indexes and Bloom filters (1/32): without a
	// bound it grows with the size of the store. There is no block cache: tables are not
	// compressed, so blocks are read from the mapped table files (the kernel's page cache).
	IndexCache int64
	// The event store, the second Badger instance that holds the event log (its records in
	// its value log, its tree only keys): EventMemTables memtables of EventMemTable (1 MiB,
	// two), EventMemTableMemory as for the main instance, EventBuilders its own pool of
	// table builders (Badger keeps one per instance: 56 MiB), and EventIndexCache (1/32).
	EventMemTable       int64
	EventMemTables      int
	EventMemTableMemory int64
	EventBuilders       int64
	EventIndexCache     int64
	// StateCache is the tracker's cache of encoded visitor states (1/8).
	StateCache int64
	// ReportCache bounds the report results and daily rollups kept in memory (1/16).
	ReportCache int64
	// Backlog bounds the writes in the write-ahead log that Badger does not hold yet (the
	// store's overlay, 1/4, at least 32 MiB, and less when that would leave less than an
	// eighth of the budget for Work): beyond it hits are refused (503 overloaded).
	// The applier starts a batch once an eighth of it waits, and holds the ops of keys a
	// batch rewrites for up to 4 s within another eighth, so it is reached only when Badger
	// falls behind.
	Backlog int64
	// Work is what is left: hits in flight, report working sets, garbage between two
	// collections, the runtime.
	Work int64
	// Mapped is how much of Badger's memory-mapped tables and value logs may stay resident
	// in the process before the store drops its mappings of their pages (1/16;
	// store.Options.MappedLimit):
	// not Go heap, and not counted in the shares above, but in the process's resident set.
	// The store also drops them after every report.
	Mapped int64
	// HeapGoal is where serve aims the garbage collector's next collection (three quarters
	// of the budget): after each collection it sets the percentage that puts the next one
	// there, or at the live heap plus Work if that is more, so that the heap follows the
	// budget rather than a multiple of what is live.
	HeapGoal int64
	// GoLimit is the soft limit of the Go runtime (debug.SetMemoryLimit, GOMEMLIMIT): the
	// budget less 1/16 for what the Go heap does not count (goroutine stacks, the runtime's
	// own structures).
	GoLimit int64
}

// PlanMemory shares out a budget of b bytes.
func PlanMemory(b int64) MemoryPlan {
	p := MemoryPlan{Budget: b, MemTables: 3, MemTable: 2 << 20}
	for p.MemTable < 16<<20 && p.MemTable*2 <= b/256 {
		p.MemTable *= 2
	}
	// As store.MemTableMemory and store.TableBuilderMemory compute them (config imports no
	// storage; a test in cmd/pathlight keeps the two equal).
	p.MemTableMemory = int64(p.MemTables) * memTableMemory(p.MemTable)
	p.Builders = builders(p.MemTable)
	p.IndexCache = b / 32
	p.EventMemTable, p.EventMemTables = 1<<20, 2
	p.EventMemTableMemory = int64(p.EventMemTables) * memTableMemory(p.EventMemTable)
	p.EventBuilders = builders(p.EventMemTable)
	p.EventIndexCache = b / 32
	p.StateCache = b / 8
	p.ReportCache = b / 16
	fixed := p.MemTableMemory + p.Builders + p.IndexCache + p.EventMemTableMemory + p.EventBuilders + p.EventIndexCache + p.StateCache + p.ReportCache
	p.Backlog = max(min(b/4, b-b/8-fixed), 32<<20)
	p.Work = b - fixed - p.Backlog
	p.Mapped = b / 16
	p.HeapGoal = b / 4 * 3
	p.GoLimit = b - b/16
	return p
}

// memTableMemory and builders are store.MemTableMemory and store.TableBuilderMemory for a
// power-of-two memtable size (config imports no storage; a test in cmd/pathlight keeps them
// equal).
func memTableMemory(m int64) int64 { return m + 2*(15*m/100) }

func builders(m int64) int64 { return 16*2*m + 8*3<<20 }

// MemoryPlan shares out the configured budget.
func (c *Config) MemoryPlan() MemoryPlan { return PlanMemory(c.Memory) }

// String lists the parts in MiB, for the log.
func (p MemoryPlan) String() string {
	mib := func(n int64) string { return strconv.FormatInt(n>>20, 10) + "MiB" }
	return fmt.Sprintf("budget %s: badger memtables %d×%s (%s), table builders %s, index cache %s; event store memtables %d×%s (%s), table builders %s, index cache %s; write backlog %s; state cache %s, report cache %s; headroom %s; mapped tables %s; heap goal %s; GOMEMLIMIT %s",
		mib(p.Budget), p.MemTables, mib(p.MemTable), mib(p.MemTableMemory), mib(p.Builders), mib(p.IndexCache),
		p.EventMemTables, mib(p.EventMemTable), mib(p.EventMemTableMemory), mib(p.EventBuilders), mib(p.EventIndexCache), mib(p.Backlog),
		mib(p.StateCache), mib(p.ReportCache), mib(p.Work), mib(p.Mapped), mib(p.HeapGoal), mib(p.GoLimit))
}
