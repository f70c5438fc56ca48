package server_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/event"
)

var loadFlag = flag.Bool("load", false, "run BenchmarkLoad, the end-to-end load run over 127.0.0.1 (make bench-load)")

// The load run's bounds: each phase sends from loadConns keep-alive connections for
// loadDuration or until loadMaxRequests, whichever comes first.
const (
	loadConns       = 64
	loadDuration    = 3 * time.Second
	loadMaxRequests = 1_000_000
	loadTimeout     = 5 * time.Second // per request
	stateSample     = 200             // visitors whose stored state is measured
)

// BenchmarkLoad is the end-to-end load run: a Go load generator on 127.0.0.1 sends realistic
// hits of 10,000 visitors from 64 connections, first to a bare fasthttp handler that answers
// 204, then to the full Pathlight server over Badger with the example rules, and reports
// requests per second, p50 and p99 of both and their ratio, then the stored size of a
// typical visitor. Both servers share the machine with the generator, so the ratio is the
// meaningful figure. It runs only with -load.
func BenchmarkLoad(b *testing.B) {
	if !*loadFlag {
		b.Skip("the end-to-end load run is off; run it with -load (make bench-load)")
	}
	vids := benchVIDs(benchVisitors)

	bare := &fasthttp.Server{Handler: bareHandler, Name: "bare"}
	bareAddr := serveOn(b, bare)
	defer func() { _ = bare.Shutdown() }()
	bareRun, err := runLoad("bare 204", bareAddr, vids, "x")
	if err != nil {
		b.Fatalf("bare load run: %v", err)
	}

	rig := newBenchRig(b)
	hitAddr := serveOn(b, rig.srv)
	hitRun, err := runLoad("/v1/hit", hitAddr, vids, "e")
	if err != nil {
		b.Fatalf("hit load run: %v", err)
	}
	for _, r := range []*loadRun{bareRun, hitRun} {
		if r.failed > 0 || r.non2xx > 0 {
			b.Errorf("%s: %d of %d requests failed and %d answered non-2xx; first: %s",
				r.name, r.failed, r.requests, r.non2xx, r.firstBad)
		}
	}

	// Every event the server acknowledged is in the event log, once.
	stored, err := countLoggedEvents(rig, "e")
	if err != nil {
		b.Fatalf("read the event log: %v", err)
	}
	if stored != hitRun.events {
		b.Errorf("event log holds %d load events; want %d (every event of every 200 reply)", stored, hitRun.events)
	}

	// The stored journeys of visitors who each sent about hits/visitors hits.
	sizes := make([]int, 0, stateSample)
	var buf []byte
	for i, v := range vids {
		if !hitRun.seen[i] {
			continue
		}
		if len(sizes) == stateSample {
			break
		}
		st, err := rig.tracker.Visitor(v)
		if err != nil {
			b.Fatalf("Visitor(%q): %v", v, err)
		}
		buf = st.AppendBinary(buf[:0])
		sizes = append(sizes, len(buf))
	}
	slices.Sort(sizes)
	visitors := hitRun.visitors()
	if err := rig.close(); err != nil { // flushes memtables, so the directory shows everything
		b.Fatalf("close: %v", err)
	}
	lsm, vlog, err := badgerDirSizes(rig.dir)
	if err != nil {
		b.Fatalf("measure %s: %v", rig.dir, err)
	}

	ratio := hitRun.rps() / bareRun.rps()
	b.ReportMetric(0, "ns/op") // one op is the whole run: ns/op says nothing
	b.ReportMetric(hitRun.rps(), "hit_rps")
	b.ReportMetric(ms(hitRun.quantile(0.50)), "hit_p50_ms")
	b.ReportMetric(ms(hitRun.quantile(0.99)), "hit_p99_ms")
	b.ReportMetric(bareRun.rps(), "bare_rps")
	b.ReportMetric(ms(bareRun.quantile(0.50)), "bare_p50_ms")
	b.ReportMetric(ms(bareRun.quantile(0.99)), "bare_p99_ms")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(sizes[len(sizes)/2]), "state_p50_B")
	b.ReportMetric(float64(sizes[len(sizes)-1]), "state_max_B")
	b.ReportMetric(float64(lsm+vlog)/float64(visitors), "disk_B/visitor")

	var s strings.Builder
	fmt.Fprintf(&s, "\nend-to-end load, %d connections, %s per phase, %d visitors\n", loadConns, loadDuration, benchVisitors)
	fmt.Fprintf(&s, "  %-9s %9s %9s %9s %9s %9s\n", "", "requests", "req/s", "p50 ms", "p99 ms", "max ms")
	for _, r := range []*loadRun{bareRun, hitRun} {
		fmt.Fprintf(&s, "  %-9s %9d %9.0f %9.3f %9.3f %9.3f\n", r.name, r.requests, r.rps(),
			ms(r.quantile(0.50)), ms(r.quantile(0.99)), ms(r.quantile(1)))
	}
	fmt.Fprintf(&s, "  ratio hit/bare: %.2f (target >= 0.5); hit p99 %.2f ms (target < 5 ms)\n", ratio, ms(hitRun.quantile(0.99)))
	fmt.Fprintf(&s, "  events stored: %d in %d hits from %d visitors (%.1f hits each)\n",
		hitRun.events, hitRun.requests, visitors, float64(hitRun.requests)/float64(visitors))
	fmt.Fprintf(&s, "  visitor state: p50 %d B, p90 %d B, max %d B over %d visitors (target < 1024 B)\n",
		sizes[len(sizes)/2], sizes[len(sizes)*9/10], sizes[len(sizes)-1], len(sizes))
	fmt.Fprintf(&s, "  Badger on disk: LSM %s + value log %s = %.0f B per visitor, %.0f B per event\n",
		mib(lsm), mib(vlog), float64(lsm+vlog)/float64(visitors), float64(lsm+vlog)/float64(hitRun.events))
	b.Log(s.String())
}

// serveOn serves srv on a random 127.0.0.1 port and returns its address.
func serveOn(b *testing.B, srv interface{ Serve(net.Listener) error }) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }() // ends at Shutdown
	return ln.Addr().String()
}

// loadRun is what one phase of the load run measured.
type loadRun struct {
	name     string
	requests int // answered or failed
	events   int // events in 2xx replies
	non2xx   int
	failed   int // transport errors and timeouts
	firstBad string
	elapsed  time.Duration
	lat      []time.Duration // sorted
	seen     []bool          // per visitor: sent at least one hit
}

func (r *loadRun) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r *loadRun) quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(int(q*float64(len(r.lat))), len(r.lat)-1)]
}

func (r *loadRun) visitors() int {
	n := 0
	for _, s := range r.seen {
		if s {
			n++
		}
	}
	return max(n, 1)
}

// runLoad sends hits to addr from loadConns goroutines, one keep-alive connection each,
// and measures every request's latency. Event ids start with prefix and never repeat.
func runLoad(name, addr string, vids []string, prefix string) (*loadRun, error) {
	hc := &fasthttp.HostClient{
		Addr:                      addr,
		MaxConns:                  loadConns,
		ReadTimeout:               loadTimeout,
		WriteTimeout:              loadTimeout,
		MaxIdemponentCallAttempts: 1,
	}
	defer hc.CloseIdleConnections()
	type worker struct {
		lat                             []time.Duration
		events, non2xx, failed, answers int
		firstBad                        string
		seen                            []bool
	}
	workers := make([]worker, loadConns)
	perWorker := loadMaxRequests / loadConns
	start := time.Now()
	deadline := start.Add(loadDuration)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		w.lat = make([]time.Duration, 0, perWorker)
		w.seen = make([]bool, len(vids))
		wg.Go(func() {
			g := &hitGen{rng: rand.New(rand.NewPCG(uint64(i), 0x9a71)), prefix: fmt.Sprintf("%s%d-", prefix, i)}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + addr + "/v1/hit")
			req.Header.SetMethod(fasthttp.MethodPost)
			req.Header.SetContentType("text/plain;charset=UTF-8")
			req.Header.SetUserAgent(benchUA)
			req.Header.Set("Origin", "https://shop.example")
			var body []byte
			for len(w.lat) < perWorker {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				v := g.rng.IntN(len(vids))
				var n int
				body, n = g.next(body[:0], v)
				req.SetBody(body)
				req.Header.SetCookie("pl_vid", vids[v])
				err := hc.DoTimeout(req, resp, loadTimeout)
				w.lat = append(w.lat, time.Since(t0))
				switch code := resp.StatusCode(); {
				case err != nil:
					w.failed++
					if w.firstBad == "" {
						w.firstBad = err.Error()
					}
				case code < 200 || code > 299:
					w.non2xx++
					if w.firstBad == "" {
						w.firstBad = fmt.Sprintf("%d %s", code, resp.Body())
					}
				default:
					w.events += n
					w.seen[v] = true
					if code == fasthttp.StatusOK && !bytes.Contains(resp.Body(), []byte(`"accepted":[`)) {
						w.non2xx++
						if w.firstBad == "" {
							w.firstBad = fmt.Sprintf("200 without accepted ids: %s", resp.Body())
						}
					}
				}
			}
		})
	}
	wg.Wait()
	r := &loadRun{name: name, elapsed: time.Since(start), seen: make([]bool, len(vids))}
	for i := range workers {
		w := &workers[i]
		r.requests += len(w.lat)
		r.events += w.events
		r.non2xx += w.non2xx
		r.failed += w.failed
		if r.firstBad == "" {
			r.firstBad = w.firstBad
		}
		r.lat = append(r.lat, w.lat...)
		for v, s := range w.seen {
			r.seen[v] = r.seen[v] || s
		}
	}
	if r.requests == 0 {
		return nil, errors.New("no request completed")
	}
	slices.Sort(r.lat)
	return r, nil
}

// countLoggedEvents counts the event log records whose ids start with prefix (the load's
// events; the log also holds records the rules add, such as experiment exposures).
func countLoggedEvents(rig *benchRig, prefix string) (int, error) {
	var h event.Hit
	var e event.Event
	n := 0
	err := rig.tracker.Events(0, 0, func(rec []byte) error {
		if err := event.DecodeRecord(rec, &h, &e); err != nil {
			return err
		}
		if strings.HasPrefix(e.ID, prefix) {
			n++
		}
		return nil
	})
	return n, err
}

// badgerDirSizes sums the sizes of Badger's table files (the LSM tree) and value-log files
// in dir.
func badgerDirSizes(dir string) (lsm, vlog int64, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch filepath.Ext(path) {
		case ".sst":
			lsm += info.Size()
		case ".vlog":
			vlog += info.Size()
		}
		return nil
	})
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	return lsm, vlog, err
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
