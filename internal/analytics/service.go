package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

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
	// RefreshEvery is how often Run folds the feed into the index, so that it never grows
	// large between reports (reports fold it too, before they read); zero means
	// DefaultRefreshEvery.
	RefreshEvery time.Duration
	// RebuildEvery is how often Run reads the whole store again, which drops visitors whose
	// records expired; zero means DefaultRebuildEvery.
	RebuildEvery time.Duration
	// MaxStaleness is how old the snapshot reports read may be while new commits wait: on a
	// busy site a new snapshot (a copy of the index's journeys) is made at most this often,
	// and reports in between share the previous one and its cached results. Zero means
	// DefaultMaxStaleness; a negative value makes every report see every commit.
	MaxStaleness time.Duration
}

// DefaultMaxStaleness is how stale a report may be on a busy site.
const DefaultMaxStaleness = 2 * time.Second

// Service answers report queries over the tracker's journeys. It is safe for concurrent use.
type Service struct {
	src   source
	rules func() *rules.Set
	feed  *Feed
	o     Options
	log   *slog.Logger

	syncMu     sync.Mutex // one build or refresh of the index at a time
	ix         *index
	snap       *snapshot
	rebuilding bool
	replay     []pending // what refreshes folded into the old index during a rebuild

	rollups rollupStore
	cache   resultCache
}

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
	if feed == nil {
		feed = NewFeed(o.Now)
	}
	s := &Service{src: src, rules: set, feed: feed, o: o, log: o.Logger}
	s.rollups.init()
	return s
}

// Run builds the index and keeps it current until ctx ends: it folds the feed in every
// RefreshEvery and rebuilds it from the store every RebuildEvery. The caller owns the
// goroutine that runs it and waits for it to return.
func (s *Service) Run(ctx context.Context) {
	if _, err := s.current(); err != nil {
		s.log.Error("build the report index", "err", err)
	}
	s.warm(ctx)
	built := s.o.Now()
	t := time.NewTicker(s.o.RefreshEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if s.o.Now().Sub(built) >= s.o.RebuildEvery {
			built = s.o.Now()
			if err := s.Rebuild(); err != nil {
				s.log.Error("rebuild the report index", "err", err)
			}
			s.warm(ctx)
			continue
		}
		if _, err := s.current(); err != nil {
			s.log.Error("refresh the report index", "err", err)
		}
	}
}

// warmPeriod is how far back the background job computes the daily rollups the default
// reports read, so that the first dashboard view after a start is fast.
const warmPeriod = 90 * 24 * time.Hour

// warm computes the daily rollups of the attribution and CAC reports with their default
// options over warmPeriod, for every site together.
func (s *Service) warm(ctx context.Context) {
	q, err := NewQuery(map[string]string{}, s.o.Now())
	if err != nil {
		return
	}
	q.From = q.To - warmPeriod.Milliseconds()
	for _, name := range []string{"attribution", "cac"} {
		if ctx.Err() != nil {
			return
		}
		if _, err := s.Report(name, q); err != nil {
			s.log.Warn("compute the daily rollups", "report", name, "err", err)
		}
	}
}

// Refresh makes the next report see every commit so far, however recent the snapshot it
// would share: after a bulk import, for example. The work is the next report's.
func (s *Service) Refresh() {
	s.syncMu.Lock()
	if s.snap != nil {
		s.snap.built = time.Time{}
	}
	s.syncMu.Unlock()
}

// current folds what the feed heard into the index (building it on first use) and returns
// the snapshot of the index as it now stands.
func (s *Service) current() (*snapshot, error) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.ix == nil {
		s.feed.take() // the build reads everything committed before it starts
		ix, err := buildIndex(s.src, s.o.Now().UnixMilli())
		if err != nil {
			return nil, err
		}
		s.ix = ix
		s.rollups.invalidate(math.MinInt64)
	}
	p := s.feed.take()
	if s.rebuilding && !p.empty() {
		s.replay = append(s.replay, p)
	}
	changedAt, err := s.ix.apply(p, s.src)
	if err != nil {
		s.ix, s.snap = nil, nil // what was taken is lost: build afresh next time
		return nil, fmt.Errorf("refresh the report index: %w", err)
	}
	if changedAt != math.MaxInt64 {
		s.rollups.invalidate(dayOf(changedAt))
	}
	now := s.o.Now()
	if p.erased {
		// An erase is seen at once: no report may read the erased visitor from an older
		// snapshot or a cached result.
		s.snap = nil
		s.cache.clear()
	}
	if s.snap == nil || (s.snap.gen != s.ix.gen && now.Sub(s.snap.built) >= s.o.MaxStaleness) {
		s.snap = newSnapshot(s.ix, s.rollups.currentEpoch(), now)
	}
	return s.snap, nil
}

// Rebuild reads the whole store into a new index while reports go on using the current
// one, then swaps it in. Visitors whose records expired since the last build drop out.
func (s *Service) Rebuild() error {
	s.syncMu.Lock()
	if s.rebuilding {
		s.syncMu.Unlock()
		return errors.New("a rebuild is already running")
	}
	if s.ix == nil {
		s.syncMu.Unlock()
		_, err := s.current()
		return err
	}
	s.rebuilding = true
	s.replay = nil
	s.syncMu.Unlock()

	// Commits made while the build reads the store are folded into the old index by
	// refreshes meanwhile, which keep what they took in s.replay for the new index.
	ix, err := buildIndex(s.src, s.o.Now().UnixMilli())

	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.rebuilding = false
	replay := s.replay
	s.replay = nil
	if err != nil {
		return err
	}
	replay = append(replay, s.feed.take())
	for _, p := range replay {
		if _, err := ix.apply(p, s.src); err != nil {
			return err
		}
	}
	ix.gen = s.ix.gen + 1
	s.ix, s.snap = ix, nil
	s.rollups.invalidate(math.MinInt64)
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
	snap, err := s.current()
	if err != nil {
		return nil, err
	}
	// A result holds for one snapshot, one rule set and, for reports that read it, one
	// spend: a reload or a new spend file shows in the next report.
	set := s.rules()
	key := q.key(name) + "\x00" + set.Version()
	var spend []report.Spend
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
	if r := s.cache.get(snap.gen, key); r != nil {
		return r, nil
	}
	if q.Options == nil {
		q.Options = map[string]string{}
	}
	rc := &reportCtx{s: s, snap: snap, v: snap.view(q.Site), q: q, o: opts{m: q.Options}, set: set, spend: spend, currency: currency, now: s.o.Now()}
	data, err := def.run(rc)
	if err == nil {
		err = rc.o.err
	}
	if err != nil {
		return nil, err
	}
	r := &Result{Report: name, From: q.From, To: q.To, Site: q.Site, GeneratedAt: rc.now.UnixMilli(), Data: data}
	s.cache.put(snap.gen, key, r)
	return r, nil
}

// reportCtx is what a report function reads: the journeys of the site, the query and its
// options, the rules in force, the spend (for the reports that read it) and the clock.
type reportCtx struct {
	s     *Service
	snap  *snapshot
	v     *view
	q     Query
	o     opts
	set   *rules.Set
	spend []report.Spend
	// currency is the spend's currency, for the reports that show it.
	currency string
	now      time.Time
}

// resultCache keeps the results of one snapshot generation.
type resultCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]*Result
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
	c.gen, c.m = 0, nil
}

func (c *resultCache) put(gen uint64, key string, r *Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.m == nil || len(c.m) >= maxCached {
		c.gen, c.m = gen, map[string]*Result{}
	}
	c.m[key] = r
}
