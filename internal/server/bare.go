package server

import (
	"net"

	"github.com/valyala/fasthttp"
)

// ServeBare serves ln with a bare fasthttp handler that answers every request 204 and does
// nothing else: the reference that load runs measure Pathlight against (the HTTP layer and
// the machine's own limits, without any of Pathlight's work). It returns when ln is closed.
func ServeBare(ln net.Listener) error {
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusNoContent) },
		Name:    "bare",
	}
	return srv.Serve(ln)
}
