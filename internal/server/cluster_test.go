package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/heatmap"
	"github.com/pathlight/pathlight/internal/replay"
	"github.com/pathlight/pathlight/internal/rules/rulestest"
	"github.com/pathlight/pathlight/internal/server"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// fakeFleet stands in for the cluster package: it forwards a visitor's hits to the server
// its owner function names, and reports the state the test sets.
type fakeFleet struct {
	mu     sync.Mutex
	owner  func(vid string) *server.Server // nil or a nil result: this node answers
	mint   string
	full   bool
	status server.ClusterStatus
	seen   []string // vids forwarded
	// caughtUp counts the calls of CatchUp.
	caughtUp int
}

func (f *fakeFleet) Forward(vid string, encode func() []byte) ([]byte, bool) {
	f.mu.Lock()
	owner := f.owner
	f.mu.Unlock()
	if owner == nil {
		return nil, false
	}
	s := owner(vid)
	if s == nil {
		return nil, false
	}
	f.mu.Lock()
	f.seen = append(f.seen, vid)
	f.mu.Unlock()
	return s.ServeForwarded(encode()), true
}
func (f *fakeFleet) MintVID() string              { return f.mint }
func (f *fakeFleet) CatchUp()                     { f.mu.Lock(); f.caughtUp++; f.mu.Unlock() }
func (f *fakeFleet) OutboxFull() bool             { f.mu.Lock(); defer f.mu.Unlock(); return f.full }
func (f *fakeFleet) Status() server.ClusterStatus { f.mu.Lock(); defer f.mu.Unlock(); return f.status }
func (f *fakeFleet) set(fn func(f *fakeFleet))    { f.mu.Lock(); defer f.mu.Unlock(); fn(f) }
func (f *fakeFleet) forwarded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}
func (q *queueingStore) WriteCommit(ops []track.Op, c track.Commit) (bool, error) {
	q.mu.Lock()
	queue, err := q.queue, q.err
	q.mu.Unlock()
	if err != nil {
		return false, err
	}
	return queue, q.Store.Write(ops)
}

// queueingStore is a store that says its commits are queued (as a cluster store does while
// the stream is out of reach), or refuses them with err.
type queueingStore struct {
	track.Store
	mu    sync.Mutex
	queue bool
	err   error
}

// startNode runs a server in cluster mode over fleet, on real Badger.
func startNode(t *testing.T, fleet server.Cluster, st func(track.Store) track.Store) *testServer {
	t.Helper()
	cfg, err := config.Load([]string{"--admin-token", token, "--sites", "shop=https://shop.example"}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.TempDir(), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	var s track.Store = trackstore.New(db)
	if st != nil {
		s = st(s)
	}
	tr := track.New(s, nil, rulestest.Example(t, "shop"), track.Config{Retention: cfg.Retention})
	srv := server.New(server.Options{Config: cfg, Tracker: tr, Cluster: fleet, Heatmaps: heatmap.New(trackstore.New(db), cfg.Retention),
		Replays: replay.New(trackstore.New(db), replay.Config{SessionCap: 1 << 20, DailyCap: 1 << 30})})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
		db.Close()
	})
	return &testServer{url: "http://" + ln.Addr().String(), tracker: tr, srv: srv, client: client}
}

const ownedVID = "0123456789abcdef0123456789abcdef"

// A hit reaching a node that does not own its visitor is answered by the owner: the owner
// stores it and its reply, cookie included, is the client's; the first node stores nothing.
func TestClusterHitIsForwardedToTheOwner(t *testing.T) {
	bFleet := &fakeFleet{}
	b := startNode(t, bFleet, nil)
	aFleet := &fakeFleet{owner: func(string) *server.Server { return b.srv }}
	a := startNode(t, aFleet, nil)

	r := a.do(t, "POST", "/v1/hit", `{"site":"shop","vid":"`+ownedVID+`","events":[{"id":"f1","type":"pageview","url":"https://shop.example/"}]}`,
		"Origin", "https://shop.example", "X-Forwarded-Proto", "https")
	if r.status != 200 {
		t.Fatalf("forwarded hit: %d %s", r.status, r.body)
	}
	hr := decode[hitReply](t, r.body)
	if hr.VID != ownedVID || len(hr.Accepted) != 1 {
		t.Fatalf("reply %s", r.body)
	}
	if len(r.cookies) != 1 || r.cookies[0].Value != ownedVID {
		t.Fatalf("cookies %v; want the owner's pl_vid", r.cookies)
	}
	if r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Fatalf("CORS header %q lost on the way back", r.header.Get("Access-Control-Allow-Origin"))
	}
	if got := aFleet.forwarded(); len(got) != 1 || got[0] != ownedVID {
		t.Fatalf("forwarded %v", got)
	}
	if st, err := b.tracker.Visitor(ownedVID); err != nil || st.Pageviews != 1 {
		t.Fatalf("owner's journey: %+v, %v; want 1 pageview", st, err)
	}
	if _, err := a.tracker.Visitor(ownedVID); err == nil {
		t.Fatal("the node that forwarded the hit stored it too")
	}
	// /v1/decide goes the same way.
	r = a.do(t, "GET", "/v1/decide?site=shop&vid="+ownedVID+"&slots=hero", "")
	if r.status != 200 || len(aFleet.forwarded()) != 2 {
		t.Fatalf("decide: %d %s, forwarded %v", r.status, r.body, aFleet.forwarded())
	}
	// A capture batch goes to the owner of its page (its path, without the query), and is
	// counted there only.
	var routed []string
	aFleet.set(func(f *fakeFleet) {
		f.owner = func(key string) *server.Server { routed = append(routed, key); return b.srv }
	})
	if r := a.do(t, "POST", "/v1/capture", captureBody("c1", ""), "Origin", "https://shop.example"); r.status != 204 {
		t.Fatalf("forwarded capture: %d %s", r.status, r.body)
	}
	if len(routed) != 1 || routed[0] != "heatmap\x00shop\x00/pricing" {
		t.Fatalf("capture routed by %q; want the site and the page's path", routed)
	}
	if got := metricValue(t, b.do(t, "GET", "/metrics", "").body, `pathlight_capture_batches_total{result="accepted"}`); got != 1 {
		t.Fatalf("the owner counted %v capture batches; want 1", got)
	}
	if strings.Contains(a.do(t, "GET", "/metrics", "").body, `pathlight_capture_batches_total{result="accepted"}`) {
		t.Fatal("the node that forwarded the capture batch counted it too")
	}
	// A replay chunk goes to the owner of its session.
	const session = "0f2c6a4e-7d1b-4c3e-9a55-2b8e1f0c9d77"
	routed = nil
	if r := a.do(t, "POST", "/v1/replay", replayChunk(ownedVID, session, 0, time.Now().UnixMilli(), "https://shop.example/", false), "Origin", "https://shop.example"); r.status != 204 {
		t.Fatalf("forwarded replay chunk: %d %s", r.status, r.body)
	}
	if len(routed) != 1 || routed[0] != "replay\x00shop\x00"+session {
		t.Fatalf("replay chunk routed by %q; want the site and the session", routed)
	}
	if got := metricValue(t, b.do(t, "GET", "/metrics", "").body, `pathlight_replay_chunks_total{result="accepted"}`); got != 1 {
		t.Fatalf("the owner took %v replay chunks; want 1", got)
	}
	// A snapshot-only chunk has no session: it goes to the owner of its page.
	routed = nil
	only := strings.Replace(replayChunk("", "unused-session", 0, time.Now().UnixMilli(), "https://shop.example/pricing?q=1", false), `"session":"unused-session",`, "", 1)
	only = strings.Replace(only, `"seq":0,`, `"snapshot":true,`, 1)
	if r := a.do(t, "POST", "/v1/replay", only, "Origin", "https://shop.example"); r.status != 204 {
		t.Fatalf("forwarded snapshot-only chunk: %d %s", r.status, r.body)
	}
	if len(routed) != 1 || routed[0] != "snapshot\x00shop\x00/pricing" {
		t.Fatalf("snapshot-only chunk routed by %q; want the site and the page's path", routed)
	}
	if got := metricValue(t, b.do(t, "GET", "/metrics", "").body, `pathlight_replay_chunks_total{result="snapshot"}`); got != 1 {
		t.Fatalf("the owner took %v snapshot-only chunks; want 1", got)
	}
	// A hit that identifies a user first catches up with the stream, where it is tracked.
	r = b.do(t, "POST", "/v1/hit", `{"site":"shop","vid":"`+ownedVID+`","events":[{"id":"i1","type":"identify","user_id":"u-1","url":"https://shop.example/"}]}`)
	bFleet.mu.Lock()
	caught := bFleet.caughtUp
	bFleet.mu.Unlock()
	if r.status != 200 || caught != 1 {
		t.Fatalf("identify: %d %s, caught up %d times; want once", r.status, r.body, caught)
	}
	// A new visitor gets the id the fleet mints, and is not forwarded.
	aFleet.set(func(f *fakeFleet) { f.owner, f.mint = nil, "fedcba9876543210fedcba9876543210" })
	r = a.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"n1","type":"pageview","url":"https://shop.example/"}]}`)
	if hr := decode[hitReply](t, r.body); hr.VID != "fedcba9876543210fedcba9876543210" {
		t.Fatalf("new visitor: %s; want the minted id", r.body)
	}
}

// Degraded mode over HTTP: a commit kept in the outbox is answered "queued": true, a full
// outbox refuses hits with 503 outbox_full, and /healthz and /metrics show the node's state.
func TestClusterQueuedOutboxFullAndHealth(t *testing.T) {
	fleet := &fakeFleet{status: server.ClusterStatus{Node: "n1", StreamConnected: false, ShardsOwned: 3, Shards: 8,
		OutboxEvents: 1, OutboxBytes: 100, OutboxAgeSeconds: 2.5, AppliedSeq: 7, StreamLastSeq: 9, Forwarded: 4}}
	var q *queueingStore
	n := startNode(t, fleet, func(st track.Store) track.Store { q = &queueingStore{Store: st, queue: true}; return q })
	hit := `{"site":"shop","vid":"` + ownedVID + `","events":[{"id":"q1","type":"pageview","url":"https://shop.example/"}]}`
	r := n.do(t, "POST", "/v1/hit", hit)
	var body map[string]any
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || r.status != 200 || body["queued"] != true {
		t.Fatalf("queued hit: %d %s; want \"queued\": true", r.status, r.body)
	}
	q.mu.Lock()
	q.queue = false
	q.mu.Unlock()
	r = n.do(t, "POST", "/v1/hit", strings.Replace(hit, "q1", "q2", 1))
	if strings.Contains(r.body, "queued") {
		t.Fatalf("a hit in the stream says queued: %s", r.body)
	}

	h := n.do(t, "GET", "/healthz", "")
	var health struct {
		Status  string
		Cluster map[string]any
	}
	if err := json.Unmarshal([]byte(h.body), &health); err != nil || h.status != 200 {
		t.Fatalf("healthz: %d %s", h.status, h.body)
	}
	c := health.Cluster
	if health.Status != "degraded" || c["node"] != "n1" || c["stream"] != "unreachable" || c["shards_owned"] != 3.0 ||
		c["shards"] != 8.0 || c["outbox_events"] != 1.0 || c["outbox_age_seconds"] != 2.5 || c["applied_seq"] != 7.0 || c["stream_last_seq"] != 9.0 {
		t.Fatalf("healthz %s", h.body)
	}
	m := n.do(t, "GET", "/metrics", "")
	for name, want := range map[string]float64{
		"pathlight_cluster_shards_owned": 3, "pathlight_cluster_stream_connected": 0, "pathlight_cluster_stream_lag_messages": 2,
		"pathlight_cluster_outbox_events": 1, "pathlight_cluster_outbox_bytes": 100, "pathlight_cluster_forwarded_hits_total": 4,
		"pathlight_cluster_forward_failures_total": 0, "pathlight_cluster_applied_messages_total": 0,
		"pathlight_cluster_outbox_age_seconds": 2.5, "pathlight_cluster_takeovers_total": 0, "pathlight_cluster_takeover_seconds": 0,
	} {
		if got := metricValue(t, m.body, name); got != want {
			t.Errorf("%s = %v; want %v", name, got, want)
		}
	}
	fleet.set(func(f *fakeFleet) { f.status = server.ClusterStatus{Node: "n1", StreamConnected: true} })
	if h := n.do(t, "GET", "/healthz", ""); !strings.Contains(h.body, `"status":"ok"`) {
		t.Fatalf("healthz with the stream back and the outbox empty: %s", h.body)
	}

	fleet.set(func(f *fakeFleet) { f.full = true })
	r = n.do(t, "POST", "/v1/hit", strings.Replace(hit, "q1", "q3", 1))
	if r.status != 503 || !strings.Contains(r.header.Get("X-Pathlight-Reason"), "outbox_full") {
		t.Fatalf("hit with the outbox full: %d %s", r.status, r.body)
	}
	fleet.set(func(f *fakeFleet) { f.full = false })
	q.mu.Lock()
	q.err = track.ErrQueueFull
	q.mu.Unlock()
	r = n.do(t, "POST", "/v1/hit", strings.Replace(hit, "q1", "q4", 1))
	if r.status != 503 || !strings.Contains(r.header.Get("X-Pathlight-Reason"), "outbox_full") {
		t.Fatalf("hit refused by a full outbox: %d %s", r.status, r.body)
	}
}
