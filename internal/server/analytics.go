package server

import (
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/track"
)

// analytics serves /api/v1/reports[/{name}], /api/v1/import, /api/v1/live and
// /api/v1/rules/reach. The work is the analytics service's; this maps HTTP to it.
func (s *Server) analytics(ctx *fasthttp.RequestCtx, parts []string) {
	switch {
	case parts[0] == "import" && len(parts) == 1:
		if !ctx.IsPost() {
			s.methodNotAllowed(ctx, "POST")
			return
		}
		s.importEvents(ctx)
		return
	case !ctx.IsGet():
		s.methodNotAllowed(ctx, "GET")
		return
	case s.reports == nil:
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "reports are not enabled on this server")
		return
	}
	switch {
	case parts[0] == "reports" && len(parts) == 1:
		s.writeJSON(ctx, fasthttp.StatusOK, struct {
			Reports string `json:"reports"`
		}{analytics.ReportNames() + ", heatmap"})
	case parts[0] == "reports" && len(parts) == 2:
		s.report(ctx, parts[1])
	case parts[0] == "live" && len(parts) == 1:
		s.writeJSON(ctx, fasthttp.StatusOK, s.reports.Live())
	case parts[0] == "rules" && len(parts) == 2 && parts[1] == "reach":
		site := string(ctx.QueryArgs().Peek("site"))
		if !s.knownSite(ctx, site) {
			return
		}
		r, err := s.reports.Reach(site)
		if err != nil {
			s.reportsUnavailable(ctx, err)
			return
		}
		s.writeJSON(ctx, fasthttp.StatusOK, r)
	default:
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no such admin route: "+string(ctx.Path()))
	}
}

// report answers GET /api/v1/reports/{name}?from=&to=&site=&<options>.
func (s *Server) report(ctx *fasthttp.RequestCtx, name string) {
	values := map[string]string{}
	for k, v := range ctx.QueryArgs().All() {
		values[string(k)] = string(v)
	}
	q, err := analytics.NewQuery(values, time.Now())
	if err != nil {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if !s.knownSite(ctx, q.Site) {
		return
	}
	if name == "heatmap" {
		s.heatmapReport(ctx, q)
		return
	}
	r, err := s.reports.Report(name, q)
	var qe *analytics.QueryError
	var se *analytics.SpendError
	switch {
	case err == nil:
		s.writeJSON(ctx, fasthttp.StatusOK, r)
	case errors.As(err, &qe):
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", err.Error())
	case errors.As(err, &se):
		// The file is wrong, not the server: retrying cannot help until it is fixed.
		s.fail(ctx, fasthttp.StatusUnprocessableEntity, "bad_spend", err.Error())
	case errors.Is(err, analytics.ErrUnknownReport):
		s.fail(ctx, fasthttp.StatusNotFound, "unknown_report", err.Error())
	default:
		s.reportsUnavailable(ctx, err)
	}
}

// reportsUnavailable answers a report that failed for a reason of the server's.
func (s *Server) reportsUnavailable(ctx *fasthttp.RequestCtx, err error) {
	s.log.Error("report", "path", string(ctx.Path()), "err", err)
	ctx.Response.Header.Set("Retry-After", "1")
	s.fail(ctx, fasthttp.StatusServiceUnavailable, "report_failed", "the report could not be computed ("+err.Error()+"); retry later")
}

// importEvents answers POST /api/v1/import: an NDJSON body of backdated requests, each
// tracked as if it were a hit at its time.
func (s *Server) importEvents(ctx *fasthttp.RequestCtx) {
	im := analytics.NewImporter(s.tracker, s.resolveSite)
	res, err := im.Import(ctx.PostBody())
	s.m.countImport(res)
	if errors.Is(err, track.ErrDiskFull) {
		ctx.Response.Header.Set("Retry-After", diskRetryAfter)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "disk_full", "the server's disk is nearly full: the import stopped at its line "+
			itoa(res.Lines)+" (counting non-empty lines), which was not stored, nor any after it; free some space and send the rest again")
		return
	}
	if err != nil {
		s.log.Error("import", "err", err)
		ctx.Response.Header.Set("Retry-After", "1")
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage",
			"import stopped after "+itoa(res.Lines)+" lines: the events could not be stored; send the rest again")
		return
	}
	if s.reports != nil && res.Accepted > 0 {
		s.reports.Refresh() // reports asked for after an import see all of it
	}
	s.writeJSON(ctx, fasthttp.StatusOK, res)
}

// resolveSite resolves the site a hit or an import line names: an allowed site id, or the only
// site when it names none. It reports false for an id that is empty or not allowed.
func (s *Server) resolveSite(id string) (string, bool) {
	if id == "" && len(s.sites) == 1 {
		for only := range s.sites {
			return only, true
		}
	}
	_, ok := s.sites[id]
	return id, ok
}
