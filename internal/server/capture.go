package server

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/heatmap"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/track"
)

// capture answers POST /v1/capture: a batch of the capture chunk (clicks and the scroll
// depth of a sampled pageview), folded into the heatmap tables. It is held to the rules of a
// hit: CORS, the per-IP rate limit, the body limit, the site and its origins. A batch without
// consent (Sec-GPC: 1, consent "denied", or none under --consent required) is answered 204
// and stores nothing: the snippet never sends one, and a sender that does learns nothing.
func (s *Server) capture(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	sc, ok := s.sidecarStart(ctx, start, s.heatmaps != nil, "capture is not enabled on this server",
		"send JSON with Content-Type application/json or text/plain", nil)
	if !ok {
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
	if s.cluster != nil && sc.fwd == nil {
		// One node folds each page's batches (the owner of the page's shard), so that two
		// nodes never update one table at once; every node gets the tables from the stream.
		if path, err := heatmap.PagePath(b.URL); err == nil &&
			s.forward(ctx, "heatmap\x00"+site+"\x00"+track.RedactPath(path), sc.ip, sc.viaProxy, start) {
			return
		}
	}
	res, err := s.heatmaps.Record(site, b, s.captureDims(ctx, b), start)
	switch {
	case errors.Is(err, track.ErrDiskFull):
		s.diskFull(ctx, "the capture batch")
		return
	case errors.Is(err, track.ErrQueueFull):
		s.outboxFull(ctx)
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

// captureDims returns what the batch's visitor is counted under beside all visitors (their
// channel, segments, arms and steps: heatmap.DimsOf), read from their journey: the visitor
// id is the body's or the pl_vid cookie's, as for a hit. None for a visitor without a
// journey, and none when it cannot be read (the batch still counts for all visitors).
func (s *Server) captureDims(ctx *fasthttp.RequestCtx, b *heatmap.Batch) []string {
	vid := b.VID
	if vid == "" {
		vid = string(ctx.Request.Header.Cookie(cookieName))
	}
	if vid == "" || track.CheckVID(vid) != nil {
		return nil
	}
	var st journey.State
	if ok, err := s.tracker.State(vid, &st); !ok || err != nil {
		return nil
	}
	return heatmap.DimsOf(&st)
}

// heatmapReport answers GET /api/v1/reports/heatmap with the reports' envelope. At most one
// of channel, segment, step and arm (experiment:variant) filters the visitors; a segment,
// step or arm the rules do not define is refused with those they do.
func (s *Server) heatmapReport(ctx *fasthttp.RequestCtx, q analytics.Query) {
	if s.heatmaps == nil {
		s.fail(ctx, fasthttp.StatusNotFound, "unknown_report", "the heatmap report is not enabled on this server")
		return
	}
	dim, err := s.heatmapFilter(q.Options)
	if err != nil {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", err.Error())
		return
	}
	rep, err := s.heatmaps.Report(q.Site, q.Options["page"], q.Options["band"], dim, q.From, q.To)
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

// heatmapFilter returns the dimension of the heatmap report's filter, "" for none.
func (s *Server) heatmapFilter(opts map[string]string) (string, error) {
	var kind, value string
	for _, k := range []string{"channel", "segment", "step", "arm"} {
		if v := opts[k]; v != "" {
			if kind != "" {
				return "", &heatmap.QueryError{Param: k, Msg: "give one of channel, segment, step and arm, not " + kind + " and " + k}
			}
			kind, value = k, v
		}
	}
	set := s.tracker.Rules()
	var known []string
	switch {
	case kind == "" || kind == "channel" || set == nil:
		return dimOrNone(kind, value), nil
	case kind == "segment":
		known = set.Segments()
	case kind == "step":
		for _, st := range set.Steps() {
			known = append(known, st.ID)
		}
	case kind == "arm":
		for _, x := range set.Experiments() {
			for _, v := range x.Variants {
				known = append(known, x.ID+":"+v)
			}
		}
	}
	if !slices.Contains(known, value) {
		list := strings.Join(known, ", ")
		if list == "" {
			list = "none"
		}
		return "", &heatmap.QueryError{Param: kind, Msg: quote(value) + " is not defined by the rules; they define " + list}
	}
	return heatmap.Dim(kind, value), nil
}

func dimOrNone(kind, value string) string {
	if kind == "" {
		return ""
	}
	return heatmap.Dim(kind, value)
}
