package report

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
)

// randomJourneys returns n visitors with random sessions, steps and conversions over about
// 120 days from the epoch, deterministically from seed.
func randomJourneys(seed uint64, n int) []Journey {
	var (
		randChannels  = []string{Direct, "Organic Search", "Paid Search", "Email", "Paid Social", "Referral", ""}
		randCampaigns = []string{"", "spring", "brand", "retarget"}
		randSteps     = []string{"view", "cart", "checkout", "purchase", "signup", "faq"}
	)
	r := rand.New(rand.NewPCG(seed, 1))
	js := make([]Journey, n)
	for i := range js {
		j := &js[i]
		j.VID = fmt.Sprint("v", i)
		j.Device = event.DeviceType(r.IntN(4))
		j.Country = []string{"", "GB", "FR"}[r.IntN(3)]
		if r.IntN(2) == 0 {
			j.Segments = []string{"new"}
		}
		t := d(r.Float64() * 100)
		for range 1 + r.IntN(8) {
			t += int64(r.ExpFloat64() * float64(6*day))
			j.Touches = append(j.Touches, tp(t, randChannels[r.IntN(len(randChannels))], randCampaigns[r.IntN(len(randCampaigns))]))
			at := t
			for range r.IntN(6) {
				at += int64(r.ExpFloat64() * float64(10*60*1000))
				step := randSteps[r.IntN(len(randSteps))]
				j.Steps = append(j.Steps, mark(at, step))
				if (step == "purchase" || step == "signup") && r.IntN(2) == 0 {
					j.Conversions = append(j.Conversions, conv(at, step, float64(r.IntN(200))))
				}
			}
		}
	}
	return js
}

// randomTable returns a path table of random paths over a few channels.
func randomTable(seed uint64, rows int) *PathTable {
	r := rand.New(rand.NewPCG(seed, 2))
	t := &PathTable{}
	chans := []string{"a", "b", "c", "d", "e"}
	for range rows {
		var path []string
		for range 1 + r.IntN(7) {
			path = append(path, chans[r.IntN(len(chans))])
		}
		c := float64(r.IntN(4))
		t.Add(path, c, c*float64(r.IntN(50)), float64(r.IntN(6)))
	}
	return t
}

// allModels lists every model and variant.
func allModels() []AttributionOptions {
	return []AttributionOptions{
		{Model: FirstTouch}, {Model: LastTouch}, {Model: LastNonDirect}, {Model: Linear},
		{Model: PositionBased}, {Model: PositionBased, FirstWeight: .2, LastWeight: .6}, {Model: TimeDecay},
		{Model: MarkovChain}, {Model: MarkovChain, Order: 2}, {Model: MarkovChain, Order: 3},
		{Model: MarkovChain, MaxSteps: PackageMaxSteps}, {Model: MarkovChain, Order: 2, MaxSteps: 3},
		{Model: Shapley}, {Model: Shapley, Game: RateGame},
	}
}

// checkSums checks that credits and campaign credits add up to the totals.
func checkSums(t *testing.T, name string, a *Attribution, conv, value float64) {
	t.Helper()
	if !near(a.Conversions, conv, 1e-12) || !near(a.Value, value, 1e-12) {
		t.Errorf("%s: totals %v, %v; want %v, %v", name, a.Conversions, a.Value, conv, value)
	}
	var sc, sv float64
	for _, c := range a.Channels {
		sc += c.Conversions
		sv += c.Value
		if len(c.Campaigns) == 0 {
			continue
		}
		var cc, cv float64
		for _, k := range c.Campaigns {
			cc += k.Conversions
			cv += k.Value
		}
		if !near(cc, c.Conversions, 1e-9) || !near(cv, c.Value, 1e-9) {
			t.Errorf("%s: campaigns of %s sum to %v, %v; want %v, %v", name, c.Channel, cc, cv, c.Conversions, c.Value)
		}
	}
	if !near(sc, conv, 1e-9) || !near(sv, value, 1e-9) {
		t.Errorf("%s: credits sum to %v conversions, %v value; want %v, %v", name, sc, sv, conv, value)
	}
}

func TestInvariantCreditsSumToConversions(t *testing.T) {
	for seed := range uint64(5) {
		js := randomJourneys(seed, 300)
		po := PathOptions{From: d(20), To: d(110)}
		if seed%2 == 1 {
			po.Steps = []string{"purchase"}
			po.KeepRepeats = true
		}
		// Count the conversions the options select, independently of the models.
		var conv, value float64
		for _, j := range js {
			for _, c := range j.Conversions {
				if c.At >= po.From && c.At < po.To && po.counts(c.Step) {
					conv++
					value += c.Value
				}
			}
		}
		tab, err := BuildPaths(js, po)
		if err != nil {
			t.Fatalf("BuildPaths() = %v", err)
		}
		if c, v, _ := tab.Totals(); !near(c, conv, 1e-12) || !near(v, value, 1e-9) {
			t.Errorf("seed %d: path table totals %v, %v; want %v, %v", seed, c, v, conv, value)
		}
		for _, ao := range allModels() {
			name := fmt.Sprintf("seed %d, %+v", seed, ao)
			a, err := AttributeJourneys(js, po, ao)
			if err != nil {
				t.Fatalf("%s: AttributeJourneys() = %v", name, err)
			}
			checkSums(t, name, a, conv, value)
		}
	}
}

func TestInvariantPathTables(t *testing.T) {
	for seed := range uint64(10) {
		tab := randomTable(seed, 200)
		conv, value, nulls := tab.Totals()
		for _, ao := range allModels() {
			if ao.Model == TimeDecay {
				continue
			}
			name := fmt.Sprintf("seed %d, %+v", seed, ao)
			a, err := AttributePaths(tab, ao)
			if err != nil {
				t.Fatalf("%s: AttributePaths() = %v", name, err)
			}
			checkSums(t, name, a, conv, value)
			if ao.Model == MarkovChain && ao.MaxSteps == 0 {
				if want := conv / (conv + nulls); !near(a.Markov.ConversionProbability, want, 1e-12) {
					t.Errorf("%s: P(conversion) = %v; want Σconversions/Σjourneys = %v", name, a.Markov.ConversionProbability, want)
				}
			}
		}
	}
}

func TestInvariantPathTablesMerge(t *testing.T) {
	js := randomJourneys(42, 400)
	po := PathOptions{From: d(0), To: d(130)}
	whole, err := BuildPaths(js, po)
	if err != nil {
		t.Fatalf("BuildPaths() = %v", err)
	}
	a, _ := BuildPaths(js[:150], po)
	b, _ := BuildPaths(js[150:], po)
	a.Merge(b)
	a.Sort()
	if !slices.EqualFunc(a.Rows, whole.Rows, func(x, y PathRow) bool {
		return slices.Equal(x.Path, y.Path) && x.Conversions == y.Conversions && near(x.Value, y.Value, 1e-12) && x.Nulls == y.Nulls
	}) {
		t.Errorf("merged shards differ from the whole: %d rows vs %d", len(a.Rows), len(whole.Rows))
	}
	// By period too: two halves of the period add up to the whole.
	first, _ := BuildPaths(js, PathOptions{From: d(0), To: d(60)})
	second, _ := BuildPaths(js, PathOptions{From: d(60), To: d(130)})
	first.Merge(second)
	c1, v1, n1 := first.Totals()
	c2, v2, n2 := whole.Totals()
	if c1 != c2 || !near(v1, v2, 1e-12) || n1 != n2 {
		t.Errorf("periods merged: %v, %v, %v; whole: %v, %v, %v", c1, v1, n1, c2, v2, n2)
	}
}

func TestInvariantFunnelCountsNeverIncrease(t *testing.T) {
	for seed := range uint64(5) {
		js := randomJourneys(seed, 500)
		for _, mode := range []FunnelMode{Ordered, Strict, Unordered} {
			for _, f := range []Funnel{
				{Steps: []string{"view", "cart", "checkout", "purchase"}, Mode: mode, Breakdown: DimDevice},
				{Steps: []string{"view", "cart", "purchase"}, Mode: mode, Exclusions: []string{"faq"}, Breakdown: DimSegment},
			} {
				res, err := BuildFunnel(js, f, d(0), d(120))
				if err != nil {
					t.Fatalf("BuildFunnel(%+v) = %v", f, err)
				}
				groups := append([]FunnelGroup{{Key: "all", Steps: res.Steps}}, res.Groups...)
				for _, g := range groups {
					for k := 1; k < len(g.Steps); k++ {
						if g.Steps[k].Visitors > g.Steps[k-1].Visitors {
							t.Errorf("seed %d, %s %v, group %s: step %d has %d visitors, step %d %d", seed, mode, f.Steps, g.Key, k+1, g.Steps[k].Visitors, k, g.Steps[k-1].Visitors)
						}
					}
				}
				if f.Breakdown == DimDevice {
					// One key per visitor: groups add up to the whole.
					for k := range res.Steps {
						sum := 0
						for _, g := range res.Groups {
							sum += g.Steps[k].Visitors
						}
						if sum != res.Steps[k].Visitors {
							t.Errorf("seed %d, %s: device groups at step %d sum to %d; want %d", seed, mode, k+1, sum, res.Steps[k].Visitors)
						}
					}
				}
				if res.Entered == 0 {
					t.Errorf("seed %d, %s: nobody entered the funnel; the generator should make some", seed, mode)
				}
			}
		}
	}
}
