package main

// These tests run the real pathlight binary: built once by TestMain, started on 127.0.0.1
// with a temporary data directory, fed with hits, killed or stopped, and started again.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the pathlight binary the tests run, built once on first use.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		_ = os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// pathlightBinary builds the binary from this package's directory, once for the test run.
func pathlightBinary(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH: cannot build the binary")
	}
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "pathlight-bin-"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "pathlight")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

const (
	crashToken = "crash-test-admin-token-0123456789"
	crashUA    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)

// crashRulesDir is the repository's example rules directory.
func crashRulesDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "rules"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serverProc is a running `pathlight serve`.
type serverProc struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // Wait's result, set before done closes
	pprof  string        // the profiles' base URL, with --pprof-addr
}

// startServe runs `pathlight serve` on a free 127.0.0.1 port over dataDir, with extra flags
// after the test's own, and waits until /healthz answers. The process is killed at the end of
// the test if it is still running.
func startServe(t *testing.T, dataDir string, extra ...string) *serverProc {
	t.Helper()
	return startServeWith(t, dataDir, crashRulesDir(t), nil, extra...)
}

// startServeWith is startServe with another rules directory and extra environment.
func startServeWith(t *testing.T, dataDir, rulesDir string, env []string, extra ...string) *serverProc {
	t.Helper()
	args := append([]string{"serve",
		"--addr", "127.0.0.1:0", "--data", dataDir, "--rules", rulesDir,
		"--admin-token", crashToken, "--log-level", "warn",
		"--rate-ip", "1e9", "--burst-ip", "1000000000",
		"--rate-visitor", "1e9", "--burst-visitor", "1000000000",
		"--max-conns-per-ip", "100000"}, extra...)
	cmd := exec.Command(pathlightBinary(t), args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	p := &serverProc{cmd: cmd, stderr: new(syncBuffer), done: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pathlight serve: %v", err)
	}
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("pathlight serve stderr:\n%s", p.stderr.String())
		}
	})

	// The server prints the address it listens on; the rest of its output is drained.
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "Profiles (pprof): "); ok {
				p.pprof = rest // printed before the address, so set before it is sent
			}
			if rest, ok := strings.CutPrefix(sc.Text(), "Pathlight is listening on "); ok {
				addr, _, _ := strings.Cut(rest, " ")
				select {
				case addrc <- addr:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case p.url = <-addrc:
	case <-p.done:
		t.Fatalf("pathlight serve exited at start: %v\n%s", p.err, p.stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("pathlight serve printed no address within 30s\n%s", p.stderr.String())
	}

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(p.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /healthz did not answer 200 within 30s (last error %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wait waits up to d for the process to exit and returns its exit code.
func (p *serverProc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("pathlight serve still running %s after the signal", d)
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("wait for pathlight serve: %v", p.err)
	return -1
}

// hitStream sends hits from several goroutines, each with its own keep-alive connection,
// and records every event id the server acknowledged in a 200 reply.
type hitStream struct {
	mu       sync.Mutex
	accepted map[string]bool
	sent     int
	stop     chan struct{}
	wg       sync.WaitGroup
}

// streamHits starts writers goroutines sending batches of 1 to 5 events to p until stop is
// closed or their server goes away. Event ids start with prefix.
func streamHits(p *serverProc, writers int, prefix string) *hitStream {
	hs := &hitStream{accepted: map[string]bool{}, stop: make(chan struct{})}
	for w := range writers {
		hs.wg.Go(func() {
			client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			vid := fmt.Sprintf("%032x", w+1)
			for seq := 0; ; seq++ {
				select {
				case <-hs.stop:
					return
				default:
				}
				n := 1 + seq%5
				ids := make([]string, n)
				var body strings.Builder
				fmt.Fprintf(&body, `{"site":"demo","vid":%q,"events":[`, vid)
				for i := range ids {
					ids[i] = fmt.Sprintf("%s%d-%d-%d", prefix, w, seq, i)
					if i > 0 {
						body.WriteByte(',')
					}
					if i%2 == 0 {
						fmt.Fprintf(&body, `{"id":%q,"type":"pageview","url":"https://shop.example/p/%d?utm_source=newsletter&utm_medium=email","title":"x"}`, ids[i], seq%7)
					} else {
						fmt.Fprintf(&body, `{"id":%q,"type":"event","name":"add_to_cart","url":"https://shop.example/p/1","props":{"sku":"TJ-42","value":30}}`, ids[i])
					}
				}
				body.WriteString(`],"slots":["hero"]}`)
				acked, err := postHit(client, p.url, body.String())
				if err != nil {
					return // the server is gone: the stream ends
				}
				hs.mu.Lock()
				hs.sent += n
				for _, id := range acked {
					hs.accepted[id] = true
				}
				hs.mu.Unlock()
			}
		})
	}
	return hs
}

// end stops the writers and waits for them; each is bounded by its client's timeout.
func (hs *hitStream) end() map[string]bool {
	close(hs.stop)
	hs.wg.Wait()
	return hs.accepted
}

// postHit sends one hit and returns the ids of a 200 reply's accepted list.
func postHit(client *http.Client, url, body string) ([]string, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/hit", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", crashUA)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST /v1/hit = %d %s", resp.StatusCode, b)
	}
	var reply struct {
		Accepted []string `json:"accepted"`
	}
	if err := json.Unmarshal(b, &reply); err != nil {
		return nil, fmt.Errorf("POST /v1/hit reply %q: %w", b, err)
	}
	return reply.Accepted, nil
}

// exportIDs reads the whole event log through GET /api/v1/events and counts each event id
// that starts with prefix.
func exportIDs(t *testing.T, p *serverProc, prefix string) map[string]int {
	t.Helper()
	to := time.Now().Add(time.Hour).UnixMilli()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/events?from=0&to=%d", p.url, to), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+crashToken)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET /api/v1/events: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /api/v1/events = %d %s; want 200", resp.StatusCode, b)
	}
	ids := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var rec struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		if strings.HasPrefix(rec.ID, prefix) {
			ids[rec.ID]++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read the export: %v", err)
	}
	return ids
}

// checkAcknowledged fails the test for every acknowledged id missing from the export and
// every exported id that appears more than once.
func checkAcknowledged(t *testing.T, accepted map[string]bool, exported map[string]int) {
	t.Helper()
	missing := 0
	for id := range accepted {
		if exported[id] == 0 {
			if missing < 10 {
				t.Errorf("acknowledged event %q is missing after the restart", id)
			}
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged events are missing after the restart", missing, len(accepted))
	}
	for id, n := range exported {
		if n != 1 {
			t.Errorf("event %q is stored %d times; want once", id, n)
		}
	}
}

// TestCrashKeepsAcknowledgedHits kills the server with SIGKILL while hits stream in and
// checks that every hit it acknowledged is in its event log after a restart.
func TestCrashKeepsAcknowledgedHits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped in -short mode")
	}
	data := filepath.Join(t.TempDir(), "data")
	p := startServe(t, data)
	hs := streamHits(p, 8, "k")
	time.Sleep(time.Second)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	if code := p.wait(t, 10*time.Second); code != -1 {
		t.Errorf("exit code after SIGKILL = %d; want -1 (killed by a signal)", code)
	}
	accepted := hs.end()
	if len(accepted) == 0 {
		t.Fatal("the server acknowledged no event before it was killed")
	}
	t.Logf("%d events acknowledged of %d sent before SIGKILL", len(accepted), hs.sent)

	p2 := startServe(t, data)
	checkAcknowledged(t, accepted, exportIDs(t, p2, "k"))
}

// metricValue reads one number of the server's /metrics.
func metricValue(t *testing.T, p *serverProc, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(metric(t, p.url, name), 64)
	if err != nil {
		t.Fatalf("/metrics %s: %v", name, err)
	}
	return v
}

// TestCrashDuringApplyAndRotation kills the server three times over the same data directory,
// each time while hits stream in, the background apply has writes waiting (the backlog is
// not empty and writes were applied before) and log segments (64 KiB here) are being
// filled, rotated and recycled (the kill comes while a recycled segment takes writes); after
// the last restart every acknowledged event of every round is in the event log, once.
func TestCrashDuringApplyAndRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped in -short mode")
	}
	data := filepath.Join(t.TempDir(), "data")
	accepted := map[string]bool{}
	for round := range 3 {
		p := startServe(t, data, "--wal-segment-size", "65536")
		hs := streamHits(p, 8, fmt.Sprintf("c%d.", round))
		// Kill when segments have been rotated and retired, a recycled one takes writes, and
		// the applier has both applied writes and writes still waiting.
		deadline := time.Now().Add(20 * time.Second)
		for {
			if metricValue(t, p, "pathlight_wal_segments_removed_total") >= 2 &&
				metricValue(t, p, "pathlight_store_applied_writes_total") > 0 &&
				metricValue(t, p, "pathlight_store_backlog_bytes") > 0 && recycledSegment(t, data) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no rotation with a backlog within 20s", round)
			}
			time.Sleep(time.Millisecond)
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("SIGKILL: %v", err)
		}
		p.wait(t, 10*time.Second)
		got := hs.end()
		if len(got) == 0 {
			t.Fatalf("round %d: no event acknowledged", round)
		}
		for id := range got {
			accepted[id] = true
		}
		t.Logf("round %d: %d events acknowledged of %d sent before SIGKILL", round, len(got), hs.sent)
	}
	p := startServe(t, data, "--wal-segment-size", "65536")
	checkAcknowledged(t, accepted, exportIDs(t, p, "c"))
}

// recycledMarker is the end marker that follows the last record in a recycled segment of the
// write-ahead log: a zero length and the checksum field 0x52435943 (internal/store/wal.go).
var recycledMarker = []byte{0, 0, 0, 0, 0x43, 0x59, 0x43, 0x52}

// recycledSegment reports whether a segment of the write-ahead log under data is a recycled
// one.
func recycledSegment(t *testing.T, data string) bool {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(data, "badger", "wal", "*.wal"))
	for _, sg := range segs {
		if b, err := os.ReadFile(sg); err == nil && bytes.Contains(b, recycledMarker) {
			return true
		}
	}
	return false
}

// TestGracefulShutdown sends SIGTERM while hits are in flight: the server must finish them,
// exit 0 within 10 seconds, and keep every hit it acknowledged.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped in -short mode")
	}
	data := filepath.Join(t.TempDir(), "data")
	p := startServe(t, data)
	hs := streamHits(p, 8, "g")
	time.Sleep(500 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if code := p.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d; want 0\n%s", code, p.stderr.String())
	}
	accepted := hs.end()
	if len(accepted) == 0 {
		t.Fatal("the server acknowledged no event before it stopped")
	}
	t.Logf("%d events acknowledged of %d sent before SIGTERM", len(accepted), hs.sent)

	p2 := startServe(t, data)
	checkAcknowledged(t, accepted, exportIDs(t, p2, "g"))
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if code := p2.wait(t, 10*time.Second); code != 0 {
		t.Errorf("exit code of the idle server after SIGTERM = %d; want 0", code)
	}
}

// runBinary runs the binary with args, bounded in time, and returns its exit code and output.
func runBinary(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pathlightBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ctx.Err() == nil:
		code = ee.ExitCode()
	default:
		t.Fatalf("pathlight %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errb.String()
}

func TestServeHelpAndBadConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped in -short mode")
	}
	code, out, errOut := runBinary(t, "serve", "--help")
	if code != 0 {
		t.Fatalf("pathlight serve --help exited %d; want 0\n%s", code, errOut)
	}
	for _, f := range []string{"--addr", "--data", "--rules", "--admin-token", "--geoip", "--sites",
		"--trusted-proxies", "--identity", "--retention", "--config", "PATHLIGHT_ADDR", "PATHLIGHT_SITES"} {
		if !strings.Contains(out, f) {
			t.Errorf("pathlight serve --help does not mention %s:\n%s", f, out)
		}
	}
	if code, out, _ := runBinary(t, "--help"); code != 0 || !strings.Contains(out, "serve") {
		t.Errorf("pathlight --help = %d %q; want 0 and the commands", code, out)
	}

	data := filepath.Join(t.TempDir(), "data")
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"--identity", "sometimes"}, "--identity"},
		{[]string{"--retention", "forever"}, "--retention"},
		{[]string{"--rate-ip", "fast"}, "--rate-ip"},
		{[]string{"--addr", "no-port"}, "--addr"},
		{[]string{"--sites", "=https://shop.example"}, "--sites"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
	}
	for _, tt := range tests {
		args := append([]string{"serve", "--data", data}, tt.args...)
		code, _, errOut := runBinary(t, args...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("pathlight %s = exit %d, stderr %q; want exit 2 and a message naming %s",
				strings.Join(args, " "), code, errOut, tt.want)
		}
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a bad configuration created the data directory (stat: %v); want nothing written", err)
	}

	code, out, errOut = runBinary(t, "rules", "check", crashRulesDir(t))
	if code != 0 && strings.Contains(errOut, "unknown command") {
		t.Skip("pathlight rules check is not implemented yet")
	}
	if code != 0 {
		t.Errorf("pathlight rules check <repo>/rules exited %d; want 0\n%s%s", code, out, errOut)
	}
}
