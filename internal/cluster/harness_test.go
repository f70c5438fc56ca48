package cluster

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// natsBinary finds nats-server: the test runs real servers. Without it the tests are
// skipped, unless PATHLIGHT_REQUIRE_NATS is set (CI), where its absence fails them.
func natsBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("NATS_SERVER"), "/usr/sbin/nats-server", "/usr/bin/nats-server"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	if os.Getenv("PATHLIGHT_REQUIRE_NATS") != "" {
		t.Fatal("nats-server is not installed and PATHLIGHT_REQUIRE_NATS is set: install the Debian package nats-server")
	}
	t.Skip("nats-server is not installed: install the Debian package nats-server to run the cluster tests")
	return ""
}

// natsServer is one nats-server process with JetStream on 127.0.0.1.
type natsServer struct {
	t     *testing.T
	bin   string
	dir   string
	port  int
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited
	extra []string      // cluster flags
}

// lockedBuffer is a process's output, written by exec's copying goroutine and read by the
// test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNATS starts one server with JetStream in a temporary directory, on another port
// when the one it was given was taken meanwhile (freePort's port is free only until
// another process binds it: the other test packages run beside this one).
func startNATS(t *testing.T) *natsServer {
	s := &natsServer{t: t, bin: natsBinary(t), dir: t.TempDir()}
	onFreePorts(t, func() error {
		s.port = freePort(t)
		return s.tryStart()
	})
	t.Cleanup(s.stop)
	return s
}

// onFreePorts calls start, which picks its ports with freePort, up to three times while it
// fails because a port it picked was taken meanwhile; any other failure ends the test.
func onFreePorts(t *testing.T, start func() error) {
	t.Helper()
	for try := 1; ; try++ {
		err := start()
		if err == nil {
			return
		}
		if try == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
}

func (s *natsServer) url() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

// start starts the server (again, after stop, on the same port and directory) and waits
// until it listens.
func (s *natsServer) start() {
	s.t.Helper()
	if err := s.tryStart(); err != nil {
		s.t.Fatal(err)
	}
}

// tryStart starts the server and waits until it listens; its error holds the server's
// output when the server exits first, or does not listen within 30 s.
func (s *natsServer) tryStart() error {
	var out lockedBuffer
	s.cmd = exec.Command(s.bin, append([]string{"-a", "127.0.0.1", "-p", strconv.Itoa(s.port), "-js", "-sd", s.dir}, s.extra...)...)
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	s.done = done
	go func(cmd *exec.Cmd) {
		_ = cmd.Wait()
		close(done)
	}(s.cmd)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("nats-server exited before it listened on port %d:\n%s", s.port, out.String())
		default:
		}
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port)); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.stop()
	return fmt.Errorf("nats-server did not listen on port %d within 30 s:\n%s", s.port, out.String())
}

func (s *natsServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
		s.cmd = nil
	}
}

// recorder is a track.Watcher that remembers the event records it heard.
type recorder struct {
	mu     sync.Mutex
	events int
	states map[string]int
}

func (r *recorder) StateChanged(vid []byte, deleted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.states == nil {
		r.states = map[string]int{}
	}
	r.states[string(vid)]++
}
func (r *recorder) EventLogged(key, rec []byte, imported bool) {
	r.mu.Lock()
	r.events++
	r.mu.Unlock()
}
func (r *recorder) EventDeleted(key []byte) {}

func (r *recorder) eventCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events
}

// testNode is one Pathlight node: a real store in a temporary directory, a tracker and
// its cluster membership.
type testNode struct {
	name    string
	dir     string
	db      *store.DB
	feed    *recorder
	node    *Node
	tracker *track.Tracker
}

func nodeOptions(name string, urls ...string) Options {
	return Options{URLs: urls, Node: name, Replicas: 1, Shards: 8, Wait: time.Second, Outbox: 1 << 20, Lease: time.Second}
}

func startNode(t *testing.T, dir string, opt Options) *testNode {
	t.Helper()
	n, err := tryStartNode(t, dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// tryStartNode is startNode returning the error of Start.
func tryStartNode(t *testing.T, dir string, opt Options) (*testNode, error) {
	t.Helper()
	db, err := store.Open(dir, store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	n := &testNode{name: opt.Node, dir: dir, db: db, feed: &recorder{}}
	opt.Local = track.Watch(trackstore.New(db), n.feed)
	n.node, err = Start(opt)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	n.tracker = track.New(n.node.Store(), nil, nil, track.Config{Salts: n.node})
	n.node.SetTracker(n.tracker)
	if err := n.node.Run(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.close)
	return n, nil
}

func (n *testNode) close() {
	if n.node != nil {
		_ = n.node.Close()
		n.node = nil
	}
	if n.db != nil {
		_ = n.db.Close()
		n.db = nil
	}
}

// hit tracks one pageview of vid ("" for a new visitor) and returns the result.
func (n *testNode) hit(t *testing.T, vid, id string) *track.Result {
	t.Helper()
	res := &track.Result{}
	req := hitRequest(vid, id)
	if vid == "" {
		req.NewVID = n.node.MintVID()
	}
	if err := n.tracker.Track(req, res); err != nil {
		t.Fatalf("%s: track %s: %v", n.name, id, err)
	}
	return res
}

func hitRequest(vid, id string) *track.Request {
	b := &event.Batch{Site: "shop", VID: vid, Events: []event.Event{{ID: id, Type: event.TypePageview, URL: "https://shop.example/p/" + id}}}
	return &track.Request{Batch: b, UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", IP: netip.MustParseAddr("192.0.2.1"), Decisions: true}
}

// pageviews returns the number of pageviews in vid's journey as n's store holds it.
func (n *testNode) pageviews(t *testing.T, vid string) int {
	t.Helper()
	st, err := n.tracker.Visitor(vid)
	if err != nil {
		return 0
	}
	return int(st.Pageviews)
}

// waitFor polls cond every 20ms for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startPair starts a NATS server and two nodes on it, a and b, and waits until they own
// every shard between them.
func startPair(t *testing.T) (ns *natsServer, a, b *testNode) {
	t.Helper()
	ns = startNATS(t)
	a = startNode(t, t.TempDir(), nodeOptions("a", ns.url()))
	b = startNode(t, t.TempDir(), nodeOptions("b", ns.url()))
	waitOwned(t, a, b)
	return ns, a, b
}

// waitOwned waits until the nodes own every shard between them.
func waitOwned(t *testing.T, nodes ...*testNode) {
	t.Helper()
	waitFor(t, 15*time.Second, "every shard owned, each node its share", func() bool {
		total, fair := 0, nodes[0].node.opt.Shards/len(nodes)
		for _, n := range nodes {
			owned := n.node.Status().ShardsOwned
			if owned < fair {
				return false
			}
			total += owned
		}
		return total == nodes[0].node.opt.Shards
	})
}

// startNATSCluster starts three servers with JetStream joined in one cluster by routes,
// on other ports when one of those it chose was taken meanwhile (see startNATS).
func startNATSCluster(t *testing.T) []*natsServer {
	bin := natsBinary(t)
	var servers []*natsServer
	onFreePorts(t, func() error {
		servers = nil
		var urls []string
		for range 3 {
			urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)))
		}
		for i := range urls {
			servers = append(servers, &natsServer{t: t, bin: bin, dir: t.TempDir(), port: freePort(t),
				extra: []string{"-n", fmt.Sprintf("n%d", i), "--cluster_name", "pl", "--cluster", urls[i], "--routes", strings.Join(urls, ",")}})
		}
		for _, s := range servers {
			if err := s.tryStart(); err != nil {
				for _, s := range servers {
					s.stop()
				}
				return err
			}
		}
		return nil
	})
	for _, s := range servers {
		t.Cleanup(s.stop)
	}
	return servers
}
