package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pathlight/pathlight/internal/event"
)

// SurveyKind is the kind of question a survey asks.
type SurveyKind string

// The survey kinds.
const (
	ChoiceSurvey SurveyKind = "choice" // one answer from a list
	NPSSurvey    SurveyKind = "nps"    // 0–10: how likely to recommend
	TextSurvey   SurveyKind = "text"   // an open answer
)

// Survey describes a survey prompt, as the rules define it.
type Survey struct {
	ID      string
	Kind    SurveyKind
	Choices []string // the answers offered, in order; others are counted under OtherAnswer
	// Multiple marks a choice survey whose answers may name several choices, separated by
	// "|": an answer counts once for each choice it names, and a choice's share is the share
	// of answers that picked it (shares add up to more than 1).
	Multiple bool
}

// OtherAnswer collects choice answers that are not among the survey's choices.
const OtherAnswer = "(other)"

// PromptEvent is one thing that happened to a prompt, with the visitor's stage and segments
// at that moment.
type PromptEvent struct {
	VID      string
	Prompt   string
	Action   string // event.ActionShown, event.ActionDismissed or event.ActionAnswered
	Answer   string
	At       int64
	Stage    string
	Segments []string
}

// ChoiceCount is how often one answer was given.
type ChoiceCount struct {
	Choice string    `json:"choice"`
	Count  int       `json:"count"`
	Share  NullFloat `json:"share"` // of the group's answers
}

// NPS is a Net Promoter Score: answers 9–10 are promoters, 7–8 passives, 0–6 detractors;
// the score is 100 × (promoters − detractors) / answers.
type NPS struct {
	Score      NullFloat `json:"score"`
	Promoters  int       `json:"promoters"`
	Passives   int       `json:"passives"`
	Detractors int       `json:"detractors"`
	Invalid    int       `json:"invalid"` // answers that are not a whole number from 0 to 10
}

// AnswerGroup is the answers given by visitors in one stage or segment when they answered.
type AnswerGroup struct {
	Key     string        `json:"key"`
	Answers int           `json:"answers"`
	Choices []ChoiceCount `json:"choices,omitempty"`
	NPS     *NPS          `json:"nps,omitempty"`
}

// OpenText is one open answer.
type OpenText struct {
	VID   string `json:"vid"`
	At    int64  `json:"at"`
	Stage string `json:"stage,omitempty"`
	Text  string `json:"text"`
}

// SurveyResult is the survey report of one survey.
type SurveyResult struct {
	ID   string     `json:"id"`
	Kind SurveyKind `json:"kind"`
	// Shown, Dismissed and Answered count prompt events.
	Shown     int `json:"shown"`
	Dismissed int `json:"dismissed"`
	Answered  int `json:"answered"`
	// VisitorsShown and VisitorsAnswered count distinct visitors.
	VisitorsShown    int `json:"visitors_shown"`
	VisitorsAnswered int `json:"visitors_answered"`
	// AnswerRate is Answered / Shown.
	AnswerRate NullFloat     `json:"answer_rate"`
	Choices    []ChoiceCount `json:"choices,omitempty"`
	NPS        *NPS          `json:"nps,omitempty"`
	ByStage    []AnswerGroup `json:"by_stage"`
	BySegment  []AnswerGroup `json:"by_segment"`
	// Texts are the open answers, newest first, at most the limit asked for.
	Texts []OpenText `json:"texts,omitempty"`
}

// answers tallies answers of one group.
type answers struct {
	n      int
	counts map[string]int
	nps    NPS
}

func (a *answers) add(kind SurveyKind, s *Survey, ans string) {
	a.n++
	if a.counts == nil {
		a.counts = make(map[string]int)
	}
	switch kind {
	case ChoiceSurvey:
		if !s.Multiple {
			a.countChoice(s, ans)
			return
		}
		for c := range strings.SplitSeq(ans, "|") {
			a.countChoice(s, c)
		}
	case NPSSurvey:
		v, err := strconv.Atoi(strings.TrimSpace(ans))
		switch {
		case err != nil || v < 0 || v > 10:
			a.nps.Invalid++
			return
		case v >= 9:
			a.nps.Promoters++
		case v >= 7:
			a.nps.Passives++
		default:
			a.nps.Detractors++
		}
		a.counts[strconv.Itoa(v)]++
	}
}

// countChoice counts one choice of an answer, under OtherAnswer when s does not offer it.
func (a *answers) countChoice(s *Survey, c string) {
	if !slices.Contains(s.Choices, c) {
		c = OtherAnswer
	}
	a.counts[c]++
}

// choices lists the counts: the survey's choices in order (then OtherAnswer) for a choice
// survey, 0 to 10 for NPS.
func (a *answers) choices(kind SurveyKind, s *Survey) []ChoiceCount {
	var names []string
	switch kind {
	case ChoiceSurvey:
		names = append(slices.Clone(s.Choices), OtherAnswer)
	case NPSSurvey:
		for v := range 11 {
			names = append(names, strconv.Itoa(v))
		}
	default:
		return nil
	}
	out := make([]ChoiceCount, 0, len(names))
	for _, n := range names {
		if n == OtherAnswer && a.counts[n] == 0 {
			continue
		}
		out = append(out, ChoiceCount{Choice: n, Count: a.counts[n], Share: ratio(float64(a.counts[n]), float64(a.n))})
	}
	return out
}

func (a *answers) score(kind SurveyKind) *NPS {
	if kind != NPSSurvey {
		return nil
	}
	n := a.nps
	valid := n.Promoters + n.Passives + n.Detractors
	n.Score = ratio(100*float64(n.Promoters-n.Detractors), float64(valid))
	return &n
}

// SurveyResults summarises the prompt events of survey s in [from, to): events, visitors,
// answer rate, answers per choice, overall and per stage and segment at the time of the
// answer (a visitor in several segments counts in each), NPS, and up to maxTexts open
// answers.
func SurveyResults(s Survey, events []PromptEvent, from, to int64, maxTexts int) (*SurveyResult, error) {
	switch s.Kind {
	case ChoiceSurvey, NPSSurvey, TextSurvey:
	default:
		return nil, fmt.Errorf("survey %q: kind %q: want choice, nps or text", s.ID, s.Kind)
	}
	if to <= from {
		return nil, fmt.Errorf("survey %q: period: to (%d) must be after from (%d)", s.ID, to, from)
	}
	res := &SurveyResult{ID: s.ID, Kind: s.Kind}
	shown := make(map[string]bool)
	answered := make(map[string]bool)
	var all answers
	stages := make(map[string]*answers)
	segments := make(map[string]*answers)
	group := func(m map[string]*answers, k string) *answers {
		g := m[k]
		if g == nil {
			g = &answers{}
			m[k] = g
		}
		return g
	}
	for i := range events {
		e := &events[i]
		if e.Prompt != s.ID || e.At < from || e.At >= to {
			continue
		}
		switch e.Action {
		case event.ActionShown:
			res.Shown++
			shown[e.VID] = true
		case event.ActionDismissed:
			res.Dismissed++
		case event.ActionAnswered:
			res.Answered++
			answered[e.VID] = true
			all.add(s.Kind, &s, e.Answer)
			stage := e.Stage
			if stage == "" {
				stage = NoneKey
			}
			group(stages, stage).add(s.Kind, &s, e.Answer)
			if len(e.Segments) == 0 {
				group(segments, NoneKey).add(s.Kind, &s, e.Answer)
			}
			for _, seg := range e.Segments {
				group(segments, seg).add(s.Kind, &s, e.Answer)
			}
			if s.Kind == TextSurvey && strings.TrimSpace(e.Answer) != "" {
				res.Texts = append(res.Texts, OpenText{VID: e.VID, At: e.At, Stage: e.Stage, Text: e.Answer})
			}
		}
	}
	res.VisitorsShown, res.VisitorsAnswered = len(shown), len(answered)
	res.AnswerRate = ratio(float64(res.Answered), float64(res.Shown))
	res.Choices = all.choices(s.Kind, &s)
	res.NPS = all.score(s.Kind)
	res.ByStage = answerGroups(stages, s.Kind, &s)
	res.BySegment = answerGroups(segments, s.Kind, &s)
	slices.SortStableFunc(res.Texts, func(a, b OpenText) int { return cmp.Compare(b.At, a.At) })
	if maxTexts >= 0 && len(res.Texts) > maxTexts {
		res.Texts = res.Texts[:maxTexts]
	}
	return res, nil
}

// answerGroups lists groups by answers descending, then by key.
func answerGroups(m map[string]*answers, kind SurveyKind, s *Survey) []AnswerGroup {
	out := make([]AnswerGroup, 0, len(m))
	for k, a := range m {
		out = append(out, AnswerGroup{Key: k, Answers: a.n, Choices: a.choices(kind, s), NPS: a.score(kind)})
	}
	slices.SortFunc(out, func(a, b AnswerGroup) int {
		if c := cmp.Compare(b.Answers, a.Answers); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out
}
