package server

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"unicode"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/enrich"
)

// preflight answers a CORS preflight for route r. The snippet sends text/plain and needs
// none, but a site calling /v1/hit or /v1/decide with application/json from its own code does.
func (s *Server) preflight(ctx *fasthttp.RequestCtx, r route) {
	origin := ctx.Request.Header.Peek("Origin")
	if len(origin) == 0 {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "preflight without Origin")
		return
	}
	if !s.allOrigins.allows(origin) {
		s.fail(ctx, fasthttp.StatusForbidden, "origin", "origin "+quote(string(origin))+" is not allowed for any site")
		return
	}
	corsHeaders(ctx, origin)
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Methods", allowed(r))
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "86400")
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// publicCORS writes the CORS headers of a public reply when the request's Origin is allowed
// for some site, before anything can fail: a page's script must be able to read an error
// (its status, X-Pathlight-Reason, Retry-After) to tell a refusal, which it drops, from a
// failure, which it retries. Whether the origin may send for the batch's own site is checked
// later, by site.
func (s *Server) publicCORS(ctx *fasthttp.RequestCtx) {
	if origin := ctx.Request.Header.Peek("Origin"); len(origin) > 0 && s.allOrigins.allows(origin) {
		corsHeaders(ctx, origin)
	}
}

// originSet holds allowed origins, lower-cased, or any origin ("*", the development default
// without --sites). Looking one up allocates nothing: it runs for every public request.
type originSet struct {
	any bool
	set map[string]struct{}
}

func (o *originSet) add(origins []string) {
	for _, x := range origins {
		if x == "*" {
			o.any = true
			continue
		}
		if o.set == nil {
			o.set = make(map[string]struct{})
		}
		o.set[strings.ToLower(x)] = struct{}{}
	}
}

// allows reports whether origin is in the set, ignoring case.
func (o *originSet) allows(origin []byte) bool {
	if o.any {
		return true
	}
	if _, ok := o.set[string(origin)]; ok {
		return true
	}
	// Browsers send origins in lower case; fold only a header that is not.
	var buf [256]byte
	if len(origin) > len(buf) || bytes.IndexFunc(origin, unicode.IsUpper) < 0 {
		return false
	}
	lower := buf[:len(origin)]
	for i, c := range origin {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	_, ok := o.set[string(lower)]
	return ok
}

// corsHeaders allows the origin with credentials, so the pl_vid cookie travels with hits,
// and lets its scripts read the reason and retry delay of a refusal.
func corsHeaders(ctx *fasthttp.RequestCtx, origin []byte) {
	h := &ctx.Response.Header
	h.SetBytesV("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Expose-Headers", "X-Pathlight-Reason, Retry-After")
	h.Add("Vary", "Origin")
}

// clientIP returns the client's address: the peer's, or when the peer is a trusted proxy
// (viaProxy), the right-most address in X-Forwarded-For that is not itself a trusted proxy.
// Only then may the proxy's other headers (CDN country, X-Forwarded-Proto) be believed.
func (s *Server) clientIP(ctx *fasthttp.RequestCtx) (addr netip.Addr, viaProxy bool) {
	peer := addrOf(ctx.RemoteIP())
	if !s.isTrusted(peer) {
		return peer, false
	}
	xff := ctx.Request.Header.Peek("X-Forwarded-For")
	for len(xff) > 0 {
		i := bytes.LastIndexByte(xff, ',')
		part := bytes.TrimSpace(xff[i+1:])
		xff = xff[:max(i, 0)]
		a, err := netip.ParseAddr(string(part))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.isTrusted(a) {
			return a, true
		}
		peer = a
		if i < 0 {
			break
		}
	}
	return peer, true
}

func (s *Server) isTrusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// secure reports whether the visitor's connection is HTTPS: TLS here, or a trusted proxy
// (viaProxy, from clientIP) says so.
func secure(ctx *fasthttp.RequestCtx, viaProxy bool) bool {
	if fwd := forwardedFrom(ctx); fwd != nil {
		return fwd.secure
	}
	if ctx.IsTLS() {
		return true
	}
	return viaProxy && bytes.EqualFold(ctx.Request.Header.Peek("X-Forwarded-Proto"), []byte("https"))
}

// cdnCountry reads the country header of a CDN; call it only behind a trusted proxy.
func cdnCountry(ctx *fasthttp.RequestCtx) string {
	return enrich.CountryFromHeaders(func(name string) string { return string(ctx.Request.Header.Peek(name)) })
}

func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}
