package server

import (
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// serverMetrics are the counters and histograms of /metrics, in one Set owned by the Server
// (no package globals, so tests can run servers side by side).
type serverMetrics struct {
	set       *metrics.Set
	accepted  *metrics.Counter
	duplicate *metrics.Counter
	bots      *metrics.Counter
	anonymous *metrics.Counter
	latency   [3]*metrics.PrometheusHistogram
	// imports count the events and lines of POST /api/v1/import apart from live traffic:
	// accepted, duplicate and rejected events, then lines that could not be used.
	imports [4]*metrics.Counter
	// clicks counts the clicks of accepted capture batches.
	clicks *metrics.Counter
	// replayBytes counts the stored bytes of accepted replay chunks.
	replayBytes *metrics.Counter

	mu      sync.Mutex
	reasons map[string]*metrics.Counter
}

// latencyBuckets span 100 µs to 2.5 s: the hit path lives in the first few.
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5}

func newServerMetrics(o Options) *serverMetrics {
	s := metrics.NewSet()
	m := &serverMetrics{
		set:       s,
		accepted:  s.NewCounter(`pathlight_events_total{result="accepted"}`),
		duplicate: s.NewCounter(`pathlight_events_total{result="duplicate"}`),
		bots:      s.NewCounter(`pathlight_events_bot_total`),
		anonymous: s.NewCounter(`pathlight_events_anonymous_total`),
		reasons:   make(map[string]*metrics.Counter),
	}
	for i, r := range []string{"accepted", "duplicate", "rejected"} {
		m.imports[i] = s.NewCounter(`pathlight_import_events_total{result="` + r + `"}`)
	}
	m.imports[3] = s.NewCounter(`pathlight_import_bad_lines_total`)
	m.clicks = s.NewCounter(`pathlight_capture_clicks_total`)
	m.replayBytes = s.NewCounter(`pathlight_replay_bytes_total`)
	for i, r := range []string{"hit", "beacon", "decide"} {
		m.latency[i] = s.NewPrometheusHistogramExt(`pathlight_request_duration_seconds{route="`+r+`"}`, latencyBuckets)
	}
	if sizes := o.StoreSizes; sizes != nil {
		s.NewGauge(`pathlight_badger_lsm_bytes`, func() float64 { l, _, _ := sizes(); return float64(l) })
		s.NewGauge(`pathlight_badger_vlog_bytes`, func() float64 { _, v, _ := sizes(); return float64(v) })
		s.NewGauge(`pathlight_wal_bytes`, func() float64 { _, _, w := sizes(); return float64(w) })
	}
	if mapped := o.StoreMapped; mapped != nil {
		s.NewGauge(`pathlight_badger_mapped_resident_bytes`, func() float64 { r, _, _ := mapped(); return float64(r) })
		s.NewGauge(`pathlight_badger_mapped_trims_total`, func() float64 { _, n, _ := mapped(); return float64(n) })
		s.NewGauge(`pathlight_badger_mapped_trimmed_bytes_total`, func() float64 { _, _, b := mapped(); return float64(b) })
	}
	if backlog := o.StoreBacklog; backlog != nil {
		s.NewGauge(`pathlight_store_backlog_bytes`, func() float64 { b, _, _ := backlog(); return float64(b) })
		s.NewGauge(`pathlight_store_applied_writes_total`, func() float64 { _, a, _ := backlog(); return float64(a) })
		s.NewGauge(`pathlight_wal_segments_removed_total`, func() float64 { _, _, r := backlog(); return float64(r) })
	}
	if groups := o.StoreGroups; groups != nil {
		s.NewGauge(`pathlight_store_commit_groups_total`, func() float64 { g, _ := groups(); return float64(g) })
		s.NewGauge(`pathlight_store_commit_writes_total`, func() float64 { _, w := groups(); return float64(w) })
	}
	if slowed := o.StoreSlowed; slowed != nil {
		s.NewGauge(`pathlight_store_slowed_writes_total`, func() float64 { n, _, _ := slowed(); return float64(n) })
		s.NewGauge(`pathlight_store_slowed_seconds_total`, func() float64 { _, d, _ := slowed(); return d.Seconds() })
		s.NewGauge(`pathlight_store_backlog_waits_total`, func() float64 { _, _, w := slowed(); return float64(w) })
	}
	if o.Disk != nil {
		m.diskMetrics(o.Disk)
	}
	if o.Cluster != nil {
		m.clusterMetrics(o.Cluster)
	}
	if rules := o.Rules; rules != nil {
		s.NewGauge(`pathlight_rules_reloads_total{result="ok"}`, func() float64 { return float64(rules.Status().Reloads) })
		s.NewGauge(`pathlight_rules_reloads_total{result="error"}`, func() float64 { return float64(rules.Status().ReloadErrs) })
		s.NewGauge(`pathlight_rules_last_reload_failed`, func() float64 {
			if len(rules.Status().Errors) > 0 {
				return 1
			}
			return 0
		})
	}
	return m
}

func (m *serverMetrics) observe(r route, start time.Time) {
	m.latency[r].UpdateDuration(start)
}

// count records the outcome of one tracked request.
func (m *serverMetrics) count(res *track.Result, rejected []event.Rejection) {
	n := uint64(len(res.Accepted))
	m.accepted.Add(int(n))
	m.duplicate.Add(len(res.Duplicate))
	if res.Bot {
		m.bots.Add(int(n))
	} else if !res.Tracked {
		m.anonymous.Add(int(n))
	}
	for _, r := range rejected {
		m.rejectEvent(r.Reason)
	}
}

// countImport records what an import did (all of it, also when it stopped on an error).
func (m *serverMetrics) countImport(res *analytics.ImportResult) {
	m.imports[0].Add(res.Accepted)
	m.imports[1].Add(res.Duplicate)
	m.imports[2].Add(res.Rejected)
	m.imports[3].Add(res.BadLines)
}

// rejectEvent counts a rejected event by its reason with any quoted detail removed, so the
// label set stays small: `unknown type "x"` counts as `unknown type`.
func (m *serverMetrics) rejectEvent(reason string) {
	if i := strings.IndexByte(reason, '"'); i > 0 {
		reason = reason[:i]
	}
	reason = strings.TrimSpace(reason)
	m.counter(`pathlight_events_total{result="rejected",reason="` + labelSafe(reason) + `"}`).Inc()
}

// reject counts a request answered with an error, by reason code.
func (m *serverMetrics) reject(code string) {
	m.counter(`pathlight_requests_rejected_total{reason="` + labelSafe(code) + `"}`).Inc()
}

func (m *serverMetrics) counter(name string) *metrics.Counter {
	m.mu.Lock()
	c := m.reasons[name]
	if c == nil && len(m.reasons) < 200 {
		c = m.set.GetOrCreateCounter(name)
		m.reasons[name] = c
	}
	m.mu.Unlock()
	if c == nil {
		c = m.set.GetOrCreateCounter(`pathlight_events_total{result="rejected",reason="other"}`)
	}
	return c
}

func labelSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ' ' || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

func (s *Server) handleMetrics(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() {
		s.methodNotAllowed(ctx, "GET")
		return
	}
	ctx.SetContentType("text/plain; version=0.0.4")
	s.m.set.WritePrometheus(ctx)
	if s.deliverer != nil {
		s.deliverer.WriteMetrics(ctx)
	}
	metrics.WriteProcessMetrics(ctx) // Go runtime (heap, GC pauses, goroutines) and process (RSS, CPU, fds)
}

func (s *Server) handleHealth(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	var st ClusterStatus
	degraded := false
	if s.cluster != nil {
		st = s.cluster.Status()
		degraded = !st.StreamConnected || st.OutboxBytes > 0
	}
	b := s.appendDiskHealth([]byte{'{'}, degraded)
	b = append(b, `,"rules_version":`...)
	b = event.AppendJSONString(b, s.tracker.Rules().Version())
	if s.cluster != nil {
		b = appendClusterHealth(b, st)
	}
	b = append(b, '}')
	ctx.SetBody(b)
}

// replayed counts a replay chunk of POST /v1/replay by result: accepted or snapshot (a
// snapshot-only chunk; both with the bytes stored), duplicate, or the reason it was refused (no_consent, session_cap, daily_cap,
// too_large, bad_replay …).
func (m *serverMetrics) replayed(result string, bytes int) {
	m.counter(`pathlight_replay_chunks_total{result="` + result + `"}`).Inc()
	if bytes > 0 {
		m.replayBytes.Add(bytes)
	}
}

// captured counts a capture batch of POST /v1/capture by result: accepted, duplicate, or
// no_consent (answered, nothing stored).
func (m *serverMetrics) captured(result string) {
	m.counter(`pathlight_capture_batches_total{result="` + result + `"}`).Inc()
}
