package main

// The NATS side of the cluster test: Debian's nats-server run as real processes on
// 127.0.0.1, three of them with JetStream and routes between them.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// natsServerBinary is where Debian's nats-server package installs the server.
const natsServerBinary = "/usr/sbin/nats-server"

// natsBinary returns the nats-server to run: the Debian one, or one on PATH. Without either
// the test is skipped, unless PATHLIGHT_REQUIRE_NATS is set (as CI sets it), when it fails.
func natsBinary(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(natsServerBinary); err == nil {
		return natsServerBinary
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	msg := "nats-server is not installed: install the Debian package nats-server (apt-get install nats-server) to run the cluster test"
	if os.Getenv("PATHLIGHT_REQUIRE_NATS") != "" {
		t.Fatal(msg + " (PATHLIGHT_REQUIRE_NATS is set)")
	}
	t.Skip(msg)
	return ""
}

// freePorts returns n distinct TCP ports of 127.0.0.1 that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	lns := make([]net.Listener, n)
	ports := make([]int, n)
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i] = ln
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return ports
}

// natsServer is one nats-server of the test's cluster. Its ports and store directory stay
// the same across restarts, as a real server's would.
type natsServer struct {
	name    string
	conf    string // its configuration file
	logPath string
	port    int // clients
	monitor int // HTTP monitoring (/healthz, /jsz)
	cmd     *exec.Cmd
	done    chan struct{}
	bin     string
}

// natsCluster is the test's NATS cluster.
type natsCluster struct {
	servers []*natsServer
}

// startNATSCluster writes the configuration of n nats-servers with JetStream, each with its
// own store directory and routes to the others, starts them and waits until JetStream has
// a meta leader.
func startNATSCluster(t *testing.T, n int) *natsCluster {
	t.Helper()
	bin := natsBinary(t)
	dir := t.TempDir()
	ports := freePorts(t, 3*n)
	c := &natsCluster{}
	for i := range n {
		s := &natsServer{
			name: fmt.Sprintf("nats-%d", i+1), bin: bin,
			port: ports[3*i], monitor: ports[3*i+2],
			conf:    filepath.Join(dir, fmt.Sprintf("nats-%d.conf", i+1)),
			logPath: filepath.Join(dir, fmt.Sprintf("nats-%d.log", i+1)),
		}
		var routes []string
		for j := range n {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3*j+1]))
			}
		}
		conf := fmt.Sprintf(`server_name: %s
host: 127.0.0.1
port: %d
http: "127.0.0.1:%d"
jetstream {
  store_dir: %q
  max_memory_store: 64MB
  max_file_store: 1GB
}
cluster {
  name: pathlight-test
  host: 127.0.0.1
  port: %d
  routes: [%s]
}
`, s.name, s.port, s.monitor, filepath.Join(dir, s.name+"-store"), ports[3*i+1], strings.Join(routes, ", "))
		if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		c.servers = append(c.servers, s)
	}
	t.Cleanup(func() {
		for _, s := range c.servers {
			s.signal(syscall.SIGKILL)
		}
		if t.Failed() {
			for _, s := range c.servers {
				t.Logf("%s log (end):\n%s", s.name, tail(s.logPath, 3000))
			}
		}
	})
	for _, s := range c.servers {
		s.start(t)
	}
	c.waitReady(t, 30*time.Second)
	return c
}

// urls is the --cluster value that names every server.
func (c *natsCluster) urls() string {
	var u []string
	for _, s := range c.servers {
		u = append(u, fmt.Sprintf("nats://127.0.0.1:%d", s.port))
	}
	return strings.Join(u, ",")
}

// start runs the server; its output goes to its log file, appended across restarts.
func (s *natsServer) start(t *testing.T) {
	t.Helper()
	if err := s.run(); err != nil {
		t.Fatal(err)
	}
}

// run starts the server process; it may be called from any goroutine.
func (s *natsServer) run() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, "-c", s.conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		_ = logf.Close()
		close(done)
	}(s.done)
	return nil
}

// signal sends sig to a running server and waits up to 10 s for it to exit.
func (s *natsServer) signal(sig syscall.Signal) bool {
	if s.cmd == nil {
		return true
	}
	select {
	case <-s.done:
		return true
	default:
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// stop ends the server with sig and fails the test if it does not exit.
func (s *natsServer) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if !s.signal(sig) {
		t.Fatalf("%s still running 10s after %v", s.name, sig)
	}
}

// jsz is the part of nats-server's /jsz this test reads.
type jsz struct {
	Meta *struct {
		Leader string `json:"leader"`
	} `json:"meta_cluster"`
}

// waitReady waits until every running server answers /healthz and sees a JetStream meta
// leader.
func (c *natsCluster) waitReady(t *testing.T, d time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(d)
	for _, s := range c.servers {
		select {
		case <-s.done:
			continue // stopped on purpose
		default:
		}
		for {
			ok := false
			if resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/jsz", s.monitor)); err == nil {
				var j jsz
				if json.NewDecoder(resp.Body).Decode(&j) == nil && j.Meta != nil && j.Meta.Leader != "" {
					ok = true
				}
				resp.Body.Close()
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: JetStream has no meta leader within %s\n%s", s.name, d, tail(s.logPath, 3000))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// tail returns the last n bytes of a file, for failure messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
