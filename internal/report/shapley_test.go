package report

import (
	"strings"
	"testing"
)

func TestShapley(t *testing.T) {
	ref := &PathTable{Rows: []PathRow{
		{Path: p("a"), Conversions: 4, Value: 40, Nulls: 6},
		{Path: p("a > b"), Conversions: 6, Value: 60, Nulls: 4},
	}}
	tests := []struct {
		name string
		t    *PathTable
		game Game
		want []credit
	}{
		// v({a}) = 4, v({b}) = 0, v({a,b}) = 10: a = ½·4 + ½·10 = 7, b = ½·0 + ½·6 = 3.
		{"counting game", ref, CountingGame, []credit{{"a", 7, 70}, {"b", 3, 30}}},
		// v({a}) = 0.4, v({b}) = 0, v({a,b}) = 0.5: φa = ½·0.4 + ½·0.5 = 0.45, φb = 0.05;
		// scaled to 10 conversions: 9 and 1. Value per journey plays the same game ×10.
		{"conversion-rate game", ref, RateGame, []credit{{"a", 9, 90}, {"b", 1, 10}}},
		// Repeats do not count twice: the unanimity game of {a, b}.
		{"counting game, repeats", &PathTable{Rows: []PathRow{{Path: p("a > b > a"), Conversions: 2}}}, CountingGame, []credit{{"a", 1, 0}, {"b", 1, 0}}},
		// A channel that lowers the rate gets negative credit: v(a) = 1, v(b) = 0,
		// v(ab) = 2/3. φa = ½·1 + ½·⅔ = 5/6, φb = ½·0 + ½·(⅔ − 1) = −1/6, sum ⅔ → ×3.
		{"conversion-rate game, negative credit", &PathTable{Rows: []PathRow{
			{Path: p("a"), Conversions: 1}, {Path: p("a > b"), Conversions: 1, Nulls: 1},
		}}, RateGame, []credit{{"a", 2.5, 0}, {"b", -.5, 0}}},
	}
	for _, tt := range tests {
		a, err := AttributePaths(tt.t, AttributionOptions{Model: Shapley, Game: tt.game})
		if err != nil {
			t.Errorf("%s: AttributePaths() = %v", tt.name, err)
			continue
		}
		if a.Game != tt.game {
			t.Errorf("%s: game = %q; want %q", tt.name, a.Game, tt.game)
		}
		checkCredits(t, tt.name, a, tt.want)
	}
}

func TestShapleyRateGameTooManyChannels(t *testing.T) {
	var path []string
	for i := range MaxRateGameChannels + 1 {
		path = append(path, string(rune('a'+i)))
	}
	tab := &PathTable{Rows: []PathRow{{Path: path, Conversions: 1}}}
	_, err := AttributePaths(tab, AttributionOptions{Model: Shapley, Game: RateGame})
	if err == nil || !strings.Contains(err.Error(), "21 channels") {
		t.Errorf("AttributePaths(21 channels, rate game) = %v; want an error naming 21 channels", err)
	}
}

func TestShapleyDataSet(t *testing.T) {
	tab := loadPaths(t)
	c, v, _ := tab.Totals()
	for _, g := range []Game{CountingGame, RateGame} {
		a, err := AttributePaths(tab, AttributionOptions{Model: Shapley, Game: g})
		if err != nil {
			t.Fatalf("AttributePaths(%s) = %v", g, err)
		}
		var sc, sv float64
		for _, ch := range a.Channels {
			sc += ch.Conversions
			sv += ch.Value
		}
		if !near(sc, c, 1e-12) || !near(sv, v, 1e-12) {
			t.Errorf("%s: credits sum to %v, %v; want %v, %v", g, sc, sv, c, v)
		}
	}
}
