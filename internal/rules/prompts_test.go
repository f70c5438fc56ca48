package rules

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/journey"
)

const hour = 60 * 60 * 1000

// TestShowPolicies checks every show policy against the prompt stats in the state.
func TestShowPolicies(t *testing.T) {
	tests := []struct {
		show  string
		kind  string
		stat  journey.PromptStat // LastShown is relative to now
		offer bool
	}{
		{"once", "chat", journey.PromptStat{}, true},
		{"once", "chat", journey.PromptStat{Shown: 1, LastShown: -100 * 24 * hour}, false},
		{"always", "chat", journey.PromptStat{Shown: 9, Dismissed: 9, LastShown: -hour}, true},
		{"{max: 2}", "chat", journey.PromptStat{Shown: 1, LastShown: -hour}, true},
		{"{max: 2}", "chat", journey.PromptStat{Shown: 2, LastShown: -hour}, false},
		{"{cooldown: 7d}", "chat", journey.PromptStat{Shown: 3, LastShown: -6 * 24 * hour}, false},
		{"{cooldown: 7d}", "chat", journey.PromptStat{Shown: 3, LastShown: -8 * 24 * hour}, true},
		{"{until: answered}", "chat", journey.PromptStat{Shown: 3, Dismissed: 3, LastShown: -hour}, true},
		{"{until: answered}", "chat", journey.PromptStat{Shown: 3, Answered: 1, LastShown: -hour}, false},
		{"{until: dismissed}", "chat", journey.PromptStat{Shown: 3, LastShown: -hour}, true},
		{"{until: dismissed}", "chat", journey.PromptStat{Shown: 1, Dismissed: 1, LastShown: -hour}, false},
		{"{until: dismissed}", "chat", journey.PromptStat{Shown: 1, Answered: 1, LastShown: -hour}, false},
		{"{max: 3, cooldown: 1d, until: dismissed}", "chat", journey.PromptStat{Shown: 2, LastShown: -2 * 24 * hour}, true},
		{"{max: 3, cooldown: 1d, until: dismissed}", "chat", journey.PromptStat{Shown: 2, LastShown: -2 * hour}, false},
		{"always", "survey", journey.PromptStat{Shown: 1, Answered: 1, LastShown: -hour}, false}, // a survey is never asked twice
		{"always", "survey", journey.PromptStat{Shown: 1, Dismissed: 1, LastShown: -hour}, true},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s %s %+v", tt.kind, tt.show, tt.stat)
		t.Run(name, func(t *testing.T) {
			var src string
			if tt.kind == "chat" {
				src = fmt.Sprintf("chat:\n  p: {message: Hi, show: %s}\n", tt.show)
			} else {
				src = fmt.Sprintf("surveys:\n  p: {question: Q, type: text, show: %s}\n", tt.show)
			}
			set := mustLoad(t, src)
			s := newSim(set, "v1")
			s.pageview("/")
			stat := tt.stat
			stat.ID = "p"
			if stat.LastShown != 0 {
				stat.LastShown += s.now
			}
			s.st.Prompts = []journey.PromptStat{stat}
			got := len(s.decide().Prompts) == 1
			if got != tt.offer {
				t.Errorf("offered = %v; want %v", got, tt.offer)
			}
			e := set.Explain(&s.st, &s.hit, "", "", "p")
			if e.Prompts[0].Offered != got || (got == (e.Prompts[0].BlockedBy != "")) {
				t.Errorf("Explain = %+v; want offered %v with a reason when blocked", e.Prompts[0], got)
			}
		})
	}
}

const capsRules = `
segments:
  pricing_fan: {when: {steps.viewed_pricing.count: {$gte: 2}}}
steps:
  - {id: viewed_pricing, stage: consideration, when: {page.path: /pricing}}
surveys:
  exit: {question: Why?, type: text, segment: pricing_fan, trigger: exit_intent, show: always}
chat:
  help: {message: Help?, when: {page.path: {$regex: ^/checkout}}, trigger: {idle: 30s}, show: always}
  low: {message: Anything?, show: always}
caps:
  per_session: 2
  cooldown: 1h
  never: {page.path: /checkout/pay}
  priority: [help, exit]
`

func TestCaps(t *testing.T) {
	set := mustLoad(t, capsRules)
	tests := []struct {
		name     string
		urls     []string
		session  uint32 // prompts shown this session
		lastAgo  int64  // ms since any prompt was shown; 0 for never
		want     []string
		blocking string // what Explain says blocked "low", if not offered
	}{
		{"priority order, budget of two", []string{"/pricing", "/pricing", "/checkout"}, 0, 0, []string{"help", "exit"}, "caps.per_session: the budget goes to higher-priority prompts"},
		{"one left in the budget", []string{"/checkout"}, 1, 2 * hour, []string{"help"}, "caps.per_session: the budget goes to higher-priority prompts"},
		{"budget used up", []string{"/checkout"}, 2, 2 * hour, []string{}, "caps.per_session: 2 shown this session, cap 2"},
		{"cooldown between any two", []string{"/checkout"}, 1, 30 * 60 * 1000, []string{}, "caps.cooldown: 1h0m0s (last prompt 30m0s ago)"},
		{"never on the payment page", []string{"/checkout/pay"}, 0, 0, []string{}, "caps.never: matches this page"},
		{"unlisted prompts come last", []string{"/"}, 0, 0, []string{"low"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSim(set, "v1")
			for _, u := range tt.urls {
				s.pageview(u)
			}
			s.st.PromptSession = tt.session
			if tt.lastAgo > 0 {
				s.st.PromptLast = s.now - tt.lastAgo
			}
			if got := s.decide().promptIDs(); !slices.Equal(got, tt.want) {
				t.Errorf("prompts = %v; want %v", got, tt.want)
			}
			e := set.Explain(&s.st, &s.hit, "", "", "low")
			if len(e.Prompts) != 1 || e.Prompts[0].BlockedBy != tt.blocking {
				t.Errorf("Explain(low) = %+v; want blocked by %q", e.Prompts, tt.blocking)
			}
		})
	}
}

// TestCapsSharedAcrossDevices: the prompt stats of a merged state (an identified user's two
// devices) block a prompt on either device.
func TestCapsSharedAcrossDevices(t *testing.T) {
	set := mustLoad(t, "chat:\n  p: {message: Hi, show: once}\n")
	phone, laptop := newSim(set, "phone"), newSim(set, "laptop")
	phone.pageview("/")
	if got := phone.decide().promptIDs(); !slices.Equal(got, []string{"p"}) {
		t.Fatalf("phone prompts = %v; want [p]", got)
	}
	phone.prompt("p", ActionShown)
	laptop.pageview("/")
	journey.Merge(&laptop.st, &phone.st)
	if got := laptop.decide().promptIDs(); len(got) != 0 {
		t.Errorf("laptop prompts after the merge = %v; want none (shown once on the phone)", got)
	}
}

// TestOfferedIsNotShown: offering a prompt does not count it; the snippet's shown report does.
func TestOfferedIsNotShown(t *testing.T) {
	set := mustLoad(t, "chat:\n  p: {message: Hi, show: once}\n")
	s := newSim(set, "v1")
	s.pageview("/")
	s.decide()
	s.decide()
	if got := s.decide().promptIDs(); !slices.Equal(got, []string{"p"}) {
		t.Errorf("after two offers, prompts = %v; want [p] (not yet shown)", got)
	}
	if s.st.Prompt("p") != nil || s.st.PromptSession != 0 {
		t.Errorf("Decide changed prompt stats: %+v, session %d", s.st.Prompt("p"), s.st.PromptSession)
	}
}

func TestCheckAnswer(t *testing.T) {
	set := mustLoad(t, `
surveys:
  one: {question: Q, type: single_choice, choices: [Red, Blue]}
  many: {question: Q, type: multiple_choice, choices: [Red, Blue, Green]}
  rate: {question: Q, type: rating}
  nps: {question: Q, type: nps}
  text: {question: Q, type: text}
chat:
  talk: {message: Hi}
`)
	tests := []struct {
		id, answer string
		ok         bool
	}{
		{"one", "Red", true}, {"one", "red", false}, {"one", "Red|Blue", false},
		{"many", "Red|Green", true}, {"many", "Red", true}, {"many", "Red|Pink", false}, {"many", "", false},
		{"rate", "1", true}, {"rate", "5", true}, {"rate", "0", false}, {"rate", "6", false}, {"rate", "4.5", false},
		{"nps", "0", true}, {"nps", "10", true}, {"nps", "11", false}, {"nps", "-1", false},
		{"text", strings.Repeat("é", 500), true}, {"text", strings.Repeat("a", 501), false}, {"text", "", true},
		{"talk", "anything", true}, {"nope", "x", false},
	}
	for _, tt := range tests {
		err := set.CheckAnswer("", tt.id, tt.answer)
		if (err == nil) != tt.ok {
			t.Errorf("CheckAnswer(%q, %.20q) = %v; want ok %v", tt.id, tt.answer, err, tt.ok)
		}
	}
}

func TestPromptPayload(t *testing.T) {
	set, err := LoadDir("testdata/good/all")
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(set, "v2") // v1 falls in this set's holdout
	s.pageview("/docs/a")
	s.pageview("/docs/b")
	d := s.decide()
	want := []Prompt{
		{ID: "features", Kind: KindSurvey, Trigger: Trigger{Type: TriggerScroll, Percent: 50}, Question: "Which features do you use?", Type: SurveyMultipleChoice, Choices: []string{"Reports", "Exports", "API"}},
		{ID: "rate", Kind: KindSurvey, Trigger: Trigger{Type: TriggerEvent, Event: "docs_done"}, Question: "Rate the docs", Type: SurveyRating},
		{ID: "text", Kind: KindSurvey, Trigger: Trigger{Type: TriggerAfter, Seconds: 90}, Question: "Anything else?", Type: SurveyText},
		{ID: "sales", Kind: KindChat, Trigger: Trigger{Type: TriggerExitIntent}, Message: "Talk to sales?", Action: &Action{URL: "https://example.com/sales"}},
	}
	if len(d.Prompts) != len(want) {
		t.Fatalf("prompts = %+v; want %d", d.Prompts, len(want))
	}
	for i := range want {
		got := d.Prompts[i]
		if got.ID != want[i].ID || got.Kind != want[i].Kind || got.Trigger != want[i].Trigger || got.Question != want[i].Question ||
			got.Type != want[i].Type || !slices.Equal(got.Choices, want[i].Choices) || got.Message != want[i].Message ||
			(got.Action == nil) != (want[i].Action == nil) || (got.Action != nil && *got.Action != *want[i].Action) {
			t.Errorf("prompt %d = %+v; want %+v", i, got, want[i])
		}
	}
}
