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

// TestReportFiguresKeepOneForm: a column holds one number form, as the dashboard shows it: the
// visitors and completions that step health counts lost always with one decimal (not "16.43"
// above "0"), the chance to complete as a percentage, an NPS as a whole score (36.8 is 37),
// and a funnel's window of whole days as days ("7d", not "7.0d").
func TestReportFiguresKeepOneForm(t *testing.T) {
	h := &analytics.HealthReport{HealthReport: &report.HealthReport{
		Transitions: []report.TransitionHealth{{From: "a", To: "b", Lost: 16.43}, {From: "b", To: "c", Lost: 0}},
		FixFirst:    []report.TransitionHealth{{From: "a", To: "b", Lost: 16.43, Intent: report.Some(0.2049), Score: report.Some(3.3665)}},
	}}
	ts := healthTables(h)
	if got := []string{ts[0].rows[0][8], ts[0].rows[1][8]}; got[0] != "16.4" || got[1] != "0.0" {
		t.Errorf("health lost column = %q; want 16.4 and 0.0", got)
	}
	if got := ts[1].rows[0][2:]; got[0] != "16.4" || got[1] != "20.5%" || got[2] != "3.4" {
		t.Errorf("fix-first row = %q; want lost 16.4, intent 20.5%%, score 3.4", got)
	}
	s := &analytics.SurveysReport{Surveys: []analytics.SurveyReport{{Type: "nps",
		SurveyResult: &report.SurveyResult{ID: "nps", NPS: &report.NPS{Score: report.Some(36.8)}}}}}
	if got := surveyTables(s)[0].rows[0][5]; got != "37" {
		t.Errorf("NPS cell = %q; want 37", got)
	}
	f := &analytics.FunnelReport{ID: "purchase", Funnel: &report.FunnelResult{Mode: "ordered", Window: 7 * 86400}}
	if title := funnelTables(f)[0].title; !strings.Contains(title, "window 7d,") {
		t.Errorf("funnel title %q; want window 7d", title)
	}
}
