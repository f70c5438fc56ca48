package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/cluster"
	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/deliver"
	"github.com/pathlight/pathlight/internal/enrich"
	"github.com/pathlight/pathlight/internal/heatmap"
	"github.com/pathlight/pathlight/internal/inbound"
	"github.com/pathlight/pathlight/internal/replay"
	"github.com/pathlight/pathlight/internal/server"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

const serveUsage = `Usage: pathlight serve [flags]

Runs the Pathlight server. Every flag can also be set with the environment variable shown,
or as a key in a YAML file given with --config; a flag beats the environment, which beats the
file.

Flags:
`

// serve runs the server until SIGINT or SIGTERM, then drains it and closes the store.
func serve(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, err := config.Load(args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, serveUsage+config.Usage())
		return nil
	}
	if err != nil {
		return exitError{code: 2, msg: "pathlight serve: invalid configuration:\n" + indent(err.Error())}
	}
	log := newLogger(stderr, cfg.LogLevel)

	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if cfg.AnyOrigin {
		log.Warn("no --sites given: the sites " + strings.Join(config.DevSites(), " and ") + " accept hits from any origin; set --sites in production")
	}

	plan := cfg.MemoryPlan()
	applyGoLimit(plan, getenv, log)
	defer applyGCTarget(plan, getenv, log)()
	if cfg.PprofAddr != "" {
		// First, so that a replay of the log at start can be profiled too.
		addr, stop, err := startPprof(cfg.PprofAddr, log)
		if err != nil {
			return exitError{code: 1, msg: "pathlight serve: " + err.Error()}
		}
		defer stop()
		fmt.Fprintf(stdout, "Profiles (pprof): http://%s/debug/pprof/\n", addr)
	}
	if getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(serveProcs(runtime.GOMAXPROCS(0)))
	}
	sopt := storeOptions(plan)
	sopt.SyncWrites, sopt.SegmentSize, sopt.Logger, sopt.DiskReserve = cfg.SyncWrites, int64(cfg.WALSegment), log, cfg.DiskReserve
	db, err := store.Open(filepath.Join(cfg.Data, "badger"), sopt)
	if errors.Is(err, store.ErrDiskFull) {
		return exitError{code: 1, msg: "pathlight serve: the disk of --data is full: " + err.Error()}
	}
	if err != nil {
		return err
	}
	if d, ok := db.Disk(); ok && d.Full {
		log.Warn("the disk of --data has less free space than --disk-reserve: hits are refused (503 disk_full) until space is freed",
			"free_bytes", d.Free, "reserve_bytes", d.Reserve)
	}
	var geo *enrich.GeoDB
	if cfg.GeoIP != "" {
		if geo, err = enrich.OpenGeo(cfg.GeoIP); err != nil {
			_ = db.Close()
			return fmt.Errorf("--geoip: %w", err)
		}
		defer geo.Close()
	}
	// The feed hears every commit, so that reports see new hits without a rescan.
	feed := analytics.NewFeed(nil)
	// The deliverer is woken by the tracker's commits and works through the tracker.
	var dl *deliver.Deliverer
	tcfg := trackConfig(cfg, log)
	tcfg.StateCache = int(plan.StateCache)
	tcfg.OnOutbox = func() { dl.Wake() }
	ts := track.Watch(trackstore.New(db), feed)
	var node *cluster.Node
	dcfg := deliver.Config{Logger: log}
	if cfg.Cluster != nil {
		// Cluster mode: the tracker's writes go through the fleet's stream; the local
		// store, watched, takes the commits of every node.
		if node, err = joinFleet(cfg.Cluster, ts, log); err != nil {
			_ = db.Close()
			return exitError{code: 1, msg: "pathlight serve: cluster: " + err.Error()}
		}
		ts, tcfg.Salts, dcfg.Owns = node.Store(), node, node.Owns
	}
	tr := track.New(ts, geo, nil, tcfg)
	dcfg.Tracker, dcfg.Store = tr, ts
	dl = deliver.New(dcfg)
	mgr := newRulesManager(cfg.Rules, tr.SetRules, log)
	for _, s := range cfg.Sites {
		mgr.sites = append(mgr.sites, s.ID)
	}
	if err := mgr.Reload(); err != nil {
		_ = db.Close()
		return exitError{code: 1, msg: "pathlight serve: the rules in " + cfg.Rules + " are invalid:\n" + indent(err.Error())}
	}

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// Only now that this server holds the data directory, has valid rules and listens is a
	// token generated: one announced by a server that never started (or stored into another
	// server's directory) would be of no use.
	if cfg.AdminToken == "" {
		tok, created, err := adminToken(cfg.Data)
		if err != nil {
			_ = ln.Close()
			_ = db.Close()
			return err
		}
		cfg.AdminToken = tok
		if created {
			fmt.Fprintf(stdout, "Generated the admin token (stored in %s; shown only this once):\n\n    %s\n\n",
				filepath.Join(cfg.Data, adminTokenFile), tok)
		}
	}
	reports := analytics.New(tr, feed, analytics.Options{
		Logger: log, Spend: analytics.SpendFiles(cfg.Data, cfg.Rules),
		Store: trackstore.New(db), Retention: cfg.Retention, CacheBytes: plan.ReportCache,
		// Once a report is done, the store drops the table pages it mapped, on its own
		// goroutine: the answer does not wait for it.
		AfterReport: db.TrimSoon,
	})
	spendSources := analytics.NewSpendSources(cfg.Data, spendAdmit(db))
	ingest := inbound.NewIngester(tr, cfg.Retention)
	var replayStore, heatmapStore track.Store = trackstore.New(db), trackstore.New(db)
	if node != nil {
		// Spend sent to one node is every node's; so are session recordings, so that any
		// node lists and plays them and an erase on any node removes them everywhere.
		spendSources.SetReplicate(node.ReplicateSpend)
		node.SetSpendApplier(spendSources.ApplyReplicated)
		replayStore = node.Store()
		// Events from back ends are tracked by the owner of their visitor, as hits are.
		ingest.SetTrack(node.Track(tr))
		tr.SetImportVia(node.Track(tr)) // and imported history
		// Heatmap tables too: the owner of a page's shard folds its batches (the server
		// forwards them), and every node gets the tables.
		heatmapStore = node.Store()
	}
	srv := server.New(server.Options{
		Config: cfg, Tracker: tr, Rules: mgr, Logger: log,
		StoreSizes: db.Sizes, StoreGroups: db.GroupStats, StoreSlowed: db.SlowedWrites, StoreBacklog: db.Backlog, StoreMapped: storeMapped(db), Analytics: reports, Disk: diskStatus(db), Deliverer: dl,
		SpendSources: spendSources,
		Keys:         inbound.NewKeys(ts, nil), Ingest: ingest,
		Heatmaps: heatmap.New(heatmapStore, cfg.Retention),
		Replays: replay.New(replayStore, replay.Config{
			Retention: cfg.ReplayRetention, SessionCap: cfg.ReplaySessionCap, DailyCap: cfg.ReplayDailyCap,
		}),
		Cluster: serverFleetOf(node),
	})
	if node != nil {
		node.SetTracker(tr)
		node.HandleForwarded(srv.ServeForwarded)
		if err := node.Run(); err != nil {
			_ = ln.Close()
			_ = db.Close()
			return fmt.Errorf("cluster: %w", err)
		}
	}
	fmt.Fprintf(stdout, "Pathlight is listening on http://%s", ln.Addr())
	if cfg.Demo {
		fmt.Fprintf(stdout, " (demo shop at http://%s/)", ln.Addr())
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "Dashboard: http://%s/dashboard/ (sign in with the admin token)\n", ln.Addr())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		mgr.watch(ctx, 2*time.Second)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		reports.Run(ctx) // opens the report store, then keeps it current
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		dl.Run(ctx) // sends the outbox and fires due timers; waits for its requests at the end
	}()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	var serveErr error
loop:
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				_ = mgr.Reload() // errors are logged and shown on /api/v1/rules
				continue
			}
			log.Info("shutting down", "signal", sig.String())
			break loop
		case serveErr = <-errc:
			break loop
		}
	}
	cancel()
	wg.Wait()
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("shutdown", "err", err)
	}
	if node != nil {
		// No hit comes any more: give the shards back so that other nodes take them at
		// once, and stop applying the stream before the store closes.
		_ = node.Close()
	}
	// No hit comes any more: the last commits go into the report store, which is then
	// marked complete, so that the next start reads it as it is.
	if err := reports.Close(); err != nil {
		log.Error("close the report store", "err", err)
	}
	if err := db.Close(); err != nil {
		return err
	}
	log.Info("stopped")
	return serveErr
}

// diskStatus wires the store's disk gate to /healthz and /metrics; nil without a reserve.
func diskStatus(db *store.DB) func() server.DiskStatus {
	if _, ok := db.Disk(); !ok {
		return nil
	}
	return func() server.DiskStatus {
		d, _ := db.Disk()
		return server.DiskStatus{Free: d.Free, Reserve: d.Reserve, Full: d.Full, Refused: d.Refused}
	}
}

// storeOptions sizes the store from the memory plan: the memtables, tables (and with them
// the table builders) and index caches of Badger's main instance and of the event store that
// holds the tracker's event log, and the bound of the writes waiting for Badger.
func storeOptions(plan config.MemoryPlan) store.Options {
	return trackstore.Options(store.Options{
		MemTableSize: plan.MemTable, MemTables: plan.MemTables, IndexCacheSize: plan.IndexCache,
		EventMemTableSize: plan.EventMemTable, EventMemTables: plan.EventMemTables, EventIndexCacheSize: plan.EventIndexCache,
		MaxBacklog: plan.Backlog, MappedLimit: plan.Mapped,
	})
}

// storeMapped reports the store's mapped table pages for /metrics.
func storeMapped(db *store.DB) func() (int64, uint64, int64) {
	return func() (int64, uint64, int64) {
		m := db.Mapped()
		return m.Resident, m.Trims, m.Trimmed
	}
}

// applyGoLimit sets the Go runtime's soft memory limit from the budget, unless GOMEMLIMIT
// sets it already (the operator's word wins).
func applyGoLimit(plan config.MemoryPlan, getenv func(string) string, log *slog.Logger) {
	if getenv("GOMEMLIMIT") != "" {
		log.Info("memory budget", "plan", plan.String(), "gomemlimit", "from GOMEMLIMIT")
		return
	}
	debug.SetMemoryLimit(plan.GoLimit)
	log.Info("memory budget", "plan", plan.String())
}

func trackConfig(cfg *config.Config, log *slog.Logger) track.Config {
	tc := track.Config{Retention: cfg.Retention, Logger: log, SiteHosts: map[string][]string{}}
	if cfg.Identity == "cookieless" {
		tc.Identity = track.IdentityCookieless
	}
	if cfg.Consent == "required" {
		tc.Consent = track.ConsentRequired
	}
	for _, s := range cfg.Sites {
		tc.SiteHosts[s.ID] = s.Hosts()
	}
	return tc
}

const adminTokenFile = "admin-token"

// adminToken reads the admin token stored in the data directory, creating it at first start.
func adminToken(dataDir string) (tok string, created bool, err error) {
	path := filepath.Join(dataDir, adminTokenFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if t := strings.TrimSpace(string(b)); len(t) >= 16 {
			return t, false, nil
		}
		return "", false, fmt.Errorf("%s: the stored admin token is too short; delete the file to generate a new one", path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("admin token: %w", err)
	}
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	t := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("store admin token: %w", err)
	}
	return t, true, nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

// spendAdmit admits the spend files the admin API writes to the data directory through the
// store's disk gate (nil without a disk reserve), refusing them as the store refuses events.
func spendAdmit(db *store.DB) func(int) error {
	gate := db.Gate()
	if gate == nil {
		return nil
	}
	return func(size int) error {
		if err := gate.Admit(size, false); err != nil {
			return fmt.Errorf("%w: %v", track.ErrDiskFull, err)
		}
		return nil
	}
}
