package server

import (
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/heatmap"
	"github.com/pathlight/pathlight/internal/track"
)

// capture answers POST /v1/capture: a batch of the capture chunk (clicks and the scroll
// depth of a sampled pageview), folded into the heatmap tables. It is held to the rules of a
// hit: CORS, the per-IP rate limit, the body limit, the site and its origins. A batch without
// consent (Sec-GPC: 1, consent "denied", or none under --consent required) is answered 204
// and stores nothing: the snippet never sends one, and a sender that does learns nothing.
func (s *Server) capture(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	if ctx.IsOptions() {
		s.preflight(ctx, routeBeacon)
		return
	}
	s.publicCORS(ctx)
	if !ctx.IsPost() {
		s.methodNotAllowed(ctx, "POST, OPTIONS")
		return
	}
	if s.heatmaps == nil {
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "capture is not enabled on this server")
		return
	}
	ip, _ := s.clientIP(ctx)
	if wait, ok := s.limits.allowIP(ip, start); !ok {
		s.tooMany(ctx, "rate_limit_ip", wait)
		return
	}
	if !jsonOrText(ctx.Request.Header.ContentType()) {
		s.fail(ctx, fasthttp.StatusUnsupportedMediaType, "content_type", "send JSON with Content-Type application/json or text/plain")
		return
	}
	b, err := heatmap.ParseBatch(ctx.PostBody())
	if err != nil {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_capture", err.Error())
		return
	}
	site := s.site(ctx, &event.Batch{Site: b.Site})
	if site == "" {
		return
	}
	gpc := string(ctx.Request.Header.Peek("Sec-GPC")) == "1"
	if gpc || b.Consent == "denied" || (s.cfg.Consent == "required" && b.Consent != "granted") {
		s.m.captured("no_consent")
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	res, err := s.heatmaps.Record(site, b, start)
	switch {
	case errors.Is(err, track.ErrDiskFull):
		s.diskFull(ctx, "the capture batch")
		return
	case err != nil:
		s.log.Error("capture", "site", site, "err", err)
		ctx.Response.Header.Set("Retry-After", "1")
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the capture batch could not be stored; retry later")
		return
	case res == heatmap.Duplicate:
		s.m.captured("duplicate")
	default:
		s.m.captured("accepted")
		s.m.clicks.Add(len(b.Clicks))
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// heatmapReport answers GET /api/v1/reports/heatmap with the reports' envelope.
func (s *Server) heatmapReport(ctx *fasthttp.RequestCtx, q analytics.Query) {
	if s.heatmaps == nil {
		s.fail(ctx, fasthttp.StatusNotFound, "unknown_report", "the heatmap report is not enabled on this server")
		return
	}
	rep, err := s.heatmaps.Report(q.Site, q.Options["page"], q.Options["band"], q.From, q.To)
	var qe *heatmap.QueryError
	switch {
	case errors.As(err, &qe):
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", err.Error())
		return
	case err != nil:
		s.reportsUnavailable(ctx, err)
		return
	}
	s.writeJSON(ctx, fasthttp.StatusOK, analytics.Result{Report: "heatmap", From: q.From, To: q.To, Site: q.Site, GeneratedAt: time.Now().UnixMilli(), Data: rep})
}
