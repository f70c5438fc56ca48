// Command openloop is the constant-rate load generator of `make bench-load`: it sends
// POST /v1/hit requests of 1,000 returning visitors at a fixed rate, whatever the server's
// answers take, and measures each request's latency from the moment it was scheduled to be
// sent, not from when a connection was free to send it, so that a stalled server is charged
// for every request it delayed (no coordinated omission). It prints the overall latency
// quantiles and the p99 of the worst 100 ms window (by scheduled time).
//
// It speaks HTTP/1.1 over a pool of keep-alive connections itself, with no HTTP library, so
// that the generator costs little CPU beside the server on a small machine.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pathlight/pathlight/internal/bench/hitgen"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18601", "server address, host:port")
	rate := flag.Float64("rate", 5000, "requests per second")
	dur := flag.Duration("d", 15*time.Second, "how long to send")
	conns := flag.Int("c", 128, "keep-alive connections")
	run := flag.String("run", "o", "prefix of the event ids, unique per run")
	timeline := flag.String("timeline", "", "also write every 100 ms window's requests, p50, p99 and max (ms) to this file")
	flag.Parse()
	if *rate <= 0 || *dur <= 0 || *conns <= 0 {
		fmt.Fprintln(os.Stderr, "openloop: -rate, -d and -c must be positive")
		os.Exit(2)
	}
	res, err := runLoad(*addr, *rate, *dur, *conns, *run)
	if err != nil {
		fmt.Fprintln(os.Stderr, "openloop:", err)
		os.Exit(1)
	}
	res.print(os.Stdout, *rate)
	if *timeline != "" {
		if err := res.writeTimeline(*timeline); err != nil {
			fmt.Fprintln(os.Stderr, "openloop:", err)
			os.Exit(1)
		}
	}
}

// sample is one request: when it was scheduled and how long it took from then.
type sample struct {
	at  time.Duration // scheduled send time, from the start
	lat time.Duration
	ok  bool
}

type result struct {
	samples  []sample
	elapsed  time.Duration
	firstErr string
}

// runLoad schedules rate requests per second for dur and sends each on the first free
// connection.
func runLoad(addr string, rate float64, dur time.Duration, conns int, run string) (*result, error) {
	type job struct {
		at   time.Duration
		body []byte
		vid  int
	}
	n := int(rate * dur.Seconds())
	jobs := make(chan job, n)
	out := make(chan []sample, conns)
	errs := make(chan string, conns)
	// Every connection is open before the clock starts.
	open := make([]net.Conn, conns)
	for c := range open {
		var err error
		if open[c], err = net.Dial("tcp", addr); err != nil {
			return nil, fmt.Errorf("connect %d: %w", c, err)
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, conn := range open {
		wg.Go(func() {
			defer conn.Close()
			br := bufio.NewReaderSize(conn, 16<<10)
			var req []byte
			var mine []sample
			bad := ""
			for j := range jobs {
				req = appendRequest(req[:0], addr, j.body, j.vid)
				ok := true
				if _, err := conn.Write(req); err != nil {
					ok, bad = false, err.Error()
				} else if status, err := readResponse(br); err != nil {
					ok, bad = false, err.Error()
				} else if status < 200 || status > 299 {
					ok, bad = false, "status "+strconv.Itoa(status)
				}
				mine = append(mine, sample{at: j.at, lat: time.Since(start) - j.at, ok: ok})
				if !ok {
					// A broken connection: open another for the next requests.
					conn.Close()
					if c2, err := net.Dial("tcp", addr); err == nil {
						conn, br = c2, bufio.NewReaderSize(c2, 16<<10)
					}
				}
			}
			out <- mine
			errs <- bad
		})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	gen := hitgen.New(rng, run+".")
	interval := time.Duration(float64(time.Second) / rate)
	for i := range n {
		at := time.Duration(i) * interval
		if d := at - time.Since(start); d > 200*time.Microsecond {
			time.Sleep(d)
		}
		v := rng.IntN(visitors)
		body, _ := gen.Next(nil, v)
		jobs <- job{at: at, body: body, vid: v}
	}
	close(jobs)
	wg.Wait()
	res := &result{elapsed: time.Since(start)}
	for range conns {
		res.samples = append(res.samples, <-out...)
		if e := <-errs; e != "" && res.firstErr == "" {
			res.firstErr = e
		}
	}
	return res, nil
}

// print writes the summary line the bench script reads, in microseconds.
func (r *result) print(w io.Writer, rate float64) {
	lat := make([]time.Duration, 0, len(r.samples))
	failed := 0
	for _, s := range r.samples {
		lat = append(lat, s.lat)
		if !s.ok {
			failed++
		}
	}
	slices.Sort(lat)
	// Windows of 100 ms by scheduled time; a window's p99 is over its own requests.
	windows := map[int][]time.Duration{}
	for _, s := range r.samples {
		windows[int(s.at/(100*time.Millisecond))] = append(windows[int(s.at/(100*time.Millisecond))], s.lat)
	}
	worst, worstAt := time.Duration(0), 0
	for at, ws := range windows {
		slices.Sort(ws)
		if p := q(ws, 0.99); p > worst {
			worst, worstAt = p, at
		}
	}
	fmt.Fprintf(w, "OPENLOOP rate=%.0f requests=%d failed=%d seconds=%.3f p50=%d p99=%d p999=%d max=%d worst100ms_p99=%d worst_at_ms=%d\n",
		rate, len(lat), failed, r.elapsed.Seconds(), us(q(lat, 0.5)), us(q(lat, 0.99)), us(q(lat, 0.999)),
		us(q(lat, 1)), us(worst), worstAt*100)
	if r.firstErr != "" {
		fmt.Fprintf(w, "first failure: %s\n", r.firstErr)
	}
}

// writeTimeline writes one line per 100 ms window of scheduled send time, in order: the
// window's start (ms from the run's start), its requests, and their p50, p99 and max in ms.
func (r *result) writeTimeline(path string) error {
	windows := map[int][]time.Duration{}
	last := 0
	for _, s := range r.samples {
		w := int(s.at / (100 * time.Millisecond))
		windows[w] = append(windows[w], s.lat)
		last = max(last, w)
	}
	var b bytes.Buffer
	b.WriteString("at_ms requests p50_ms p99_ms max_ms\n")
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for w := 0; w <= last; w++ {
		ws := windows[w]
		slices.Sort(ws)
		fmt.Fprintf(&b, "%d %d %.2f %.2f %.2f\n", w*100, len(ws), ms(q(ws, 0.5)), ms(q(ws, 0.99)), ms(q(ws, 1)))
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func q(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(int(p*float64(len(sorted))), len(sorted)-1)]
}

func us(d time.Duration) int64 { return d.Microseconds() }

func appendRequest(dst []byte, host string, body []byte, v int) []byte {
	dst = append(dst, "POST /v1/hit HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nContent-Type: text/plain;charset=UTF-8\r\nUser-Agent: "...)
	dst = append(dst, hitgen.UserAgent...)
	dst = append(dst, "\r\nOrigin: https://shop.example\r\nCookie: pl_vid="...)
	dst = append(dst, vid(v)...)
	dst = append(dst, "\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n\r\n"...)
	return append(dst, body...)
}

// readResponse reads one response with a Content-Length body and returns its status.
func readResponse(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length := 0
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(bytes.TrimSpace(k), []byte("Content-Length")) {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return 0, errors.New("bad Content-Length")
			}
		}
	}
	if _, err := br.Discard(length); err != nil {
		return 0, err
	}
	return status, nil
}
