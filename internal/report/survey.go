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
	b, err := NewSurveyBuilder(s, from, to, maxTexts)
	if err != nil {
		return nil, err
	}
	shown := make(map[string]bool)
	answered := make(map[string]bool)
	for i := range events {
		e := &events[i]
		switch b.count(e) {
		case event.ActionShown:
			shown[e.VID] = true
		case event.ActionAnswered:
			answered[e.VID] = true
		}
	}
	res := b.Result()
	res.VisitorsShown, res.VisitorsAnswered = len(shown), len(answered)
	return res, nil
}

// SurveyBuilder computes SurveyResults over prompt events handed to it one visitor at a
// time (Add, then EndVisitor): it counts the distinct visitors as they end, and keeps the
// tallies and the newest open answers only, never the events.
type SurveyBuilder struct {
	s        Survey
	from, to int64
	maxTexts int
	res      SurveyResult
	all      answers
	stages   map[string]*answers
	segments map[string]*answers
	// texts are the open answers kept so far, each with its place among the events added
	// (ties of time keep that order); trimmed to the newest maxTexts now and then.
	texts []OpenText
	seqs  []int
	seq   int
	// shown and answered: the visitor being added had such an event.
	shown, answered bool
}

// NewSurveyBuilder validates the survey and its period.
func NewSurveyBuilder(s Survey, from, to int64, maxTexts int) (*SurveyBuilder, error) {
	switch s.Kind {
	case ChoiceSurvey, NPSSurvey, TextSurvey:
	default:
		return nil, fmt.Errorf("survey %q: kind %q: want choice, nps or text", s.ID, s.Kind)
	}
	if to <= from {
		return nil, fmt.Errorf("survey %q: period: to (%d) must be after from (%d)", s.ID, to, from)
	}
	return &SurveyBuilder{s: s, from: from, to: to, maxTexts: maxTexts, res: SurveyResult{ID: s.ID, Kind: s.Kind},
		stages: map[string]*answers{}, segments: map[string]*answers{}}, nil
}

// Add counts one prompt event of the current visitor. It keeps none of e's memory but
// its strings.
func (b *SurveyBuilder) Add(e *PromptEvent) {
	switch b.count(e) {
	case event.ActionShown:
		b.shown = true
	case event.ActionAnswered:
		b.answered = true
	}
}

// EndVisitor ends the current visitor: each visitor must be added once, its events
// between two EndVisitor calls.
func (b *SurveyBuilder) EndVisitor() {
	if b.shown {
		b.res.VisitorsShown++
	}
	if b.answered {
		b.res.VisitorsAnswered++
	}
	b.shown, b.answered = false, false
}

// count counts e when it is an event of the survey in the period, and returns its action
// ("" when it does not count).
func (b *SurveyBuilder) count(e *PromptEvent) string {
	s, res := &b.s, &b.res
	if e.Prompt != s.ID || e.At < b.from || e.At >= b.to {
		return ""
	}
	seq := b.seq
	b.seq++
	switch e.Action {
	case event.ActionShown:
		res.Shown++
	case event.ActionDismissed:
		res.Dismissed++
	case event.ActionAnswered:
		res.Answered++
		b.all.add(s.Kind, s, e.Answer)
		stage := e.Stage
		if stage == "" {
			stage = NoneKey
		}
		group(b.stages, stage).add(s.Kind, s, e.Answer)
		if len(e.Segments) == 0 {
			group(b.segments, NoneKey).add(s.Kind, s, e.Answer)
		}
		for _, seg := range e.Segments {
			group(b.segments, seg).add(s.Kind, s, e.Answer)
		}
		if s.Kind == TextSurvey && strings.TrimSpace(e.Answer) != "" {
			b.texts = append(b.texts, OpenText{VID: e.VID, At: e.At, Stage: e.Stage, Text: e.Answer})
			b.seqs = append(b.seqs, seq)
			if b.maxTexts >= 0 && len(b.texts) >= 2*b.maxTexts+64 {
				b.newestTexts()
			}
		}
	default:
		return ""
	}
	return e.Action
}

// group returns the tally of key k in m, a new one the first time.
func group(m map[string]*answers, k string) *answers {
	g := m[k]
	if g == nil {
		g = &answers{}
		m[k] = g
	}
	return g
}

// newestTexts orders the open answers kept newest first (of equal times, the one added
// first first) and keeps at most maxTexts of them (all for a negative maxTexts).
func (b *SurveyBuilder) newestTexts() {
	if b.texts == nil {
		return
	}
	idx := make([]int, len(b.texts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int {
		return cmp.Or(cmp.Compare(b.texts[j].At, b.texts[i].At), cmp.Compare(b.seqs[i], b.seqs[j]))
	})
	if b.maxTexts >= 0 && len(idx) > b.maxTexts {
		idx = idx[:b.maxTexts]
	}
	texts, seqs := make([]OpenText, len(idx)), make([]int, len(idx))
	for k, i := range idx {
		texts[k], seqs[k] = b.texts[i], b.seqs[i]
	}
	b.texts, b.seqs = texts, seqs
}

// Result returns the results of every visitor added so far.
func (b *SurveyBuilder) Result() *SurveyResult {
	s := &b.s
	res := b.res
	res.AnswerRate = ratio(float64(res.Answered), float64(res.Shown))
	res.Choices = b.all.choices(s.Kind, s)
	res.NPS = b.all.score(s.Kind)
	res.ByStage = answerGroups(b.stages, s.Kind, s)
	res.BySegment = answerGroups(b.segments, s.Kind, s)
	b.newestTexts()
	res.Texts = b.texts // nil when no open answer came, empty when maxTexts is 0
	return &res
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
