package report

import (
	"testing"
)

func TestMarkovReferenceCases(t *testing.T) {
	loop := &PathTable{Rows: []PathRow{
		{Path: p("A > B > A > B > B > A"), Conversions: 1},
		{Path: p("A > B > B > A > A"), Conversions: 1},
		{Path: p("A > A"), Conversions: 1},
	}}
	chain3 := &PathTable{Rows: []PathRow{
		{Path: p("c1 > c2 > c3"), Conversions: 1},
		{Path: p("c1"), Nulls: 1},
		{Path: p("c2 > c3"), Nulls: 1},
	}}
	tests := []struct {
		name         string
		t            *PathTable
		ao           AttributionOptions
		want         []credit
		wantMaxSteps int
		wantP        float64
	}{
		// Collapsed: A > B > A > B > A, A > B > A, A. From A: B or conversion, ½ each; from
		// B: A. Removing A loses everything (RE 1), removing B half (RE ½): A 2, B 1.
		{"loops, exact", loop, AttributionOptions{Model: MarkovChain}, []credit{{"A", 2, 0}, {"B", 1, 0}}, 0, 1},
		// Conversions only from the 1st, 3rd and 5th state count: P = ⅞, without B ½,
		// RE_B = 3/7: shares 0.7 and 0.3.
		{"loops, cut off at 6 steps", loop, AttributionOptions{Model: MarkovChain, MaxSteps: 6}, []credit{{"A", 2.1, 0}, {"B", 0.9, 0}}, 6, 0.875},
		// The package's default cut-off: the longest path has 5 states, plus one.
		{"loops, package default", loop, AttributionOptions{Model: MarkovChain, MaxSteps: PackageMaxSteps}, []credit{{"A", 2.1, 0}, {"B", 0.9, 0}}, 6, 0.875},
		// P = ⅓; removing c1 leaves ⅙ (RE ½), c2 or c3 nothing (RE 1).
		{"three channels with nulls", chain3, AttributionOptions{Model: MarkovChain}, []credit{{"c1", .2, 0}, {"c2", .4, 0}, {"c3", .4, 0}}, 0, 1.0 / 3},
		// Order 2: (start) goes to (c1,c2), (c1) and (c2,c3), ⅓ each; (c1,c2) → (c2,c3);
		// (c2,c3) converts ½; (c1) never. P = ⅓·½ + ⅓·½ = ⅓. Without c1: ⅙ (RE ½);
		// without c2 or c3: 0 (RE 1).
		{"three channels, order 2", chain3, AttributionOptions{Model: MarkovChain, Order: 2}, []credit{{"c1", .2, 0}, {"c2", .4, 0}, {"c3", .4, 0}}, 0, 1.0 / 3},
	}
	for _, tt := range tests {
		a, err := AttributePaths(tt.t, tt.ao)
		if err != nil {
			t.Errorf("%s: AttributePaths() = %v", tt.name, err)
			continue
		}
		checkCredits(t, tt.name, a, tt.want)
		if a.Markov.MaxSteps != tt.wantMaxSteps || !near(a.Markov.ConversionProbability, tt.wantP, 1e-14) {
			t.Errorf("%s: max steps %d, P(conversion) %v; want %d, %v", tt.name, a.Markov.MaxSteps, a.Markov.ConversionProbability, tt.wantMaxSteps, tt.wantP)
		}
	}
}

func TestMarkovRemovalEffectsAndMatrix(t *testing.T) {
	chain3 := &PathTable{Rows: []PathRow{
		{Path: p("c1 > c2 > c3"), Conversions: 1, Value: 6},
		{Path: p("c1"), Nulls: 1},
		{Path: p("c2 > c3"), Nulls: 1},
	}}
	a, err := AttributePaths(chain3, AttributionOptions{Model: MarkovChain, Transitions: true})
	if err != nil {
		t.Fatalf("AttributePaths() = %v", err)
	}
	wantRE := map[string]float64{"c1": .5, "c2": 1, "c3": 1}
	for _, re := range a.Markov.RemovalEffects {
		if !re.Conversion.Valid || !near(re.Conversion.Value, wantRE[re.Channel], 1e-14) || !re.Value.Valid || !near(re.Value.Value, wantRE[re.Channel], 1e-14) {
			t.Errorf("removal effect of %s = %v, %v; want %v", re.Channel, re.Conversion, re.Value, wantRE[re.Channel])
		}
	}
	if len(a.Markov.RemovalEffects) != 3 {
		t.Errorf("removal effects = %v; want 3", a.Markov.RemovalEffects)
	}
	want := []Transition{
		{StateStart, "c1", 2, 2.0 / 3},
		{StateStart, "c2", 1, 1.0 / 3},
		{"c1", "c2", 1, .5},
		{"c1", StateNull, 1, .5},
		{"c2", "c3", 2, 1},
		{"c3", StateConversion, 1, .5},
		{"c3", StateNull, 1, .5},
	}
	got := a.Markov.Transitions
	if len(got) != len(want) {
		t.Fatalf("transitions = %v; want %v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.From != w.From || g.To != w.To || g.Count != w.Count || !near(g.Probability, w.Probability, 1e-15) {
			t.Errorf("transition %d = %+v; want %+v", i, g, w)
		}
	}
}

func TestMarkovValueRemovalEffects(t *testing.T) {
	// The conversions leaving A are worth 10, those leaving B 30: removing A loses a
	// quarter of the value though half of the conversions.
	tab := &PathTable{Rows: []PathRow{
		{Path: p("A"), Conversions: 1, Value: 10},
		{Path: p("B"), Conversions: 1, Value: 30},
	}}
	a, err := AttributePaths(tab, AttributionOptions{Model: MarkovChain})
	if err != nil {
		t.Fatalf("AttributePaths() = %v", err)
	}
	checkCredits(t, "value removal", a, []credit{{"A", 1, 10}, {"B", 1, 30}})
}

func TestMarkovHigherOrderShortPaths(t *testing.T) {
	// Order 3 on paths shorter than 3: each whole path is one state.
	tab := &PathTable{Rows: []PathRow{
		{Path: p("A > B"), Conversions: 2, Nulls: 2},
		{Path: p("A"), Nulls: 4},
		{Path: p("B > A > B > A"), Conversions: 2},
	}}
	c := buildChain(tab, 3)
	if c.nStates != 4 { // (A,B), (A), (B,A,B), (A,B,A)
		t.Errorf("order-3 states = %d; want 4", c.nStates)
	}
	a, err := AttributePaths(tab, AttributionOptions{Model: MarkovChain, Order: 3})
	if err != nil {
		t.Fatalf("AttributePaths() = %v", err)
	}
	// P = 4/10. Every converting walk visits a state with both A and B: RE 1 each.
	checkCredits(t, "order 3", a, []credit{{"A", 2, 0}, {"B", 2, 0}})
	if !near(a.Markov.ConversionProbability, .4, 1e-15) {
		t.Errorf("P(conversion) = %v; want 0.4", a.Markov.ConversionProbability)
	}
}

func TestMarkovNoConversions(t *testing.T) {
	tab := &PathTable{Rows: []PathRow{{Path: p("A > B"), Nulls: 3}}}
	a, err := AttributePaths(tab, AttributionOptions{Model: MarkovChain})
	if err != nil {
		t.Fatalf("AttributePaths() = %v", err)
	}
	checkCredits(t, "no conversions", a, nil)
	for _, re := range a.Markov.RemovalEffects {
		if re.Conversion.Valid {
			t.Errorf("removal effect of %s = %v; want undefined", re.Channel, re.Conversion)
		}
	}
}

func TestMarkovDataSet(t *testing.T) {
	tab := loadPaths(t)
	c, v, n := tab.Totals()
	for order := 1; order <= 3; order++ {
		a, err := AttributePaths(tab, AttributionOptions{Model: MarkovChain, Order: order})
		if err != nil {
			t.Fatalf("AttributePaths(order %d) = %v", order, err)
		}
		// The chain's conversion probability equals the share of converting journeys.
		if got, want := a.Markov.ConversionProbability, c/(c+n); !near(got, want, 1e-12) {
			t.Errorf("order %d: P(conversion) = %.15f; want 19785/88387 = %.15f", order, got, want)
		}
		var sc, sv float64
		for _, ch := range a.Channels {
			sc += ch.Conversions
			sv += ch.Value
		}
		if !near(sc, c, 1e-12) || !near(sv, v, 1e-12) {
			t.Errorf("order %d: credits sum to %v conversions, %v value; want %v, %v", order, sc, sv, c, v)
		}
		t.Logf("order %d: %d states; %s %.4f, %s %.4f", order, a.Markov.States, a.Channels[0].Channel, a.Channels[0].Conversions, a.Channels[1].Channel, a.Channels[1].Conversions)
	}
}
