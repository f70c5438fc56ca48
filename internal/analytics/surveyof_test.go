package analytics

import (
	"slices"
	"testing"

	"github.com/pathlight/pathlight/internal/report"
	"github.com/pathlight/pathlight/internal/rules"
)

func TestSurveyOf(t *testing.T) {
	choices := []string{"a", "b"}
	tests := []struct {
		typ      string
		kind     report.SurveyKind
		choices  []string
		multiple bool
	}{
		{rules.SurveySingleChoice, report.ChoiceSurvey, choices, false},
		{rules.SurveyMultipleChoice, report.ChoiceSurvey, choices, true},
		{rules.SurveyRating, report.ChoiceSurvey, []string{"1", "2", "3", "4", "5"}, false},
		{rules.SurveyNPS, report.NPSSurvey, choices, false},
		{rules.SurveyText, report.TextSurvey, choices, false},
	}
	for _, tt := range tests {
		s := surveyOf(rules.SurveyInfo{ID: "q", Type: tt.typ, Choices: choices})
		if s.Kind != tt.kind || !slices.Equal(s.Choices, tt.choices) || s.Multiple != tt.multiple {
			t.Errorf("surveyOf(%s) = %+v; want kind %s, choices %v, multiple %v", tt.typ, s, tt.kind, tt.choices, tt.multiple)
		}
	}
}
