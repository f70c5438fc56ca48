package journey

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestStepIndexFindsWhatSearchFinds checks that the encoder's step index answers every
// question as the linear search of Steps does (the first entry holding the name, or -1), so
// the records it writes are the same bytes: for names at the address of their Steps entry,
// copies of it elsewhere, prefixes sharing its address, names not in Steps, duplicate keys in
// Steps, the empty name, and more distinct addresses than the index has room for.
func TestStepIndexFindsWhatSearchFinds(t *testing.T) {
	base := "viewed_product viewed_pricing"
	steps := []Count{
		{Key: base[:14]},                       // "viewed_product"
		{Key: base[15:]},                       // "viewed_pricing"
		{Key: strings.Clone("viewed_product")}, // a duplicate key at another address
		{Key: ""},
		{Key: "landed"},
	}
	queries := []string{
		base[:14], base[15:], steps[2].Key, strings.Clone("viewed_pricing"),
		base[:6],       // "viewed": shares the first key's address, not in Steps
		base[:14] + "", // the same string again
		base[15:21],    // "viewed" at the second key's address
		"", "landed", "purchased", strings.Clone("landed"),
	}
	for n := range len(base) + 1 { // names sharing an address, of every length
		queries = append(queries, base[:n], base[15:15+min(n, 14)])
	}
	for i := range 3 * stepSlots { // fill the table, then keep asking
		queries = append(queries, fmt.Sprintf("step-%d", i), strings.Clone(base[:14]), base[15:])
	}
	check := func(t *testing.T, steps []Count, queries []string) {
		t.Helper()
		var idx stepIndex
		idx.init(steps)
		for i, q := range queries {
			if got, want := idx.find(q), countIndex(steps, q); got != want {
				t.Fatalf("query %d: find(%q) = %d; countIndex = %d", i, q, got, want)
			}
		}
		// Asked again, from the table.
		for i, q := range queries {
			if got, want := idx.find(q), countIndex(steps, q); got != want {
				t.Fatalf("query %d again: find(%q) = %d; countIndex = %d", i, q, got, want)
			}
		}
	}
	check(t, steps, queries)

	r := rand.New(rand.NewPCG(7, 11))
	for range 200 {
		s := randomState(r)
		var qs []string
		for _, m := range s.StepHistory {
			qs = append(qs, m.Step)
		}
		for _, c := range s.ConversionList {
			qs = append(qs, c.Step)
		}
		check(t, head(s.Steps, MaxSteps), qs)
	}
}
