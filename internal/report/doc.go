// Package report computes Pathlight's analytics from visitors' journeys: marketing paths and
// attribution (heuristic, Markov chain and Shapley models), funnels, the journey map, time to
// conversion, micro-conversion rates, CAC and ROAS, step health, survey results and experiment
// statistics.
//
// The package is pure computation over plain inputs: a Journey is one visitor's touchpoints,
// step arrivals and conversions, and aggregated inputs (PathTable, weekly counts, arm counts)
// are plain values. It never reads storage, so every report can be computed from the stored
// visitor states, from the raw event log, or from a file an analyst supplies, and tested
// against hand-computed cases.
//
// Aggregates are mergeable: path tables, credits and counts add up, so reports over several
// days or several shards are the sum of their parts. Every definition implemented here is
// written out in docs/analytics.md.
//
// Times are Unix milliseconds, as in package journey; durations in results are seconds.
package report
