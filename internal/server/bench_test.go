package server_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/bench/hitgen"
	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/rules/rulestest"
	"github.com/pathlight/pathlight/internal/server"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// benchVisitors is how many distinct visitors the benchmarks spread their hits over.
const benchVisitors = 10_000

// benchRig is a Pathlight server wired as `pathlight serve` wires it: real Badger with its
// production options in a temporary directory, the repository's example rules, the reports
// feed on every commit and the reports job running beside the server, and limits raised so
// that load is never refused.
type benchRig struct {
	dir     string
	db      *store.DB
	tracker *track.Tracker
	srv     *server.Server
	closed  bool
	stopJob context.CancelFunc
	jobDone chan struct{}
}

func newBenchRig(tb testing.TB) *benchRig {
	tb.Helper()
	cfg, err := config.Load([]string{
		"--admin-token", "bench-admin-token-0123456789",
		"--rate-ip", "1e9", "--burst-ip", "1000000000",
		"--rate-visitor", "1e9", "--burst-visitor", "1000000000",
		"--max-conns-per-ip", "100000",
	}, func(string) string { return "" })
	if err != nil {
		tb.Fatalf("config.Load: %v", err)
	}
	set, err := rules.LoadDir(filepath.Join(rulestest.Root(tb), "rules"))
	if err != nil {
		tb.Fatalf("rules.LoadDir(example rules): %v", err)
	}
	r := &benchRig{dir: filepath.Join(tb.TempDir(), "badger")}
	if r.db, err = store.Open(r.dir, store.Options{}); err != nil {
		tb.Fatalf("store.Open: %v", err)
	}
	hosts := map[string][]string{}
	for _, site := range cfg.Sites {
		hosts[site.ID] = site.Hosts()
	}
	feed := analytics.NewFeed(nil)
	r.tracker = track.New(track.Watch(trackstore.New(r.db), feed), nil, set, track.Config{Retention: cfg.Retention, SiteHosts: hosts})
	reports := analytics.New(r.tracker, feed, analytics.Options{})
	r.srv = server.New(server.Options{Config: cfg, Tracker: r.tracker, StoreSizes: r.db.Sizes, StoreGroups: r.db.GroupStats, Analytics: reports})
	ctx, stop := context.WithCancel(context.Background())
	r.stopJob, r.jobDone = stop, make(chan struct{})
	go func() {
		defer close(r.jobDone)
		reports.Run(ctx)
	}()
	tb.Cleanup(func() {
		if err := r.close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return r
}

// close shuts the server down (when it was serving) and closes the store, once.
func (r *benchRig) close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.srv.Shutdown(ctx)
	r.stopJob()
	<-r.jobDone
	if cerr := r.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// benchVIDs returns n well-formed visitor ids (32 lower-case hex digits), the same on every call.
func benchVIDs(n int) []string {
	vids := make([]string, n)
	for i := range vids {
		vids[i] = fmt.Sprintf("%032x", uint64(i+1)*0x9e3779b97f4a7c15)
	}
	return vids
}

// benchRequest fills ctx with a POST /v1/hit from a browser at a fixed client address.
func benchRequest(ctx *fasthttp.RequestCtx) {
	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("/v1/hit")
	req.Header.SetHost("pathlight.shop.example")
	req.Header.SetContentType("text/plain;charset=UTF-8")
	req.Header.SetUserAgent(hitgen.UserAgent)
	req.Header.Set("Origin", "https://shop.example")
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(81, 2, 69, 160), Port: 50000}, nil)
}

// pageviewBody appends a typical landing pageview hit with a fresh event id.
func pageviewBody(dst []byte, seq uint64) []byte {
	dst = append(dst, `{"site":"demo","events":[{"id":"b`...)
	dst = strconv.AppendUint(dst, seq, 36)
	dst = append(dst, `","type":"pageview","url":"https://shop.example/products/trail-jacket?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring","ref":"https://l.facebook.com/","title":"Trail Jacket"}],`...)
	dst = append(dst, hitgen.Slots...)
	return append(dst, '}')
}

// BenchmarkHitHandler runs the full /v1/hit path in process, without the network: decode,
// identify, enrich, journey, rules, one Badger commit and the JSON reply, for a typical
// pageview of one of 10,000 visitors with a fresh event id each time.
func BenchmarkHitHandler(b *testing.B) {
	benchHandler(b, newBenchRig(b).srv.Handler(), fasthttp.StatusOK)
}

// BenchmarkHitHandlerParallel is BenchmarkHitHandler from GOMAXPROCS goroutines, so that
// Badger groups concurrent commits as it does under real load.
func BenchmarkHitHandlerParallel(b *testing.B) {
	r := newBenchRig(b)
	h := r.srv.Handler()
	vids := benchVIDs(benchVisitors)
	var workers atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer() // opening Badger is not part of a hit
	b.RunParallel(func(pb *testing.PB) {
		w := workers.Add(1)
		var ctx fasthttp.RequestCtx
		benchRequest(&ctx)
		var body []byte
		for i := w << 40; pb.Next(); i++ { // each goroutine its own event ids
			body = pageviewBody(body[:0], i)
			ctx.Request.SetBody(body)
			ctx.Request.Header.SetCookie("pl_vid", vids[(i+w*997)%uint64(len(vids))])
			h(&ctx)
			if c := ctx.Response.StatusCode(); c != fasthttp.StatusOK {
				b.Errorf("POST /v1/hit = %d %s; want 200", c, ctx.Response.Body())
				return
			}
			ctx.Response.Reset()
		}
	})
}

// BenchmarkBareHandler is the in-process baseline: the same request handed to a handler that
// only answers 204.
func BenchmarkBareHandler(b *testing.B) {
	benchHandler(b, bareHandler, fasthttp.StatusNoContent)
}

// benchHandler hands h a typical pageview of one of the bench visitors, with a fresh event
// id each time, and checks every answer has status want.
func benchHandler(b *testing.B, h fasthttp.RequestHandler, want int) {
	vids := benchVIDs(benchVisitors)
	var ctx fasthttp.RequestCtx
	benchRequest(&ctx)
	var body []byte
	b.ReportAllocs()
	var i uint64
	for b.Loop() {
		i++
		body = pageviewBody(body[:0], i)
		ctx.Request.SetBody(body)
		ctx.Request.Header.SetCookie("pl_vid", vids[i%uint64(len(vids))])
		h(&ctx)
		if c := ctx.Response.StatusCode(); c != want {
			b.Fatalf("POST /v1/hit = %d %s; want %d", c, ctx.Response.Body(), want)
		}
		ctx.Response.Reset()
	}
}

// bareHandler is the baseline the load run compares Pathlight with: fasthttp answering 204.
func bareHandler(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusNoContent) }
