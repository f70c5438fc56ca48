// Package analytics is Pathlight's reporting use case, between the tracker and the HTTP
// layer: it keeps an index of every visitor's journey, takes the definitions (steps, stages,
// funnels, surveys, experiments, segments) from the rule set in force, runs the functions of
// package report over the journeys of a period and returns the payloads of the reports API.
//
// Data flow. A full build reads the event log once (which site each visitor belongs to, and
// the survey prompt events) and every stored visitor state, and compacts each journey into
// the index. After that, a Feed attached to the tracker's store (track.Watch) hears every
// commit: the visitors whose state changed are re-read and re-compacted on the next refresh,
// prompt events are appended, and the live view counts hits per second. Reports therefore
// see a commit as soon as they are asked for, without scanning the store again.
//
// Speed. Reports read an immutable snapshot of the index, built when the index changed, so
// they never block the tracker. Attribution, path tables and CAC, the reports whose cost
// grows with every conversion in the period, are summed from daily rollups: per UTC day and
// site, the path table and the credits of each model, computed from the journeys that
// convert or expire that day and reused until a commit changes a journey at or before that
// day. Other reports (funnels, the journey map, time to conversion, surveys, experiments)
// count visitors or take quantiles, which do not add up across days; they run over the
// journeys active in the period, found through per-day buckets. Results are cached per
// snapshot. docs/architecture.md describes the design and its measured speed.
package analytics
