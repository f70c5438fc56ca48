package server

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/heatmap"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/track"
)

// admin routes /api/v1/*: every call needs the admin bearer token.
func (s *Server) admin(ctx *fasthttp.RequestCtx) {
	if s.inboundRoute(ctx) {
		return
	}
	if !s.authorised(ctx) {
		s.unauthorised(ctx)
		return
	}
	rest := strings.TrimPrefix(string(ctx.Path()), "/api/v1/")
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	if takes, ok := adminParams(string(ctx.Method()), parts); ok && !s.onlyParams(ctx, string(ctx.Method())+" "+string(ctx.Path()), takes...) {
		return
	}
	if s.automationRoute(ctx, parts) || s.keysRoute(ctx, parts) {
		return
	}
	switch {
	case parts[0] == "visitors" && len(parts) == 2:
		switch {
		case ctx.IsGet():
			s.getVisitor(ctx, parts[1])
		case ctx.IsDelete():
			s.deleteVisitor(ctx, parts[1])
		default:
			s.methodNotAllowed(ctx, "GET, DELETE")
		}
	case parts[0] == "visitors" && len(parts) == 3 && parts[2] == "explain":
		if !ctx.IsGet() {
			s.methodNotAllowed(ctx, "GET")
			return
		}
		s.explainVisitor(ctx, parts[1])
	case parts[0] == "visitors" && len(parts) == 3 && parts[2] == "replays":
		if !ctx.IsGet() {
			s.methodNotAllowed(ctx, "GET")
			return
		}
		s.visitorReplays(ctx, parts[1])
	case parts[0] == "replays" && len(parts) <= 2:
		switch {
		case !ctx.IsGet():
			s.methodNotAllowed(ctx, "GET")
		case len(parts) == 1:
			s.periodReplays(ctx)
		default:
			s.getReplay(ctx, parts[1])
		}
	case parts[0] == "events" && len(parts) == 1:
		if !ctx.IsGet() {
			s.methodNotAllowed(ctx, "GET")
			return
		}
		s.exportEvents(ctx)
	case parts[0] == "sites" && len(parts) == 1:
		s.sitesList(ctx)
	case parts[0] == "rules" && len(parts) == 1:
		if !ctx.IsGet() {
			s.methodNotAllowed(ctx, "GET")
			return
		}
		s.rulesStatus(ctx)
	case parts[0] == "rules" && len(parts) == 2 && parts[1] == "reload":
		if !ctx.IsPost() {
			s.methodNotAllowed(ctx, "POST")
			return
		}
		s.reloadRules(ctx)
	case parts[0] == "spend" && len(parts) == 2:
		s.spend(ctx, parts[1])
	case parts[0] == "reports" && len(parts) == 3 && parts[1] == "heatmap" && parts[2] == "snapshot":
		if !ctx.IsGet() {
			s.methodNotAllowed(ctx, "GET")
			return
		}
		s.heatmapSnapshot(ctx)
	case parts[0] == "reports" || parts[0] == "import" || parts[0] == "live" || (parts[0] == "rules" && len(parts) == 2 && parts[1] == "reach"):
		s.analytics(ctx, parts)
	default:
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no such admin route: "+string(ctx.Path()))
	}
}

// adminParams returns the query parameters that the admin route of path parts takes under
// method (a report's are analytics.ReportParams), and false for a path and method that are no
// route, which the router answers itself (404, 405), whatever its query. The routes that change
// something (import, erase, spend, reload, API keys, replays) take none: an import sent with
// ?dry_run=1 is refused rather than imported.
func adminParams(method string, parts []string) ([]string, bool) {
	if method != "GET" {
		switch {
		case method == "DELETE" && parts[0] == "visitors" && len(parts) == 2,
			method == "POST" && len(parts) == 1 && parts[0] == "import",
			method == "POST" && len(parts) == 2 && parts[0] == "rules" && parts[1] == "reload",
			(method == "PUT" || method == "POST" || method == "DELETE") && parts[0] == "spend" && len(parts) == 2,
			method == "POST" && len(parts) == 1 && parts[0] == "keys",
			method == "DELETE" && len(parts) == 2 && parts[0] == "keys",
			method == "POST" && len(parts) == 4 && parts[0] == "deliveries" && parts[3] == "replay",
			method == "POST" && len(parts) == 3 && parts[0] == "destinations" && parts[2] == "replay":
			return nil, true
		}
		return nil, false
	}
	switch {
	case parts[0] == "events" && len(parts) == 1:
		return []string{"from", "to", "site", "bots", "vid"}, true
	case parts[0] == "visitors" && len(parts) == 3 && parts[2] == "explain":
		return []string{"site", "url", "slot", "prompt"}, true
	case parts[0] == "replays" && len(parts) == 1:
		return replayParams, true
	case parts[0] == "replays" && len(parts) == 2,
		parts[0] == "visitors" && len(parts) == 3 && parts[2] == "replays":
		return nil, true
	case parts[0] == "rules" && len(parts) == 2 && parts[1] == "reach":
		return []string{"site"}, true
	case parts[0] == "reports" && len(parts) == 2 && parts[1] == "heatmap":
		return heatmap.Params, true
	case parts[0] == "reports" && len(parts) == 3 && parts[1] == "heatmap" && parts[2] == "snapshot":
		return []string{"site", "page", "band"}, true
	case parts[0] == "reports" && len(parts) == 2:
		takes := analytics.ReportParams(parts[1])
		return takes, takes != nil
	case len(parts) == 1 && (parts[0] == "reports" || parts[0] == "live" || parts[0] == "rules" || parts[0] == "sites"),
		parts[0] == "visitors" && len(parts) == 2:
		return nil, true
	}
	return nil, false
}

func (s *Server) authorised(ctx *fasthttp.RequestCtx) bool {
	if s.dashboardSession(ctx) {
		return true
	}
	return s.bearerOK(ctx.Request.Header.Peek("Authorization"))
}

// unauthorised answers an admin request without a valid token or dashboard session.
func (s *Server) unauthorised(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="pathlight"`)
	s.fail(ctx, fasthttp.StatusUnauthorized, "unauthorised", "admin API: send Authorization: Bearer <admin token>")
}

// bearerOK reports whether an Authorization header carries the admin token. The scheme is
// matched without regard to case (RFC 9110, section 11.1); the comparison of the token takes
// the same time whatever the token sent.
func (s *Server) bearerOK(authorization []byte) bool {
	scheme, tok, ok := bytes.Cut(bytes.TrimSpace(authorization), []byte(" "))
	return ok && bytes.EqualFold(scheme, []byte("Bearer")) && s.cfg.AdminToken != "" &&
		subtle.ConstantTimeCompare(bytes.TrimSpace(tok), []byte(s.cfg.AdminToken)) == 1
}

// validVID answers 400 for a string that cannot be a visitor id, echoing only its start, and
// reports whether vid is well formed. A well-formed id that no visitor has is a 404 later.
func (s *Server) validVID(ctx *fasthttp.RequestCtx, vid string) bool {
	if err := track.CheckVID(vid); err != nil {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", err.Error())
		return false
	}
	return true
}

// knownSite answers 400 for a site parameter that names no configured site, listing those
// that are, and reports whether site is empty (every site) or configured.
func (s *Server) knownSite(ctx *fasthttp.RequestCtx, site string) bool {
	if _, ok := s.sites[site]; ok || site == "" {
		return true
	}
	ids := slices.Sorted(maps.Keys(s.sites))
	if len(site) > 64 {
		site = site[:64] + "…"
	}
	s.fail(ctx, fasthttp.StatusBadRequest, "unknown_site",
		"site "+quote(site)+": this server has no such site (it has: "+strings.Join(ids, ", ")+")")
	return false
}

func (s *Server) methodNotAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set("Allow", allow)
	s.fail(ctx, fasthttp.StatusMethodNotAllowed, "method", "method "+string(ctx.Method())+" not allowed; use "+allow)
}

// readVisitor reads the journey of vid for an admin route, answering the request itself when
// it cannot: 400 for a malformed id, 404 for an unknown visitor, 503 when storage fails.
func (s *Server) readVisitor(ctx *fasthttp.RequestCtx, vid string) (*journey.State, bool) {
	if !s.validVID(ctx, vid) {
		return nil, false
	}
	st, err := s.tracker.Visitor(vid)
	if errors.Is(err, track.ErrUnknownVisitor) {
		s.fail(ctx, fasthttp.StatusNotFound, "unknown_visitor", err.Error())
		return nil, false
	}
	if err != nil {
		s.log.Error("read visitor", "vid", vid, "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "visitor could not be read")
		return nil, false
	}
	return st, true
}

func (s *Server) getVisitor(ctx *fasthttp.RequestCtx, vid string) {
	st, ok := s.readVisitor(ctx, vid)
	if !ok {
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(st.AppendJSON(nil))
}

// explainVisitor answers GET /api/v1/visitors/{vid}/explain[?site=][&slot=][&prompt=][&url=].
func (s *Server) explainVisitor(ctx *fasthttp.RequestCtx, vid string) {
	if !s.validVID(ctx, vid) {
		return
	}
	args := ctx.QueryArgs()
	site := string(args.Peek("site"))
	if !s.knownSite(ctx, site) {
		return
	}
	ex, err := s.tracker.Explain(vid, site, string(args.Peek("url")), string(args.Peek("slot")), string(args.Peek("prompt")))
	if errors.Is(err, track.ErrUnknownVisitor) {
		s.fail(ctx, fasthttp.StatusNotFound, "unknown_visitor", err.Error())
		return
	}
	if err != nil {
		s.log.Error("explain visitor", "vid", vid, "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "visitor could not be read")
		return
	}
	s.writeJSON(ctx, fasthttp.StatusOK, ex)
}

func (s *Server) deleteVisitor(ctx *fasthttp.RequestCtx, vid string) {
	if !s.validVID(ctx, vid) {
		return
	}
	// The ids merged into the journey are read before the erase deletes their aliases: the
	// session recordings are filed under the id they were made with.
	ids, err := s.tracker.VisitorIDs(vid)
	if err != nil {
		ids = []string{vid}
	}
	if !slices.Contains(ids, vid) {
		ids = append(ids, vid)
	}
	n, err := s.tracker.Erase(vid)
	rec := 0
	if s.replays != nil && (err == nil || errors.Is(err, track.ErrUnknownVisitor)) {
		var rerr error
		if rec, rerr = s.replays.Erase(ids...); rerr != nil && err == nil {
			err = rerr
		}
		if rec > 0 && errors.Is(err, track.ErrUnknownVisitor) {
			err = nil // the journey had expired; its recordings had not
		}
	}
	if errors.Is(err, track.ErrUnknownVisitor) {
		s.fail(ctx, fasthttp.StatusNotFound, "unknown_visitor", err.Error())
		return
	}
	if errors.Is(err, track.ErrDiskFull) {
		ctx.Response.Header.Set("Retry-After", diskRetryAfter)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "disk_full", "the server's disk is full, so the visitor could not be fully erased; free some space and run the DELETE again")
		return
	}
	if err != nil {
		s.log.Error("erase visitor", "vid", vid, "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "visitor could not be fully erased; run the DELETE again")
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"deleted":` + strconv.Itoa(n) + `,"replays":` + strconv.Itoa(rec) + `}`)
}

// exportWindow is the period an event export covers when it names no from: the day before
// its end.
const exportWindow = 24 * time.Hour

// exportEvents streams the event log as NDJSON: GET /api/v1/events?from=&to=[&site=][&bots=1]
// [&vid=]. from and to are read as the reports read them (RFC 3339, a date or Unix
// milliseconds); from defaults to 24 hours before to, or before now without to (with vid, to
// the start of the retention), and to to no limit. With vid only that visitor's events are
// exported, read through its ownership index rather than a scan of the log.
func (s *Server) exportEvents(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	// Without "to" the export runs to the newest event, including one written in this very
	// millisecond; the range is [from, to).
	to := int64(math.MaxInt64)
	defFrom := time.Now().Add(-exportWindow).UnixMilli()
	if t, given, ok := s.timeArg(ctx, "to"); !ok {
		return
	} else if given {
		to, defFrom = t, t-exportWindow.Milliseconds()
	}
	vid := string(args.Peek("vid"))
	if vid != "" {
		defFrom = 0 // a visitor's timeline covers the whole retention unless from says otherwise
	}
	from := defFrom
	if t, given, ok := s.timeArg(ctx, "from"); !ok {
		return
	} else if given {
		from = t
	}
	if from >= to {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "from must be before to")
		return
	}
	site := string(args.Peek("site"))
	if !s.knownSite(ctx, site) {
		return
	}
	bots := string(args.Peek("bots")) == "1"
	if vid != "" {
		if s.validVID(ctx, vid) {
			s.exportVisitorEvents(ctx, vid, from, to, site, bots)
		}
		return
	}
	ctx.SetContentType("application/x-ndjson")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		var h event.Hit
		var e event.Event
		var line []byte
		err := s.tracker.Events(from, to, func(rec []byte) error {
			if err := event.DecodeRecord(rec, &h, &e); err != nil {
				return nil // an unreadable record is skipped, not fatal to the export
			}
			if (site != "" && h.Site != site) || (h.Device.Bot && !bots) {
				return nil
			}
			line = append(event.AppendRecordJSON(line[:0], &h), '\n')
			_, err := w.Write(line)
			return err
		})
		if err != nil {
			s.log.Error("export events", "err", err)
		}
	})
}

// exportVisitorEvents answers the export for one visitor, oldest first. The body is built
// before replying so that an unknown visitor gets a 404, not an empty 200: one visitor's
// history is small next to the whole log.
func (s *Server) exportVisitorEvents(ctx *fasthttp.RequestCtx, vid string, from, to int64, site string, bots bool) {
	var h event.Hit
	var e event.Event
	var body []byte
	err := s.tracker.VisitorEvents(vid, func(rec []byte) error {
		if err := event.DecodeRecord(rec, &h, &e); err != nil {
			return nil // an unreadable record is skipped, not fatal to the export
		}
		if h.Time < from || h.Time >= to || (site != "" && h.Site != site) || (h.Device.Bot && !bots) {
			return nil
		}
		body = append(event.AppendRecordJSON(body, &h), '\n')
		return nil
	})
	if errors.Is(err, track.ErrUnknownVisitor) {
		s.fail(ctx, fasthttp.StatusNotFound, "unknown_visitor", err.Error())
		return
	}
	if err != nil {
		s.log.Error("export visitor events", "vid", vid, "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "visitor events could not be read")
		return
	}
	ctx.SetContentType("application/x-ndjson")
	ctx.SetBody(body)
}

func (s *Server) rulesStatus(ctx *fasthttp.RequestCtx) {
	if s.rules == nil {
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no rules manager")
		return
	}
	// steps maps each step to its stage (the dashboard joins a clicked journey-map step to
	// the survey answers given at that stage); surveys and experiments let a client such as
	// `pathlight simulate` send traffic the rules know; captures are the capture rules. Each
	// says which sites it serves.
	// scopes lists every rule with the sites it serves; warnings name the sites rules serve
	// that this server does not, whose rules never apply.
	out := struct {
		rulesStatus
		Steps       []rules.StepInfo       `json:"steps"`
		Surveys     []rules.SurveyInfo     `json:"surveys"`
		Experiments []rules.ExperimentInfo `json:"experiments"`
		Captures    []rules.CaptureInfo    `json:"captures"`
		Scopes      []rules.RuleScope      `json:"scopes"`
		Warnings    []string               `json:"warnings,omitempty"`
	}{rulesStatus: statusOf(s.rules.Status()), Steps: []rules.StepInfo{}, Surveys: []rules.SurveyInfo{}, Experiments: []rules.ExperimentInfo{}, Captures: []rules.CaptureInfo{}, Scopes: []rules.RuleScope{}}
	if set := s.tracker.Rules(); set != nil {
		out.Steps = append(out.Steps, set.Steps()...)
		out.Surveys = append(out.Surveys, set.Surveys()...)
		out.Experiments = append(out.Experiments, set.Experiments()...)
		out.Captures = append(out.Captures, set.Captures()...)
		out.Scopes = append(out.Scopes, set.Scopes()...)
		served := slices.Sorted(maps.Keys(s.sites))
		for _, site := range set.SitesNotIn(served) {
			out.Warnings = append(out.Warnings, "rules serve site "+quote(site)+", which this server does not serve (it serves "+
				strings.Join(served, ", ")+"): they never apply")
		}
	}
	s.writeJSON(ctx, fasthttp.StatusOK, out)
}

func (s *Server) reloadRules(ctx *fasthttp.RequestCtx) {
	if s.rules == nil {
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no rules manager")
		return
	}
	if err := s.rules.Reload(); err != nil {
		// The error contract, with the status that lists every error of the rules.
		const code = "rules_invalid"
		msg := "rules are invalid; the previous rule set stays in force"
		if st := s.rules.Status(); len(st.Errors) > 0 {
			msg += ": " + st.Errors[0]
			if len(st.Errors) > 1 {
				msg += " (and " + itoa(len(st.Errors)-1) + " more in status.errors)"
			}
		}
		s.m.reject(code)
		ctx.Response.Header.Set("X-Pathlight-Reason", headerSafe(code+": "+msg))
		ctx.Response.Header.Set("Cache-Control", "no-store")
		s.writeJSON(ctx, fasthttp.StatusUnprocessableEntity, struct {
			Error  string      `json:"error"`
			Reason string      `json:"reason"`
			Status rulesStatus `json:"status"`
		}{msg, code, statusOf(s.rules.Status())})
		return
	}
	s.writeJSON(ctx, fasthttp.StatusOK, statusOf(s.rules.Status()))
}

// rulesStatus is RulesStatus as the API shows it: its own failure fields shadow those of
// RulesStatus (a shallower field wins in encoding/json), so that a status without a failed
// reload omits them rather than showing null and the zero time.
type rulesStatus struct {
	RulesStatus
	Errors   []string   `json:"errors,omitempty"`
	FailedAt *time.Time `json:"failed_at,omitempty"`
}

func statusOf(st RulesStatus) rulesStatus {
	out := rulesStatus{RulesStatus: st, Errors: st.Errors}
	if !st.FailedAt.IsZero() {
		out.FailedAt = &st.FailedAt
	}
	return out
}

// writeJSON answers with status and v as JSON. A value that cannot be encoded is a bug of
// the server's, answered as such with the cause, never with an empty reply.
func (s *Server) writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encode reply", "path", string(ctx.Path()), "err", err)
		s.fail(ctx, fasthttp.StatusInternalServerError, "encode", "the reply could not be encoded: "+err.Error())
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// timeArg reads the time of query parameter name as the reports read it (RFC 3339, a date or
// Unix milliseconds): given is false when the parameter is absent; ok is false, with a 400
// naming the parameter written, when it is not a time.
func (s *Server) timeArg(ctx *fasthttp.RequestCtx, name string) (t int64, given, ok bool) {
	v := string(ctx.QueryArgs().Peek(name))
	if v == "" {
		return 0, false, true
	}
	t, err := analytics.ParseTime(v)
	if err != nil {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", name+": "+err.Error())
		return 0, false, false
	}
	return t, true, true
}
