package analytics

import (
	"github.com/pathlight/pathlight/internal/report"
)

// AllModels returns the models that model=all runs, in the order tables show them.
func AllModels() []report.Model {
	return []report.Model{
		report.FirstTouch, report.LastTouch, report.LastNonDirect, report.Linear,
		report.PositionBased, report.TimeDecay, report.MarkovChain, report.Shapley,
	}
}

// AttributionReport is the credit of each channel under one or several models.
type AttributionReport struct {
	Models map[string]*report.Attribution `json:"models"`
	// Order is the Markov chain's order and LookbackS the lookback, in seconds.
	Order     int     `json:"order"`
	LookbackS float64 `json:"lookback_s"`
}

func runAttribution(rc *reportCtx) (any, error) {
	po := pathOptions(rc)
	ao := attributionOptions(rc)
	models := modelsOption(rc, "all")
	campaigns := rc.o.bool("campaigns")
	if rc.o.err != nil {
		return nil, rc.o.err
	}
	res := &AttributionReport{Models: map[string]*report.Attribution{}, Order: ao.Order, LookbackS: po.Lookback.Seconds()}
	// Every model's missing days in one scan of the store.
	var specs []rollupSpec
	paths := false
	for _, m := range models {
		o := ao
		o.Model = m
		if m == report.MarkovChain || m == report.Shapley {
			if !paths {
				specs, paths = append(specs, pathSpec(po)), true
			}
			continue
		}
		specs = append(specs, attributionSpec(po, o))
	}
	if err := prefetchRollups(rc, specs); err != nil {
		return nil, err
	}
	for _, m := range models {
		o := ao
		o.Model = m
		a, err := rc.attribution(po, o)
		if err != nil {
			return nil, err
		}
		if !campaigns {
			a = withoutCampaigns(a)
		}
		res.Models[string(m)] = a
	}
	return res, nil
}

// modelsOption reads model: a model name, or all.
func modelsOption(rc *reportCtx, def string) []report.Model {
	v := rc.o.str("model", def)
	if v == "all" {
		return AllModels()
	}
	m, err := report.ParseModel(v)
	if err != nil {
		rc.o.fail("model", "%q: want all or one of first_touch, last_touch, last_non_direct, linear, position_based, time_decay, markov, shapley", v)
		return nil
	}
	return []report.Model{m}
}

// attributionOptions reads the models' options, with their defaults filled in so that equal
// options share daily rollups: order, max_steps, transitions, game, half_life, first_weight,
// last_weight.
func attributionOptions(rc *reportCtx) report.AttributionOptions {
	ao := report.AttributionOptions{
		Order:       rc.o.int("order", 1, 1, report.MaxOrder),
		Transitions: rc.o.bool("transitions"),
		HalfLife:    rc.o.duration("half_life", report.DefaultHalfLife),
		FirstWeight: rc.o.float("first_weight", report.DefaultFirstWeight, 0, 1),
		LastWeight:  rc.o.float("last_weight", report.DefaultLastWeight, 0, 1),
	}
	if n, err := report.ParseMaxSteps(rc.o.str("max_steps", "0")); err != nil {
		rc.o.fail("max_steps", "%v", err)
	} else {
		ao.MaxSteps = n
	}
	switch g := report.Game(rc.o.str("game", string(report.CountingGame))); g {
	case report.CountingGame, report.RateGame:
		ao.Game = g
	default:
		rc.o.fail("game", "%q: want %s or %s", g, report.CountingGame, report.RateGame)
	}
	if ao.FirstWeight+ao.LastWeight > 1 {
		rc.o.fail("first_weight", "first_weight + last_weight = %v: want at most 1", ao.FirstWeight+ao.LastWeight)
	}
	return ao
}

// withoutCampaigns returns a copy of a without the campaign breakdown.
func withoutCampaigns(a *report.Attribution) *report.Attribution {
	c := *a
	c.Channels = make([]report.ChannelCredit, len(a.Channels))
	for i, ch := range a.Channels {
		ch.Campaigns = nil
		c.Channels[i] = ch
	}
	return &c
}

// CACReport is report.CACReport with where the spend came from.
type CACReport struct {
	*report.CACReport
	// SpendRows is how many rows the spend files hold, over every period.
	SpendRows int `json:"spend_rows"`
}

func runCAC(rc *reportCtx) (any, error) {
	po := pathOptions(rc)
	ao := attributionOptions(rc)
	models := modelsOption(rc, string(report.LastNonDirect))
	if rc.o.err != nil {
		return nil, rc.o.err
	}
	if len(models) != 1 {
		return nil, &QueryError{"model", "CAC takes one model, not all"}
	}
	ao.Model = models[0]
	spend := rc.spend
	first, all := po, po
	first.FirstOnly, all.FirstOnly = true, false
	var err error
	if ao.Model == report.MarkovChain || ao.Model == report.Shapley {
		err = prefetchRollups(rc, []rollupSpec{pathSpec(first), pathSpec(all)})
	} else {
		err = prefetchRollups(rc, []rollupSpec{attributionSpec(first, ao), attributionSpec(all, ao)})
	}
	if err != nil {
		return nil, err
	}
	nc, value, err := report.CACAttributions(po, ao, rc.attribution)
	if err != nil {
		return nil, err
	}
	r, err := report.CAC(spend, nc, value, rc.q.From, rc.q.To)
	if err != nil {
		return nil, &QueryError{"spend", err.Error()}
	}
	return &CACReport{CACReport: r, SpendRows: len(spend)}, nil
}
