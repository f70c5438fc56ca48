package analytics

import (
	"slices"

	"github.com/pathlight/pathlight/internal/report"
	"github.com/pathlight/pathlight/internal/rules"
)

// SurveysReport is the results of the rules' surveys over the period.
type SurveysReport struct {
	Surveys []SurveyReport `json:"surveys"`
}

// SurveyReport is report.SurveyResult with the survey's question and type as the rules
// define them.
type SurveyReport struct {
	*report.SurveyResult
	Question string `json:"question"`
	Type     string `json:"type"`
}

func runSurveys(rc *reportCtx) (any, error) {
	texts := rc.o.int("texts", 50, 0, 1000)
	if rc.o.err != nil {
		return nil, rc.o.err
	}
	stages := stageClock(rc.set)
	res := &SurveysReport{Surveys: []SurveyReport{}}
	for _, si := range rc.set.Surveys() {
		if !rc.serves(si.Sites) {
			continue
		}
		s := surveyOf(si)
		var evs []report.PromptEvent
		for _, pr := range rc.v.prompts {
			if pr.prompt != si.ID || pr.at < rc.q.From || pr.at >= rc.q.To || pr.action == actionHoldout {
				continue
			}
			pe := report.PromptEvent{VID: pr.vid, Prompt: pr.prompt, Action: pr.action, Answer: pr.answer, At: pr.at}
			if e := rc.v.entry(pr.vid); e != nil {
				pe.Stage = stages.at(e, pr.at)
				pe.Segments = e.j.Segments // for events logged before segments were recorded
			}
			if pr.segments != nil {
				pe.Segments = pr.segments
			}
			evs = append(evs, pe)
		}
		r, err := report.SurveyResults(s, evs, rc.q.From, rc.q.To, texts)
		if err != nil {
			return nil, err
		}
		res.Surveys = append(res.Surveys, SurveyReport{SurveyResult: r, Question: si.Question, Type: si.Type})
	}
	return res, nil
}

// surveyOf describes a rules survey to the report package: choice surveys (single and
// multiple choice, and 1–5 ratings as the choices 1 … 5), NPS, or open text.
func surveyOf(si rules.SurveyInfo) report.Survey {
	s := report.Survey{ID: si.ID, Kind: report.ChoiceSurvey, Choices: si.Choices, Multiple: si.Type == rules.SurveyMultipleChoice}
	switch si.Type {
	case rules.SurveyNPS:
		s.Kind = report.NPSSurvey
	case rules.SurveyText:
		s.Kind = report.TextSurvey
	case rules.SurveyRating:
		s.Choices = []string{"1", "2", "3", "4", "5"}
	}
	return s
}

// stageOrder gives the stage a visitor was in at a past time: the furthest stage of the
// steps they had reached by then (a visitor's stage only moves forward).
type stageOrder struct {
	stages    []string
	stepStage map[string]int // step → index in stages
}

func stageClock(set *rules.Set) stageOrder {
	o := stageOrder{stages: set.Stages(), stepStage: map[string]int{}}
	for _, st := range set.Steps() {
		if i := slices.Index(o.stages, st.Stage); i >= 0 {
			o.stepStage[st.ID] = i
		}
	}
	return o
}

// at returns the stage of the visitor at time t, "" before any step.
func (o stageOrder) at(e *entry, t int64) string {
	best := -1
	for _, c := range e.steps {
		if i, ok := o.stepStage[c.Key]; ok && c.FirstAt <= t && i > best {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return o.stages[best]
}
