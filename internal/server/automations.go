package server

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/deliver"
	"github.com/pathlight/pathlight/internal/rules"
)

// The automation routes of the admin API:
//
//	GET  /api/v1/automations                          the automations and destinations in force
//	GET  /api/v1/automations/stats?from=&to=          firings per day, the outbox per destination, the last errors
//	GET  /api/v1/deliveries?destination=&state=&limit= pending or dead deliveries, oldest first
//	POST /api/v1/deliveries/{destination}/{id}/replay  send one delivery again (dead or pending)
//	POST /api/v1/destinations/{destination}/replay     send every dead delivery of a destination again
//	GET  /api/v1/visitors/{vid}/automations           what the visitor's automations remember
func (s *Server) automationRoute(ctx *fasthttp.RequestCtx, parts []string) bool {
	switch {
	case parts[0] == "automations" && len(parts) == 1:
		if s.onlyGet(ctx, nil) {
			s.listAutomations(ctx)
		}
	case parts[0] == "automations" && len(parts) == 2 && parts[1] == "stats":
		if s.onlyGet(ctx, []string{"from", "to"}) && s.deliveryDest(ctx, "") {
			s.automationStats(ctx)
		}
	case parts[0] == "deliveries" && len(parts) == 1:
		if s.onlyGet(ctx, []string{"destination", "state", "limit"}) {
			s.listDeliveries(ctx)
		}
	case parts[0] == "deliveries" && len(parts) == 4 && parts[3] == "replay":
		if s.onlyPost(ctx) && s.deliveryDest(ctx, parts[1]) {
			s.replayOne(ctx, parts[1], parts[2])
		}
	case parts[0] == "destinations" && len(parts) == 3 && parts[2] == "replay":
		if s.onlyPost(ctx) && s.deliveryDest(ctx, parts[1]) {
			s.replayDead(ctx, parts[1])
		}
	case parts[0] == "visitors" && len(parts) == 3 && parts[2] == "automations":
		if s.onlyGet(ctx, nil) {
			s.visitorAutomations(ctx, parts[1])
		}
	default:
		return false
	}
	return true
}

// onlyGet answers 405 for another method and, as every admin GET does, 400 for a query
// parameter not in known.
func (s *Server) onlyGet(ctx *fasthttp.RequestCtx, known []string) bool {
	if !ctx.IsGet() {
		s.methodNotAllowed(ctx, "GET")
		return false
	}
	return s.onlyParams(ctx, "GET "+string(ctx.Path()), known...)
}

func (s *Server) onlyPost(ctx *fasthttp.RequestCtx) bool {
	if !ctx.IsPost() {
		s.methodNotAllowed(ctx, "POST")
		return false
	}
	return true
}

// deliveryDest answers 503 without a deliverer and 404 for a destination the rules do not
// declare.
func (s *Server) deliveryDest(ctx *fasthttp.RequestCtx, dest string) bool {
	if s.deliverer == nil {
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "no_deliverer", "this server does not deliver automations")
		return false
	}
	if dest == "" {
		return true
	}
	if _, ok := s.tracker.Rules().Destination(dest); !ok {
		ids := []string{}
		for _, d := range s.tracker.Rules().Destinations() {
			ids = append(ids, d.ID)
		}
		s.fail(ctx, fasthttp.StatusNotFound, "unknown_destination",
			"destination "+quote(dest)+" is not declared in the rules (they declare: "+strings.Join(ids, ", ")+")")
		return false
	}
	return true
}

func (s *Server) listAutomations(ctx *fasthttp.RequestCtx) {
	set := s.tracker.Rules()
	s.writeJSON(ctx, fasthttp.StatusOK, struct {
		Automations  []rules.AutomationInfo `json:"automations"`
		Destinations []rules.Destination    `json:"destinations"`
	}{set.Automations(), set.Destinations()})
}

func (s *Server) listDeliveries(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	dest := string(args.Peek("destination"))
	if !s.deliveryDest(ctx, dest) {
		return
	}
	state := string(args.Peek("state"))
	switch state {
	case "":
		state = deliver.StatePending
	case deliver.StatePending, deliver.StateDead:
	default:
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "state must be pending or dead, not "+quote(state))
		return
	}
	limit := 100
	if l := args.Peek("limit"); len(l) > 0 {
		n, err := strconv.Atoi(string(l))
		if err != nil || n < 1 || n > 1000 {
			s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "limit must be a whole number from 1 to 1000")
			return
		}
		limit = n
	}
	list, err := s.deliverer.List(dest, state, limit)
	if err != nil {
		s.log.Error("list deliveries", "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "deliveries could not be read")
		return
	}
	s.writeJSON(ctx, fasthttp.StatusOK, map[string]any{"deliveries": list})
}

func (s *Server) replayOne(ctx *fasthttp.RequestCtx, dest, id string) {
	err := s.deliverer.Replay(dest, id)
	switch {
	case errors.Is(err, deliver.ErrNotFound):
		s.fail(ctx, fasthttp.StatusNotFound, "unknown_delivery", err.Error())
	case err != nil:
		s.log.Error("replay", "id", id, "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the delivery could not be replayed")
	default:
		s.writeJSON(ctx, fasthttp.StatusAccepted, map[string]any{"replayed": 1})
	}
}

func (s *Server) replayDead(ctx *fasthttp.RequestCtx, dest string) {
	n, err := s.deliverer.ReplayDead(dest)
	if err != nil {
		s.log.Error("replay dead", "destination", dest, "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the dead deliveries could not all be replayed")
		return
	}
	s.writeJSON(ctx, fasthttp.StatusAccepted, map[string]any{"replayed": n})
}

func (s *Server) visitorAutomations(ctx *fasthttp.RequestCtx, vid string) {
	st, ok := s.readVisitor(ctx, vid)
	if !ok {
		return
	}
	as, err := s.tracker.AutoState(vid)
	if err != nil {
		s.log.Error("visitor automations", "vid", vid, "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "visitor could not be read")
		return
	}
	s.writeJSON(ctx, fasthttp.StatusOK, struct {
		VID         string                    `json:"vid"`
		Memory      rules.AutoState           `json:"memory"`
		Automations []rules.AutomationExplain `json:"automations"`
	}{st.VID, as, s.tracker.Rules().ExplainAutomations(st, &as, 0, "")})
}

// automationStats answers the firings per day over [from, to) (Unix ms; by default the 30
// days before now) and the outbox now.
func (s *Server) automationStats(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	to := time.Now().UnixMilli()
	from := to - 30*24*3_600_000
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"from", &from}, {"to", &to}} {
		if v := args.Peek(p.name); len(v) > 0 {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 {
				s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", p.name+" must be a time in Unix milliseconds")
				return
			}
			*p.dst = n
		}
	}
	if to <= from {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "to must be after from")
		return
	}
	var dests []string
	for _, d := range s.tracker.Rules().Destinations() {
		dests = append(dests, d.ID)
	}
	st, err := s.deliverer.Stats(from, to, dests)
	if err != nil {
		s.log.Error("automation stats", "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the automations could not be read")
		return
	}
	s.writeJSON(ctx, fasthttp.StatusOK, st)
}
