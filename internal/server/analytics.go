package server

import "github.com/valyala/fasthttp"

// analytics serves /api/v1/reports/*, /api/v1/import and /api/v1/live.
func (s *Server) analytics(ctx *fasthttp.RequestCtx, parts []string) {
	s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no such admin route: "+string(ctx.Path()))
}
