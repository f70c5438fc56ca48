package server

import (
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"
)

// sidecar is what the common start of a sampled-pageview route (capture batches, replay
// chunks) learnt of its request: the client's address and, when another node of the fleet
// passed the request on, that node's account of it.
type sidecar struct {
	fwd      *forwardedHit // nil unless forwarded by another node
	ip       netip.Addr
	viaProxy bool
}

// sidecarStart holds a sampled-pageview route to the rules of a hit: preflight, CORS, POST
// only, the route enabled on this server (off answers 404 with offMsg), the per-IP rate limit
// (applied by the node that first took a forwarded request) and a JSON or text body (typeMsg
// says what to send). refused, when not nil, hears the reason of each refusal, for the route's
// metrics. ok false means the reply is written.
func (s *Server) sidecarStart(ctx *fasthttp.RequestCtx, start time.Time, enabled bool, offMsg, typeMsg string, refused func(reason string)) (sc sidecar, ok bool) {
	if ctx.IsOptions() {
		s.preflight(ctx, routeBeacon)
		return sc, false
	}
	s.publicCORS(ctx)
	if !ctx.IsPost() {
		s.methodNotAllowed(ctx, "POST, OPTIONS")
		return sc, false
	}
	if !enabled {
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", offMsg)
		return sc, false
	}
	if sc.fwd = forwardedFrom(ctx); sc.fwd != nil {
		sc.ip, sc.viaProxy = sc.fwd.ip, sc.fwd.viaProxy
	} else {
		sc.ip, sc.viaProxy = s.clientIP(ctx)
		if wait, ok := s.limits.allowIP(sc.ip, start); !ok {
			if refused != nil {
				refused("rate_limit_ip")
			}
			s.tooMany(ctx, "rate_limit_ip", wait)
			return sc, false
		}
	}
	if !jsonOrText(ctx.Request.Header.ContentType()) {
		if refused != nil {
			refused("content_type")
		}
		s.fail(ctx, fasthttp.StatusUnsupportedMediaType, "content_type", typeMsg)
		return sc, false
	}
	return sc, true
}
