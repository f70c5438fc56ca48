package analytics

import (
	"encoding"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/report"
)

// Daily rollups. A path table or an attribution over a period is the sum of its parts: every
// conversion and every non-converting journey belongs to exactly one UTC day (the day of
// the conversion, or of the journey's expiry), and its path and credits depend only on the
// journey before that moment. So the figures of a closed day (one that ended before today)
// are computed once, from the journeys that convert or expire that day, kept in the report
// store, and summed with the other days of a period. A change to a journey at time t drops
// the rollups of t's day and every later day (reportstore.Store.Put); live traffic only
// ever changes today, which is never kept.

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
// report store when it is there, else built from the journeys attributable in the piece
// (and kept when the piece is a whole day). key names what build computes, apart from the
// period; merge adds up the parts of disjoint sets of visitors.
//
// The pieces not kept are computed in one scan of the store over all of them: each
// visitor's journey goes to the pieces it is attributable in, and each piece builds a part
// every pieceBatch journeys and adds the parts up. A piece's journeys come in the store's
// order whatever the other pieces are, so its rollup is the same however it was asked for.
func rollupParts[T rollup](rc *reportCtx, po report.PathOptions, key string, decode func([]byte) (T, error), build func([]report.Journey, report.PathOptions) (T, error), merge func(a, b T) T) ([]T, error) {
	l := po.LookbackMS()
	ps := pieces(rc.q.From, rc.q.To, rc.now.UnixMilli())
	parts := make([]T, len(ps))
	kept := make([]bool, len(ps))
	first, at := keptDays(ps)
	err := rc.rs.EachRollup(rc.q.Site, first, first+int64(len(at))-1, []string{key}, func(day int64, _ string, b []byte) error {
		part, err := decode(b)
		if i := at[day-first]; err == nil { // else an older encoding: computed again
			parts[i], kept[i] = part, true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var missing []int
	for i := range ps {
		if !kept[i] {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return parts, nil
	}
	type acc struct {
		o      report.PathOptions
		buf    []report.Journey
		part   T
		has    bool
		direct bool // a part of a day, or today: not kept, its journeys kept for the report
		cached bool // its journeys are in rc.direct already
	}
	accs := make([]acc, len(missing))
	var scan []int // the pieces read from the store
	for k, i := range missing {
		a := &accs[k]
		a.o = po
		a.o.From, a.o.To = ps[i].from, ps[i].to
		a.direct = ps[i].day == noDay
		if a.direct {
			a.buf, a.cached = rc.direct[directKey{ps[i].from, ps[i].to, l}]
		}
		if !a.cached {
			scan = append(scan, i)
		}
	}
	flush := func(a *acc) error {
		part, err := build(a.buf, a.o)
		if err != nil {
			return err
		}
		if a.has {
			a.part = merge(a.part, part)
		} else {
			a.part, a.has = part, true
		}
		a.buf = a.buf[:0]
		return nil
	}
	if len(scan) > 0 {
		var picked []int
		err := rc.each(attributedParts, piecesRanges(ps, scan, l), func(vs []*reportstore.Visitor) error {
			for _, v := range vs {
				picked = attributableIn(&v.J, ps, missing, l, picked[:0])
				for _, k := range picked {
					a := &accs[k]
					if a.cached {
						continue
					}
					a.buf = append(a.buf, cloneJourney(&v.J))
					if !a.direct && len(a.buf) == pieceBatch {
						if err := flush(a); err != nil {
							return err
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for k, i := range missing {
		a := &accs[k]
		if a.direct {
			// Every model of the report reads the same few journeys of a part of a day:
			// read once, built whole.
			if rc.direct == nil {
				rc.direct = map[directKey][]report.Journey{}
			}
			rc.direct[directKey{ps[i].from, ps[i].to, l}] = a.buf
			part, err := build(a.buf, a.o)
			if err != nil {
				return nil, err
			}
			parts[i] = part
			continue
		}
		if len(a.buf) > 0 || !a.has {
			if err := flush(a); err != nil {
				return nil, err
			}
		}
		parts[i] = a.part
		// Kept for later reports; a store refusing writes (a full disk) only costs speed.
		_ = rc.rs.PutRollup(rc.q.Site, ps[i].day, key, a.part)
	}
	return parts, nil
}

// rollup is a figure kept as daily rollups: it encodes itself for the report store.
type rollup interface {
	encoding.BinaryAppender
}

// keptDays returns the first of the pieces that are whole closed days (they follow each
// other, a day each), and the index in ps of each: at[day-first].
func keptDays(ps []piece) (first int64, at []int) {
	for i, p := range ps {
		if p.day != noDay {
			if at == nil {
				first = p.day
			}
			at = append(at, i)
		}
	}
	return first, at
}

// decodeAttribution reads a kept rollup.
func decodeAttribution(b []byte) (*report.Attribution, error) {
	a := &report.Attribution{}
	return a, a.UnmarshalBinary(b)
}

// directKey names the journeys of a piece that is not kept: its period and lookback.
type directKey struct{ from, to, lookback int64 }

// pieceBatch is how many journeys a piece holds before it builds a part of them: small, as
// every missing day of a long period holds its own.
const pieceBatch = 256

// attributableIn appends the positions in missing of the pieces j is attributable in, as
// attributableRanges picks journeys: a conversion on one of the piece's days, or a touch
// whose lookback expires on one of them.
func attributableIn(j *report.Journey, ps []piece, missing []int, l int64, dst []int) []int {
	for k, i := range missing {
		p := ps[i]
		d0, d1 := dayOf(p.from), dayOf(p.to-1)
		t0, t1 := dayOf(p.from-l), dayOf(p.to-1-l)
		hit := false
		for _, c := range j.Conversions {
			if d := dayOf(c.At); d >= d0 && d <= d1 {
				hit = true
				break
			}
		}
		for x := 0; !hit && x < len(j.Touches); x++ {
			if d := dayOf(j.Touches[x].StartedAt); d >= t0 && d <= t1 {
				hit = true
			}
		}
		if hit {
			dst = append(dst, k)
		}
	}
	return dst
}

// attributedParts are the parts of a record that path tables, attribution and CAC read:
// sessions and conversions, and the dimensions a piece's journeys keep (see cloneJourney).
const attributedParts = reportstore.PartTouches | reportstore.PartConversions | reportstore.PartDevice | reportstore.PartCountry

// cloneJourney returns j with lists of its own: a chunk's records share their memory, which
// a piece must not keep alive.
func cloneJourney(j *report.Journey) report.Journey {
	c := *j
	c.Touches = slices.Clone(j.Touches)
	c.Steps = nil // path tables and credits read touches and conversions only
	c.Conversions = slices.Clone(j.Conversions)
	c.Segments, c.Arms = nil, nil
	return c
}

// pathTable returns the path table of the site's journeys over the query's period. The
// daily tables it adds up are decoded into the report worker's arena (rc.paths): the
// table returned has memory of its own (PathTable.Add copies each path it adds).
func (rc *reportCtx) pathTable(po report.PathOptions) (*report.PathTable, error) {
	rc.paths.Reset()
	decode := func(b []byte) (*report.PathTable, error) {
		t := &report.PathTable{}
		return t, t.UnmarshalBinaryIn(b, rc.paths)
	}
	parts, err := rollupParts(rc, po, pathOptsKey(&po), decode, report.BuildPaths, func(a, b *report.PathTable) *report.PathTable {
		a.Merge(b)
		return a
	})
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
	parts, err := rollupParts(rc, po, pathOptsKey(&po)+" "+modelKey(&ao), decodeAttribution,
		func(js []report.Journey, o report.PathOptions) (*report.Attribution, error) {
			return report.AttributeJourneys(js, o, ao)
		}, func(a, b *report.Attribution) *report.Attribution {
			return report.MergeAttributions(ao.Model, []*report.Attribution{a, b})
		})
	if err != nil {
		return nil, err
	}
	return report.MergeAttributions(ao.Model, parts), nil
}

// rollupSpec is one figure a report sums from daily rollups: its key (apart from the
// period), its options, how to build it from journeys and how parts add up.
type rollupSpec struct {
	key   string
	po    report.PathOptions
	build func([]report.Journey, report.PathOptions) (encoding.BinaryAppender, error)
	merge func(a, b encoding.BinaryAppender) encoding.BinaryAppender
}

func pathSpec(po report.PathOptions) rollupSpec {
	key := pathOptsKey(&po)
	return rollupSpec{key: key, po: po,
		build: func(js []report.Journey, o report.PathOptions) (encoding.BinaryAppender, error) {
			return report.BuildPaths(js, o)
		},
		merge: func(a, b encoding.BinaryAppender) encoding.BinaryAppender {
			a.(*report.PathTable).Merge(b.(*report.PathTable))
			return a
		},
	}
}

func attributionSpec(po report.PathOptions, ao report.AttributionOptions) rollupSpec {
	key := pathOptsKey(&po) + " " + modelKey(&ao)
	return rollupSpec{key: key, po: po,
		build: func(js []report.Journey, o report.PathOptions) (encoding.BinaryAppender, error) {
			return report.AttributeJourneys(js, o, ao)
		},
		merge: func(a, b encoding.BinaryAppender) encoding.BinaryAppender {
			return report.MergeAttributions(ao.Model, []*report.Attribution{a.(*report.Attribution), b.(*report.Attribution)})
		},
	}
}

// prefetchRollups computes, in one scan of the store, the daily rollups of the query's
// period that the store lacks for any of specs (which share one lookback), as rollupParts
// would compute them for each, and keeps them; a report with several figures (every model,
// or CAC's two) then reads them all kept instead of scanning once per figure.
func prefetchRollups(rc *reportCtx, specs []rollupSpec) error {
	if len(specs) < 2 {
		return nil
	}
	l := specs[0].po.LookbackMS()
	ps := pieces(rc.q.From, rc.q.To, rc.now.UnixMilli())
	need := make([][]bool, len(ps)) // need[i][s]: spec s lacks the day of piece i
	// Parts of days are read once per report by rollupParts; whole days are asked for.
	first, at := keptDays(ps)
	keys := make([]string, len(specs))
	for s, sp := range specs {
		keys[s] = sp.key
	}
	for _, i := range at {
		need[i] = make([]bool, len(specs))
		for s := range specs {
			need[i][s] = true
		}
	}
	// Whether a day is kept, not what: rollupParts decodes it (and computes it again,
	// should it not decode).
	err := rc.rs.EachRollup(rc.q.Site, first, first+int64(len(at))-1, keys, func(day int64, key string, _ []byte) error {
		for s, k := range keys {
			if k == key {
				need[at[day-first]][s] = false
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var missing []int
	for _, i := range at {
		if slices.Contains(need[i], true) {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	type acc struct {
		buf   []report.Journey
		parts []encoding.BinaryAppender
	}
	accs := make([]acc, len(missing))
	for k := range accs {
		accs[k].parts = make([]encoding.BinaryAppender, len(specs))
	}
	flush := func(k int) error {
		a := &accs[k]
		i := missing[k]
		for s, sp := range specs {
			if !need[i][s] {
				continue
			}
			o := sp.po
			o.From, o.To = ps[i].from, ps[i].to
			part, err := sp.build(a.buf, o)
			if err != nil {
				return err
			}
			if a.parts[s] == nil {
				a.parts[s] = part
			} else {
				a.parts[s] = sp.merge(a.parts[s], part)
			}
		}
		a.buf = a.buf[:0]
		return nil
	}
	var picked []int
	err = rc.each(attributedParts, piecesRanges(ps, missing, l), func(vs []*reportstore.Visitor) error {
		for _, v := range vs {
			picked = attributableIn(&v.J, ps, missing, l, picked[:0])
			for _, k := range picked {
				accs[k].buf = append(accs[k].buf, cloneJourney(&v.J))
				if len(accs[k].buf) == pieceBatch {
					if err := flush(k); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for k, i := range missing {
		unbuilt := false
		for s := range specs {
			unbuilt = unbuilt || (need[i][s] && accs[k].parts[s] == nil)
		}
		if len(accs[k].buf) > 0 || unbuilt {
			if err := flush(k); err != nil {
				return err
			}
		}
		for s, sp := range specs {
			if need[i][s] {
				if err := rc.rs.PutRollup(rc.q.Site, ps[i].day, sp.key, accs[k].parts[s]); err != nil {
					return nil // not kept (a full disk): each figure computes its days itself
				}
			}
		}
	}
	return nil
}
