package analytics

import (
	"cmp"
	"hash/fnv"
	"slices"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/report"
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
		er := ExperimentReport{ID: x.ID, Description: x.Description, Slot: x.Slot, Goal: x.Goal}
		for _, e := range rc.v.entries {
			for _, a := range e.j.Arms {
				if a.Experiment != x.ID || !a.Exposed || a.At < from || a.At >= to {
					continue
				}
				i := slices.IndexFunc(arms, func(arm report.Arm) bool { return arm.Name == a.Variant })
				if i < 0 {
					er.Unknown++
					continue
				}
				arms[i].Exposures++
				if reached(e, x.Goal, a.At, to) {
					arms[i].Conversions++
				}
			}
		}
		if len(arms) == 0 {
			continue
		}
		r, err := report.AnalyzeExperiment(arms, arms[0].Name, seedOf(x.ID))
		if err != nil {
			return nil, err
		}
		er.ExperimentResult = r
		res.Experiments = append(res.Experiments, er)
	}
	res.Holdout = holdoutLifts(rc)
	return res, nil
}

// reached reports whether the visitor reached step goal in [at, to), or converted in it when
// goal is empty. The step history holds the latest arrivals; the step's first and last
// arrival cover older ones.
func reached(e *entry, goal string, at, to int64) bool {
	if goal == "" {
		return slices.ContainsFunc(e.j.Conversions, func(c journey.Conversion) bool { return c.At >= at && c.At < to })
	}
	for _, m := range e.j.Steps {
		if m.Step == goal && m.At >= at && m.At < to {
			return true
		}
	}
	for _, c := range e.steps {
		if c.Key == goal && ((c.FirstAt >= at && c.FirstAt < to) || (c.LastAt >= at && c.LastAt < to)) {
			return true
		}
	}
	return false
}

// holdoutLifts compares each prompt's exposed visitors with its holdout.
func holdoutLifts(rc *reportCtx) []HoldoutLift {
	type first struct{ shown, held map[string]int64 }
	byPrompt := map[string]*first{}
	for _, pr := range rc.v.prompts {
		if pr.at < rc.q.From || pr.at >= rc.q.To {
			continue
		}
		var m *map[string]int64
		f := byPrompt[pr.prompt]
		if f == nil {
			f = &first{shown: map[string]int64{}, held: map[string]int64{}}
			byPrompt[pr.prompt] = f
		}
		switch pr.action {
		case event.ActionShown:
			m = &f.shown
		case actionHoldout:
			m = &f.held
		default:
			continue
		}
		if t, ok := (*m)[pr.vid]; !ok || pr.at < t {
			(*m)[pr.vid] = pr.at
		}
	}
	var out []HoldoutLift
	for id, f := range byPrompt {
		if len(f.held) == 0 {
			continue
		}
		count := func(m map[string]int64) ArmCount {
			var c ArmCount
			for vid, at := range m {
				c.Visitors++
				if e := rc.v.entry(vid); e != nil && reached(e, "", at, rc.q.To) {
					c.Conversions++
				}
			}
			return c
		}
		h := HoldoutLift{Prompt: id, Exposed: count(f.shown), Holdout: count(f.held)}
		h.Lift = report.HoldoutLift(
			report.Arm{Name: "exposed", Exposures: h.Exposed.Visitors, Conversions: h.Exposed.Conversions},
			report.Arm{Name: "holdout", Exposures: h.Holdout.Visitors, Conversions: h.Holdout.Conversions})
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b HoldoutLift) int { return cmp.Compare(a.Prompt, b.Prompt) })
	if out == nil {
		out = []HoldoutLift{}
	}
	return out
}

// seedOf makes the simulated chance to be best reproducible per experiment.
func seedOf(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}
