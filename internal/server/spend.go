package server

import (
	"errors"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/track"
)

// spend answers PUT, POST and DELETE /api/v1/spend/{source}: the spend of one source (a
// tool, an ad platform export) in the spend CSV format, kept in the data directory and read
// with the spend files for CAC and ROAS. PUT replaces the source's rows, POST adds to them
// (a body over the body limit goes in parts), DELETE removes them.
func (s *Server) spend(ctx *fasthttp.RequestCtx, source string) {
	var err error
	switch {
	case ctx.IsPut() || ctx.IsPost():
		var res *analytics.SpendPut
		res, err = s.spendSources.Put(source, ctx.PostBody(), ctx.IsPost())
		if err == nil {
			s.writeJSON(ctx, fasthttp.StatusOK, res)
			return
		}
	case ctx.IsDelete():
		if err = s.spendSources.Delete(source); err == nil {
			ctx.SetStatusCode(fasthttp.StatusNoContent)
			return
		}
	default:
		s.methodNotAllowed(ctx, "PUT, POST, DELETE")
		return
	}
	var qe *analytics.QueryError
	var se *analytics.SpendError
	switch {
	case errors.As(err, &qe):
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", err.Error())
	case errors.As(err, &se):
		s.fail(ctx, fasthttp.StatusUnprocessableEntity, "bad_spend", err.Error())
	case errors.Is(err, analytics.ErrUnknownSpendSource):
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, track.ErrDiskFull):
		ctx.Response.Header.Set("Retry-After", diskRetryAfter)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "disk_full", "the server's disk is nearly full: the spend was not stored; free some space and send it again")
	default:
		s.log.Error("spend", "source", source, "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the spend could not be stored ("+err.Error()+"); retry later")
	}
}
