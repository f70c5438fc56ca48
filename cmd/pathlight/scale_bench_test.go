package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
)

var (
	scaleFlag = flag.String("scale", "", "run BenchmarkScale over these numbers of simulated visitors, comma-separated (make bench-scale)")
	scaleDir  = flag.String("scale.dir", "", "keep the simulated data directories here and reuse them in later runs (default: a temporary directory)")
	scaleSpin = flag.Bool("scale.spin", false, "in the hit rounds, spin a core in a process of the lowest priority (nice 19) instead of running reports: the control of the hits-beside-reports ratio (make bench-scale SCALE_SPIN=1)")
)

// scaleReports are the reports BenchmarkScale times, each over 90 and 365 days.
var scaleReports = []string{"overview", "journey", "funnel", "paths", "attribution", "ttc", "health", "cac", "surveys", "experiments", "micro"}

// BenchmarkScale fills a data directory with N simulated visitors over 365 days (simulate
// --data), starts the server on it, and prints the resident memory, the time to healthy and
// to the first report, the cold and warm time of every 90- and 365-day report, and the hit
// latency with and without reports running. Times are printed, never asserted.
func BenchmarkScale(b *testing.B) {
	if *scaleFlag == "" {
		b.Skip("the scale run takes minutes to hours: give -scale 100000,1000000 (make bench-scale)")
	}
	bin := pathlightBinary(b)
	root := *scaleDir
	if root == "" {
		root = b.TempDir()
	}
	for _, f := range strings.Split(*scaleFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("-scale %q: want numbers of visitors", *scaleFlag)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				scaleRun(b, bin, filepath.Join(root, fmt.Sprintf("visitors-%d", n)), n)
			}
		})
	}
}

func scaleRun(b *testing.B, bin, dir string, n int) {
	rulesDir := crashRulesDir(b)
	marker := filepath.Join(dir, "simulated")
	if _, err := os.Stat(marker); err != nil {
		_ = os.RemoveAll(dir)
		start := time.Now()
		out, err := exec.Command(bin, "simulate", "--data", dir, "--rules", rulesDir, "--visitors", fmt.Sprint(n),
			"--days", "365", "--max-duration", "6h").CombinedOutput()
		if err != nil {
			b.Fatalf("simulate: %v\n%s", err, out)
		}
		fmt.Printf("%d visitors: %s", n, out)
		fmt.Printf("%d visitors: simulated in %s\n", n, time.Since(start).Round(time.Second))
		if err := os.WriteFile(marker, out, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	du, _ := exec.Command("du", "-sh", filepath.Join(dir, "badger")).Output()
	// Cold means cold: the daily rollups an earlier run kept are dropped.
	db, err := store.Open(filepath.Join(dir, "badger"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	err = reportstore.New(trackstore.New(db), 0).DropRollups()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}

	p := startScaleServer(b, bin, dir, rulesDir)
	defer p.stop(b)
	healthy := p.waitHealthy(b)
	c := &http.Client{Timeout: 10 * time.Minute}
	p.report(b, c, "overview", "")
	first := time.Since(p.start)
	rssStart := p.rss()

	type timing struct{ cold, warm, cached time.Duration }
	times := map[string]timing{}
	now := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	for _, days := range []int{90, 365} {
		for _, name := range scaleReports {
			q := fmt.Sprintf("from=%d&to=%d", now.Add(-time.Duration(days)*24*time.Hour).UnixMilli(), now.UnixMilli())
			cold := p.report(b, c, name, q)
			// Warm: the same period a millisecond later, so no cached result is reused but
			// the daily rollups and the store's caches are.
			q = fmt.Sprintf("from=%d&to=%d", now.Add(-time.Duration(days)*24*time.Hour).UnixMilli()+1, now.UnixMilli()+1)
			warm := p.report(b, c, name, q)
			// Cached: the same query again, as a dashboard asks within the same minute.
			cached := p.report(b, c, name, q)
			times[fmt.Sprint(name, days)] = timing{cold, warm, cached}
		}
	}
	// The resident memory once the server is idle: a report's answer does not wait for the
	// trim of the table pages it mapped, which the store runs right after it.
	time.Sleep(time.Second)
	rssReports, hwm := p.rss(), p.hwm()
	anon, file := p.status("RssAnon:"), p.status("RssFile:")
	base, loaded, inside := p.hitLatency(b, now)
	rssEnd := p.rss()
	anonEnd, fileEnd := p.status("RssAnon:"), p.status("RssFile:")

	fmt.Printf("\n%d visitors over 365 days (store %s)\n", n, strings.Fields(string(du) + " ?")[0])
	fmt.Printf("restart to healthy %s, to the first report (overview, 30 days) %s\n", healthy.Round(time.Millisecond), first.Round(time.Millisecond))
	fmt.Printf("RSS after the first report %d MiB, after every report %d MiB (anonymous %d MiB, mapped files %d MiB), after the hit runs %d MiB (%d, %d MiB), peak %d MiB\n",
		rssStart>>20, rssReports>>20, anon>>20, file>>20, rssEnd>>20, anonEnd>>20, fileEnd>>20, hwm>>20)
	beside := "while reports run"
	if *scaleSpin {
		beside = "while a process at nice 19 spins a core (the control, no reports)"
	}
	fmt.Printf("hits without reports: %s; %s: %s (p99 ratio %.2f)\n", base, beside, loaded, float64(loaded.p99)/float64(base.p99))
	fmt.Printf("the server's side of those hits: without reports %s; %s %s\n", inside[0], beside, inside[1])
	fmt.Printf("| report | 90 d cold | 90 d warm | 90 d cached | 365 d cold | 365 d warm | 365 d cached |\n| --- | --- | --- | --- | --- | --- | --- |\n")
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/1e6) }
	for _, name := range scaleReports {
		t90, t365 := times[fmt.Sprint(name, 90)], times[fmt.Sprint(name, 365)]
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %s |\n", name, ms(t90.cold), ms(t90.warm), ms(t90.cached), ms(t365.cold), ms(t365.warm), ms(t365.cached))
	}
	if log := p.errb.String(); log != "" {
		fmt.Printf("the server's warnings and errors:\n%s", log)
	}
}

// scaleServer is a running `pathlight serve` of the scale run.
type scaleServer struct {
	start time.Time
	cmd   *exec.Cmd
	url   string
	done  chan struct{}
	errb  *syncBuffer
}

func startScaleServer(b *testing.B, bin, dir, rulesDir string) *scaleServer {
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", dir, "--rules", rulesDir,
		"--admin-token", crashToken, "--log-level", "warn",
		"--rate-ip", "1e9", "--burst-ip", "1000000000", "--rate-visitor", "1e9", "--burst-visitor", "1000000000",
		"--max-conns-per-ip", "100000")
	p := &scaleServer{start: time.Now(), cmd: cmd, done: make(chan struct{}), errb: new(syncBuffer)}
	cmd.Stderr = p.errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), "listening on "); ok {
			p.url = strings.Fields(rest)[0]
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if p.url == "" {
		b.Fatalf("the server did not say where it listens:\n%s", p.errb.String())
	}
	return p
}

// waitHealthy returns the time from the process's start to its first healthy answer.
func (p *scaleServer) waitHealthy(b *testing.B) time.Duration {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(p.start)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Fatalf("not healthy within a minute:\n%s", p.errb.String())
	return 0
}

// report asks for a report and returns how long it took.
func (p *scaleServer) report(b *testing.B, c *http.Client, name, query string) time.Duration {
	req, _ := http.NewRequest("GET", p.url+"/api/v1/reports/"+name+"?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+crashToken)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != 200 {
		b.Fatalf("%s?%s: %d %s", name, query, resp.StatusCode, body)
	}
	return d
}

// rss and hwm read the process's resident set now and at its peak, in bytes.
func (p *scaleServer) rss() int64 { return p.status("VmRSS:") }
func (p *scaleServer) hwm() int64 { return p.status("VmHWM:") }

func (p *scaleServer) status(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// hitLatency sends hits at a steady rate in rounds, alternately alone and while 365-day
// reports run one after another (with -scale.spin: while a process of the lowest priority
// spins a core, which is what a report thread's use of a core would cost the hits without
// its memory traffic and its garbage), and returns the p99 of each.
func (p *scaleServer) hitLatency(b *testing.B, now time.Time) (alone, withReports latency, inside [2]serverSide) {
	const (
		rounds = 2
		phase  = 15 * time.Second // long enough for flushes, compactions and GC to fall inside
		rate   = 400              // hits per second
		conns  = 16
	)
	tr := &http.Transport{MaxIdleConnsPerHost: conns}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var lat [2][]time.Duration
	seq := 0
	for range rounds {
		for mode := range 2 {
			before := p.scrape(b)
			ctx, cancel := context.WithTimeout(context.Background(), phase)
			var wg sync.WaitGroup
			if mode == 1 && *scaleSpin {
				// The control: a report's use of a core, without its memory or its garbage.
				spin := exec.Command("nice", "-n", "19", "sh", "-c", "while :; do :; done")
				if err := spin.Start(); err != nil {
					b.Fatalf("the spinning process: %v", err)
				}
				wg.Go(func() {
					<-ctx.Done()
					_ = spin.Process.Kill()
					_ = spin.Wait()
				})
			} else if mode == 1 {
				wg.Go(func() {
					rc := &http.Client{Timeout: 10 * time.Minute}
					for i := 0; ctx.Err() == nil; i++ {
						name := scaleReports[i%len(scaleReports)]
						q := fmt.Sprintf("from=%d&to=%d", now.Add(-365*24*time.Hour).UnixMilli()+int64(seq), now.UnixMilli()+int64(seq))
						seq++
						p.report(b, rc, name, q)
					}
				})
			}
			var mu sync.Mutex
			tick := time.NewTicker(time.Second / rate)
			sem := make(chan struct{}, conns)
		send:
			for {
				select {
				case <-ctx.Done():
					break send
				case <-tick.C:
				}
				sem <- struct{}{}
				seq++
				body := fmt.Sprintf(`{"site":"demo","vid":"%032x","events":[{"id":"load-%d","type":"pageview","url":"https://shop.example/?n=%d"}]}`, 1+rand.IntN(1<<40), seq, seq)
				wg.Go(func() {
					defer func() { <-sem }()
					start := time.Now()
					resp, err := c.Post(p.url+"/v1/hit", "text/plain", bytes.NewReader([]byte(body)))
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					d := time.Since(start)
					mu.Lock()
					lat[mode] = append(lat[mode], d)
					mu.Unlock()
				})
			}
			tick.Stop()
			cancel()
			wg.Wait()
			inside[mode].add(before, p.scrape(b), phase)
		}
	}
	return latencyOf(lat[0]), latencyOf(lat[1]), inside
}

// serverSide is what the server's /metrics say of a run of hits: how many its handler
// took longer than 0.5 and 1 ms over (pathlight_request_duration_seconds, which times a
// request from when it has been read to when its answer is written), and the collections
// meanwhile. Beside the load generator's latencies it tells the time a hit spends in
// the handler from the time it waits for a core around it.
type serverSide struct {
	hits, over500us, over1ms float64
	gcs, gcCPU, seconds      float64
	// pauses counts the collections' stops of the world; pausesOver500us and
	// pausesOver1300us those over about 0.5 and 1.3 ms (the histogram's buckets).
	pauses, pausesOver500us, pausesOver1300us float64
}

// scrape reads the hit route's latency buckets and the collector's counters from /metrics.
func (p *scaleServer) scrape(b *testing.B) map[string]float64 {
	resp, err := http.Get(p.url + "/metrics")
	if err != nil {
		b.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case `pathlight_request_duration_seconds_bucket{route="hit",le="0.0005"}`, `pathlight_request_duration_seconds_bucket{route="hit",le="0.001"}`,
			`pathlight_request_duration_seconds_count{route="hit"}`, "go_gc_duration_seconds_count", "go_gc_cpu_seconds_total",
			pausesAll, pausesUnder500us, pausesUnder1300us:
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				b.Fatalf("/metrics: %s: %v", sc.Text(), err)
			}
			out[name] = v
		}
	}
	if len(out) != 8 {
		b.Fatalf("/metrics: found %d of the 8 series the hit runs read: %v", len(out), out)
	}
	return out
}

func (s *serverSide) add(before, after map[string]float64, d time.Duration) {
	delta := func(name string) float64 { return after[name] - before[name] }
	n := delta(`pathlight_request_duration_seconds_count{route="hit"}`)
	s.hits += n
	s.over500us += n - delta(`pathlight_request_duration_seconds_bucket{route="hit",le="0.0005"}`)
	s.over1ms += n - delta(`pathlight_request_duration_seconds_bucket{route="hit",le="0.001"}`)
	s.gcs += delta("go_gc_duration_seconds_count")
	s.gcCPU += delta("go_gc_cpu_seconds_total")
	s.seconds += d.Seconds()
	s.pauses += delta(pausesAll)
	s.pausesOver500us += delta(pausesAll) - delta(pausesUnder500us)
	s.pausesOver1300us += delta(pausesAll) - delta(pausesUnder1300us)
}

// The runtime's histogram of stop-the-world pauses for collections: all of them, and those
// within the buckets that end at about 0.5 and 1.3 ms.
const (
	pausesAll         = `go_gc_pauses_seconds_bucket{le="+Inf"}`
	pausesUnder500us  = `go_gc_pauses_seconds_bucket{le="0.000458752"}`
	pausesUnder1300us = `go_gc_pauses_seconds_bucket{le="0.00131072"}`
)

func (s serverSide) String() string {
	if s.hits == 0 || s.seconds == 0 {
		return "no hits"
	}
	return fmt.Sprintf("%.2f %% of hits over 0.5 ms in the handler, %.2f %% over 1 ms; %.2f collections a second, GC CPU %.0f ms a second, %.0f pauses (%.0f over 0.5 ms, %.0f over 1.3 ms)",
		100*s.over500us/s.hits, 100*s.over1ms/s.hits, s.gcs/s.seconds, 1000*s.gcCPU/s.seconds, s.pauses, s.pausesOver500us, s.pausesOver1300us)
}

// latency is the tail of a run of requests.
type latency struct{ p99, p999, max time.Duration }

func latencyOf(xs []time.Duration) latency {
	if len(xs) == 0 {
		return latency{}
	}
	slices.Sort(xs)
	return latency{xs[len(xs)*99/100], xs[len(xs)*999/1000], xs[len(xs)-1]}
}

func (l latency) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return fmt.Sprintf("p99 %s, p99.9 %s, max %s", r(l.p99), r(l.p999), r(l.max))
}

// stop ends the server with SIGTERM, as an operator would.
func (p *scaleServer) stop(b *testing.B) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		<-p.done
		b.Errorf("the server did not stop within a minute of SIGTERM")
	}
}
