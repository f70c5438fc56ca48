package analytics

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/rules"
)

// TestReportParamsCoverWhatReportsRead runs every report with no options, with ad-hoc steps
// and with a funnel and a model named, and checks that each option name the report asks
// for is one reportParams lists for it, and that each listed one is asked for: a report may
// neither read an option it would refuse nor list one it ignores.
func TestReportParamsCoverWhatReportsRead(t *testing.T) {
	set, err := rules.LoadDir(filepath.Join("..", "..", "rules"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(70 * testDay)
	s := newService(nil, func() *rules.Set { return set }, nil, Options{Now: func() time.Time { return now }})
	rs := storeOf(t, randomJourneys(1, 200))
	step := set.Steps()[0].ID
	optionSets := []map[string]string{
		{},
		{"steps": step},
		{"funnel": set.Funnels()[0].ID, "breakdown": "channel", "model": "all"},
	}
	if len(reportParams) != len(reportDefs) {
		t.Fatalf("reportParams lists %d reports, reportDefs %d", len(reportParams), len(reportDefs))
	}
	for name, def := range reportDefs {
		asked := map[string]bool{}
		for _, o := range optionSets {
			rc := &reportCtx{s: s, rs: rs, q: Query{From: 5 * testDay, To: 40 * testDay, Options: o}, o: opts{m: o}, set: set, now: now}
			_, _ = def.run(rc) // an option out of place may fail the report; what it asked for counts
			for _, n := range rc.o.asked {
				asked[n] = true
			}
		}
		listed := reportParams[name]
		for n := range asked {
			if !slices.Contains(listed, n) {
				t.Errorf("report %s reads option %q, which reportParams does not list: it would be refused", name, n)
			}
		}
		for _, n := range listed {
			if !asked[n] {
				t.Errorf("reportParams lists %q for report %s, which never reads it", n, name)
			}
		}
	}
}

func TestUnknownParams(t *testing.T) {
	if err := UnknownParams("attribution", []string{"model", "lookback", "campaigns"}); err != nil {
		t.Fatalf("known options: %v", err)
	}
	err := UnknownParams("overview", []string{"range", "model"})
	if err == nil || !strings.HasPrefix(err.Error(), `"model", "range": unknown parameters; the overview report takes from, to, site`) {
		t.Fatalf("UnknownParams(overview, range, model) = %v", err)
	}
	if err := UnknownParams("journey", []string{"limit"}); err == nil || !strings.Contains(err.Error(), "takes from, to, site, paths, path_steps") {
		t.Fatalf("UnknownParams(journey, limit) = %v; want the accepted ones listed", err)
	}
}
