package report

import (
	"bytes"
	"os"
	"testing"
)

func benchMarkov(b *testing.B, order int) {
	tab := loadPaths(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AttributePaths(tab, AttributionOptions{Model: MarkovChain, Order: order}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMarkovOrder1Data attributes the 10,000-path data set with an exact order-1 chain.
func BenchmarkMarkovOrder1Data(b *testing.B) { benchMarkov(b, 1) }

// BenchmarkMarkovOrder3Data attributes the 10,000-path data set with an exact order-3 chain.
func BenchmarkMarkovOrder3Data(b *testing.B) { benchMarkov(b, 3) }

// BenchmarkMarkovCutOffData reproduces the package's truncated walks on the data set.
func BenchmarkMarkovCutOffData(b *testing.B) {
	tab := loadPaths(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AttributePaths(tab, AttributionOptions{Model: MarkovChain, MaxSteps: PackageMaxSteps}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkShapley plays both games on the data set.
func BenchmarkShapley(b *testing.B) {
	tab := loadPaths(b)
	for _, g := range []Game{CountingGame, RateGame} {
		b.Run(string(g), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := AttributePaths(tab, AttributionOptions{Model: Shapley, Game: g}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFunnel runs a four-step funnel over 100,000 synthetic visitors.
func BenchmarkFunnel(b *testing.B) {
	js := randomJourneys(1, 100_000)
	for _, mode := range []FunnelMode{Ordered, Strict, Unordered} {
		f := Funnel{Steps: []string{"view", "cart", "checkout", "purchase"}, Mode: mode, Exclusions: []string{"faq"}}
		b.Run(string(mode), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := BuildFunnel(js, f, d(0), d(130)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPathTable builds the path table of 100,000 synthetic visitors.
func BenchmarkPathTable(b *testing.B) {
	js := randomJourneys(2, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildPaths(js, PathOptions{From: d(0), To: d(130)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAttributeJourneys attributes 100,000 synthetic visitors' conversions by time decay.
func BenchmarkAttributeJourneys(b *testing.B) {
	js := randomJourneys(3, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AttributeJourneys(js, PathOptions{From: d(0), To: d(130)}, AttributionOptions{Model: TimeDecay}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJourneyMap maps 100,000 synthetic visitors.
func BenchmarkJourneyMap(b *testing.B) {
	js := randomJourneys(4, 100_000)
	o := JourneyMapOptions{From: d(0), To: d(130), Stages: map[string]string{"view": "consider", "cart": "buy", "checkout": "buy", "purchase": "buy"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildJourneyMap(js, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadPaths parses the 10,000-line data set.
func BenchmarkReadPaths(b *testing.B) {
	data, err := os.ReadFile(dataFile(b, "channelattribution-Data.csv"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ReadPaths(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkExperiment analyses a two-arm and a three-arm experiment.
func BenchmarkExperiment(b *testing.B) {
	two := []Arm{{Name: "c", Exposures: 10000, Conversions: 500}, {Name: "t", Exposures: 10000, Conversions: 570}}
	three := append(two[:2:2], Arm{Name: "u", Exposures: 10000, Conversions: 540})
	for name, arms := range map[string][]Arm{"two": two, "three": three} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := AnalyzeExperiment(arms, "c", 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodePathTables decodes a year of daily path tables, as a 365-day report adds
// them up: each table of its own, and into an arena reused from one report to the next.
func BenchmarkDecodePathTables(b *testing.B) {
	enc, err := rollupTable(600).AppendBinary(nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, arena := range []bool{false, true} {
		name := "own"
		var a *PathArena
		if arena {
			name, a = "arena", &PathArena{}
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a.Reset()
				for range 365 {
					var t PathTable
					if err := t.UnmarshalBinaryIn(enc, a); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
