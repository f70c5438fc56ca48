package server

import (
	"bytes"
	"errors"
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

type route uint8

const (
	routeHit    route = iota // POST /v1/hit: record, decide, answer JSON
	routeBeacon              // POST /v1/beacon: record, answer 204
	routeDecide              // GET|POST /v1/decide: decide only
)

// cookieName is the first-party visitor cookie.
const cookieName = "pl_vid"

// cookieMaxAge is the longest lifetime browsers allow a cookie (400 days); each visit renews it.
const cookieMaxAge = 400 * 24 * 60 * 60

// public serves the beacon endpoints: CORS, limits, decoding, tracking, the reply.
func (s *Server) public(ctx *fasthttp.RequestCtx, r route) {
	start := time.Now()
	defer s.m.observe(r, start)

	if ctx.IsOptions() {
		s.preflight(ctx, r)
		return
	}
	s.publicCORS(ctx)
	if !ctx.IsPost() && !(r == routeDecide && ctx.IsGet()) {
		s.methodNotAllowed(ctx, allowed(r))
		return
	}
	fwd := forwardedFrom(ctx) // a hit another node of the fleet passed on: limits applied there
	var ip netip.Addr
	var viaProxy bool
	if fwd != nil {
		ip, viaProxy = fwd.ip, fwd.viaProxy
	} else {
		ip, viaProxy = s.clientIP(ctx)
		if wait, ok := s.limits.allowIP(ip, start); !ok {
			s.tooMany(ctx, "rate_limit_ip", wait)
			return
		}
	}

	b := s.batches.Get().(*event.Batch)
	defer func() { b.Reset(); s.batches.Put(b) }()
	var rejected []event.Rejection
	req := track.Request{Batch: b, Decisions: r != routeBeacon}
	if r == routeDecide {
		if !s.decodeDecide(ctx, b, &req) {
			return
		}
	} else {
		if !jsonOrText(ctx.Request.Header.ContentType()) {
			s.fail(ctx, fasthttp.StatusUnsupportedMediaType, "content_type", "send JSON with Content-Type application/json or text/plain")
			return
		}
		var err error
		rejected, err = event.DecodeBatch(ctx.PostBody(), b, start.UnixMilli(), &s.decLim)
		if err != nil {
			s.fail(ctx, fasthttp.StatusBadRequest, "bad_json", err.Error())
			return
		}
	}
	site := s.site(ctx, b)
	if site == "" {
		return
	}
	req.CookieVID = string(ctx.Request.Header.Cookie(cookieName))
	vkey := b.VID
	if vkey == "" {
		vkey = req.CookieVID
	}
	if vkey != "" && fwd == nil {
		if wait, ok := s.limits.allowVisitor(vkey, start); !ok {
			s.tooMany(ctx, "rate_limit_visitor", wait)
			return
		}
	}
	req.UserAgent = string(ctx.Request.Header.UserAgent())
	if ua := ctx.QueryArgs().Peek("ua"); r == routeDecide && len(ua) > 0 {
		req.UserAgent = string(ua) // a back end passing on its visitor's user agent
	}
	req.IP = ip
	req.GPC = string(ctx.Request.Header.Peek("Sec-GPC")) == "1"
	if viaProxy {
		req.CDNCountry = cdnCountry(ctx)
	}

	if s.cluster != nil {
		// A hit waits --cluster-wait at most, forward and stream together; the owner of a
		// forwarded hit counts from when the first node took it.
		from := start
		if fwd != nil {
			from = fwd.start
		}
		if s.cfg.Cluster != nil {
			req.Deadline = from.Add(s.cfg.Cluster.Wait)
		}
		if r != routeDecide && s.cluster.OutboxFull() {
			s.outboxFull(ctx)
			return
		}
		if fwd == nil {
			// The owner of the visitor's shard answers; a new visitor gets an id in a shard
			// of this node's.
			if vid := s.tracker.PeekVID(&req); vid == "" {
				req.NewVID = s.cluster.MintVID()
			} else if s.forward(ctx, vid, ip, viaProxy, start) {
				return
			}
		}
	}

	if s.cluster != nil && identifies(b) {
		s.cluster.CatchUp()
	}

	res := s.results.Get().(*track.Result)
	defer func() { res.Reset(); s.results.Put(res) }()
	if err := s.tracker.Track(&req, res); err != nil {
		if errors.Is(err, track.ErrDiskFull) {
			s.diskFull(ctx, "the hit")
			return
		}
		if errors.Is(err, track.ErrQueueFull) {
			s.outboxFull(ctx)
			return
		}
		ctx.Response.Header.Set("Retry-After", "1")
		if errors.Is(err, track.ErrOverloaded) {
			s.log.Warn("track: storage backlog full", "site", site)
			s.fail(ctx, fasthttp.StatusServiceUnavailable, "overloaded", "the server is behind on storing hits; retry later")
			return
		}
		s.log.Error("track", "site", site, "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the hit could not be stored; retry later")
		return
	}
	rejected = append(rejected, res.Rejected...)
	s.m.count(res, rejected)
	if res.SetCookie && res.VID != "" {
		s.setCookie(ctx, res.VID, viaProxy)
	} else if res.ClearCookie {
		s.clearCookie(ctx, viaProxy)
	}
	if r == routeBeacon {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	if r == routeHit {
		s.askSnapshot(site, &req, res)
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	buf := getBuf()
	*buf = appendResult((*buf)[:0], res, rejected)
	ctx.Response.SetBody(*buf)
	putBuf(buf)
}

// site checks the batch's site and the request's Origin against the site's allowlist. It
// returns "" after answering with an error.
//
// The CORS headers are already written, by publicCORS, for an origin that some site allows:
// a page of the operator's own can read why it was refused (an unknown site id, or an origin
// another site allows), and the snippet drops the batch rather than retry it. An origin that
// no site allows (Origin: null among them) gets none, so a foreign page can read nothing,
// nor tell an unknown site id from a known one. The first refusal of each site and origin is
// logged, with what to change, for the site's owner (refusals).
func (s *Server) site(ctx *fasthttp.RequestCtx, b *event.Batch) string {
	id, ok := s.resolveSite(b.Site)
	origin := ctx.Request.Header.Peek("Origin")
	switch {
	case id == "":
		s.fail(ctx, fasthttp.StatusBadRequest, "missing_site", `missing "site"`)
		return ""
	case !ok:
		s.refusals.unknownSite(id, origin)
		msg := "unknown site " + quote(id)
		if s.cfg.AnyOrigin {
			// The development default: say which sites it serves, so that a page trying
			// Pathlight out learns what its data-site should say. With --sites, pages learn
			// no site ids but their own; the log tells the operator.
			msg += ": without --sites this server serves only " + s.refusals.siteList() + "; set data-site to one of them, or start the server with --sites"
		}
		s.fail(ctx, fasthttp.StatusForbidden, "unknown_site", msg)
		return ""
	}
	b.Site = id
	if len(origin) > 0 && !s.siteOrigins[id].allows(origin) {
		s.refusals.origin(id, origin)
		s.fail(ctx, fasthttp.StatusForbidden, "origin", "origin "+quote(string(origin))+" is not allowed for site "+quote(b.Site)+"; add it to --sites")
		return ""
	}
	return b.Site
}

func allowed(r route) string {
	if r == routeDecide {
		return "GET, POST, OPTIONS"
	}
	return "POST, OPTIONS"
}

// jsonOrText accepts the two content types the snippet may send: application/json, and
// text/plain, which sendBeacon and fetch use without a CORS preflight. No content type is
// taken as JSON too, for simple clients.
func jsonOrText(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = bytes.TrimSpace(ct)
	return len(ct) == 0 || bytes.EqualFold(ct, []byte("application/json")) || bytes.EqualFold(ct, []byte("text/plain"))
}

// setCookie sets the pl_vid cookie; viaProxy says the request came through a trusted proxy.
func (s *Server) setCookie(ctx *fasthttp.RequestCtx, vid string, viaProxy bool) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(cookieName)
	c.SetValue(vid)
	c.SetPath("/")
	c.SetMaxAge(cookieMaxAge)
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	if s.cfg.CookieDomain != "" {
		c.SetDomain(s.cfg.CookieDomain)
	}
	if secure(ctx, viaProxy) {
		c.SetSecure(true)
	}
	ctx.Response.Header.SetCookie(c)
}

// clearCookie expires the pl_vid cookie: a visitor without consent keeps no identifier.
func (s *Server) clearCookie(ctx *fasthttp.RequestCtx, viaProxy bool) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(cookieName)
	c.SetPath("/")
	c.SetExpire(fasthttp.CookieExpireDelete)
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	if s.cfg.CookieDomain != "" {
		c.SetDomain(s.cfg.CookieDomain)
	}
	if secure(ctx, viaProxy) {
		c.SetSecure(true)
	}
	ctx.Response.Header.SetCookie(c)
}

func (s *Server) tooMany(ctx *fasthttp.RequestCtx, reason string, wait time.Duration) {
	secs := int(wait/time.Second) + 1
	ctx.Response.Header.Set("Retry-After", itoa(secs))
	s.fail(ctx, fasthttp.StatusTooManyRequests, reason, "too many requests; retry after "+itoa(secs)+"s")
}

// fail answers with status, a machine-readable reason code in X-Pathlight-Reason and a JSON
// body that explains it to a person.
func (s *Server) fail(ctx *fasthttp.RequestCtx, status int, code, msg string) {
	s.m.reject(code)
	ctx.SetStatusCode(status)
	ctx.Response.Header.Set("X-Pathlight-Reason", headerSafe(code+": "+msg))
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetContentType("application/json")
	buf := getBuf()
	b := append((*buf)[:0], `{"error":`...)
	b = event.AppendJSONString(b, msg)
	b = append(b, `,"reason":`...)
	b = event.AppendJSONString(b, code)
	b = append(b, '}')
	ctx.Response.SetBody(b)
	*buf = b
	putBuf(buf)
}
