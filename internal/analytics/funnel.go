package analytics

import (
	"slices"
	"strings"
	"time"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/report"
	"github.com/pathlight/pathlight/internal/rules"
)

// weekMS is one week in milliseconds: step health compares weeks.
const weekMS = 7 * dayMS

// FunnelReport is one funnel of the rules over the period.
type FunnelReport struct {
	// Funnels lists the ids of the rules' funnels, for a picker.
	Funnels     []string `json:"funnels"`
	ID          string   `json:"id"`
	Description string   `json:"description,omitempty"`
	// Funnel is nil when the rules define no funnel and the query names no steps.
	Funnel *report.FunnelResult `json:"funnel"`
	// Notes explain choices the report made, such as a breakdown it cannot draw.
	Notes []string `json:"notes,omitempty"`
}

func runFunnel(rc *reportCtx) (any, error) {
	res := &FunnelReport{Funnels: []string{}}
	f, ok := rc.funnel(res)
	if !ok || rc.o.err != nil {
		return res, rc.o.err
	}
	// Attempts start at a step-1 arrival in the period: visitors without a step arrival in
	// it cannot count.
	b, err := report.NewFunnelBuilder(f, rc.q.From, rc.q.To)
	if err != nil {
		return nil, &QueryError{"funnel", err.Error()}
	}
	err = rc.eachJourneys(reportstore.PartMarks|dimensionParts(f.Breakdown), []reportstore.Range{days(rc.q.From, rc.q.To, reportstore.FlagStep)}, func(js []report.Journey, _ []*reportstore.Visitor) error {
		b.Add(js)
		return nil
	})
	if err != nil {
		return nil, err
	}
	res.Funnel = b.Result()
	return res, nil
}

// HealthReport is the step health of a funnel (report.HealthReport): the week before the
// period's end against the eight weeks before it.
type HealthReport struct {
	*report.HealthReport
	Funnel string `json:"funnel"`
	// WeekFrom and WeekTo bound the current week, Unix ms: [to − 7 days, to).
	WeekFrom int64    `json:"week_from"`
	WeekTo   int64    `json:"week_to"`
	Funnels  []string `json:"funnels"`
	Notes    []string `json:"notes,omitempty"`
}

func runHealth(rc *reportCtx) (any, error) {
	var fr FunnelReport
	f, ok := rc.funnel(&fr)
	res := &HealthReport{HealthReport: &report.HealthReport{Transitions: []report.TransitionHealth{}, FixFirst: []report.TransitionHealth{}},
		Funnel: fr.ID, Funnels: fr.Funnels, Notes: fr.Notes, WeekTo: rc.q.To, WeekFrom: rc.q.To - weekMS}
	if !ok || rc.o.err != nil {
		return res, rc.o.err
	}
	f.Breakdown = report.DimNone
	// The current week and the baseline weeks, in one pass over the visitors with a step
	// arrival in any of them: each week's funnel counts only its own attempts.
	weeks := make([]*report.FunnelBuilder, report.BaselineWeeks+1)
	for i := range weeks {
		to := rc.q.To - int64(i)*weekMS
		b, err := report.NewFunnelBuilder(f, to-weekMS, to)
		if err != nil {
			return nil, &QueryError{"funnel", err.Error()}
		}
		weeks[i] = b
	}
	from := rc.q.To - int64(len(weeks))*weekMS
	// Without a breakdown, a funnel reads the step arrivals only.
	err := rc.eachJourneys(reportstore.PartMarks, []reportstore.Range{days(from, rc.q.To, reportstore.FlagStep)}, func(js []report.Journey, _ []*reportstore.Visitor) error {
		for _, b := range weeks {
			b.Add(js)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	cur := weeks[0].Result()
	base := make([]*report.FunnelResult, report.BaselineWeeks)
	for i := range base {
		base[i] = weeks[report.BaselineWeeks-i].Result()
	}
	h, err := report.StepHealth(cur, base)
	if err != nil {
		return nil, err
	}
	res.HealthReport = h
	return res, nil
}

// funnel picks the funnel of the query: ad-hoc steps (steps=a,b,c with window and mode), the
// rules' funnel named by funnel=, or the rules' first. It fills the report's list of funnels,
// id and notes, and reports false when there is no funnel to draw.
func (rc *reportCtx) funnel(res *FunnelReport) (report.Funnel, bool) {
	fs := slices.DeleteFunc(rc.set.Funnels(), func(f rules.Funnel) bool { return !rc.serves(f.Sites) })
	for _, f := range fs {
		res.Funnels = append(res.Funnels, f.ID)
	}
	var f report.Funnel
	breakdown := ""
	if steps := rc.o.list("steps"); len(steps) > 0 {
		res.ID = "(steps)"
		f = report.Funnel{Steps: rc.steps("steps"), Mode: report.FunnelMode(rc.o.str("mode", string(report.Ordered))),
			Window: rc.o.duration("window", report.DefaultFunnelWindow), Exclusions: rc.steps("exclude")}
	} else {
		id := rc.o.str("funnel", "")
		var rf *rules.Funnel
		for i := range fs {
			if fs[i].ID == id || (id == "" && i == 0) {
				rf = &fs[i]
				break
			}
		}
		if rf == nil {
			if id != "" {
				rc.o.fail("funnel", "%q: the rules define no such funnel (they define: %s)", id, strings.Join(res.Funnels, ", "))
			}
			return f, false
		}
		res.ID, res.Description = rf.ID, rf.Description
		f = report.Funnel{Steps: rf.Steps, Mode: report.FunnelMode(rf.Mode), Window: time.Duration(rf.Window) * time.Millisecond, Exclusions: rf.Exclude}
		breakdown = rf.Breakdown
	}
	if b := rc.o.str("breakdown", ""); b != "" {
		d, ok := dimensionOf(b)
		if !ok {
			rc.o.fail("breakdown", "%q: want channel, device, country, segment or arm:<experiment>", b)
		} else if exp, isArm := strings.CutPrefix(string(d), "arm:"); isArm {
			rc.experiment("breakdown", exp)
		}
		f.Breakdown = d
	} else if breakdown != "" {
		d, ok := dimensionOf(breakdown)
		if !ok {
			res.Notes = append(res.Notes, "the rules break this funnel down by "+breakdown+", which reports cannot draw yet; shown without a breakdown")
		}
		f.Breakdown = d
	}
	return f, true
}

// dimensionParts returns the parts of a record a breakdown by d reads.
func dimensionParts(d report.Dimension) reportstore.Parts {
	switch d {
	case report.DimNone:
		return 0
	case report.DimChannel:
		return reportstore.PartTouches
	case report.DimDevice:
		return reportstore.PartDevice
	case report.DimCountry:
		return reportstore.PartCountry
	case report.DimSegment:
		return reportstore.PartSegments
	}
	return reportstore.PartArms // arm:<experiment>
}

// serves reports whether a rule of sites serves the report's site: a report of one site
// shows only its funnels, steps, experiments and surveys; a report of every site, all.
func (rc *reportCtx) serves(sites []string) bool { return rules.Serves(sites, rc.q.Site) }

// dimensionOf maps a breakdown, as a report names it (report.ParseDimension) or as a rule
// field names it, to a report dimension.
func dimensionOf(s string) (report.Dimension, bool) {
	if d, err := report.ParseDimension(s); err == nil {
		return d, true
	}
	switch s {
	case "none":
		return report.DimNone, true
	case "session.channel":
		return report.DimChannel, true
	case "device.type":
		return report.DimDevice, true
	case "geo.country":
		return report.DimCountry, true
	case "segments", "visitor.segments":
		return report.DimSegment, true
	}
	if exp, ok := strings.CutPrefix(s, "experiments."); ok && exp != "" {
		return report.ArmDimension(exp), true
	}
	return report.DimNone, false
}
