package cond

import (
	"fmt"
	"testing"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"500ms", 500}, {"30s", 30 * 1000}, {"10m", 10 * minute}, {"2h", 2 * hour},
		{"14d", 14 * day}, {"2w", 14 * day}, {"1h30m", 90 * minute}, {"1.5d", 36 * hour},
		{"0.5s", 500}, {"1w2d", 9 * day},
	}
	for _, tt := range tests {
		if got, err := parseDuration(tt.in); err != nil || got != tt.want {
			t.Errorf("parseDuration(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "d", "14", "14D", "-2d", "2 d", "0s", "1y", "1h30", "1..5h", "0.0001ms", "200000w"} {
		if got, err := parseDuration(bad); err == nil {
			t.Errorf("parseDuration(%q) = %d, nil; want an error", bad, got)
		}
	}
}

func TestTimeOperators(t *testing.T) {
	tests := []struct {
		lastSeen int64 // visitor.last_seen
		cond     string
		want     bool
	}{
		{now - 14*day, "{$within: 14d}", true}, // the bound is inclusive
		{now - 14*day - 1, "{$within: 14d}", false},
		{now + minute, "{$within: 1h}", true}, // clock skew: a time ahead of now
		{0, "{$within: 14d}", false},          // never seen
		{now - 2*hour, "{$within: 2h}", true},
		{now - 2*hour - 1000, "{$within: 2h}", false},
		{now - 31*day, "{$before: 30d}", true},
		{now - 30*day, "{$before: 30d}", false}, // strict
		{now - 29*day, "{$after: 30d}", true},
		{0, "{$before: 30d}", false},
		{0, "{$not: {$within: 30d}}", true}, // "not recently" includes "never"
		{now, "{$after: 2025-05-31, $before: 2025-06-02}", true},
		{now, "{$after: '2025-06-01T00:00:00Z'}", false},
		{now, "{$after: '2025-05-31T20:00:00-05:00'}", false}, // 01:00Z
		{now, "{$after: '2025-05-31T18:00:00-05:00'}", true},  // 23:00Z
	}
	for _, tt := range tests {
		c := compileVisit(t, "{visitor.last_seen: "+tt.cond+"}")
		v := pricingVisit()
		v.lastSeen = tt.lastSeen
		if got := c.Eval(v); got != tt.want {
			t.Errorf("Eval(visitor.last_seen: %s) with last_seen = now%+dms = %v; want %v", tt.cond, tt.lastSeen-now, got, tt.want)
		}
	}
}

func TestSequence(t *testing.T) {
	// pricingVisit's history: landed (-10d), viewed_pricing (-9d), viewed_pricing (-2d),
	// started_trial (-2d+1h), viewed_pricing (-1h), invited_team (-30m).
	tests := []struct {
		cond string
		want bool
	}{
		{"{$sequence: [landed]}", true},
		{"{$sequence: [contacted_sales]}", false},
		{"{$sequence: [landed, started_trial, invited_team]}", true}, // steps in between
		{"{$sequence: [started_trial, landed]}", false},              // wrong order
		{"{$sequence: [viewed_pricing, viewed_pricing, viewed_pricing]}", true},
		{"{$sequence: [viewed_pricing, viewed_pricing, viewed_pricing, viewed_pricing]}", false},
		{"{$sequence: {steps: [viewed_pricing, started_trial], within: 2h}}", true}, // the -2d pair
		{"{$sequence: {steps: [viewed_pricing, started_trial], within: 30m}}", false},
		{"{$sequence: {steps: [landed, invited_team], within: 7d}}", false},
		{"{$sequence: {steps: [landed, invited_team], within: 10d}}", true},
		// The window may start at a later arrival than the first one.
		{"{$sequence: {steps: [viewed_pricing, invited_team], within: 1h}}", true},
		{"{$sequence: {steps: [viewed_pricing, invited_team], within: 29m}}", false},
		{"{$sequence: {steps: [invited_team], within: 1s}}", true},
		{"{$not: {$sequence: [started_trial, landed]}}", true},
	}
	for _, tt := range tests {
		if got := compileVisit(t, tt.cond).Eval(pricingVisit()); got != tt.want {
			t.Errorf("Eval(%s) = %v; want %v", tt.cond, got, tt.want)
		}
	}
	empty := pricingVisit()
	empty.history = nil
	if compileVisit(t, "{$sequence: [landed]}").Eval(empty) {
		t.Errorf("Eval($sequence: [landed]) with no history = true; want false")
	}
}

// TestSequenceExhaustive checks matchSequence against a brute-force search on small
// histories over two steps.
func TestSequenceExhaustive(t *testing.T) {
	steps := []string{"a", "b"}
	for mask := range 1 << 6 {
		var h []StepAt
		for i := range 6 {
			h = append(h, StepAt{Step: steps[mask>>i&1], At: int64(i * i)})
		}
		for _, seq := range [][]string{{"a", "b"}, {"b", "a", "b"}, {"a", "a"}} {
			for _, within := range []int64{0, 1, 5, 9, 30} {
				want := bruteSequence(h, seq, within)
				if got := matchSequence(h, seq, within); got != want {
					t.Errorf("matchSequence(%v, %q, %d) = %v; want %v", h, seq, within, got, want)
				}
			}
		}
	}
}

func bruteSequence(h []StepAt, seq []string, within int64) bool {
	var try func(from, j int, start int64) bool
	try = func(from, j int, start int64) bool {
		if j == len(seq) {
			return true
		}
		for i := from; i < len(h); i++ {
			if h[i].Step != seq[j] {
				continue
			}
			s := start
			if j == 0 {
				s = h[i].At
			}
			if within > 0 && h[i].At-s > within {
				continue
			}
			if try(i+1, j+1, s) {
				return true
			}
		}
		return false
	}
	return try(0, 0, 0)
}

func TestCount(t *testing.T) {
	tests := []struct {
		cond string
		want bool
	}{
		{"{$count: {step: viewed_pricing, $eq: 3}}", true},
		{"{$count: {step: viewed_pricing, within: 7d, $gte: 2}}", true},
		{"{$count: {step: viewed_pricing, within: 7d, $gte: 3}}", false},
		{"{$count: {step: viewed_pricing, within: 2d, $eq: 2}}", true}, // the bound is inclusive
		{"{$count: {step: viewed_pricing, within: 1d, $eq: 1}}", true},
		{"{$count: {step: viewed_pricing, $gt: 1, $lt: 3}}", false},
		{"{$count: {step: contacted_sales, $eq: 0}}", true},
		{"{$count: {step: contacted_sales, $ne: 0}}", false},
		{"{$count: {step: landed, within: 1w, $lte: 0}}", true},
	}
	for _, tt := range tests {
		if got := compileVisit(t, tt.cond).Eval(pricingVisit()); got != tt.want {
			t.Errorf("Eval(%s) = %v; want %v", tt.cond, got, tt.want)
		}
	}
}

// ExampleCompile compiles a condition for a generic document, the way a test or a JSON
// attribute set would use it.
func ExampleCompile() {
	c, err := Compile(map[string]any{
		"page.path":       "/pricing",
		"session.channel": map[string]any{"$in": []any{"Paid Social", "Paid Search"}},
		"visitor.visits":  map[string]any{"$gte": 3},
	}, DocResolver, Options[Doc]{})
	if err != nil {
		fmt.Println(err)
		return
	}
	doc := Doc{Root: FromAny(map[string]any{
		"page":    map[string]any{"path": "/pricing"},
		"session": map[string]any{"channel": "Paid Social"},
		"visitor": map[string]any{"visits": 2},
	})}
	ok, f := c.Explain(&doc)
	fmt.Println(ok, f.Field, f.Op, f.Want, f.Got)
	// Output: false visitor.visits $gte 3 2
}
