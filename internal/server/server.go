// Package server is Pathlight's HTTP layer on fasthttp: the public beacon endpoints (/v1/*),
// the snippet (/pl.js), the admin API (/api/v1/*), /healthz and /metrics. It maps HTTP to the
// domain and back and nothing more: limits, CORS, cookies, status codes. The work is done by
// track.Tracker.
//
// fasthttp reuses a RequestCtx and its byte slices once a handler returns, so no handler keeps
// ctx or any slice from it: everything handed to the tracker is copied first (the event
// decoder copies strings; header values are converted to strings).
package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/deliver"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/heatmap"
	"github.com/pathlight/pathlight/internal/inbound"
	"github.com/pathlight/pathlight/internal/replay"
	"github.com/pathlight/pathlight/internal/track"
)

// RulesManager loads, reloads and reports on the rule set; the command wires it to the
// tracker.
type RulesManager interface {
	// Reload validates the rules directory and swaps the new set in; on error the previous
	// set stays in force.
	Reload() error
	// Status describes the set in force and the last failed reload.
	Status() RulesStatus
}

// RulesStatus is what GET /api/v1/rules shows.
type RulesStatus struct {
	Version    string    `json:"version"`
	LoadedAt   time.Time `json:"loaded_at"`
	Files      []string  `json:"files"`
	Dir        string    `json:"dir"`
	Errors     []string  `json:"errors"`      // of the last failed reload; empty when it succeeded
	FailedAt   time.Time `json:"failed_at"`   // zero when the last reload succeeded
	Reloads    uint64    `json:"reloads"`     // successful reloads since start
	ReloadErrs uint64    `json:"reload_errs"` // failed reloads since start
}

// Options wire a Server.
type Options struct {
	Config  *config.Config
	Tracker *track.Tracker
	Rules   RulesManager
	Logger  *slog.Logger
	// StoreSizes reports the LSM, value-log and write-ahead log sizes for /metrics; nil
	// omits them.
	StoreSizes func() (lsm, vlog, wal int64)
	// StoreBacklog reports the writes waiting to be applied to Badger, for /metrics; nil
	// omits them.
	StoreBacklog func() (bytes int64, applied, segmentsRemoved uint64)
	// StoreGroups reports the group commits sent to Badger and the writes they held, for
	// /metrics; nil omits them.
	StoreGroups func() (groups, writes uint64)
	// StoreSlowed reports the writes the store slowed because its backlog passed half its
	// bound and how long in all, and the writes that waited at the bound
	// (store.DB.SlowedWrites).
	StoreSlowed func() (writes uint64, slowed time.Duration, waited uint64)
	// StoreMapped reports the resident pages of Badger's mapped tables (as last measured)
	// and the trims that dropped them, for /metrics; nil omits them.
	StoreMapped func() (resident int64, trims uint64, trimmed int64)
	// Disk reports the data directory's free space against the disk reserve, for /healthz
	// and /metrics; nil omits it.
	Disk func() DiskStatus
	// SpendSources keeps the spend sent to /api/v1/spend/{source}; nil keeps it in the data
	// directory without a disk gate.
	SpendSources *analytics.SpendSources
	// Analytics answers /api/v1/reports/*, /api/v1/live and /api/v1/rules/reach; nil
	// leaves them unanswered (404).
	Analytics *analytics.Service
	// Deliverer sends automations and answers the delivery routes and metrics; nil leaves
	// the replay routes answering 503.
	Deliverer *deliver.Deliverer
	// Keys and Ingest answer the events API for back ends and its keys; nil leaves them
	// answering 503.
	Keys   *inbound.Keys
	Ingest *inbound.Ingester
	// Heatmaps keeps the capture batches of POST /v1/capture and answers the heatmap
	// report; nil leaves both unanswered (404).
	Heatmaps *heatmap.Recorder
	// Replays keeps the session recordings of POST /v1/replay and answers the replay routes;
	// nil leaves them unanswered (404).
	Replays *replay.Recordings
	// Cluster joins the server to a fleet (cluster mode): hits go to the owner of their
	// visitor, /healthz and /metrics show the node's state; nil runs on its own.
	Cluster Cluster
}

// Server serves Pathlight over HTTP.
type Server struct {
	cfg       *config.Config
	tracker   *track.Tracker
	reports   *analytics.Service
	heatmaps  *heatmap.Recorder
	replays   *replay.Recordings
	deliverer *deliver.Deliverer
	keys      *inbound.Keys
	ingest    *inbound.Ingester
	rules     RulesManager
	disk      func() DiskStatus
	cluster   Cluster
	log       *slog.Logger
	srv       *fasthttp.Server
	m         *serverMetrics
	limits    *limiters
	sites     map[string]*config.Site
	// siteOrigins are each site's allowed origins, allOrigins those of every site.
	siteOrigins map[string]*originSet
	allOrigins  originSet
	proxies     []netip.Prefix
	assets      *assets
	dash        *dashboardSite
	dashCSP     string // the dashboard's Content-Security-Policy
	refusals    *refusals
	// spendSources keeps the spend sent to /api/v1/spend/{source} in the data directory.
	spendSources *analytics.SpendSources

	batches sync.Pool // *event.Batch
	results sync.Pool // *track.Result
	decLim  event.Limits

	stop chan struct{}
	wg   sync.WaitGroup
}

// New returns a Server; Serve starts it.
func New(o Options) *Server {
	cfg := o.Config
	s := &Server{
		cfg:       cfg,
		tracker:   o.Tracker,
		reports:   o.Analytics,
		heatmaps:  o.Heatmaps,
		replays:   o.Replays,
		deliverer: o.Deliverer,
		keys:      o.Keys,
		ingest:    o.Ingest,
		rules:     o.Rules,
		disk:      o.Disk,
		cluster:   o.Cluster,
		log:       o.Logger,
		sites:     make(map[string]*config.Site, len(cfg.Sites)),
		proxies:   cfg.TrustedProxies,
		decLim:    event.DefaultLimits(),
		stop:      make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.siteOrigins = make(map[string]*originSet, len(cfg.Sites))
	origins := make(map[string][]string, len(cfg.Sites))
	for i := range cfg.Sites {
		site := &cfg.Sites[i]
		s.sites[site.ID] = site
		o := new(originSet)
		o.add(site.Origins)
		s.siteOrigins[site.ID] = o
		s.allOrigins.add(site.Origins)
		origins[site.ID] = site.Origins
	}
	s.refusals = newRefusals(s.log, origins, cfg.AnyOrigin)
	s.m = newServerMetrics(o)
	s.limits = newLimiters(cfg.RateIP, cfg.BurstIP, cfg.RateVisitor, cfg.BurstVisitor)
	s.assets = newAssets(cfg.Demo)
	s.dash = newDashboardSite(time.Now)
	s.dashCSP = dashCSP(cfg)
	s.spendSources = o.SpendSources
	if s.spendSources == nil {
		s.spendSources = analytics.NewSpendSources(cfg.Data, nil)
	}
	s.batches.New = func() any { return new(event.Batch) }
	s.results.New = func() any { return new(track.Result) }
	s.srv = &fasthttp.Server{
		Handler:                       s.handle,
		ErrorHandler:                  s.handleError,
		HeaderReceived:                s.bodyLimit,
		Name:                          "pathlight",
		ReadTimeout:                   cfg.ReadTimeout,
		WriteTimeout:                  cfg.WriteTimeout,
		IdleTimeout:                   cfg.IdleTimeout,
		MaxRequestBodySize:            cfg.BodyLimit,
		ReadBufferSize:                8192,
		DisableHeaderNamesNormalizing: false,
		NoDefaultServerHeader:         false,
		NoDefaultContentType:          true,
		// A multipart body is a wrong content type like any other (415 in the handler), not
		// a form to read before the handler runs: nothing here takes forms.
		DisablePreParseMultipartForm: true,
		CloseOnShutdown:              true,
		Logger:                       fasthttpLogger{s.log},
	}
	return s
}

// Serve accepts connections on ln until Shutdown. It returns nil after a graceful shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.limits.sweep(s.stop, time.Minute)
	}()
	if err := s.srv.Serve(newConnLimiter(lingerListener{ln}, s.cfg.MaxConnsPerIP)); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits for in-flight requests to finish, or for
// ctx to end. Requests finished before it returns have been committed by the tracker.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.ShutdownWithContext(ctx)
	close(s.stop)
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// Handler returns the request handler, for tests and benchmarks that serve it themselves.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handle }

// handle routes a request. Routing is a switch on the path: a handful of fixed routes need
// no router, and the common /v1/hit is the first case.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	if msg := framingProblem(ctx.Request.Header.RawHeaders()); msg != "" {
		s.refuseFraming(ctx, msg)
		return
	}
	path := ctx.Path()
	switch string(path) {
	case "/v1/hit":
		s.public(ctx, routeHit)
	case "/v1/beacon":
		s.public(ctx, routeBeacon)
	case "/v1/decide":
		s.public(ctx, routeDecide)
	case "/v1/capture":
		s.capture(ctx)
	case "/v1/replay":
		s.replayIngest(ctx)
	case "/pl.js", "/pl-ui.js", "/pl-hm.js", "/pl-rr.js":
		s.serveScript(ctx)
	case "/healthz":
		s.handleHealth(ctx)
	case "/metrics":
		s.handleMetrics(ctx)
	default:
		switch {
		case hasPrefix(path, "/api/v1/"):
			s.admin(ctx)
		case hasPrefix(path, "/dashboard"):
			s.serveDashboard(ctx)
		case s.assets.demo != nil:
			s.serveDemo(ctx)
		default:
			s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no such route: "+string(path))
		}
	}
}

// importBodyLimit is the body limit of an authorised POST /api/v1/import: a replay or a
// simulation sends many requests at once.
const importBodyLimit = 64 << 20

// bodyLimit raises the body limit for an authorised import once its headers are read, before
// any of the body is, whatever its query string, and for a replay chunk (replay.MaxBody: a
// page's full snapshot, compressed); every other request keeps the configured limit.
func (s *Server) bodyLimit(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	path, _, _ := bytes.Cut(h.RequestURI(), []byte("?"))
	if string(path) == "/v1/replay" && s.replays != nil && replay.MaxBody > s.cfg.BodyLimit {
		return fasthttp.RequestConfig{MaxRequestBodySize: replay.MaxBody}
	}
	if string(path) == "/api/v1/import" && string(h.Method()) == fasthttp.MethodPost {
		if s.bearerOK(h.Peek("Authorization")) {
			return fasthttp.RequestConfig{MaxRequestBodySize: importBodyLimit}
		}
	}
	return fasthttp.RequestConfig{}
}

// handleError answers requests that fasthttp could not read. fasthttp closes their
// connections.
func (s *Server) handleError(ctx *fasthttp.RequestCtx, err error) {
	if bytes.HasPrefix(ctx.Path(), []byte("/v1/")) {
		s.publicCORS(ctx) // so that the snippet can read a 413 and drop the batch
	}
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge) && hasPrefix(ctx.Path(), "/api/v1/") && !s.authorised(ctx) && !s.eventsKeyOK(ctx):
		s.unauthorised(ctx) // who may not call the admin API learns that first, whatever the size
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		limit := s.cfg.BodyLimit
		if cfg := s.bodyLimit(&ctx.Request.Header); cfg.MaxRequestBodySize > 0 {
			limit = cfg.MaxRequestBodySize // an authorised import's
		}
		s.fail(ctx, fasthttp.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("request body larger than %d bytes", limit))
	case errors.As(err, &small):
		s.fail(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, "headers_too_large", "request headers too large")
	case isTimeout(err):
		s.fail(ctx, fasthttp.StatusRequestTimeout, "timeout", "request not read in time")
	case framingFault(err) != "":
		s.refuseFraming(ctx, framingFault(err))
	default:
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "malformed HTTP request")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func hasPrefix(b []byte, p string) bool { return len(b) >= len(p) && string(b[:len(p)]) == p }

// fasthttpLogger sends fasthttp's own messages to slog at debug level: they are about
// individual broken connections, which metrics count.
type fasthttpLogger struct{ l *slog.Logger }

// Printf implements fasthttp.Logger.
func (f fasthttpLogger) Printf(format string, args ...any) {
	f.l.Debug(fmt.Sprintf(format, args...))
}
