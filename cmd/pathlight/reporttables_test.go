package main

import (
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/report"
)

// TestExperimentTitleNamesTheControlOnce: an experiment whose control arm is called "control"
// is not titled "control control", as the dashboard's lede is not; another control's name is
// still given.
func TestExperimentTitleNamesTheControlOnce(t *testing.T) {
	for _, c := range []struct{ control, want string }{
		{"control", "Experiment docs_cta (goal started_trial, arms compared with the control)"},
		{"Control", "Experiment docs_cta (goal started_trial, arms compared with the control)"},
		{"plain", "Experiment docs_cta (goal started_trial, arms compared with the control, plain)"},
	} {
		x := &analytics.ExperimentsReport{Experiments: []analytics.ExperimentReport{{
			ID: "docs_cta", Goal: "started_trial", ExperimentResult: &report.ExperimentResult{Control: c.control},
		}}}
		tables := experimentTables(x)
		if len(tables) != 1 || tables[0].title != c.want {
			t.Errorf("control %q: title %q; want %q", c.control, tables[0].title, c.want)
		}
		if strings.Contains(strings.ToLower(tables[0].title), "control control") {
			t.Errorf("title %q says control twice", tables[0].title)
		}
	}
}
