package analytics

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/pathlight/pathlight/internal/report"
)

// Daily rollups. A path table or an attribution over a period is the sum of its parts: every
// conversion and every non-converting journey belongs to exactly one UTC day (the day of
// the conversion, or of the journey's expiry), and its path and credits depend only on the
// journey before that moment. So the figures of a closed day (one that ended before today)
// are computed once, from the journeys that convert or expire that day, kept, and summed
// with the other days of a period. A commit that changes a journey at time t drops the
// rollups of t's day and every later day; live traffic only ever changes today, which is
// never kept.

// maxRollups bounds the rollups kept: a year of days for a few sites and option sets.
const maxRollups = 20000

// rollupKey names one day's figures for one site and one set of options.
type rollupKey struct {
	site string
	day  int64
	what string // pathKey of the options, then the model's key when it is an attribution
}

// invalidation is one drop of rollups, from a day on.
type invalidation struct {
	epoch uint64
	from  int64
}

// rollupStore keeps daily rollups. Values are *report.PathTable or *report.Attribution and
// are never changed once stored.
type rollupStore struct {
	mu    sync.Mutex
	epoch uint64
	m     map[rollupKey]any
	log   []invalidation // the latest drops, for computations that began before them
}

const invalidationLog = 1024

func (r *rollupStore) init() { r.m = map[rollupKey]any{} }

// invalidate drops the rollups of day from and later.
func (r *rollupStore) invalidate(from int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.epoch++
	for k := range r.m {
		if k.day >= from {
			delete(r.m, k)
		}
	}
	r.log = append(r.log, invalidation{r.epoch, from})
	if len(r.log) > invalidationLog {
		r.log = r.log[len(r.log)-invalidationLog:]
	}
}

// get returns a rollup, nil when none is kept.
func (r *rollupStore) get(k rollupKey) any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[k]
}

// currentEpoch counts the drops so far: a snapshot made now holds every change dropped so
// far.
func (r *rollupStore) currentEpoch() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.epoch
}

// put keeps v, computed from a snapshot made at epoch, unless a change to its day came
// after the snapshot: then v is already out of date.
func (r *rollupStore) put(k rollupKey, v any, epoch uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if epoch != r.epoch {
		if len(r.log) == 0 || r.log[0].epoch > epoch+1 {
			return // too old to tell
		}
		for _, inv := range r.log {
			if inv.epoch > epoch && inv.from <= k.day {
				return
			}
		}
	}
	if len(r.m) >= maxRollups {
		clear(r.m)
	}
	r.m[k] = v
}

// piece is a part of a period: a closed day whose rollup is kept, or a range computed from
// the journeys directly.
type piece struct {
	from, to int64
	day      int64 // the day, for a kept rollup; -1 << 62 for a direct range
}

const noDay = -1 << 62

// pieces splits [from, to) into the closed whole days before today (kept as rollups) and the
// ranges before and after them.
func pieces(from, to, now int64) []piece {
	today := dayOf(now) * dayMS
	first := dayOf(from) * dayMS
	if first < from {
		first += dayMS
	}
	end := min(dayOf(to)*dayMS, today)
	if first >= end {
		return []piece{{from, to, noDay}}
	}
	var ps []piece
	if from < first {
		ps = append(ps, piece{from, first, noDay})
	}
	for t := first; t < end; t += dayMS {
		ps = append(ps, piece{t, t + dayMS, dayOf(t)})
	}
	if end < to {
		ps = append(ps, piece{end, to, noDay})
	}
	return ps
}

// pathOptsKey is the part of the rollup key that path options decide.
func pathOptsKey(po *report.PathOptions) string {
	steps := slices.Clone(po.Steps)
	slices.Sort(steps)
	return fmt.Sprintf("l%d r%t f%t s%s", po.Lookback.Milliseconds(), po.KeepRepeats, po.FirstOnly, strings.Join(steps, ","))
}

// modelKey is the part of the rollup key that a heuristic model's options decide.
func modelKey(ao *report.AttributionOptions) string {
	return string(ao.Model) + " " + strconv.FormatFloat(ao.FirstWeight, 'g', -1, 64) + " " +
		strconv.FormatFloat(ao.LastWeight, 'g', -1, 64) + " " + ao.HalfLife.String()
}

// rollupParts returns one part per piece of the query's period: a kept day's part from the
// rollups when it is there, else built from the journeys attributable in the piece (and kept
// when the piece is a whole day). key names what build computes, apart from the period.
func rollupParts[T any](rc *reportCtx, po report.PathOptions, key string, build func([]report.Journey, report.PathOptions) (T, error)) ([]T, error) {
	l := po.LookbackMS()
	var parts []T
	for _, p := range pieces(rc.q.From, rc.q.To, rc.now.UnixMilli()) {
		k := rollupKey{rc.q.Site, p.day, key}
		if p.day != noDay {
			if v := rc.s.rollups.get(k); v != nil {
				parts = append(parts, v.(T))
				continue
			}
		}
		o := po
		o.From, o.To = p.from, p.to
		part, err := build(rc.v.attributable(p.from, p.to, l), o)
		if err != nil {
			return nil, err
		}
		if p.day != noDay {
			rc.s.rollups.put(k, part, rc.snap.epoch)
		}
		parts = append(parts, part)
	}
	return parts, nil
}

// pathTable returns the path table of the site's journeys over the query's period.
func (rc *reportCtx) pathTable(po report.PathOptions) (*report.PathTable, error) {
	parts, err := rollupParts(rc, po, pathOptsKey(&po), report.BuildPaths)
	if err != nil {
		return nil, err
	}
	t := &report.PathTable{}
	for _, part := range parts {
		t.Merge(part)
	}
	t.Sort()
	return t, nil
}

// attribution runs a model over the query's period: heuristic models sum daily credits;
// the Markov chain and Shapley values run on the period's path table, which sums daily
// tables.
func (rc *reportCtx) attribution(po report.PathOptions, ao report.AttributionOptions) (*report.Attribution, error) {
	if ao.Model == report.MarkovChain || ao.Model == report.Shapley {
		t, err := rc.pathTable(po)
		if err != nil {
			return nil, err
		}
		return report.AttributePaths(t, ao)
	}
	parts, err := rollupParts(rc, po, pathOptsKey(&po)+" "+modelKey(&ao),
		func(js []report.Journey, o report.PathOptions) (*report.Attribution, error) {
			return report.AttributeJourneys(js, o, ao)
		})
	if err != nil {
		return nil, err
	}
	return report.MergeAttributions(ao.Model, parts), nil
}
