// Package analytics is Pathlight's reporting use case, between the tracker and the HTTP
// layer: it keeps the report store (package reportstore) current with the tracker's
// commits, takes the definitions (steps, stages, funnels, surveys, experiments, segments)
// from the rule set in force, runs the functions of package report over the visitors of a
// period and returns the payloads of the reports API.
//
// Data flow. A Feed attached to the tracker's store (track.Watch) hears every commit: which
// visitors changed, the sites their events name, prompt events, and hits per second for the
// live view. Folds (every two seconds in the background, and before a report when the last
// one is older than Options.MaxStaleness) re-read the changed visitors' states and write
// their records into the report store, which lives in the same byte-level store as the
// journeys, so a restarted server reads it as it is. Nothing holds every visitor in memory.
//
// Reports. Each report runner reads the records of its period through the report store,
// a chunk of visitors at a time, and feeds them to builders that add parts up exactly
// (counts, and the values of medians and quantiles). Attribution, path tables and CAC,
// whose figures add up over days, sum daily rollups kept in the report store: per UTC day
// and site, the path table and the credits of each model, computed from the journeys that
// convert or expire that day and dropped when a change touches that day or an earlier one.
// Results are cached per state of the store. docs/architecture.md describes the design and
// docs/performance.md its measured speed.
package analytics
