package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pathlight/pathlight/internal/journey"
)

// Model is an attribution model: how the credit of a conversion is shared among the
// touchpoints of its journey.
type Model string

// The attribution models. Every model gives each conversion a total credit of exactly 1,
// and of exactly its value.
const (
	FirstTouch    Model = "first_touch"     // all credit to the first touch
	LastTouch     Model = "last_touch"      // all credit to the last touch
	LastNonDirect Model = "last_non_direct" // the last touch that is not Direct; Direct only when all are
	Linear        Model = "linear"          // 1/L to each of L touches
	PositionBased Model = "position_based"  // 40% first, 40% last, 20% shared by the middle
	TimeDecay     Model = "time_decay"      // weight 2^(−Δt/half-life) by time before the conversion
	MarkovChain   Model = "markov"          // removal effects of a Markov chain of order k
	Shapley       Model = "shapley"         // Shapley values of a cooperative game of channels
)

// ParseModel returns the Model named s.
func ParseModel(s string) (Model, error) {
	switch m := Model(s); m {
	case FirstTouch, LastTouch, LastNonDirect, Linear, PositionBased, TimeDecay, MarkovChain, Shapley:
		return m, nil
	}
	return "", fmt.Errorf("attribution model %q: want first_touch, last_touch, last_non_direct, linear, position_based, time_decay, markov or shapley", s)
}

// Game is the cooperative game whose Shapley values share the credit.
type Game string

// The Shapley games.
const (
	// CountingGame values a set of channels by the conversions of the journeys that used
	// only channels of the set.
	CountingGame Game = "counting"
	// RateGame values a set of channels by the conversion rate of the journeys that used
	// only channels of the set.
	RateGame Game = "conversion_rate"
)

// Defaults of the attribution options.
const (
	DefaultFirstWeight = 0.4                // position based: the first touch's share
	DefaultLastWeight  = 0.4                // position based: the last touch's share
	DefaultHalfLife    = 7 * 24 * time.Hour // time decay
	// PackageMaxSteps, as AttributionOptions.MaxSteps, cuts Markov chain walks off where the
	// ChannelAttribution package does by default: after as many states as the longest path
	// has, plus one.
	PackageMaxSteps = -1
)

// ParseMaxSteps reads a value of AttributionOptions.MaxSteps as users write it: 0 (solve the
// chain exactly), a positive cut-off, or "package" (PackageMaxSteps).
func ParseMaxSteps(s string) (int, error) {
	if s == "package" {
		return PackageMaxSteps, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q: want 0 (exact), a positive cut-off or package", s)
	}
	return n, nil
}

// AttributionOptions choose and tune the model.
type AttributionOptions struct {
	Model Model
	// FirstWeight and LastWeight are the shares of the first and last touch in the
	// position-based model; both zero means 0.4 and 0.4. With two touches they split the
	// credit in the ratio FirstWeight:LastWeight (50/50 by default).
	FirstWeight, LastWeight float64
	// HalfLife is the time-decay half-life; zero means seven days.
	HalfLife time.Duration
	// Order is the Markov chain's order k; zero means 1.
	Order int
	// MaxSteps cuts Markov chain walks off after that many states, as the ChannelAttribution
	// package's max_step does; zero solves the chain exactly; PackageMaxSteps uses the
	// package's default.
	MaxSteps int
	// Transitions asks the Markov model for its transition matrix.
	Transitions bool
	// Game is the Shapley game; empty means CountingGame.
	Game Game
}

// withDefaults validates o and fills in its defaults.
func (o AttributionOptions) withDefaults() (AttributionOptions, error) {
	if _, err := ParseModel(string(o.Model)); err != nil {
		return o, err
	}
	if o.FirstWeight == 0 && o.LastWeight == 0 {
		o.FirstWeight, o.LastWeight = DefaultFirstWeight, DefaultLastWeight
	}
	if !(o.FirstWeight >= 0 && o.LastWeight >= 0 && o.FirstWeight+o.LastWeight <= 1) {
		return o, fmt.Errorf("position weights %v first, %v last: want shares of at least 0 that sum to at most 1", o.FirstWeight, o.LastWeight)
	}
	if o.HalfLife == 0 {
		o.HalfLife = DefaultHalfLife
	}
	if o.HalfLife < time.Second {
		return o, fmt.Errorf("half-life %v: want at least a second", o.HalfLife)
	}
	if o.Order == 0 {
		o.Order = 1
	}
	if o.Order < 1 || o.Order > MaxOrder {
		return o, fmt.Errorf("markov order %d: want 1 to %d", o.Order, MaxOrder)
	}
	if o.MaxSteps < PackageMaxSteps {
		return o, fmt.Errorf("markov max steps %d: want a positive cut-off, 0 (exact) or %d (the package's default)", o.MaxSteps, PackageMaxSteps)
	}
	switch o.Game {
	case "":
		o.Game = CountingGame
	case CountingGame, RateGame:
	default:
		return o, fmt.Errorf("shapley game %q: want %s or %s", o.Game, CountingGame, RateGame)
	}
	return o, nil
}

// CampaignCredit is the credit of one campaign of a channel.
type CampaignCredit struct {
	Campaign    string  `json:"campaign"`
	Conversions float64 `json:"conversions"`
	Value       float64 `json:"value"`
	Share       float64 `json:"share"`
}

// ChannelCredit is the credit of one channel: attributed conversions and value, the share of
// all conversions, and the split across the channel's campaigns.
type ChannelCredit struct {
	Channel     string           `json:"channel"`
	Conversions float64          `json:"conversions"`
	Value       float64          `json:"value"`
	Share       float64          `json:"share"`
	Campaigns   []CampaignCredit `json:"campaigns,omitempty"`
}

// Attribution is the result of an attribution model.
type Attribution struct {
	Model Model `json:"model"`
	// Game is the Shapley game, for the Shapley model.
	Game Game `json:"game,omitempty"`
	// Conversions, Value and Nulls are the totals of the journeys attributed.
	Conversions float64         `json:"conversions"`
	Value       float64         `json:"value"`
	Nulls       float64         `json:"nulls"`
	Channels    []ChannelCredit `json:"channels"`
	// Markov holds the chain's details, for the Markov model.
	Markov *MarkovDetail `json:"markov,omitempty"`
}

// Channel returns the credit of the named channel, or a zero credit.
func (a *Attribution) Channel(name string) ChannelCredit {
	for _, c := range a.Channels {
		if c.Channel == name {
			return c
		}
	}
	return ChannelCredit{Channel: name}
}

// AttributeJourneys attributes the counted conversions of journeys (see PathOptions) with the
// model of ao. Heuristic models credit each touch and its campaign directly; the Markov and
// Shapley models work on the path table of the journeys and split channel credit across
// campaigns by the table's campaign weights.
func AttributeJourneys(js []Journey, po PathOptions, ao AttributionOptions) (*Attribution, error) {
	if err := po.validate(); err != nil {
		return nil, fmt.Errorf("attribute: %w", err)
	}
	ao, err := ao.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("attribute: %w", err)
	}
	if ao.Model == MarkovChain || ao.Model == Shapley {
		t, err := BuildPaths(js, po)
		if err != nil {
			return nil, fmt.Errorf("attribute: %w", err)
		}
		return attributePaths(t, ao)
	}
	res := &Attribution{Model: ao.Model}
	var (
		cs    credits
		pos   []position
		chans []string
		ages  []float64
		w     []float64
		times []int64
	)
	halfLife := ao.HalfLife.Seconds()
	for k := range js {
		ts := sortedTouches(js[k].Touches)
		convs := sortedConversions(js[k].Conversions)
		po.eachConversion(ts, convs, js[k].EarlierConversions, func(c *journey.Conversion, win []journey.Touchpoint) {
			v := valueOf(c)
			res.Conversions++
			res.Value += v
			pos = positions(win, po.KeepRepeats, pos)
			if len(pos) == 0 {
				cs.add(Unassigned, NotSet, 1, v)
				return
			}
			chans, ages = chans[:0], ages[:0]
			for _, p := range pos {
				chans = append(chans, p.channel)
				ages = append(ages, float64(c.At-p.at)/1000)
			}
			w = heuristicWeights(ao.Model, chans, ages, &ao, halfLife, w)
			for i, p := range pos {
				n := float64(p.last - p.first + 1)
				for j := p.first; j <= p.last; j++ {
					cs.add(p.channel, campaignOf(&win[j]), w[i]/n, w[i]*v/n)
				}
			}
		})
		times = po.conversionTimes(convs, times)
		po.eachNull(ts, times, js[k].EarlierConversions, func([]journey.Touchpoint) { res.Nulls++ })
	}
	res.Channels = cs.result(res.Conversions)
	return res, nil
}

// AttributePaths attributes the conversions of a path table with the model of ao. Paths are
// taken as they are: repeats the table keeps are separate touches. Time decay needs touch
// times, which a path table has not, and is an error. When the table has campaign weights,
// each channel's credit is split across its campaigns in their proportions.
func AttributePaths(t *PathTable, ao AttributionOptions) (*Attribution, error) {
	ao, err := ao.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("attribute: %w", err)
	}
	return attributePaths(t, ao)
}

// attributePaths is AttributePaths with validated options.
func attributePaths(t *PathTable, ao AttributionOptions) (*Attribution, error) {
	for i, r := range t.Rows {
		err := checkCount("conversions", r.Conversions)
		if err == nil {
			err = checkCount("nulls", r.Nulls)
		}
		if err == nil {
			err = checkFinite("value", r.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("attribute: row %d (%s): %w", i+1, pathKeyText(r.Path), err)
		}
	}
	var (
		res *Attribution
		err error
	)
	switch ao.Model {
	case MarkovChain:
		res, err = markovAttribution(t, ao)
	case Shapley:
		res, err = shapleyAttribution(t, ao)
	case TimeDecay:
		err = fmt.Errorf("time decay needs touch times, which a path table has not: attribute journeys instead")
	default:
		res = heuristicPaths(t, &ao)
	}
	if err != nil {
		return nil, fmt.Errorf("attribute: %w", err)
	}
	res.Nulls = 0
	for _, r := range t.Rows {
		res.Nulls += r.Nulls
	}
	splitCampaigns(res, t.Campaigns)
	return res, nil
}

// heuristicPaths applies a heuristic model to every row of a path table.
func heuristicPaths(t *PathTable, ao *AttributionOptions) *Attribution {
	res := &Attribution{Model: ao.Model}
	var (
		cs credits
		w  []float64
	)
	for _, r := range t.Rows {
		res.Conversions += r.Conversions
		res.Value += r.Value
		if r.Conversions == 0 && r.Value == 0 {
			continue
		}
		path := rowPath(r.Path)
		w = heuristicWeights(ao.Model, path, nil, ao, 0, w)
		for i, ch := range path {
			cs.add(ch, "", w[i]*r.Conversions, w[i]*r.Value)
		}
	}
	res.Channels = cs.result(res.Conversions)
	return res
}

// rowPath returns a row's path, or the Unassigned path for an empty one.
func rowPath(p []string) []string {
	if len(p) == 0 {
		return []string{Unassigned}
	}
	return p
}

// pathKeyText formats a path for messages.
func pathKeyText(p []string) string { return strings.Join(p, pathSep) }

// splitCampaigns splits each channel's credit across the channel's campaigns in proportion
// to the campaign weights: conversions by their conversion weights, value by their value
// weights (by conversion weights when the channel's value weights are all zero). Channels
// that already have campaigns are left alone.
func splitCampaigns(res *Attribution, mix []CampaignWeight) {
	if len(mix) == 0 {
		return
	}
	byChannel := make(map[string][]CampaignWeight)
	for _, m := range mix {
		byChannel[m.Channel] = append(byChannel[m.Channel], m)
	}
	for i := range res.Channels {
		ch := &res.Channels[i]
		ms := byChannel[ch.Channel]
		if len(ch.Campaigns) > 0 || len(ms) == 0 {
			continue
		}
		var conv, val float64
		for _, m := range ms {
			conv += m.Conversions
			val += m.Value
		}
		if conv == 0 {
			continue
		}
		for _, m := range ms {
			vw := m.Conversions / conv
			if val > 0 {
				vw = m.Value / val
			}
			ch.Campaigns = append(ch.Campaigns, CampaignCredit{
				Campaign:    m.Campaign,
				Conversions: ch.Conversions * m.Conversions / conv,
				Value:       ch.Value * vw,
			})
		}
		finishCampaigns(ch.Campaigns, res.Conversions)
	}
}

// credits accumulates credit per channel and campaign.
type credits struct {
	idx   map[string]int
	chans []ChannelCredit
	camps []map[string]int // per channel: campaign → index in chans[i].Campaigns
}

// add credits conv conversions and value to a channel, and to its campaign unless campaign
// is empty.
func (c *credits) add(channel, campaign string, conv, value float64) {
	i := c.channel(channel)
	ch := &c.chans[i]
	ch.Conversions += conv
	ch.Value += value
	if campaign != "" {
		c.addCampaign(i, campaign, conv, value)
	}
}

// channel returns the index of the named channel, adding it with no credit when new.
func (c *credits) channel(name string) int {
	if c.idx == nil {
		c.idx = make(map[string]int)
	}
	i, ok := c.idx[name]
	if !ok {
		i = len(c.chans)
		c.idx[name] = i
		c.chans = append(c.chans, ChannelCredit{Channel: name})
		c.camps = append(c.camps, nil)
	}
	return i
}

// addCampaign credits a campaign of channel i, leaving the channel's own total alone.
func (c *credits) addCampaign(i int, campaign string, conv, value float64) {
	ch := &c.chans[i]
	if c.camps[i] == nil {
		c.camps[i] = make(map[string]int)
	}
	j, ok := c.camps[i][campaign]
	if !ok {
		j = len(ch.Campaigns)
		c.camps[i][campaign] = j
		ch.Campaigns = append(ch.Campaigns, CampaignCredit{Campaign: campaign})
	}
	ch.Campaigns[j].Conversions += conv
	ch.Campaigns[j].Value += value
}

// MergeAttributions adds up attributions of disjoint sets of conversions (the days of a
// period, say) made with one heuristic model: credits summed per channel and campaign, with
// shares of all conversions, in the order AttributeJourneys gives them.
func MergeAttributions(m Model, parts []*Attribution) *Attribution {
	res := &Attribution{Model: m}
	var c credits
	for _, p := range parts {
		res.Conversions += p.Conversions
		res.Value += p.Value
		res.Nulls += p.Nulls
		for _, ch := range p.Channels {
			i := c.channel(ch.Channel)
			c.chans[i].Conversions += ch.Conversions
			c.chans[i].Value += ch.Value
			for _, cc := range ch.Campaigns {
				c.addCampaign(i, cc.Campaign, cc.Conversions, cc.Value)
			}
		}
	}
	res.Channels = c.result(res.Conversions)
	return res
}

// result returns the channel credits with their shares of total conversions, largest first.
func (c *credits) result(total float64) []ChannelCredit {
	out := c.chans
	if out == nil {
		out = []ChannelCredit{}
	}
	for i := range out {
		if total != 0 {
			out[i].Share = out[i].Conversions / total
		}
		finishCampaigns(out[i].Campaigns, total)
	}
	sortCredits(out)
	return out
}

// sortCredits orders channel credits by conversions descending, then by name.
func sortCredits(cs []ChannelCredit) {
	slices.SortFunc(cs, func(a, b ChannelCredit) int {
		if c := cmp.Compare(b.Conversions, a.Conversions); c != 0 {
			return c
		}
		return cmp.Compare(a.Channel, b.Channel)
	})
}

// finishCampaigns sets campaign shares of total conversions and sorts campaigns like
// channels.
func finishCampaigns(cs []CampaignCredit, total float64) {
	for i := range cs {
		if total != 0 {
			cs[i].Share = cs[i].Conversions / total
		}
	}
	slices.SortFunc(cs, func(a, b CampaignCredit) int {
		if c := cmp.Compare(b.Conversions, a.Conversions); c != 0 {
			return c
		}
		return cmp.Compare(a.Campaign, b.Campaign)
	})
}
