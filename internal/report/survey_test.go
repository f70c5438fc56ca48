package report

import (
	"slices"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
)

// pe returns a prompt event of survey "s".
func pe(vid, action, answer string, at int64, stage string, segs ...string) PromptEvent {
	return PromptEvent{VID: vid, Prompt: "s", Action: action, Answer: answer, At: at, Stage: stage, Segments: segs}
}

func TestSurveyChoice(t *testing.T) {
	evs := []PromptEvent{
		pe("v1", event.ActionShown, "", d(1), "consider"),
		pe("v1", event.ActionAnswered, "price", d(1), "consider", "new"),
		pe("v2", event.ActionShown, "", d(1), "consider"),
		pe("v2", event.ActionDismissed, "", d(1), "consider"),
		pe("v3", event.ActionShown, "", d(1), "buy"),
		pe("v3", event.ActionShown, "", d(2), "buy"),
		pe("v3", event.ActionAnswered, "shipping", d(2), "buy", "new", "vip"),
		pe("v4", event.ActionAnswered, "banana", d(3), ""),
		pe("v5", event.ActionShown, "", d(50), ""),
		{VID: "v6", Prompt: "other", Action: event.ActionShown, At: d(1)},
	}
	res, err := SurveyResults(Survey{ID: "s", Kind: ChoiceSurvey, Choices: []string{"price", "shipping", "quality"}}, evs, d(0), d(10), 10)
	if err != nil {
		t.Fatalf("SurveyResults() = %v", err)
	}
	if res.Shown != 4 || res.Dismissed != 1 || res.Answered != 3 || res.VisitorsShown != 3 || res.VisitorsAnswered != 3 || res.AnswerRate != Some(.75) {
		t.Errorf("SurveyResults() counts = %+v; want 4 shown, 1 dismissed, 3 answered, 3 and 3 visitors, rate 0.75", res)
	}
	third := Some(1.0 / 3)
	wantChoices := []ChoiceCount{{"price", 1, third}, {"shipping", 1, third}, {"quality", 0, Some(0)}, {OtherAnswer, 1, third}}
	if !slices.Equal(res.Choices, wantChoices) {
		t.Errorf("choices = %+v; want %+v", res.Choices, wantChoices)
	}
	keys := func(gs []AnswerGroup) (out []string) {
		for _, g := range gs {
			out = append(out, g.Key)
		}
		return out
	}
	if got := keys(res.ByStage); !slices.Equal(got, []string{NoneKey, "buy", "consider"}) {
		t.Errorf("by stage = %v; want (none), buy, consider", got)
	}
	if got := keys(res.BySegment); !slices.Equal(got, []string{"new", NoneKey, "vip"}) || res.BySegment[0].Answers != 2 {
		t.Errorf("by segment = %+v; want new (2), (none), vip", res.BySegment)
	}
	if res.NPS != nil || res.Texts != nil {
		t.Errorf("choice survey has NPS %v, texts %v; want none", res.NPS, res.Texts)
	}
}

// TestSurveyMultipleChoice: an answer naming several choices counts once per choice, and a
// choice's share is of answers, overall and per group.
func TestSurveyMultipleChoice(t *testing.T) {
	evs := []PromptEvent{
		pe("v1", event.ActionAnswered, "price|shipping", d(1), "consider"),
		pe("v2", event.ActionAnswered, "price", d(1), "consider"),
		pe("v3", event.ActionAnswered, "quality|banana", d(2), "buy"),
	}
	s := Survey{ID: "s", Kind: ChoiceSurvey, Choices: []string{"price", "shipping", "quality"}, Multiple: true}
	res, err := SurveyResults(s, evs, d(0), d(10), 10)
	if err != nil {
		t.Fatalf("SurveyResults() = %v", err)
	}
	third := Some(1.0 / 3)
	want := []ChoiceCount{{"price", 2, Some(2.0 / 3)}, {"shipping", 1, third}, {"quality", 1, third}, {OtherAnswer, 1, third}}
	if res.Answered != 3 || !slices.Equal(res.Choices, want) {
		t.Errorf("answered %d, choices %+v; want 3 and %+v", res.Answered, res.Choices, want)
	}
	for _, g := range res.ByStage {
		if g.Key == "consider" {
			want := []ChoiceCount{{"price", 2, Some(1.0)}, {"shipping", 1, Some(.5)}, {"quality", 0, Some(0)}}
			if g.Answers != 2 || !slices.Equal(g.Choices, want) {
				t.Errorf("stage consider: %d answers, choices %+v; want 2 and %+v", g.Answers, g.Choices, want)
			}
		}
	}
	// The same answers to a single-choice survey are one choice each, mostly unknown.
	s.Multiple = false
	res, _ = SurveyResults(s, evs, d(0), d(10), 10)
	if res.Choices[0].Count != 1 || res.Choices[len(res.Choices)-1] != (ChoiceCount{OtherAnswer, 2, Some(2.0 / 3)}) {
		t.Errorf("single choice: choices %+v; want price 1 and 2 others", res.Choices)
	}
}

func TestSurveyNPSAndText(t *testing.T) {
	var evs []PromptEvent
	for i, a := range []string{"10", "9", "8", "6", "0", "x"} {
		evs = append(evs, pe("v", event.ActionAnswered, a, d(float64(i)), "buy"))
	}
	res, err := SurveyResults(Survey{ID: "s", Kind: NPSSurvey}, evs, d(0), d(10), 0)
	if err != nil {
		t.Fatalf("SurveyResults(nps) = %v", err)
	}
	want := NPS{Score: Some(0), Promoters: 2, Passives: 1, Detractors: 2, Invalid: 1}
	if *res.NPS != want || len(res.Choices) != 11 || res.Choices[10].Count != 1 || res.Choices[10].Share != Some(1.0/6) {
		t.Errorf("SurveyResults(nps) = %+v, %+v; want %+v and 11 choices, 10 given once of 6", res.NPS, res.Choices, want)
	}
	res, _ = SurveyResults(Survey{ID: "s", Kind: NPSSurvey}, evs[:3], d(0), d(10), 0)
	if res.NPS.Score != Some(100.0*2/3) {
		t.Errorf("NPS(10, 9, 8) = %v; want 66.67", res.NPS.Score)
	}
	texts := []PromptEvent{
		pe("v1", event.ActionAnswered, "love it", d(1), "buy"),
		pe("v2", event.ActionAnswered, "  ", d(2), "buy"),
		pe("v3", event.ActionAnswered, "slow", d(3), "consider"),
	}
	res, _ = SurveyResults(Survey{ID: "s", Kind: TextSurvey}, texts, d(0), d(10), 1)
	if len(res.Texts) != 1 || res.Texts[0] != (OpenText{VID: "v3", At: d(3), Stage: "consider", Text: "slow"}) || res.Answered != 3 {
		t.Errorf("SurveyResults(text) = %+v; want the newest text only, 3 answered", res)
	}
	if _, err := SurveyResults(Survey{ID: "s", Kind: "stars"}, nil, 0, 1, 0); err == nil {
		t.Errorf("SurveyResults(kind stars) = nil error; want one")
	}
}
