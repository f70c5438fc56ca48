package rules

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

// block is why a prompt is not offered. The hot path only compares codes; explain turns
// them into sentences.
type block uint8

const (
	notBlocked       block = iota
	blockAnswered          // a survey is never asked again once answered
	blockMax               // show: max reached
	blockCooldown          // show: cooldown since the prompt was last shown
	blockUntil             // show: until answered / dismissed
	blockSegment           // the visitor is not in the prompt's segment
	blockWhen              // the prompt's condition does not match
	blockPerSession        // caps.per_session reached
	blockCapCooldown       // caps.cooldown since any prompt was last shown
	blockNever             // caps.never matches
	blockBudget            // higher-priority prompts use this hit's budget
	blockHoldout           // the visitor is in the holdout
	blockSite              // the prompt serves other sites
)

// policy checks the prompt's own show policy against what the visitor has seen.
func (p *prompt) policy(st *journey.State, now int64) block {
	ps := st.Prompt(p.pub.ID)
	if ps == nil {
		return notBlocked
	}
	switch {
	case p.pub.Kind == KindSurvey && ps.Answered > 0:
		return blockAnswered
	case p.show.max > 0 && int64(ps.Shown) >= int64(p.show.max):
		return blockMax
	case p.show.cooldown > 0 && ps.LastShown > 0 && now-ps.LastShown < p.show.cooldown:
		return blockCooldown
	case p.show.until == ActionAnswered && ps.Answered > 0:
		return blockUntil
	case p.show.until == ActionDismissed && (ps.Dismissed > 0 || ps.Answered > 0):
		return blockUntil
	}
	return notBlocked
}

// check returns why p is not offered to the visitor, not counting the caps.
func (p *prompt) check(c *Context) block {
	if !p.sites.serves(c.hit.Site) {
		return blockSite
	}
	if b := p.policy(c.st, c.now); b != notBlocked {
		return b
	}
	if p.seg >= 0 && !c.inSegment(p.seg) {
		return blockSegment
	}
	if !p.when.Eval(c) {
		return blockWhen
	}
	return notBlocked
}

// capsBlock returns why the caps allow no prompt at all on this hit, and how many prompts
// they allow (-1: no limit).
func (s *Set) capsBlock(c *Context) (block, int) {
	budget := -1
	cp := &s.caps
	if !cp.sites.serves(c.hit.Site) {
		return notBlocked, budget // the caps of other sites' prompts
	}
	if cp.perSession > 0 {
		budget = cp.perSession - int(c.st.PromptSession)
		if budget <= 0 {
			return blockPerSession, 0
		}
	}
	if cp.cooldown > 0 && c.st.PromptLast > 0 && c.now-c.st.PromptLast < cp.cooldown {
		return blockCapCooldown, 0
	}
	if cp.never != nil && cp.never.Eval(c) {
		return blockNever, 0
	}
	return notBlocked, budget
}

// decidePrompts appends the prompts to arm, in priority order, as many as the per-session
// budget has left: the snippet may show each of them, so offering more could break the cap.
func (s *Set) decidePrompts(c *Context, d *Decisions) {
	if len(s.prompts) == 0 {
		return
	}
	b, budget := s.capsBlock(c)
	if b != notBlocked {
		return
	}
	for _, p := range s.prompts {
		if budget == 0 {
			return
		}
		if p.check(c) != notBlocked {
			continue
		}
		d.Prompts = append(d.Prompts, p.pub)
		budget--
	}
}

// CheckAnswer validates the answer a visitor gave to survey id, as the snippet reports it:
// one of the choices (single_choice), choices joined by "|" (multiple_choice), 1 to 5
// (rating), 0 to 10 (nps), or up to 500 characters of text. A prompt is answered only on the
// sites it serves (site "" is any site). Answers to chat prompts are not checked further.
func (s *Set) CheckAnswer(site, id, answer string) error {
	p := s.prompt(id)
	if p == nil {
		return fmt.Errorf("unknown prompt %q", id)
	}
	if !p.sites.serves(site) {
		return fmt.Errorf("prompt %q serves only %s, not site %q", id, strings.Join(p.sites, ", "), site)
	}
	if p.pub.Kind != KindSurvey {
		return nil
	}
	switch p.pub.Type {
	case SurveySingleChoice:
		if !slices.Contains(p.pub.Choices, answer) {
			return fmt.Errorf("answer %q to survey %q is not one of its choices", answer, id)
		}
	case SurveyMultipleChoice:
		if answer == "" {
			return fmt.Errorf("empty answer to survey %q", id)
		}
		for a := range strings.SplitSeq(answer, "|") {
			if !slices.Contains(p.pub.Choices, a) {
				return fmt.Errorf("answer %q to survey %q is not one of its choices", a, id)
			}
		}
	case SurveyRating, SurveyNPS:
		lo, hi := 1, 5
		if p.pub.Type == SurveyNPS {
			lo, hi = 0, 10
		}
		n, err := strconv.Atoi(answer)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("answer %q to %s survey %q must be a whole number from %d to %d", answer, p.pub.Type, id, lo, hi)
		}
	case SurveyText:
		if n := utf8.RuneCountInString(answer); n > MaxTextAnswer {
			return fmt.Errorf("answer to survey %q is %d characters long; at most %d", id, n, MaxTextAnswer)
		}
	}
	return nil
}

// MaxTextAnswer is the longest answer a text survey takes, in characters.
const MaxTextAnswer = 500

// parseNumber parses a decimal number within ±event.MaxSafeNumber.
func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(math.Abs(f) <= event.MaxSafeNumber) { // NaN and ±Inf fail too
		return 0, false
	}
	return f, true
}

// validActionURL accepts an absolute http(s) URL or a site path.
func validActionURL(s string) bool {
	switch {
	case strings.HasPrefix(s, "https://"), strings.HasPrefix(s, "http://"):
		return len(s) > len("https://") && !strings.ContainsAny(s, " \t\n<>\"")
	case strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
		return !strings.ContainsAny(s, " \t\n<>\"")
	}
	return false
}
