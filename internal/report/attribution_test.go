package report

import (
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/journey"
)

// credit is an expected channel credit.
type credit struct {
	ch        string
	conv, val float64
}

// checkCredits compares an attribution's channel credits with want, in any order, and
// checks that no other channel got credit.
func checkCredits(t *testing.T, name string, a *Attribution, want []credit) {
	t.Helper()
	for _, w := range want {
		got := a.Channel(w.ch)
		if !near(got.Conversions, w.conv, 1e-12) || !near(got.Value, w.val, 1e-12) {
			t.Errorf("%s: credit of %s = %v conversions, %v value; want %v, %v", name, w.ch, got.Conversions, got.Value, w.conv, w.val)
		}
	}
	for _, c := range a.Channels {
		found := false
		for _, w := range want {
			found = found || w.ch == c.Channel
		}
		if !found && (c.Conversions != 0 || c.Value != 0) {
			t.Errorf("%s: unexpected credit %+v", name, c)
		}
	}
}

func TestHeuristicModelsOnJourneys(t *testing.T) {
	// Four touches a week apart, converting at the last one's time, worth 150.
	four := []Journey{{
		Touches: []journey.Touchpoint{
			tp(d(10), "A", "a1"), tp(d(17), "B", "b1"), tp(d(24), "C", "c1"), tp(d(31), "D", "d1"),
		},
		Conversions: []journey.Conversion{conv(d(31), "purchase", 150)},
	}}
	two := []Journey{{
		Touches:     []journey.Touchpoint{tp(d(10), "A", ""), tp(d(11), "B", "")},
		Conversions: []journey.Conversion{conv(d(12), "purchase", 10)},
	}}
	three := []Journey{{
		Touches:     []journey.Touchpoint{tp(d(10), "A", ""), tp(d(11), "B", ""), tp(d(12), "C", "")},
		Conversions: []journey.Conversion{conv(d(12), "purchase", 10)},
	}}
	direct := []Journey{{
		Touches:     []journey.Touchpoint{tp(d(10), "Email", ""), tp(d(11), Direct, ""), tp(d(12), Direct, "")},
		Conversions: []journey.Conversion{conv(d(12), "purchase", 10)},
	}, {
		Touches:     []journey.Touchpoint{tp(d(10), Direct, "")},
		Conversions: []journey.Conversion{conv(d(12), "purchase", 4)},
	}}
	po := PathOptions{From: d(0), To: d(100)}
	tests := []struct {
		name string
		js   []Journey
		ao   AttributionOptions
		want []credit
	}{
		{"first touch", four, AttributionOptions{Model: FirstTouch}, []credit{{"A", 1, 150}}},
		{"last touch", four, AttributionOptions{Model: LastTouch}, []credit{{"D", 1, 150}}},
		{"linear", four, AttributionOptions{Model: Linear}, []credit{{"A", .25, 37.5}, {"B", .25, 37.5}, {"C", .25, 37.5}, {"D", .25, 37.5}}},
		{"position 40/20/40", four, AttributionOptions{Model: PositionBased}, []credit{{"A", .4, 60}, {"B", .1, 15}, {"C", .1, 15}, {"D", .4, 60}}},
		{"position two touches 50/50", two, AttributionOptions{Model: PositionBased}, []credit{{"A", .5, 5}, {"B", .5, 5}}},
		{"position custom weights, two touches", two, AttributionOptions{Model: PositionBased, FirstWeight: .3, LastWeight: .5}, []credit{{"A", .375, 3.75}, {"B", .625, 6.25}}},
		{"position custom weights, three touches", three, AttributionOptions{Model: PositionBased, FirstWeight: .3, LastWeight: .5}, []credit{{"A", .3, 3}, {"B", .2, 2}, {"C", .5, 5}}},
		// Ages 21, 14, 7, 0 days at a 7-day half-life: weights 1/8, 1/4, 1/2, 1 of 15/8.
		{"time decay", four, AttributionOptions{Model: TimeDecay}, []credit{{"A", 1.0 / 15, 10}, {"B", 2.0 / 15, 20}, {"C", 4.0 / 15, 40}, {"D", 8.0 / 15, 80}}},
		// Ages 2 and 1 days at a 14-day half-life: weights 2^(−2/14) : 2^(−1/14), that is
		// w : 1 with w = 2^(−1/14).
		{"time decay, half-life 14 days", two, AttributionOptions{Model: TimeDecay, HalfLife: 14 * 24 * time.Hour},
			[]credit{{"A", 0.48762489958668315, 4.8762489958668315}, {"B", 0.5123751004133168, 5.123751004133168}}},
		{"last non-direct", direct, AttributionOptions{Model: LastNonDirect}, []credit{{"Email", 1, 10}, {Direct, 1, 4}}},
		{"last touch with direct", direct, AttributionOptions{Model: LastTouch}, []credit{{Direct, 2, 14}}},
	}
	for _, tt := range tests {
		a, err := AttributeJourneys(tt.js, po, tt.ao)
		if err != nil {
			t.Errorf("%s: AttributeJourneys() = %v", tt.name, err)
			continue
		}
		checkCredits(t, tt.name, a, tt.want)
	}
}

func TestCampaignBreakdown(t *testing.T) {
	js := []Journey{{
		Touches:     []journey.Touchpoint{tp(d(10), "A", "c1"), tp(d(11), "A", "c2"), tp(d(12), "B", "")},
		Conversions: []journey.Conversion{conv(d(12), "purchase", 8)},
	}}
	po := PathOptions{From: d(0), To: d(100)}
	for _, m := range []Model{Linear, MarkovChain, Shapley} {
		a, err := AttributeJourneys(js, po, AttributionOptions{Model: m})
		if err != nil {
			t.Fatalf("AttributeJourneys(%s) = %v", m, err)
		}
		// Two positions, 1/2 each (all models agree on this journey); A's half is shared by
		// its two touches' campaigns.
		want := map[string][]CampaignCredit{
			"A": {{"c1", .25, 2, .25}, {"c2", .25, 2, .25}},
			"B": {{NotSet, .5, 4, .5}},
		}
		for ch, wc := range want {
			got := a.Channel(ch).Campaigns
			if len(got) != len(wc) {
				t.Errorf("%s: campaigns of %s = %+v; want %+v", m, ch, got, wc)
				continue
			}
			for i := range wc {
				g := got[i]
				if g.Campaign != wc[i].Campaign || !near(g.Conversions, wc[i].Conversions, 1e-12) || !near(g.Value, wc[i].Value, 1e-12) || !near(g.Share, wc[i].Share, 1e-12) {
					t.Errorf("%s: campaign %d of %s = %+v; want %+v", m, i, ch, g, wc[i])
				}
			}
		}
	}
}

func TestHeuristicModelsOnPaths(t *testing.T) {
	tab := &PathTable{Rows: []PathRow{
		{Path: p("a > b > a"), Conversions: 3, Value: 30, Nulls: 2},
		{Path: p("b"), Conversions: 1, Value: 5},
		{Path: p("c"), Nulls: 9},
	}}
	tests := []struct {
		m    Model
		want []credit
	}{
		{FirstTouch, []credit{{"a", 3, 30}, {"b", 1, 5}}},
		{LastTouch, []credit{{"a", 3, 30}, {"b", 1, 5}}},
		// As the package computes it: 1/L per occurrence, repeats included.
		{Linear, []credit{{"a", 2, 20}, {"b", 2, 15}}},
		{PositionBased, []credit{{"a", 2.4, 24}, {"b", 1.6, 11}}},
	}
	for _, tt := range tests {
		a, err := AttributePaths(tab, AttributionOptions{Model: tt.m})
		if err != nil {
			t.Errorf("AttributePaths(%s) = %v", tt.m, err)
			continue
		}
		checkCredits(t, string(tt.m), a, tt.want)
		if a.Conversions != 4 || a.Value != 35 || a.Nulls != 11 {
			t.Errorf("AttributePaths(%s) totals = %v, %v, %v; want 4, 35, 11", tt.m, a.Conversions, a.Value, a.Nulls)
		}
	}
	if _, err := AttributePaths(tab, AttributionOptions{Model: TimeDecay}); err == nil || !strings.Contains(err.Error(), "touch times") {
		t.Errorf("AttributePaths(time_decay) error = %v; want one about touch times", err)
	}
	bad := &PathTable{Rows: []PathRow{{Path: p("a"), Conversions: -1}}}
	if _, err := AttributePaths(bad, AttributionOptions{Model: Linear}); err == nil {
		t.Errorf("AttributePaths(negative conversions) = nil error; want one")
	}
}

func TestAttributionOptions(t *testing.T) {
	bad := []AttributionOptions{
		{Model: "best"},
		{Model: PositionBased, FirstWeight: .7, LastWeight: .5},
		{Model: PositionBased, FirstWeight: -.1, LastWeight: .5},
		{Model: TimeDecay, HalfLife: time.Millisecond},
		{Model: MarkovChain, Order: MaxOrder + 1},
		{Model: MarkovChain, MaxSteps: -2},
		{Model: Shapley, Game: "poker"},
	}
	for _, o := range bad {
		if _, err := AttributePaths(&PathTable{}, o); err == nil {
			t.Errorf("AttributePaths(options %+v) = nil error; want one", o)
		}
	}
	for _, s := range []string{"first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay", "markov", "shapley"} {
		if m, err := ParseModel(s); err != nil || string(m) != s {
			t.Errorf("ParseModel(%q) = %q, %v; want %q", s, m, err, s)
		}
	}
}

func TestParseMaxSteps(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "7": 7, "package": PackageMaxSteps} {
		if got, err := ParseMaxSteps(in); err != nil || got != want {
			t.Errorf("ParseMaxSteps(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "", "many", "Package"} {
		if _, err := ParseMaxSteps(in); err == nil {
			t.Errorf("ParseMaxSteps(%q) succeeded; want an error", in)
		}
	}
}
