package server

import (
	"cmp"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// decodeDecide reads /v1/decide's parameters from the query string or a small JSON body:
// site, vid, slots (comma-separated or a list), url and consent. It holds them to the same
// rules as a hit and answers a bad request itself, returning false. A query parameter of
// another name, or one given twice, is refused as a body's member is: ?slot=hero must not
// answer as if no slot had been asked for.
func (s *Server) decodeDecide(ctx *fasthttp.RequestCtx, b *event.Batch, req *track.Request) bool {
	if !s.onlyParams(ctx, string(ctx.Method())+" /v1/decide", "site", "vid", "slots", "url", "consent") {
		return false
	}
	args := ctx.QueryArgs()
	b.Site = string(args.Peek("site"))
	b.VID = string(args.Peek("vid"))
	req.DecideURL = string(args.Peek("url"))
	consent := string(args.Peek("consent"))
	for _, sl := range strings.Split(string(args.Peek("slots")), ",") {
		if sl = strings.TrimSpace(sl); sl != "" {
			b.Slots = append(b.Slots, sl)
		}
	}
	if ctx.IsPost() && len(ctx.PostBody()) > 0 {
		if !jsonOrText(ctx.Request.Header.ContentType()) {
			s.fail(ctx, fasthttp.StatusUnsupportedMediaType, "content_type", "send JSON with Content-Type application/json or text/plain")
			return false
		}
		var body event.Batch
		url, err := event.DecodeDecide(ctx.PostBody(), &body, &s.decLim)
		if err != nil {
			s.fail(ctx, fasthttp.StatusBadRequest, "bad_json", "decide body: "+err.Error())
			return false
		}
		b.Site = cmp.Or(body.Site, b.Site)
		b.VID = cmp.Or(body.VID, b.VID)
		req.DecideURL = cmp.Or(url, req.DecideURL)
		b.Slots = append(b.Slots, body.Slots...)
		if body.Consent != event.ConsentUnset {
			b.Consent, consent = body.Consent, ""
		}
	}
	switch consent { // the query's, unless the body said
	case "":
	case "granted":
		b.Consent = event.ConsentGranted
	case "denied":
		b.Consent = event.ConsentDenied
	default:
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "consent: want granted or denied, got "+quote(consent))
		return false
	}
	// As in a hit: the first MaxSlots names a rule can define are answered, others not.
	b.Slots = slices.DeleteFunc(b.Slots, func(sl string) bool { return sl == "" || len(sl) > s.decLim.MaxSlotLen })
	b.Slots = b.Slots[:min(len(b.Slots), s.decLim.MaxSlots)]
	if len(req.DecideURL) > s.decLim.MaxURL {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "url longer than "+itoa(s.decLim.MaxURL)+" bytes")
		return false
	}
	req.DecideOnly = true
	return true
}
