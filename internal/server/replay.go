package server

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/replay"
	"github.com/pathlight/pathlight/internal/track"
)

// replayIngest answers POST /v1/replay: a chunk of a session recording (rrweb events) from
// the replay chunk, JSON or gzip-compressed JSON (replay.Parse). It is held to the rules of a
// hit: CORS, the per-IP rate limit, the site and its origins; its body limit is
// replay.MaxBody. Unlike a capture batch, a chunk without consent is refused (403
// no_consent): the snippet never sends one, and a recording must not be made without it.
func (s *Server) replayIngest(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	sc, ok := s.sidecarStart(ctx, start, s.replays != nil, "session replay is not enabled on this server",
		"send JSON (or gzip-compressed JSON) with Content-Type application/json or text/plain",
		func(reason string) { s.m.replayed(reason, 0) })
	if !ok {
		return
	}
	b, err := replay.Parse(ctx.PostBody())
	var bad *replay.BadInput
	switch {
	case errors.Is(err, replay.ErrTooLarge):
		s.m.replayed("too_large", 0)
		s.fail(ctx, fasthttp.StatusRequestEntityTooLarge, "too_large",
			"replay chunk larger than "+strconv.Itoa(replay.MaxBody)+" bytes as sent or "+strconv.Itoa(replay.MaxRaw)+" decompressed; send smaller chunks")
		return
	case errors.As(err, &bad):
		s.m.replayed("bad_replay", 0)
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_replay", err.Error())
		return
	case err != nil:
		s.m.replayed("bad_replay", 0)
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_replay", "replay chunk: "+err.Error())
		return
	}
	site := s.site(ctx, &event.Batch{Site: b.Site})
	if site == "" {
		s.m.replayed("site", 0)
		return
	}
	gpc := string(ctx.Request.Header.Peek("Sec-GPC")) == "1"
	if gpc || b.Consent == "denied" || (s.cfg.Consent == "required" && b.Consent != "granted") {
		s.m.replayed("no_consent", 0)
		s.fail(ctx, fasthttp.StatusForbidden, "no_consent", "a session is recorded only with the visitor's consent, and never with Global Privacy Control")
		return
	}
	shard := "replay\x00" + site + "\x00" + b.Session
	if p, err := replay.PagePath(b.Page); err == nil && b.SnapshotOnly() {
		shard = "snapshot\x00" + site + "\x00" + track.RedactPath(p) // a page's, not a session's
	}
	if s.cluster != nil && sc.fwd == nil && s.forward(ctx, shard, sc.ip, sc.viaProxy, start) {
		// One node writes each session (the owner of its shard), so that two nodes never
		// update its record and counters at once.
		return
	}
	res, err := s.replays.Record(site, s.replayVisitor(ctx, b), b, start)
	switch {
	case errors.Is(err, replay.ErrSessionCap):
		s.m.replayed("session_cap", 0)
		s.fail(ctx, fasthttp.StatusTooManyRequests, "replay_session_cap", "this session's recording reached its size cap (--replay-session-cap); nothing more of it is stored")
		return
	case errors.Is(err, replay.ErrDailyCap):
		s.m.replayed("daily_cap", 0)
		s.fail(ctx, fasthttp.StatusTooManyRequests, "replay_daily_cap", "today's replay storage cap (--replay-daily-cap) is reached; recordings resume tomorrow (UTC)")
		return
	case errors.As(err, &bad):
		s.m.replayed("bad_replay", 0)
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_replay", err.Error())
		return
	case errors.Is(err, track.ErrDiskFull):
		s.m.replayed("disk_full", 0)
		s.diskFull(ctx, "the replay chunk")
		return
	case errors.Is(err, track.ErrCommitTooLarge):
		s.m.replayed("too_large", 0)
		s.fail(ctx, fasthttp.StatusRequestEntityTooLarge, "replay_too_large", "the replay chunk is larger than the fleet's stream takes: "+err.Error())
		return
	case errors.Is(err, track.ErrQueueFull):
		s.m.replayed("outbox_full", 0)
		s.outboxFull(ctx)
		return
	case err != nil:
		s.log.Error("replay", "site", site, "err", err)
		s.m.replayed("storage", 0)
		ctx.Response.Header.Set("Retry-After", "1")
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the replay chunk could not be stored; retry later")
		return
	case res == replay.Duplicate:
		s.m.replayed("duplicate", 0)
	case b.SnapshotOnly():
		s.m.replayed("snapshot", len(b.Stored))
	default:
		s.m.replayed("accepted", len(b.Stored))
	}
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// askSnapshot adds to the decisions of a hit sampled for heatmaps the viewport bands of
// which the server asks for a DOM snapshot of the page (replay.WantSnapshot): those with no
// snapshot from today and no ask outstanding. The heatmap chunk loads the replay chunk in
// its snapshot-only mode for them. Nothing is asked of a visitor who may not be recorded.
func (s *Server) askSnapshot(site string, req *track.Request, res *track.Result) {
	b := req.Batch
	if s.replays == nil || !res.Decisions.Capture.Heatmap || res.Page == "" || req.GPC ||
		b.Consent == event.ConsentDenied || (s.cfg.Consent == "required" && b.Consent != event.ConsentGranted) {
		return
	}
	bands, err := s.replays.WantSnapshot(site, res.Page, res.Decisions.Snapshot[:0])
	if err != nil {
		s.log.Error("snapshot ask", "site", site, "err", err)
		return
	}
	res.Decisions.Snapshot = bands
}

// replayVisitor returns the journey id of the chunk's visitor (the body's vid, else the
// pl_vid cookie, following a merge into a known user), "" when there is none. A recording
// without a visitor (cookieless mode keeps no id in the browser) is listed by period only.
func (s *Server) replayVisitor(ctx *fasthttp.RequestCtx, b *replay.Batch) string {
	vid := b.VID
	if vid == "" {
		vid = string(ctx.Request.Header.Cookie(cookieName))
	}
	if vid == "" || track.CheckVID(vid) != nil {
		return ""
	}
	if id, err := s.tracker.JourneyID(vid); err == nil {
		return id
	}
	return vid
}

// replayList is the body of the replay lists.
type replayList struct {
	Replays []replay.Session `json:"replays"`
}

// visitorReplays answers GET /api/v1/visitors/{vid}/replays: the visitor's recorded sessions
// (and those of the ids merged into it), newest first.
func (s *Server) visitorReplays(ctx *fasthttp.RequestCtx, vid string) {
	if !s.validVID(ctx, vid) || !s.replaysOn(ctx) {
		return
	}
	ids, err := s.tracker.VisitorIDs(vid)
	if err != nil {
		s.replayStorage(ctx, err)
		return
	}
	out := replayList{Replays: []replay.Session{}}
	for _, id := range ids {
		ss, err := s.replays.OfVisitor(id)
		if err != nil {
			s.replayStorage(ctx, err)
			return
		}
		out.Replays = append(out.Replays, ss...)
	}
	slices.SortStableFunc(out.Replays, func(a, b replay.Session) int { return int(sign(b.StartedAt - a.StartedAt)) })
	s.writeJSON(ctx, fasthttp.StatusOK, out)
}

// replayParams are the query parameters of GET /api/v1/replays.
var replayParams = []string{"site", "from", "to", "step", "stopped", "limit"}

// Bounds of GET /api/v1/replays.
const (
	replayLimit    = 50
	maxReplayLimit = 500
)

// periodReplays answers GET /api/v1/replays?site=&from=&to=&step=&stopped=true&limit=: the
// recorded sessions of a site that started in [from, to), newest first, optionally only of
// visitors who reached step and, with stopped=true, reached no step the rules list after it.
func (s *Server) periodReplays(ctx *fasthttp.RequestCtx) {
	if !s.replaysOn(ctx) {
		return
	}
	args := ctx.QueryArgs()
	site := string(args.Peek("site"))
	if site == "" && len(s.sites) == 1 {
		for id := range s.sites {
			site = id
		}
	}
	if site == "" {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "site: required (this server has several sites)")
		return
	}
	if _, ok := s.sites[site]; !ok {
		s.knownSite(ctx, site)
		return
	}
	to := time.Now().UnixMilli()
	if t, given, ok := s.timeArg(ctx, "to"); !ok {
		return
	} else if given {
		to = t
	}
	from := to - s.cfg.ReplayRetention.Milliseconds()
	if t, given, ok := s.timeArg(ctx, "from"); !ok {
		return
	} else if given {
		from = t
	}
	if from >= to {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "from must be before to")
		return
	}
	limit := replayLimit
	if v := string(args.Peek("limit")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxReplayLimit {
			s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "limit: want a whole number from 1 to "+strconv.Itoa(maxReplayLimit))
			return
		}
		limit = n
	}
	stopped := false
	switch v := string(args.Peek("stopped")); v {
	case "", "false":
	case "true":
		stopped = true
	default:
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "stopped: want true or false")
		return
	}
	step := string(args.Peek("step"))
	if stopped && step == "" {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "stopped=true needs step: the step the visitors stopped at")
		return
	}
	keep, err := s.stepFilter(site, step, stopped)
	if err != nil {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", err.Error())
		return
	}
	list, err := s.replays.InPeriod(site, from, to, limit, keep)
	if err != nil {
		s.replayStorage(ctx, err)
		return
	}
	if list == nil {
		list = []replay.Session{}
	}
	s.writeJSON(ctx, fasthttp.StatusOK, replayList{Replays: list})
}

// stepFilter returns what keeps a session's visitor: every visitor without a step; with one,
// a visitor whose journey reached it and, when stopped, reached none of the steps the rules
// list after it (for the site) since.
func (s *Server) stepFilter(site, step string, stopped bool) (func(vid string) (bool, error), error) {
	if step == "" {
		return func(string) (bool, error) { return true, nil }, nil
	}
	var order []string
	if set := s.tracker.Rules(); set != nil {
		for _, st := range set.Steps() {
			if len(st.Sites) == 0 || slices.Contains(st.Sites, site) {
				order = append(order, st.ID)
			}
		}
	}
	at := slices.Index(order, step)
	if at < 0 {
		return nil, errors.New("step: " + quote(step) + " is not a step of site " + quote(site) + " in the rules")
	}
	later := order[at+1:]
	return func(vid string) (bool, error) {
		if vid == "" {
			return false, nil
		}
		var st journey.State
		found, err := s.tracker.State(vid, &st)
		if err != nil || !found {
			return false, err
		}
		reached := st.Step(step)
		if reached.N == 0 {
			return false, nil
		}
		if stopped {
			for _, l := range later {
				if c := st.Step(l); c.N > 0 && c.LastAt >= reached.FirstAt {
					return false, nil
				}
			}
		}
		return true, nil
	}, nil
}

// journeyMark is one mark on the player's timeline.
type journeyMark struct {
	TS   int64  `json:"ts"`
	Type string `json:"type"` // pageview, event, step, prompt or rage_click
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

// replayBody is the body of GET /api/v1/replays/{id}.
type replayBody struct {
	ID        string            `json:"id"`
	VID       string            `json:"vid"`
	Site      string            `json:"site"`
	StartedAt int64             `json:"started_at"`
	EndedAt   int64             `json:"ended_at"`
	Events    []json.RawMessage `json:"events"`
	Journey   []journeyMark     `json:"journey"`
}

// markSlack widens the recording's span when its journey events are chosen: a pageview is
// sent just before the recording of its page starts.
const markSlack = 5000

// getReplay answers GET /api/v1/replays/{id}: the session's rrweb events in order and the
// marks of its visitor's journey that fall inside the recording.
func (s *Server) getReplay(ctx *fasthttp.RequestCtx, id string) {
	if !s.replaysOn(ctx) {
		return
	}
	sess, found, err := s.replays.Session(id)
	if err != nil {
		s.replayStorage(ctx, err)
		return
	}
	if !found {
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no recorded session "+quote(id)+" (never recorded, erased, or past --replay-retention)")
		return
	}
	evs, err := s.replays.Events(id)
	if err != nil {
		s.replayStorage(ctx, err)
		return
	}
	out := replayBody{ID: sess.ID, VID: sess.VID, Site: sess.Site, StartedAt: sess.StartedAt, EndedAt: sess.EndedAt, Events: evs, Journey: []journeyMark{}}
	if out.Events == nil {
		out.Events = []json.RawMessage{}
	}
	from, to := sess.StartedAt-markSlack, sess.EndedAt+markSlack
	if sess.VID != "" {
		if err := s.journeyMarks(&out, from, to); err != nil {
			s.replayStorage(ctx, err)
			return
		}
	}
	out.Journey = append(out.Journey, rageMarks(evs)...)
	slices.SortStableFunc(out.Journey, func(a, b journeyMark) int { return int(sign(a.TS - b.TS)) })
	s.writeJSON(ctx, fasthttp.StatusOK, out)
}

// journeyMarks adds the visitor's pageviews, events, prompt events and steps reached in
// [from, to] to out.
func (s *Server) journeyMarks(out *replayBody, from, to int64) error {
	var h event.Hit
	var e event.Event
	err := s.tracker.VisitorEvents(out.VID, func(rec []byte) error {
		if err := event.DecodeRecord(rec, &h, &e); err != nil || e.TS < from || e.TS > to || h.Site != out.Site {
			return nil
		}
		m := journeyMark{TS: e.TS}
		switch e.Type {
		case event.TypePageview:
			m.Type, m.Name, m.URL = "pageview", e.Title, e.URL
			if m.Name == "" {
				m.Name = h.Page.Path
			}
		case event.TypeEvent:
			m.Type, m.Name, m.URL = "event", e.Name, e.URL
		case event.TypePrompt:
			m.Type, m.Name = "prompt", e.Prompt+":"+e.Action
		default:
			return nil
		}
		out.Journey = append(out.Journey, m)
		return nil
	})
	if errors.Is(err, track.ErrUnknownVisitor) {
		return nil
	}
	if err != nil {
		return err
	}
	var st journey.State
	if found, err := s.tracker.State(out.VID, &st); err != nil || !found {
		return err
	}
	for _, sm := range st.StepHistory {
		if sm.At >= from && sm.At <= to {
			out.Journey = append(out.Journey, journeyMark{TS: sm.At, Type: "step", Name: sm.Step})
		}
	}
	return nil
}

// rageMarks finds the rage clicks of a recording in its rrweb events, as the heatmap chunk
// counts them: 3 clicks or more within a second, within 30 px of each other.
func rageMarks(evs []json.RawMessage) []journeyMark {
	type click struct {
		ts   int64
		x, y float64
	}
	var out []journeyMark
	var recent []click
	for _, raw := range evs {
		var ev struct {
			Type      int     `json:"type"`
			Timestamp float64 `json:"timestamp"`
			Data      struct {
				Source *int    `json:"source"`
				Type   *int    `json:"type"`
				X      float64 `json:"x"`
				Y      float64 `json:"y"`
			} `json:"data"`
		}
		// Incremental snapshot (3) of a mouse interaction (source 2) that is a click (type 2).
		if json.Unmarshal(raw, &ev) != nil || ev.Type != 3 || ev.Data.Source == nil || *ev.Data.Source != 2 || ev.Data.Type == nil || *ev.Data.Type != 2 {
			continue
		}
		c := click{int64(ev.Timestamp), ev.Data.X, ev.Data.Y}
		kept := recent[:0]
		for _, r := range recent {
			if c.ts-r.ts < 1000 && abs(c.x-r.x) < 30 && abs(c.y-r.y) < 30 {
				kept = append(kept, r)
			}
		}
		recent = append(kept, c)
		if len(recent) == 3 {
			out = append(out, journeyMark{TS: c.ts, Type: "rage_click", Name: "3 clicks in a second at " + strconv.Itoa(int(c.x)) + "," + strconv.Itoa(int(c.y))})
			recent = recent[:0]
		}
	}
	return out
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func sign(d int64) int64 {
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}

// replaysOn answers 404 when session replay is not enabled.
func (s *Server) replaysOn(ctx *fasthttp.RequestCtx) bool {
	if s.replays == nil {
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "session replay is not enabled on this server")
		return false
	}
	return true
}

func (s *Server) replayStorage(ctx *fasthttp.RequestCtx, err error) {
	var bad *replay.BadInput
	if errors.As(err, &bad) || errors.Is(err, track.ErrInvalidVisitorID) {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", err.Error())
		return
	}
	s.log.Error("replays", "err", err)
	s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the recordings could not be read; retry later")
}

// heatmapSnapshot answers GET /api/v1/reports/heatmap/snapshot?site=&page=&band=: the latest
// DOM snapshot of the page in the band (an rrweb full-snapshot event, from a recording of
// the page), or 404 not_found when none was recorded within the replay retention (the
// Heatmaps view then shows the live page).
func (s *Server) heatmapSnapshot(ctx *fasthttp.RequestCtx) {
	if !s.replaysOn(ctx) {
		return
	}
	args := ctx.QueryArgs()
	site, page, band := string(args.Peek("site")), string(args.Peek("page")), string(args.Peek("band"))
	if site == "" && len(s.sites) == 1 {
		for id := range s.sites {
			site = id
		}
	}
	switch {
	case site == "":
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "site: required (this server has several sites)")
		return
	case !s.knownSite(ctx, site):
		return
	case page == "":
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "page: required, the page's path (such as /pricing)")
		return
	}
	if band == "" {
		band = "desktop"
	}
	ev, found, err := s.replays.Snapshot(site, page, band)
	if err != nil {
		s.replayStorage(ctx, err)
		return
	}
	if !found {
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no snapshot of "+quote(page)+" ("+band+") was recorded within --replay-retention; pages are snapshotted from session recordings, and from one visitor a day of each page sampled for heatmaps")
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(ev)
}
