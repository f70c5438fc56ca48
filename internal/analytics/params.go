package analytics

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Parameters of the reports. A report refuses a parameter it does not take, rather than
// answer as if it had not been given (?range=90d would otherwise answer for the default
// period without a word). TestReportParamsCoverWhatReportsRead holds these lists to what the
// report functions read.
var (
	// periodParams are read by NewQuery for every report.
	periodParams = []string{"from", "to", "site"}
	// pathParams choose the conversions and touches of path reports (pathOptions).
	pathParams = []string{"lookback", "steps", "keep_repeats", "first_only"}
	// modelParams tune the attribution models (attributionOptions).
	modelParams = []string{"model", "order", "transitions", "half_life", "first_weight", "last_weight", "max_steps", "game"}
	// funnelParams pick and shape a funnel (reportCtx.funnel).
	funnelParams = []string{"funnel", "breakdown", "steps", "mode", "window", "exclude"}
)

// reportParams are the options each report takes, beside periodParams.
var reportParams = map[string][]string{
	"overview":    nil,
	"journey":     {"paths", "path_steps"},
	"funnel":      funnelParams,
	"health":      funnelParams,
	"paths":       slices.Concat(pathParams, []string{"limit"}),
	"attribution": slices.Concat(pathParams, modelParams, []string{"campaigns"}),
	"ttc":         pathParams,
	"cac":         slices.Concat(pathParams, modelParams),
	"surveys":     {"texts"},
	"experiments": nil,
	"micro":       {"steps"},
}

// ReportParams returns the query parameters the report called name takes: from, to, site
// and its options. It returns nil for a report that does not exist.
func ReportParams(name string) []string {
	opts, ok := reportParams[name]
	if !ok {
		return nil
	}
	return slices.Concat(periodParams, opts)
}

// UnknownParams returns a *QueryError naming every parameter of names that the report
// called name does not take, with those it does; nil when it takes them all.
func UnknownParams(name string, names []string) error {
	return CheckParams(names, ReportParams(name), "the "+name+" report")
}

// CheckParams returns a *QueryError naming every parameter of names not in takes, and saying
// that subject (what is asked: "the overview report", "GET /api/v1/events") takes those; nil
// when takes has them all. The admin API holds every query string to it.
func CheckParams(names, takes []string, subject string) error {
	unknown := map[string]bool{}
	for _, n := range names {
		if !slices.Contains(takes, n) {
			unknown[n] = true
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	list := slices.Sorted(maps.Keys(unknown))
	for i, n := range list {
		if len(n) > 64 {
			n = n[:64] + "…"
		}
		list[i] = fmt.Sprintf("%q", n)
	}
	what := "unknown parameter"
	if len(list) > 1 {
		what += "s"
	}
	takesWhat := "no parameters"
	if len(takes) > 0 {
		takesWhat = strings.Join(takes, ", ")
	}
	return &QueryError{Param: strings.Join(list, ", "), Msg: what + "; " + subject + " takes " + takesWhat}
}
