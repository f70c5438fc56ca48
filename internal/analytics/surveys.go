package analytics

import (
	"slices"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/event"
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
	// One builder a survey, fed each visitor's prompt events as the scan hands them over:
	// the results keep tallies and the newest open answers, never the events. Open
	// answers of the same time come in the scan's order, as they did when every event
	// was collected and sorted stably by time.
	res := &SurveysReport{Surveys: []SurveyReport{}}
	var (
		infos []rules.SurveyInfo
		bs    []*report.SurveyBuilder
		open  []string // the ids of the open-text surveys: their answers name the visitor
	)
	for _, si := range rc.set.Surveys() {
		if !rc.serves(si.Sites) {
			continue
		}
		s := surveyOf(si)
		b, err := report.NewSurveyBuilder(s, rc.q.From, rc.q.To, texts)
		if err != nil {
			return nil, err
		}
		infos, bs = append(infos, si), append(bs, b)
		if s.Kind == report.TextSurvey {
			open = append(open, s.ID)
		}
	}
	// Prompt events, with the segments and the stage (from the step counts) of their
	// visitor. Without ids: an open answer makes its visitor's (Visitor.ID).
	err := rc.each(reportstore.PartPrompts|reportstore.PartSegments|reportstore.PartCounts, []reportstore.Range{days(rc.q.From, rc.q.To, reportstore.FlagPrompt)}, func(vs []*reportstore.Visitor) error {
		for _, v := range vs {
			for _, pr := range v.Prompts {
				if pr.At < rc.q.From || pr.At >= rc.q.To || pr.Action == reportstore.ActionHoldout || (rc.q.Site != "" && pr.Site != rc.q.Site) {
					continue
				}
				pe := report.PromptEvent{Prompt: pr.Prompt, Action: pr.Action, Answer: pr.Answer, At: pr.At}
				if pr.Action == event.ActionAnswered && slices.Contains(open, pr.Prompt) {
					pe.VID = v.ID()
				}
				if v.HasState {
					pe.Stage = stages.at(v, pr.At)
					pe.Segments = v.J.Segments // for events logged before segments were recorded
				}
				if pr.Segments != nil {
					pe.Segments = pr.Segments
				}
				for _, b := range bs {
					b.Add(&pe)
				}
			}
			for _, b := range bs {
				b.EndVisitor()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, b := range bs {
		res.Surveys = append(res.Surveys, SurveyReport{SurveyResult: b.Result(), Question: infos[i].Question, Type: infos[i].Type})
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
func (o stageOrder) at(v *reportstore.Visitor, t int64) string {
	best := -1
	for _, c := range v.Steps {
		if i, ok := o.stepStage[c.Key]; ok && c.FirstAt <= t && i > best {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return o.stages[best]
}
