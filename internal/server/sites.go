package server

import "github.com/valyala/fasthttp"

// siteJSON is one configured site as GET /api/v1/sites lists it.
type siteJSON struct {
	ID      string   `json:"id"`
	Origins []string `json:"origins"`
}

// sitesList answers GET /api/v1/sites with the sites of the server configuration, so that
// the dashboard's site picker offers every site, not only those seen in recent traffic.
// any_origin says whether hits are accepted from origins outside the list.
func (s *Server) sitesList(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() {
		s.methodNotAllowed(ctx, "GET")
		return
	}
	out := struct {
		Sites     []siteJSON `json:"sites"`
		AnyOrigin bool       `json:"any_origin"`
	}{Sites: make([]siteJSON, 0, len(s.cfg.Sites)), AnyOrigin: s.cfg.AnyOrigin}
	for _, site := range s.cfg.Sites {
		origins := site.Origins
		if origins == nil {
			origins = []string{}
		}
		out.Sites = append(out.Sites, siteJSON{ID: site.ID, Origins: origins})
	}
	s.writeJSON(ctx, fasthttp.StatusOK, out)
}
