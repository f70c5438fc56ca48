package rules

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

var (
	surveyKeys = []string{"question", "type", "choices", "when", "segment", "trigger", "show", "description", "sites"}
	chatKeys   = []string{"message", "action", "when", "segment", "trigger", "show", "description", "sites"}
	actionKeys = []string{"url", "event"}
)

// Survey question types.
const (
	SurveySingleChoice   = "single_choice"
	SurveyMultipleChoice = "multiple_choice"
	SurveyRating         = "rating"
	SurveyNPS            = "nps"
	SurveyText           = "text"
)

var surveyTypes = []string{SurveySingleChoice, SurveyMultipleChoice, SurveyRating, SurveyNPS, SurveyText}

func (d *dec) prompt(e entry, kind string) *rawPrompt {
	if !d.keyIdent(e, kind+" id") {
		return nil
	}
	p := &rawPrompt{at: d.at(e.k), kind: kind, id: e.key, trigger: Trigger{Type: TriggerAfter}, show: showPolicy{max: 1}}
	what := kind + " " + quote(e.key)
	keys := surveyKeys
	if kind == "chat" {
		keys = chatKeys
	}
	have := map[string]bool{}
	var choicesNode, typeNode ast.Node
	givenChoices := 0
	isMap := d.object(e.v, what, keys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "question":
			p.question, _ = d.text(f.v, "question")
		case "type":
			typeNode = f.v
			if s, ok := d.str(f.v, "type"); ok {
				if !slices.Contains(surveyTypes, s) {
					d.errorf(f.v, "unknown survey type %q (want single_choice, multiple_choice, rating, nps or text)%s", s, suggest(s, surveyTypes))
				} else {
					p.qtype = s
				}
			}
		case "choices":
			choicesNode = f.k
			items, _ := d.list(f.v, "choices")
			givenChoices = len(items)
			seen := map[string]bool{}
			for _, it := range items {
				c, ok := d.text(it, "a choice")
				if !ok {
					continue
				}
				switch {
				case c == "":
					d.errorf(it, "a choice must not be empty")
				case seen[c]:
					d.errorf(it, "duplicate choice %q", c)
				case strings.IndexByte(c, '|') >= 0:
					d.errorf(it, "a choice must not contain '|': it separates the answers of a multiple_choice survey")
				default:
					seen[c] = true
					p.choices = append(p.choices, c)
				}
			}
		case "message":
			p.message, _ = d.text(f.v, "message")
		case "action":
			p.action = d.action(f.v)
		case "when":
			p.when = d.cond(f.v, "when")
		case "segment":
			p.segment, _ = d.ident(f.v, "segment")
			p.segAt = d.at(f.v)
		case "trigger":
			if t, ok := d.trigger(f.v); ok {
				p.trigger = t
			}
		case "show":
			if s, ok := d.show(f.v); ok {
				p.show = s
			}
		case "description":
			p.desc, _ = d.text(f.v, "description")
		case "sites":
			p.scope = d.scope(f)
		}
	})
	switch {
	case !isMap:
		return nil
	case kind == "survey":
		d.require(e.k, what, have, "question", "type")
		switch p.qtype {
		case SurveySingleChoice, SurveyMultipleChoice:
			// Fewer than two items given; two or more of which some are wrong are reported as such.
			if givenChoices < 2 && (choicesNode != nil || typeNode != nil) {
				n := choicesNode
				if n == nil {
					n = typeNode
				}
				d.errorf(n, "a %s survey needs at least two choices", p.qtype)
			}
		case SurveyRating, SurveyNPS, SurveyText:
			if choicesNode != nil {
				d.errorf(choicesNode, "a survey of type %s takes no choices", p.qtype)
			}
		}
	default:
		d.require(e.k, what, have, "message")
	}
	return p
}

// action decodes `{url: https://…}` or `{event: open-chat}`.
func (d *dec) action(n ast.Node) *Action {
	a := &Action{}
	d.object(n, "action", actionKeys, func(f entry) {
		switch f.key {
		case "url":
			if s, ok := d.str(f.v, "action url"); ok {
				if !validActionURL(s) {
					d.errorf(f.v, "action url %q must be an absolute http(s) URL or a path starting with /", s)
				}
				a.URL = s
			}
		case "event":
			a.Event, _ = d.ident(f.v, "action event")
		}
	})
	if (a.URL == "") == (a.Event == "") {
		d.errorf(n, "action needs exactly one of url or event")
		return nil
	}
	return a
}

var triggerKeys = []string{TriggerIdle, TriggerAfter, TriggerScroll, TriggerEvent}

// trigger decodes exit_intent, {idle: 30s}, {after: 10s}, {scroll: 50} or {event: name}.
func (d *dec) trigger(n ast.Node) (Trigger, bool) {
	r := d.resolve(n)
	if s, ok := r.(*ast.StringNode); ok {
		if s.Value == TriggerExitIntent {
			return Trigger{Type: TriggerExitIntent}, true
		}
		d.errorf(n, "unknown trigger %q (want exit_intent, {idle: 30s}, {after: 10s}, {scroll: 50} or {event: name})%s",
			s.Value, suggest(strings.ReplaceAll(strings.ToLower(s.Value), "-", "_"), []string{TriggerExitIntent}))
		return Trigger{}, false
	}
	es, ok := d.entries(n, "trigger")
	if !ok {
		return Trigger{}, false
	}
	if len(es) != 1 {
		d.errorf(n, "a trigger has exactly one key: exit_intent, idle, after, scroll or event")
		return Trigger{}, false
	}
	e := es[0]
	t := Trigger{Type: e.key}
	switch e.key {
	case TriggerIdle, TriggerAfter:
		ms, ok := d.duration(e.v, e.key)
		if !ok {
			return Trigger{}, false
		}
		t.Seconds = int((ms + 999) / 1000)
	case TriggerScroll:
		pct, ok := d.scrollPercent(e.v)
		if !ok {
			return Trigger{}, false
		}
		t.Percent = pct
	case TriggerEvent:
		name, ok := d.str(e.v, "trigger event")
		if !ok || name == "" {
			if ok {
				d.errorf(e.v, "trigger event needs an event name")
			}
			return Trigger{}, false
		}
		t.Event = name
	default:
		d.errorf(e.k, "unknown trigger %q%s", e.key, suggest(e.key, append([]string{TriggerExitIntent}, triggerKeys...)))
		return Trigger{}, false
	}
	return t, true
}

func (d *dec) scrollPercent(n ast.Node) (int, bool) {
	r := d.resolve(n)
	const whole = "scroll must be a whole percentage between 1 and 100, such as 50 or 50%%"
	var v int64
	if s, ok := r.(*ast.StringNode); ok && strings.HasSuffix(s.Value, "%") {
		p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s.Value, "%")), 64)
		if err != nil || p != math.Trunc(p) {
			d.errorf(n, whole)
			return 0, false
		}
		v = int64(max(min(p, 1e6), -1e6))
	} else if _, ok := r.(*ast.FloatNode); ok {
		d.errorf(n, whole)
		return 0, false
	} else if v, ok = d.integer(n, "scroll"); !ok {
		return 0, false
	}
	if v < 1 || v > 100 {
		d.errorf(n, "scroll %d%% must be a percentage between 1 and 100", v)
		return 0, false
	}
	return int(v), true
}

var (
	showKeys    = []string{"max", "cooldown", "until"}
	untilValues = []string{ActionAnswered, ActionDismissed}
)

// show decodes once, always, or {max: N, cooldown: 7d, until: answered|dismissed}.
func (d *dec) show(n ast.Node) (showPolicy, bool) {
	r := d.resolve(n)
	if s, ok := r.(*ast.StringNode); ok {
		switch s.Value {
		case "once":
			return showPolicy{max: 1}, true
		case "always":
			return showPolicy{}, true
		}
		d.errorf(n, "unknown show policy %q (want once, always or a mapping of max, cooldown and until)", s.Value)
		return showPolicy{}, false
	}
	var sp showPolicy
	ok := len(d.errs)
	d.object(n, "show", showKeys, func(f entry) {
		switch f.key {
		case "max":
			sp.max, _ = d.positive(f.v, "max")
		case "cooldown":
			sp.cooldown, _ = d.duration(f.v, "cooldown")
		case "until":
			if s, ok := d.str(f.v, "until"); ok {
				if !slices.Contains(untilValues, s) {
					d.errorf(f.v, "until must be answered or dismissed, not %q", s)
				}
				sp.until = s
			}
		}
	})
	return sp, len(d.errs) == ok
}

var capsKeys = []string{"per_session", "cooldown", "never", "priority"}

func (d *dec) caps(e entry) *rawCaps {
	c := &rawCaps{at: d.at(e.k)}
	d.object(e.v, "caps", capsKeys, func(f entry) {
		switch f.key {
		case "per_session":
			c.perSession, _ = d.positive(f.v, "per_session")
		case "cooldown":
			c.cooldown, _ = d.duration(f.v, "cooldown")
		case "never":
			c.never = d.cond(f.v, "never")
		case "priority":
			ids, nodes := d.idList(f.v, "priority")
			c.priority = ids
			for _, n := range nodes {
				c.priorityAt = append(c.priorityAt, d.at(n))
			}
		}
	})
	return c
}
