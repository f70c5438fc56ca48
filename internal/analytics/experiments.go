package analytics

import (
	"cmp"
	"hash/fnv"
	"slices"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/report"
	"github.com/pathlight/pathlight/internal/rules"
)

// ExperimentsReport is the results of the rules' experiments over the period, and the lift
// of each prompt against the global holdout.
type ExperimentsReport struct {
	Experiments []ExperimentReport `json:"experiments"`
	Holdout     []HoldoutLift      `json:"holdout"`
}

// ExperimentReport is report.ExperimentResult with the experiment's definition. The unit
// is the visitor: exposures are visitors first exposed in the period, conversions those of
// them who reached the goal step (any conversion when the experiment has no goal) after
// their exposure and before the period's end.
type ExperimentReport struct {
	*report.ExperimentResult
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	Slot        string `json:"slot"`
	Goal        string `json:"goal,omitempty"`
	// Unknown counts exposed visitors whose arm the rules no longer define.
	Unknown int `json:"unknown_arms,omitempty"`
}

// HoldoutLift compares, for one prompt, the visitors shown it in the period with the holdout
// visitors who would have been shown it: conversions after that first moment, before the
// period's end.
type HoldoutLift struct {
	Prompt  string            `json:"prompt"`
	Exposed ArmCount          `json:"exposed"`
	Holdout ArmCount          `json:"holdout"`
	Lift    report.Comparison `json:"lift"`
}

// ArmCount is a group's visitors and how many of them converted.
type ArmCount struct {
	Visitors    int `json:"visitors"`
	Conversions int `json:"conversions"`
}

func runExperiments(rc *reportCtx) (any, error) {
	res := &ExperimentsReport{Experiments: []ExperimentReport{}, Holdout: []HoldoutLift{}}
	from, to := rc.q.From, rc.q.To
	type exp struct {
		x    rules.ExperimentInfo
		arms []report.Arm
		er   ExperimentReport
	}
	var exps []*exp
	for _, x := range rc.set.Experiments() {
		if !rc.serves(x.Sites) {
			continue
		}
		arms := make([]report.Arm, len(x.Variants))
		for i, v := range x.Variants {
			arms[i] = report.Arm{Name: v}
			if i < len(x.Weights) {
				arms[i].Weight = x.Weights[i]
			}
		}
		exps = append(exps, &exp{x: x, arms: arms, er: ExperimentReport{ID: x.ID, Description: x.Description, Slot: x.Slot, Goal: x.Goal}})
	}
	holdout := newHoldoutAcc(from, to)
	// Visitors first exposed in the period, and those with a prompt event in it.
	ranges := []reportstore.Range{days(from, to, reportstore.FlagExposure), days(from, to, reportstore.FlagPrompt)}
	err := rc.each(experimentParts, ranges, func(vs []*reportstore.Visitor) error {
		for _, v := range vs {
			holdout.add(rc.q.Site, v)
			if !v.HasState {
				continue
			}
			for _, e := range exps {
				for _, a := range v.J.Arms {
					if a.Experiment != e.x.ID || !a.Exposed || a.At < from || a.At >= to {
						continue
					}
					i := slices.IndexFunc(e.arms, func(arm report.Arm) bool { return arm.Name == a.Variant })
					if i < 0 {
						e.er.Unknown++
						continue
					}
					e.arms[i].Exposures++
					if reached(v, e.x.Goal, a.At, to) {
						e.arms[i].Conversions++
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, e := range exps {
		if len(e.arms) == 0 {
			continue
		}
		r, err := report.AnalyzeExperiment(e.arms, e.arms[0].Name, seedOf(e.x.ID))
		if err != nil {
			return nil, err
		}
		e.er.ExperimentResult = r
		res.Experiments = append(res.Experiments, e.er)
	}
	res.Holdout = holdout.lifts()
	return res, nil
}

// experimentParts are the parts of a record the experiments report reads: assignments,
// prompt events, and what tells a goal reached (conversions, step arrivals, step counts).
const experimentParts = reportstore.PartArms | reportstore.PartPrompts | reportstore.PartConversions | reportstore.PartMarks | reportstore.PartCounts

// reached reports whether the visitor reached step goal in [at, to), or converted in it when
// goal is empty. The step history holds the latest arrivals; the step's first and last
// arrival cover older ones.
func reached(v *reportstore.Visitor, goal string, at, to int64) bool {
	if goal == "" {
		return slices.ContainsFunc(v.J.Conversions, func(c journey.Conversion) bool { return c.At >= at && c.At < to })
	}
	for _, m := range v.J.Steps {
		if m.Step == goal && m.At >= at && m.At < to {
			return true
		}
	}
	for _, c := range v.Steps {
		if c.Key == goal && ((c.FirstAt >= at && c.FirstAt < to) || (c.LastAt >= at && c.LastAt < to)) {
			return true
		}
	}
	return false
}

// holdoutAcc compares each prompt's exposed visitors with its holdout: per prompt, the
// visitors shown it in the period and the holdout visitors who would have been shown it,
// and how many of each converted after that first moment, before the period's end.
type holdoutAcc struct {
	from, to int64
	prompts  map[string]*[2]ArmCount // shown, holdout
	held     map[string]bool         // prompts with a holdout visitor
}

func newHoldoutAcc(from, to int64) *holdoutAcc {
	return &holdoutAcc{from: from, to: to, prompts: map[string]*[2]ArmCount{}, held: map[string]bool{}}
}

// add counts one visitor's prompt events of site ("" for every site).
func (h *holdoutAcc) add(site string, v *reportstore.Visitor) {
	type key struct {
		prompt string
		group  int
	}
	first := map[key]int64{}
	for _, pr := range v.Prompts {
		if pr.At < h.from || pr.At >= h.to || (site != "" && pr.Site != site) {
			continue
		}
		g := -1
		switch pr.Action {
		case event.ActionShown:
			g = 0
		case reportstore.ActionHoldout:
			g = 1
		}
		if _, ok := h.prompts[pr.Prompt]; !ok {
			h.prompts[pr.Prompt] = &[2]ArmCount{}
		}
		if g < 0 {
			continue
		}
		k := key{pr.Prompt, g}
		if t, ok := first[k]; !ok || pr.At < t {
			first[k] = pr.At
		}
	}
	for k, at := range first {
		c := &h.prompts[k.prompt][k.group]
		c.Visitors++
		if k.group == 1 {
			h.held[k.prompt] = true
		}
		if v.HasState && reached(v, "", at, h.to) {
			c.Conversions++
		}
	}
}

// lifts returns the lift of each prompt with a holdout, by prompt id.
func (h *holdoutAcc) lifts() []HoldoutLift {
	out := []HoldoutLift{}
	for id, c := range h.prompts {
		if !h.held[id] {
			continue
		}
		l := HoldoutLift{Prompt: id, Exposed: c[0], Holdout: c[1]}
		l.Lift = report.HoldoutLift(
			report.Arm{Name: "exposed", Exposures: l.Exposed.Visitors, Conversions: l.Exposed.Conversions},
			report.Arm{Name: "holdout", Exposures: l.Holdout.Visitors, Conversions: l.Holdout.Conversions})
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b HoldoutLift) int { return cmp.Compare(a.Prompt, b.Prompt) })
	return out
}

// seedOf makes the simulated chance to be best reproducible per experiment.
func seedOf(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}
