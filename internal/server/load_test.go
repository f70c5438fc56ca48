//go:build unix

package server_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/bench/hitgen"
	"github.com/pathlight/pathlight/internal/event"
)

var loadFlag = flag.Bool("load", false, "run BenchmarkLoad, the in-process end-to-end load run over 127.0.0.1 (make bench-load-go)")

// The load run's bounds. The bare handler and Pathlight take turns, loadRounds phases each of
// loadPhase, so that whatever else the machine does weighs on both alike; a phase also ends
// after loadMaxRequests.
const (
	loadConns       = 64
	loadRounds      = 3
	loadPhase       = time.Second
	loadMaxRequests = 500_000
	loadTimeout     = 5 * time.Second // per request
	stateSample     = 200             // visitors of the load whose stored state is measured
	typicalSample   = 20              // scripted typical visitors
)

// BenchmarkLoad is the end-to-end load run: a Go load generator on 127.0.0.1 sends realistic
// hits of 10,000 visitors over 64 keep-alive connections, in turns to a bare fasthttp
// handler that answers 204 and to the full Pathlight server (Badger, the example rules), and
// reports requests per second, p50 and p99 of both and their ratio; then the stored state of
// a typical visitor and Badger's size per visitor. The generator shares the machine with the
// servers; the CPU time per request (process user+system, generator included) is reported
// too, because it does not depend on what else the machine is running. It runs only with
// -load.
func BenchmarkLoad(b *testing.B) {
	if !*loadFlag {
		b.Skip("the in-process load run is off; run it with -load (make bench-load-go)")
	}
	vids := benchVIDs(benchVisitors)
	bare := &fasthttp.Server{Handler: bareHandler, Name: "bare"}
	bareAddr := serveOn(b, bare, "bare")
	defer func() { _ = bare.Shutdown() }()
	rig := newBenchRig(b)
	hitAddr := serveOn(b, rig.srv, "hit")

	bareRun := &loadRun{name: "bare 204", seen: make([]bool, len(vids))}
	hitRun := &loadRun{name: "/v1/hit", seen: make([]bool, len(vids))}
	groups0, writes0 := rig.db.GroupStats()
	for round := range loadRounds {
		pprof.Do(context.Background(), pprof.Labels("client", "bare"), func(context.Context) {
			runLoad(bareRun, bareAddr, vids, fmt.Sprintf("x%d.", round), uint64(round))
		})
		pprof.Do(context.Background(), pprof.Labels("client", "hit"), func(context.Context) {
			runLoad(hitRun, hitAddr, vids, fmt.Sprintf("e%d.", round), uint64(round))
		})
	}
	groups1, writes1 := rig.db.GroupStats()
	groupSize := float64(writes1-writes0) / float64(max(groups1-groups0, 1))
	for _, r := range []*loadRun{bareRun, hitRun} {
		if r.requests == 0 {
			b.Fatalf("%s: no request completed", r.name)
		}
		if r.failed > 0 || r.non2xx > 0 {
			b.Errorf("%s: %d of %d requests failed and %d answered non-2xx; first: %s",
				r.name, r.failed, r.requests, r.non2xx, r.firstBad)
		}
		slices.Sort(r.lat)
	}

	// Every event of every 200 reply is in the event log, once.
	stored, err := countLoggedEvents(rig, "e")
	if err != nil {
		b.Fatalf("read the event log: %v", err)
	}
	if stored != hitRun.events {
		b.Errorf("event log holds %d load events; want %d (every event of every 200 reply)", stored, hitRun.events)
	}

	loadSizes, err := stateSizes(rig, vids, hitRun.seen, stateSample)
	if err != nil {
		b.Fatal(err)
	}
	typical, err := typicalVisitors(hitAddr)
	if err != nil {
		b.Fatalf("typical visitors: %v", err)
	}
	typicalSizes, err := stateSizes(rig, typical, nil, len(typical))
	if err != nil {
		b.Fatal(err)
	}
	visitors := hitRun.visitors()
	if err := rig.close(); err != nil { // flushes the memtables, so the files hold everything
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
	b.ReportMetric(hitRun.cpuPerRequest(), "hit_cpu_us/req")
	b.ReportMetric(bareRun.cpuPerRequest(), "bare_cpu_us/req")
	b.ReportMetric(groupSize, "writes/group")
	b.ReportMetric(float64(typicalSizes[len(typicalSizes)/2]), "state_typical_B")
	b.ReportMetric(float64(loadSizes[len(loadSizes)/2]), "state_load_p50_B")
	b.ReportMetric(float64(lsm+vlog)/float64(visitors), "disk_B/visitor")

	var s strings.Builder
	fmt.Fprintf(&s, "end-to-end load: %d connections, %d visitors, %d rounds of %s per server\n",
		loadConns, benchVisitors, loadRounds, loadPhase)
	fmt.Fprintf(&s, "  %-9s %9s %9s %8s %8s %8s %12s\n", "", "requests", "req/s", "p50 ms", "p99 ms", "max ms", "cpu µs/req")
	for _, r := range []*loadRun{bareRun, hitRun} {
		fmt.Fprintf(&s, "  %-9s %9d %9.0f %8.3f %8.3f %8.3f %12.1f\n", r.name, r.requests, r.rps(),
			ms(r.quantile(0.50)), ms(r.quantile(0.99)), ms(r.quantile(1)), r.cpuPerRequest())
	}
	fmt.Fprintf(&s, "  ratio hit/bare %.2f by req/s, %.2f by CPU per request (target >= 0.5); hit p99 %.2f ms (target < 5 ms)\n",
		ratio, bareRun.cpuPerRequest()/hitRun.cpuPerRequest(), ms(hitRun.quantile(0.99)))
	fmt.Fprintf(&s, "  events stored: %d in %d hits from %d visitors (%.1f hits each)\n",
		hitRun.events, hitRun.requests, visitors, float64(hitRun.requests)/float64(visitors))
	fmt.Fprintf(&s, "  group commit: %d appends to the write-ahead log, %.1f writes each\n", groups1-groups0, groupSize)
	fmt.Fprintf(&s, "  visitor state after the load: p50 %d B, p90 %d B, max %d B over %d visitors\n",
		loadSizes[len(loadSizes)/2], loadSizes[len(loadSizes)*9/10], loadSizes[len(loadSizes)-1], len(loadSizes))
	fmt.Fprintf(&s, "  typical visitor (3 sessions, 13 pageviews, 4 events, a purchase): %d B (target < 1024 B)\n",
		typicalSizes[len(typicalSizes)/2])
	fmt.Fprintf(&s, "  Badger on disk: LSM %s + value log %s = %.0f B per visitor, %.0f B per event\n",
		mib(lsm), mib(vlog), float64(lsm+vlog)/float64(visitors), float64(lsm+vlog)/float64(hitRun.events))
	b.Log(strings.TrimSuffix(s.String(), "\n"))
}

// serveOn serves srv on a random 127.0.0.1 port and returns its address. The serving
// goroutines carry the profiler label server=name, so that a -cpuprofile of the run tells
// the two servers apart.
func serveOn(b *testing.B, srv interface{ Serve(net.Listener) error }, name string) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go pprof.Do(context.Background(), pprof.Labels("server", name), func(context.Context) {
		_ = srv.Serve(ln) // ends at Shutdown
	})
	return ln.Addr().String()
}

// loadRun is what the load run measured for one server, over all its phases.
type loadRun struct {
	name     string
	requests int // answered or failed
	events   int // events in 2xx replies
	non2xx   int
	failed   int // transport errors and timeouts
	firstBad string
	elapsed  time.Duration
	cpu      time.Duration   // process user+system time during the phases
	lat      []time.Duration // sorted once all phases ran
	seen     []bool          // per visitor: sent at least one hit
}

func (r *loadRun) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r *loadRun) cpuPerRequest() float64 {
	return float64(r.cpu) / float64(time.Microsecond) / float64(max(r.requests, 1))
}

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

// runLoad runs one phase against addr: loadConns goroutines, one keep-alive connection each,
// send hits for loadPhase and measure every request's latency into r. Event ids start with
// prefix and never repeat.
func runLoad(r *loadRun, addr string, vids []string, prefix string, seed uint64) {
	hc := &fasthttp.HostClient{
		Addr:                      addr,
		MaxConns:                  loadConns,
		ReadTimeout:               loadTimeout,
		WriteTimeout:              loadTimeout,
		MaxIdemponentCallAttempts: 1,
	}
	defer hc.CloseIdleConnections()
	type worker struct {
		lat                    []time.Duration
		events, non2xx, failed int
		firstBad               string
		seen                   []int
	}
	workers := make([]worker, loadConns)
	perWorker := loadMaxRequests / loadConns
	cpu0 := cpuTime()
	start := time.Now()
	deadline := start.Add(loadPhase)
	var wg sync.WaitGroup
	for i := range workers {
		w := &workers[i]
		w.lat = make([]time.Duration, 0, 4096)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(i)))
			g := hitgen.New(rng, prefix+strconv.Itoa(i)+"-")
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + addr + "/v1/hit")
			req.Header.SetMethod(fasthttp.MethodPost)
			req.Header.SetContentType("text/plain;charset=UTF-8")
			req.Header.SetUserAgent(hitgen.UserAgent)
			req.Header.Set("Origin", "https://shop.example")
			var body []byte
			for len(w.lat) < perWorker {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				v := rng.IntN(len(vids))
				var n int
				body, n = g.Next(body[:0], v)
				req.SetBody(body)
				req.Header.SetCookie("pl_vid", vids[v])
				err := hc.DoTimeout(req, resp, loadTimeout)
				w.lat = append(w.lat, time.Since(t0))
				bad := ""
				switch code := resp.StatusCode(); {
				case err != nil:
					w.failed++
					bad = err.Error()
				case code < 200 || code > 299:
					w.non2xx++
					bad = fmt.Sprintf("%d %s", code, resp.Body())
				case code == fasthttp.StatusOK && !bytes.Contains(resp.Body(), []byte(`"accepted":["`)):
					w.non2xx++
					bad = fmt.Sprintf("200 without accepted ids: %s", resp.Body())
				default:
					w.events += n
					w.seen = append(w.seen, v)
				}
				if bad != "" && w.firstBad == "" {
					w.firstBad = bad
				}
			}
		})
	}
	wg.Wait()
	r.elapsed += time.Since(start)
	r.cpu += cpuTime() - cpu0
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
		for _, v := range w.seen {
			r.seen[v] = true
		}
	}
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// typicalVisitors sends the journey of a typical converting visitor for typicalSample new
// visitors: three sessions over two days (a paid social landing, an organic search return,
// a direct visit that buys), each hit a minute apart, and returns their visitor ids.
func typicalVisitors(addr string) ([]string, error) {
	type hit struct {
		ago  time.Duration // before now
		body string        // the event object, without id and ts
	}
	pv := func(path, ref string) string {
		return `{"type":"pageview","url":"https://shop.example` + path + `","ref":"` + ref + `","title":"Trail Outfitters"}`
	}
	ev := func(name, props string) string {
		return `{"type":"event","name":"` + name + `","url":"https://shop.example/products/trail-jacket","props":` + props + `}`
	}
	eng := `{"type":"engagement","url":"https://shop.example/products/trail-jacket","engaged_ms":42000,"scroll":80}`
	session := func(start time.Duration, events ...string) []hit {
		hs := make([]hit, len(events))
		for i, e := range events {
			hs[i] = hit{ago: start - time.Duration(i)*time.Minute, body: e}
		}
		return hs
	}
	var journey []hit
	journey = append(journey, session(40*time.Hour,
		pv("/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring", "https://l.facebook.com/"),
		pv("/products/trail-jacket", "https://shop.example/"), ev("view_item", `{"sku":"TJ-42","price":129.5}`),
		pv("/category/jackets", "https://shop.example/"), pv("/products/rain-shell", "https://shop.example/"), eng)...)
	journey = append(journey, session(20*time.Hour,
		pv("/products/trail-jacket", "https://www.google.com/"), pv("/pricing", "https://shop.example/"),
		ev("add_to_cart", `{"sku":"TJ-42","price":129.5,"qty":1}`), pv("/cart", "https://shop.example/"), eng)...)
	journey = append(journey, session(time.Hour,
		pv("/", ""), pv("/cart", "https://shop.example/"), pv("/checkout", "https://shop.example/"),
		ev("begin_checkout", `{"value":129.5}`), pv("/checkout/payment", "https://shop.example/"),
		ev("purchase", `{"value":129.5,"currency":"EUR","order":"A-1001"}`), pv("/checkout/thanks", "https://shop.example/"),
		pv("/blog/layering-guide", "https://shop.example/"), eng)...)

	hc := &fasthttp.HostClient{Addr: addr, ReadTimeout: loadTimeout, WriteTimeout: loadTimeout}
	defer hc.CloseIdleConnections()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + "/v1/hit")
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("text/plain;charset=UTF-8")
	req.Header.SetUserAgent(hitgen.UserAgent)
	vids := make([]string, typicalSample)
	now := time.Now()
	for v := range vids {
		vids[v] = fmt.Sprintf("%032x", uint64(v+1)*0x2545f4914f6cdd1d)
		req.Header.SetCookie("pl_vid", vids[v])
		for i, h := range journey {
			// Each event gets its id and its time in front of its other members.
			body := fmt.Sprintf(`{"site":"demo","events":[{"id":"t%d-%d","ts":%d,%s],%s}`,
				v, i, now.Add(-h.ago).UnixMilli(), h.body[1:], hitgen.Slots)
			req.SetBodyString(body)
			if err := hc.DoTimeout(req, resp, loadTimeout); err != nil {
				return nil, err
			}
			if resp.StatusCode() != fasthttp.StatusOK || !bytes.Contains(resp.Body(), []byte(`"accepted":["`)) {
				return nil, fmt.Errorf("POST /v1/hit %s = %d %s; want 200 with the event accepted", body, resp.StatusCode(), resp.Body())
			}
		}
	}
	return vids, nil
}

// stateSizes returns the sorted encoded sizes of the stored journeys of up to n visitors of
// vids (only those marked in seen, when seen is not nil).
func stateSizes(rig *benchRig, vids []string, seen []bool, n int) ([]int, error) {
	sizes := make([]int, 0, n)
	var buf []byte
	for i, v := range vids {
		if len(sizes) == n {
			break
		}
		if seen != nil && !seen[i] {
			continue
		}
		st, err := rig.tracker.Visitor(v)
		if err != nil {
			return nil, fmt.Errorf("Visitor(%q): %w", v, err)
		}
		buf = st.AppendBinary(buf[:0])
		sizes = append(sizes, len(buf))
	}
	if len(sizes) == 0 {
		return nil, errors.New("no visitor to measure")
	}
	slices.Sort(sizes)
	return sizes, nil
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
