package analytics

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/report"
)

// reportDef is one report of the API: how to compute it, and its payload type (for clients
// that decode it, such as `pathlight report --server`).
type reportDef struct {
	run     func(*reportCtx) (any, error)
	payload func() any
	// spend is set for the reports that read the spend files.
	spend bool
	// currency is set for the reports that show money in the spend's currency (see
	// spendCurrency); a spend file that cannot be read only leaves it out.
	currency bool
}

// reportDefs lists the reports by name. It is a read-only table.
var reportDefs = map[string]reportDef{
	"overview":    {run: runOverview, payload: func() any { return new(Overview) }, currency: true},
	"journey":     {run: runJourney, payload: func() any { return new(JourneyReport) }},
	"funnel":      {run: runFunnel, payload: func() any { return new(FunnelReport) }},
	"paths":       {run: runPaths, payload: func() any { return new(PathsReport) }},
	"attribution": {run: runAttribution, payload: func() any { return new(AttributionReport) }},
	"ttc":         {run: runTTC, payload: func() any { return new(report.TTC) }},
	"health":      {run: runHealth, payload: func() any { return new(HealthReport) }},
	"cac":         {run: runCAC, payload: func() any { return new(CACReport) }, spend: true},
	"surveys":     {run: runSurveys, payload: func() any { return new(SurveysReport) }},
	"experiments": {run: runExperiments, payload: func() any { return new(ExperimentsReport) }},
	"micro":       {run: runMicro, payload: func() any { return new(report.MicroConversions) }},
}

// ReportNames lists the report names, comma-separated, in order.
func ReportNames() string {
	return strings.Join(slices.Sorted(maps.Keys(reportDefs)), ", ")
}

// NewPayload returns a new, empty payload of the report called name, to decode the data
// member of a Result into.
func NewPayload(name string) (any, error) {
	def, ok := reportDefs[name]
	if !ok {
		return nil, fmt.Errorf("%w %q: want one of %s", ErrUnknownReport, name, ReportNames())
	}
	return def.payload(), nil
}

// JourneyReport is the journey map (report.JourneyMap) with the micro-conversion rate of
// each step.
type JourneyReport struct {
	*report.JourneyMap
	Micro *report.MicroConversions `json:"micro_conversions"`
}

func runJourney(rc *reportCtx) (any, error) {
	o := report.JourneyMapOptions{
		From: rc.q.From, To: rc.q.To, Stages: stageOfStep(rc),
		TopPaths:  rc.o.int("paths", report.DefaultTopPaths, 1, 1000),
		PathSteps: rc.o.int("path_steps", report.DefaultPathSteps, 1, 50),
	}
	if rc.o.err != nil {
		return nil, rc.o.err
	}
	b, err := report.NewJourneyMapBuilder(o)
	if err != nil {
		return nil, err
	}
	// Visitors active in the period: those with a step arrival in it make the map, and
	// the map's builder counts the others too, for the micro-conversions' denominator.
	// The map and the micro-conversions read sessions and step arrivals only.
	err = rc.eachJourneys(reportstore.PartTouches|reportstore.PartMarks, []reportstore.Range{days(rc.q.From, rc.q.To, reportstore.FlagActive|reportstore.FlagStep)}, func(js []report.Journey, _ []*reportstore.Visitor) error {
		b.Add(js)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &JourneyReport{JourneyMap: b.Result(), Micro: b.Micro(stepIDs(rc))}, nil
}

func runMicro(rc *reportCtx) (any, error) {
	steps := rc.steps("steps")
	if rc.o.err != nil {
		return nil, rc.o.err
	}
	if len(steps) == 0 {
		steps = stepIDs(rc)
	}
	b, err := report.NewMicroBuilder(steps, rc.q.From, rc.q.To)
	if err != nil {
		return nil, err
	}
	err = rc.eachJourneys(reportstore.PartTouches|reportstore.PartMarks, []reportstore.Range{days(rc.q.From, rc.q.To, reportstore.FlagActive)}, func(js []report.Journey, _ []*reportstore.Visitor) error {
		b.Add(js)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.Result(), nil
}

// stepIDs returns the ids of the rules' steps that serve the report's site, in their order.
func stepIDs(rc *reportCtx) []string {
	var ids []string
	for _, s := range rc.set.Steps() {
		if rc.serves(s.Sites) {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// stageOfStep maps each step of the rules to its stage.
func stageOfStep(rc *reportCtx) map[string]string {
	m := map[string]string{}
	for _, s := range rc.set.Steps() {
		if s.Stage != "" {
			m[s.ID] = s.Stage
		}
	}
	return m
}

// PathsReport is the path table of the period, largest rows first.
type PathsReport struct {
	Rows []report.PathRow `json:"rows"`
	// Totals add up every row, also those past the limit.
	Totals PathTotals `json:"totals"`
	// RowsTotal is how many distinct paths the table has.
	RowsTotal int `json:"rows_total"`
}

// PathTotals are the sums of a path table.
type PathTotals struct {
	Conversions float64 `json:"conversions"`
	Value       float64 `json:"value"`
	Nulls       float64 `json:"nulls"`
}

func runPaths(rc *reportCtx) (any, error) {
	po := pathOptions(rc)
	limit := rc.o.int("limit", 50, 1, 100000)
	if rc.o.err != nil {
		return nil, rc.o.err
	}
	t, err := rc.pathTable(po)
	if err != nil {
		return nil, err
	}
	res := &PathsReport{Rows: t.Rows[:min(limit, len(t.Rows))], RowsTotal: len(t.Rows)}
	if res.Rows == nil {
		res.Rows = []report.PathRow{}
	}
	res.Totals.Conversions, res.Totals.Value, res.Totals.Nulls = t.Totals()
	return res, nil
}

// pathOptions reads the options that decide which conversions count and which touches they
// credit: lookback, steps (conversion steps of the rules), keep_repeats, first_only.
func pathOptions(rc *reportCtx) report.PathOptions {
	return report.PathOptions{
		From: rc.q.From, To: rc.q.To,
		Lookback:    rc.o.duration("lookback", report.DefaultLookback),
		Steps:       rc.conversionSteps("steps"),
		KeepRepeats: rc.o.bool("keep_repeats"),
		FirstOnly:   rc.o.bool("first_only"),
	}
}

func runTTC(rc *reportCtx) (any, error) {
	po := pathOptions(rc)
	if rc.o.err != nil {
		return nil, rc.o.err
	}
	b, err := report.NewTTCBuilder(po)
	if err != nil {
		return nil, err
	}
	// Every conversion of the period is in a journey with a conversion that day.
	// Conversions and the sessions before them.
	err = rc.eachJourneys(reportstore.PartTouches|reportstore.PartConversions, []reportstore.Range{days(rc.q.From, rc.q.To, reportstore.FlagConversion)}, func(js []report.Journey, _ []*reportstore.Visitor) error {
		b.Add(js)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.Result(), nil
}
