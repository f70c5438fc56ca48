package report

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
)

// TestSurveyBuilderPerVisitor: a builder fed one visitor at a time gives what SurveyResults
// gives for the same events in the same order (distinct visitors from its maps), and the
// open answers it trims as it goes are the newest of all, ties of time in the order added.
func TestSurveyBuilderPerVisitor(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	actions := []string{event.ActionShown, event.ActionDismissed, event.ActionAnswered, "other"}
	answers := []string{"price", "7", "10", "x", " ", "good|bad", "ok"}
	var visitors [][]PromptEvent
	for v := range 300 {
		var evs []PromptEvent
		for range r.IntN(6) {
			prompt := "s"
			if r.IntN(5) == 0 {
				prompt = "t"
			}
			// Few distinct times: many ties among the open answers.
			evs = append(evs, PromptEvent{VID: fmt.Sprintf("v%d", v), Prompt: prompt, Action: actions[r.IntN(len(actions))],
				Answer: answers[r.IntN(len(answers))], At: d(float64(r.IntN(12))), Stage: []string{"", "buy"}[r.IntN(2)],
				Segments: []string{"a", "b", "c"}[:r.IntN(3)]})
		}
		visitors = append(visitors, evs)
	}
	all := slices.Concat(visitors...)
	for _, kind := range []SurveyKind{ChoiceSurvey, NPSSurvey, TextSurvey} {
		for _, maxTexts := range []int{-1, 0, 1, 3, 1000} {
			s := Survey{ID: "s", Kind: kind, Choices: []string{"price", "good"}, Multiple: true}
			want, err := SurveyResults(s, all, d(1), d(10), maxTexts)
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewSurveyBuilder(s, d(1), d(10), maxTexts)
			if err != nil {
				t.Fatal(err)
			}
			for _, evs := range visitors {
				for i := range evs {
					b.Add(&evs[i])
				}
				b.EndVisitor()
			}
			got := b.Result()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s survey, %d texts: the builder gave\n%+v\nwant\n%+v", kind, maxTexts, got, want)
			}
			if kind == TextSurvey && maxTexts == 3 && len(got.Texts) != 3 {
				t.Errorf("text survey: %d open answers kept, want 3", len(got.Texts))
			}
		}
	}
	// The newest first; of equal times, the one given first first.
	var texts []OpenText
	for _, e := range all {
		if e.Prompt == "s" && e.Action == event.ActionAnswered && e.At >= d(1) && e.At < d(10) && e.Answer != " " {
			texts = append(texts, OpenText{VID: e.VID, At: e.At, Stage: e.Stage, Text: e.Answer})
		}
	}
	slices.SortStableFunc(texts, func(a, b OpenText) int { return cmp.Compare(b.At, a.At) })
	res, err := SurveyResults(Survey{ID: "s", Kind: TextSurvey}, all, d(1), d(10), 5)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Texts, texts[:5]) {
		t.Errorf("open answers %+v; want %+v", res.Texts, texts[:5])
	}
}
