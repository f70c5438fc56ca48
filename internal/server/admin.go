package server

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// admin routes /api/v1/*: every call needs the admin bearer token.
func (s *Server) admin(ctx *fasthttp.RequestCtx) {
	if !s.authorised(ctx) {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="pathlight"`)
		s.fail(ctx, fasthttp.StatusUnauthorized, "unauthorised", "admin API: send Authorization: Bearer <admin token>")
		return
	}
	rest := strings.TrimPrefix(string(ctx.Path()), "/api/v1/")
	parts := strings.Split(strings.Trim(rest, "/"), "/")
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
	case parts[0] == "reports" || parts[0] == "import" || parts[0] == "live" || (parts[0] == "rules" && len(parts) == 2 && parts[1] == "reach"):
		s.analytics(ctx, parts)
	default:
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no such admin route: "+string(ctx.Path()))
	}
}

func (s *Server) authorised(ctx *fasthttp.RequestCtx) bool {
	if s.dashboardSession(ctx) {
		return true
	}
	return s.bearerOK(ctx.Request.Header.Peek("Authorization"))
}

// bearerOK reports whether an Authorization header carries the admin token; the comparison
// takes the same time whatever the token sent.
func (s *Server) bearerOK(authorization []byte) bool {
	tok, ok := bytes.CutPrefix(authorization, []byte("Bearer "))
	return ok && s.cfg.AdminToken != "" &&
		subtle.ConstantTimeCompare(bytes.TrimSpace(tok), []byte(s.cfg.AdminToken)) == 1
}

func (s *Server) methodNotAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set("Allow", allow)
	s.fail(ctx, fasthttp.StatusMethodNotAllowed, "method", "method "+string(ctx.Method())+" not allowed; use "+allow)
}

func (s *Server) getVisitor(ctx *fasthttp.RequestCtx, vid string) {
	st, err := s.tracker.Visitor(vid)
	if errors.Is(err, track.ErrUnknownVisitor) {
		s.fail(ctx, fasthttp.StatusNotFound, "unknown_visitor", err.Error())
		return
	}
	if err != nil {
		s.log.Error("read visitor", "vid", vid, "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "visitor could not be read")
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(st.AppendJSON(nil))
}

// explainVisitor answers GET /api/v1/visitors/{vid}/explain[?slot=][&prompt=][&url=].
func (s *Server) explainVisitor(ctx *fasthttp.RequestCtx, vid string) {
	args := ctx.QueryArgs()
	ex, err := s.tracker.Explain(vid, string(args.Peek("url")), string(args.Peek("slot")), string(args.Peek("prompt")))
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
	n, err := s.tracker.Erase(vid)
	if errors.Is(err, track.ErrUnknownVisitor) {
		s.fail(ctx, fasthttp.StatusNotFound, "unknown_visitor", err.Error())
		return
	}
	if err != nil {
		s.log.Error("erase visitor", "vid", vid, "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "visitor could not be fully erased; run the DELETE again")
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"deleted":` + strconv.Itoa(n) + `}`)
}

// exportEvents streams the event log as NDJSON: GET /api/v1/events?from=&to=[&site=][&bots=1]
// [&vid=]. from and to are RFC 3339 times or Unix milliseconds; from defaults to 24 hours ago
// (with vid, to the start of the retention) and to to no limit. With vid only that visitor's
// events are exported, read through its ownership index rather than a scan of the log.
func (s *Server) exportEvents(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	// Without "to" the export runs to the newest event, including one written in this very
	// millisecond; the range is [from, to).
	to, err := parseTime(string(args.Peek("to")), time.UnixMilli(math.MaxInt64))
	if err != nil {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "to: "+err.Error())
		return
	}
	// A visitor's timeline covers the whole retention unless from says otherwise.
	defFrom := time.Now().Add(-24 * time.Hour)
	if len(args.Peek("vid")) > 0 {
		defFrom = time.UnixMilli(0)
	}
	from, err := parseTime(string(args.Peek("from")), defFrom)
	if err != nil {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "from: "+err.Error())
		return
	}
	if !from.Before(to) {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "from must be before to")
		return
	}
	site := string(args.Peek("site"))
	bots := string(args.Peek("bots")) == "1"
	if vid := string(args.Peek("vid")); vid != "" {
		s.exportVisitorEvents(ctx, vid, from.UnixMilli(), to.UnixMilli(), site, bots)
		return
	}
	ctx.SetContentType("application/x-ndjson")
	ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
		var h event.Hit
		var e event.Event
		var line []byte
		err := s.tracker.Events(from.UnixMilli(), to.UnixMilli(), func(rec []byte) error {
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

func parseTime(v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, errors.New("want RFC 3339 (2026-01-02T15:04:05Z) or Unix milliseconds")
	}
	return t, nil
}

func (s *Server) rulesStatus(ctx *fasthttp.RequestCtx) {
	if s.rules == nil {
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no rules manager")
		return
	}
	// steps maps each step to its stage: the dashboard joins a clicked journey-map step to
	// the survey answers given at that stage.
	type stepStage struct {
		ID    string `json:"id"`
		Stage string `json:"stage"`
	}
	out := struct {
		RulesStatus
		Steps []stepStage `json:"steps"`
	}{RulesStatus: s.rules.Status(), Steps: []stepStage{}}
	if set := s.tracker.Rules(); set != nil {
		for _, st := range set.Steps() {
			out.Steps = append(out.Steps, stepStage{st.ID, st.Stage})
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
		s.writeJSON(ctx, fasthttp.StatusUnprocessableEntity, struct {
			Error  string      `json:"error"`
			Status RulesStatus `json:"status"`
		}{"rules are invalid; the previous rule set stays in force", s.rules.Status()})
		return
	}
	s.writeJSON(ctx, fasthttp.StatusOK, s.rules.Status())
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
