package analytics

import (
	"cmp"
	"slices"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/report"
)

// dayMS is one UTC day in milliseconds: rollups, by-day figures and spend use UTC days.
const dayMS = reportstore.DayMS

// dayOf returns the UTC day of t, in days since 1970-01-01.
func dayOf(t int64) int64 { return reportstore.DayOf(t) }

// days returns the UTC days of [from, to) on which a visitor must have one of flags.
func days(from, to int64, flags byte) reportstore.Range {
	return reportstore.Range{From: dayOf(from), To: dayOf(to - 1), Flags: flags}
}

// each streams the visitors of the query's site that the ranges pick, a chunk at a time in
// visitor-id order; every report reads the store through it, so a report holds one chunk
// of records at a time whatever the period. The records come without their visitor ids
// (J.VID is ""), and with only the parts a report reads (the others are zero, never
// decoded): a report that names a visitor makes its id with Visitor.ID.
func (rc *reportCtx) each(parts reportstore.Parts, ranges []reportstore.Range, fn func(vs []*reportstore.Visitor) error) error {
	return rc.rs.Each(rc.q.Site, ranges, reportstore.NewInterner().NoIDs().Only(rc.parts(parts)).Using(rc.scratch), rc.paced(fn))
}

// parts returns the parts of a record a report decodes: those it states, unless a test
// replaces them (Service.recordParts).
func (rc *reportCtx) parts(parts reportstore.Parts) reportstore.Parts {
	if rc.s != nil && rc.s.recordParts != nil {
		return rc.s.recordParts(parts)
	}
	return parts
}

// paced returns fn followed by the report's duty cycle (see dutyCycle): a report pauses
// between chunks, never inside one.
func (rc *reportCtx) paced(fn func(vs []*reportstore.Visitor) error) func(vs []*reportstore.Visitor) error {
	return func(vs []*reportstore.Visitor) error {
		err := fn(vs)
		rc.duty.step()
		return err
	}
}

// eachJourneys is each with the chunk's journeys, for the report package; js is reused.
func (rc *reportCtx) eachJourneys(parts reportstore.Parts, ranges []reportstore.Range, fn func(js []report.Journey, vs []*reportstore.Visitor) error) error {
	var js []report.Journey
	return rc.each(parts, ranges, func(vs []*reportstore.Visitor) error {
		if js == nil {
			// Sized once, by the first chunk: every chunk but the last is full.
			js = make([]report.Journey, 0, len(vs))
		}
		js = js[:0]
		for _, v := range vs {
			js = append(js, v.J)
		}
		return fn(js, vs)
	})
}

// attributableRanges picks the journeys that can contribute to a path table or an
// attribution over [from, to) with lookback l (ms): those with a conversion in the
// period, and those with a touch whose lookback expires in it (a possible non-converting
// journey).
func attributableRanges(from, to, l int64) []reportstore.Range {
	return []reportstore.Range{
		days(from, to, reportstore.FlagConversion),
		days(from-l, to-l, reportstore.FlagTouch),
	}
}

// piecesRanges picks the journeys attributable in any of the pieces ps[i] for i in idx (as
// attributableIn picks them): the union of each piece's attributableRanges, runs of
// adjacent days joined. A warm period lacks only its partial first day and today: its scan
// then decodes the few journeys attributable in those, not every journey of the period.
func piecesRanges(ps []piece, idx []int, l int64) []reportstore.Range {
	var rs []reportstore.Range
	for _, i := range idx {
		rs = append(rs, attributableRanges(ps[i].from, ps[i].to, l)...)
	}
	slices.SortFunc(rs, func(a, b reportstore.Range) int {
		return cmp.Or(cmp.Compare(a.Flags, b.Flags), cmp.Compare(a.From, b.From))
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1].Flags == r.Flags && r.From <= out[n-1].To+1 {
			out[n-1].To = max(out[n-1].To, r.To)
			continue
		}
		out = append(out, r)
	}
	return out
}
