package server

import "github.com/valyala/fasthttp"

// serveDashboard serves the marketers' dashboard under /dashboard/.
func (s *Server) serveDashboard(ctx *fasthttp.RequestCtx) {
	s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no such route: "+string(ctx.Path()))
}

// dashboardSession reports whether the request carries a valid dashboard session cookie.
func (s *Server) dashboardSession(ctx *fasthttp.RequestCtx) bool { return false }
