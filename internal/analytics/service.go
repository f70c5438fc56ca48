package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/report"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/track"
)

// Defaults of the background job.
const (
	DefaultRefreshEvery = 2 * time.Second
	DefaultRebuildEvery = 24 * time.Hour
)

// Options configure a Service.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Spend loads the marketing spend for CAC and ROAS; nil means none.
	Spend func() ([]report.Spend, error)
	// Store is the byte-level store the report store lives in: the tracker's own store
	// (unwatched), so that what reports read survives a restart. Nil keeps the report store
	// in memory, filled from the tracker's journeys at first use.
	Store track.Store
	// Retention is how long report records are kept after their last change; it should be
	// the tracker's. Zero keeps them until their visitor is erased.
	Retention time.Duration
	// CacheBytes bounds the report results kept in memory (a share of the memory budget);
	// zero means DefaultCacheBytes.
	CacheBytes int64
	// RefreshEvery is how often Run folds the feed into the report store; zero means
	// DefaultRefreshEvery.
	RefreshEvery time.Duration
	// RebuildEvery is how often Run recounts segment reach from every record (records that
	// expire are not subtracted as they go); zero means DefaultRebuildEvery.
	RebuildEvery time.Duration
	// MaxStaleness is how old the data reports read may be while new commits wait: on a
	// busy site commits are folded in for reports at most this often, and reports in
	// between share the cached results. Zero means DefaultMaxStaleness; a negative value
	// makes every report see every commit.
	MaxStaleness time.Duration
	// AfterReport, when set, is called on the report worker after each report or piece of
	// background work it ran, before the caller has its answer: serve gives the store's
	// request for a trim of the table pages the report mapped into the process
	// (store.DB.TrimSoon), which returns at once; the trim runs on the store's goroutine.
	AfterReport func()
}

// DefaultMaxStaleness is how stale a report may be on a busy site.
const DefaultMaxStaleness = 2 * time.Second

// DefaultCacheBytes is the default bound of the result cache.
const DefaultCacheBytes = 32 << 20

// Service answers report queries over the tracker's journeys. It is safe for concurrent use.
//
// Its data is the report store (package reportstore): one record per visitor and day keys,
// written by folding what the feed heard, and read by reports a period at a time. Folds
// take the write side of mu and reports the read side, so a report reads one consistent
// state of the store and never a fold half done.
type Service struct {
	src   source
	rules func() *rules.Set
	feed  *Feed
	rs    *reportstore.Store
	o     Options
	log   *slog.Logger

	mu       sync.RWMutex // write: a fold or a build step; read: a report
	ready    bool         // the store holds every journey (built, or opened clean or open)
	crashed  bool         // the store was found open: see takeCrashed
	isReady  atomic.Bool  // ready, read without the lock
	gen      uint64       // counts folds that changed something, for the result cache
	folded   atomic.Int64 // when the last fold ran, Unix ns by the service's clock; 0: never
	rebuild  rebuildState // a background rebuild, guarded by mu
	bgMu     sync.Mutex   // one background rebuild at a time
	cache    resultCache
	work     chan func() // to the report worker
	workOnce sync.Once
	// scratch is the chunk memory of the reports' scans, used on the report worker only.
	scratch *reportstore.Scratch
	// paths is the memory of the daily path tables a report adds up, used on the report
	// worker only.
	paths    *report.PathArena
	newDuty  func() *dutyCycle // the duty cycle of each report (nil: newReportDuty)
	closed   bool
	closedMu sync.Mutex
	// packFrom is the first day the background job may find unpacked; only Run's
	// goroutine (and Pack) use it.
	packFrom int64
	// recordParts, when set, replaces the parts of a record each report states it reads
	// (see reportCtx.parts): the tests decode records whole, or not at all, to compare.
	recordParts func(reportstore.Parts) reportstore.Parts
}

// source is what the service reads of the tracker.
type source interface {
	Events(from, to int64, fn func(rec []byte) error) error
	Visitors(fn func(*journey.State) error) error
	State(vid string, st *journey.State) (bool, error)
	Visitor(vid string) (*journey.State, error)
}

var _ source = (*track.Tracker)(nil)

// New returns a Service over the tracker's journeys and rules. feed is the Feed the
// tracker's store reports its commits to (see track.Watch); nil for a store that does not
// change, as when a command reads a stopped server's data directory.
func New(tr *track.Tracker, feed *Feed, o Options) *Service {
	return newService(tr, tr.Rules, feed, o)
}

func newService(src source, set func() *rules.Set, feed *Feed, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RefreshEvery <= 0 {
		o.RefreshEvery = DefaultRefreshEvery
	}
	if o.RebuildEvery <= 0 {
		o.RebuildEvery = DefaultRebuildEvery
	}
	if o.MaxStaleness == 0 {
		o.MaxStaleness = DefaultMaxStaleness
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if feed == nil {
		feed = NewFeed(o.Now)
	}
	kv := o.Store
	if kv == nil {
		kv = reportstore.NewMemory()
	}
	s := &Service{src: src, rules: set, feed: feed, rs: reportstore.New(kv, o.Retention), o: o, log: o.Logger}
	s.cache.limit = o.CacheBytes
	return s
}

// Run keeps the report store current until ctx ends: it opens the store (a server that
// stopped cleanly left it complete; one that crashed has it rebuilt in the background,
// while reports read it as it is), folds the feed in every RefreshEvery, recounts segment
// reach every RebuildEvery, and computes the default reports' daily rollups in the
// background, paced (see pacer). The caller owns the goroutine that runs it and waits for
// it to return; Close then records a clean stop.
func (s *Service) Run(ctx context.Context) {
	if err := s.open(); err != nil {
		s.log.Error("open the report store", "err", err)
	}
	if s.takeCrashed() {
		s.log.Warn("the report store was not closed cleanly: rebuilding it in the background")
		if err := s.rebuildIn(ctx, pacer(ctx)); err != nil && ctx.Err() == nil {
			s.log.Error("rebuild the report store", "err", err)
		}
	}
	s.warm(ctx)
	recounted := s.o.Now()
	t := time.NewTicker(s.o.RefreshEvery)
	defer t.Stop()
	version := s.rules().Version()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.fold(true); err != nil {
			s.log.Error("refresh the report store", "err", err)
		}
		if err := s.packDays(ctx, packBudget, pacer(ctx)); err != nil && ctx.Err() == nil {
			s.log.Error("pack the report store's closed days", "err", err)
		}
		if s.o.Now().Sub(recounted) >= s.o.RebuildEvery {
			recounted = s.o.Now()
			s.packFrom = 0 // a backdated write may have filed records under a day never packed
			// Under the fold lock, so that no fold changes the counts meanwhile: reports
			// wait for it (a few seconds a day at a million visitors), hits do not.
			s.mu.Lock()
			err := s.rs.Recount(func() error { return ctx.Err() })
			s.mu.Unlock()
			if err != nil && ctx.Err() == nil {
				s.log.Error("recount segment reach", "err", err)
			}
			s.warm(ctx)
		}
		if v := s.rules().Version(); v != version {
			// New rules change the definitions reports use (steps, funnels), not the
			// records: the default reports are computed again, in the background.
			version = v
			s.warm(ctx)
		}
	}
}

// warmPeriod is how many days back the background job computes the daily rollups the
// default reports read, so that the first dashboard view after a start is fast.
const warmPeriod = 90

// warm computes the daily rollups of the attribution report (every model, default options,
// every site together; CAC reads the same) over the last warmPeriod closed days, newest
// first, a week at a time with a pause after each (see pacer), then the overview's over
// twice as many (its period and the one before), two weeks at a time (a week's overview
// computes the week before too): a background job that holds the report slot for a week's
// or two weeks' work at most, and that a report asking for the same days only ever
// shortens.
func (s *Service) warm(ctx context.Context) {
	pause := pacer(ctx)
	today := dayOf(s.o.Now().UnixMilli())
	steps := []struct {
		report     string
		days, step int64
	}{{"attribution", warmPeriod, 7}, {"overview", 2 * warmPeriod, 14}}
	for _, w := range steps {
		for d := today; d > today-w.days; d -= w.step {
			if ctx.Err() != nil {
				return
			}
			q := Query{From: max(d-7, today-w.days) * dayMS, To: d * dayMS, Options: map[string]string{}}
			if _, err := s.Report(w.report, q); err != nil {
				s.log.Warn("compute the daily rollups", "report", w.report, "err", err)
				return
			}
			if pause() != nil {
				return
			}
		}
	}
}

// open makes the store ready for reports: built from the tracker's journeys when it never
// was (the first start of this version, or a store kept in memory), and marked open for
// writing. When a server using it stopped without closing it, takeCrashed reports so once.
func (s *Service) open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready {
		return nil
	}
	state, err := s.rs.State()
	switch {
	case errors.Is(err, reportstore.ErrNotBuilt):
		s.feed.take() // the build reads everything committed before it starts
		if err := s.build(); err != nil {
			return err
		}
	case err != nil:
		return err
	case state == reportstore.StateOpen:
		s.crashed = true
	}
	if err := s.rs.SetState(reportstore.StateOpen); err != nil {
		// Reports go on (a full disk refuses writes, not reads); a later crash then looks
		// like a clean stop, and the commits of its last seconds wait for the next rebuild.
		s.log.Warn("mark the report store open", "err", err)
	}
	s.ready = true
	s.isReady.Store(true)
	s.gen++
	return nil
}

// takeCrashed reports, once, whether the store was found open: the server that wrote it
// stopped without Close, so the commits of its last seconds may be missing.
func (s *Service) takeCrashed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.crashed
	s.crashed = false
	return c
}

// Open makes the report store ready for reports, as the first report would; a store a
// server left open (it crashed) is rebuilt before Open returns. A command that reads a
// stopped server's data directory calls it first, and Close at the end.
func (s *Service) Open() error {
	if err := s.open(); err != nil {
		return err
	}
	if s.takeCrashed() {
		return s.rebuildIn(context.Background(), nil)
	}
	return nil
}

// Close folds what the feed still holds and records a clean stop, so that the next start
// reads the store as it is. Call it once the tracker takes no more hits.
func (s *Service) Close() error {
	s.closedMu.Lock()
	defer s.closedMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if !s.isReady.Load() {
		return nil // never opened: nothing of this run to record
	}
	if err := s.fold(true); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ready {
		return nil
	}
	return s.rs.SetState(reportstore.StateClean)
}

// Refresh makes the next report see every commit so far, however recent the last fold:
// after a bulk import, for example. The work is the next report's.
func (s *Service) Refresh() {
	s.folded.Store(0)
}

// Flush writes what the feed heard into the report store now: a bulk import calls it every
// few thousand visitors, so that the feed never holds many.
func (s *Service) Flush() error { return s.fold(true) }

// fold writes what the feed heard into the report store: always when force is set, else
// when the last fold is older than MaxStaleness.
func (s *Service) fold(force bool) error {
	if !s.isReady.Load() {
		if err := s.open(); err != nil {
			return err
		}
	}
	now := s.o.Now().UnixNano()
	// An erase is seen at once: no report may read the erased visitor from the store or a
	// cached result, however recent the last fold.
	erased := s.feed.hasErase()
	if last := s.folded.Load(); !force && !erased && s.o.MaxStaleness >= 0 && last != 0 && now-last < s.o.MaxStaleness.Nanoseconds() {
		return nil
	}
	s.folded.Store(now)
	if !s.feed.hasPending() {
		return nil // nothing to fold: no need to wait for the reports running
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.feed.take()
	if p.empty() {
		return nil
	}
	s.rebuild.note(p)
	s.gen++ // the results cached so far are of an older store: an erase's among them
	if p.erased {
		s.cache.clear()
	}
	if err := s.apply(p); err != nil {
		s.feed.restore(p) // tried again at the next fold
		return fmt.Errorf("refresh the report store: %w", err)
	}
	return nil
}

// Result is one report: the payload of the reports API.
type Result struct {
	Report      string `json:"report"`
	From        int64  `json:"from"`
	To          int64  `json:"to"`
	Site        string `json:"site"`
	GeneratedAt int64  `json:"generated_at"`
	Data        any    `json:"data"`
}

// Report computes the report called name for q. Errors are *QueryError for a query the
// report cannot answer, *SpendError for a spend file that cannot be read, ErrUnknownReport
// (wrapped) for an unknown name, and otherwise the store's.
func (s *Service) Report(name string, q Query) (*Result, error) {
	def, ok := reportDefs[name]
	if !ok {
		return nil, fmt.Errorf("%w %q: want one of %s", ErrUnknownReport, name, ReportNames())
	}
	if err := UnknownParams(name, slices.Collect(maps.Keys(q.Options))); err != nil {
		return nil, err
	}
	if err := s.fold(false); err != nil {
		// The store refused the writes (a full disk, say): the report reads it as it is,
		// and the next fold tries again.
		s.log.Warn("refresh the report store", "err", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	// A result holds for one state of the store, one rule set and, for reports that read
	// it, one spend: a reload or a new spend file shows in the next report.
	set := s.rules()
	key := q.key(name) + "\x00" + set.Version()
	var (
		spend []report.Spend
		err   error
	)
	if def.spend {
		if spend, err = s.loadSpend(); err != nil {
			return nil, err
		}
		key += "\x00" + spendDigest(spend)
	}
	currency := ""
	if def.currency {
		if rows, err := s.loadSpend(); err == nil {
			currency = spendCurrency(rows)
		}
		key += "\x00" + currency
	}
	if r := s.cache.get(s.gen, key); r != nil {
		return r, nil
	}
	if q.Options == nil {
		q.Options = map[string]string{}
	}
	rc := &reportCtx{s: s, rs: s.rs, q: q, o: opts{m: q.Options}, set: set, spend: spend, currency: currency, now: s.o.Now()}
	var data any
	s.onWorker(func() {
		rc.duty = s.reportDuty()
		if s.scratch == nil {
			s.scratch = reportstore.NewScratch()
		}
		rc.scratch = s.scratch
		if s.paths == nil {
			s.paths = &report.PathArena{}
		}
		rc.paths = s.paths
		data, err = def.run(rc)
	})
	if err == nil {
		err = rc.o.err
	}
	if err != nil {
		return nil, err
	}
	r := &Result{Report: name, From: q.From, To: q.To, Site: q.Site, GeneratedAt: rc.now.UnixMilli(), Data: data}
	// What the result costs to keep: about its size as JSON, which is what it is for.
	cost := int64(1 << 20)
	if b, err := json.Marshal(data); err == nil {
		cost = int64(len(b))
	}
	s.cache.put(s.gen, key, r, cost)
	return r, nil
}

// reportCtx is what a report function reads: the report store, the query and its options,
// the rules in force, the spend (for the reports that read it) and the clock.
type reportCtx struct {
	s     *Service
	rs    *reportstore.Store
	q     Query
	o     opts
	set   *rules.Set
	spend []report.Spend
	// currency is the spend's currency, for the reports that show it.
	currency string
	now      time.Time
	// direct holds the journeys of the pieces of the period that are not kept as rollups
	// (a part of a day, today), read once for every model of the report.
	direct map[directKey][]report.Journey
	// duty paces the report's scans (nil: unpaced).
	duty *dutyCycle
	// scratch is the report worker's chunk memory for the scans (nil: pooled), reused
	// by the reports it runs one after another.
	scratch *reportstore.Scratch
	// paths is the report worker's memory for the daily path tables that pathTable adds up
	// (nil: their own), reused the same way.
	paths *report.PathArena
}

// resultCache keeps the results of one generation of the store, up to a byte bound.
type resultCache struct {
	mu    sync.Mutex
	gen   uint64
	m     map[string]*Result
	bytes int64
	limit int64
}

// maxCached bounds the results kept for one generation.
const maxCached = 256

func (c *resultCache) get(gen uint64, key string) *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return nil
	}
	return c.m[key]
}

// clear drops every result.
func (c *resultCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen, c.m, c.bytes = 0, nil, 0
}

func (c *resultCache) put(gen uint64, key string, r *Result, cost int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cost = max(cost, 4096)
	if c.gen != gen || c.m == nil || len(c.m) >= maxCached || c.bytes+cost > c.limit {
		c.gen, c.m, c.bytes = gen, map[string]*Result{}, 0
	}
	if cost > c.limit {
		return
	}
	c.m[key] = r
	c.bytes += cost
}

// onWorker runs fn on the report worker and waits for it. The worker is one goroutine
// locked to an OS thread of the lowest priority (nice 19): reports, and the background work
// that shares it (packing closed days, the default reports' rollups), are computed one at a
// time (they queue; cached results are not held up), and when reports and hits both want a
// core, the operating system gives it to the hits. On a quiet machine that kept the hits'
// p99 at 1.0–1.1 ms while 365-day reports ran, against 3.6–4.0 ms for the worker at the
// normal priority (docs/performance.md). Its cost: a collection stops the world only once
// every running goroutine has reached a safe point, so on a machine whose cores other
// processes keep busy, the niced thread is slow to get there and the stop waits with it.
// A report hands the collections its garbage sets off to a thread of the normal priority
// (gchandoff.go), so that the world is not stopped by, nor waits for, the worker's thread.
// Pacing (pace.go) also pauses a report between its chunks while the hits want every core,
// and serve runs one more Go processor than cores, so that the worker never holds the last
// one while hits wait.
func (s *Service) onWorker(fn func()) {
	s.workOnce.Do(func() {
		s.work = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread keeps its priority to itself
			if err := lowerThreadPriority(); err != nil {
				s.log.Warn("lower the priority of the report thread", "err", err)
			}
			for f := range s.work {
				f()
			}
		}()
	})
	done := make(chan any, 1)
	s.work <- func() {
		defer func() { done <- recover() }()
		fn()
		if s.o.AfterReport != nil {
			// Before the answer: once a report is answered, what it mapped is being dropped.
			s.o.AfterReport()
		}
	}
	if p := <-done; p != nil {
		panic(p) // on the caller's goroutine, as if it had run there
	}
}

// reportDuty returns the duty cycle of a report about to run.
func (s *Service) reportDuty() *dutyCycle {
	if s.newDuty != nil {
		return s.newDuty()
	}
	return newReportDuty()
}
