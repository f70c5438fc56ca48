package main

// TestClusterMatchesSingleServer is the acceptance test of cluster mode: three nats-servers
// with JetStream, three Pathlight nodes and one single server without --cluster, all real
// processes on 127.0.0.1, fed the same scripted hits.

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// clusterVisitors is the number of visitors of the script.
const clusterVisitors = 1000

// journeySkip is what legitimately differs between the journey of a visitor on the fleet and
// on the single server. Every scripted event carries its own time (see scriptHit), so the
// journey's times are the events' and must be equal; only an experiment's exposure time is
// the server's clock when the decision was made, which is a different millisecond on two
// servers.
var journeySkip = skipSet{".experiments.*.at"}

// decisionSkip is what legitimately differs between two servers' decisions for one hit: only
// whether the server asks the visitor for the page's DOM snapshot, since each server keeps
// its asks in memory and asks once per page and band for itself.
var decisionSkip = skipSet{".capture.snapshot"}

func TestClusterMatchesSingleServer(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three nats-servers and four pathlight servers; skipped in -short mode")
	}
	nc := startNATSCluster(t, 3)
	root := t.TempDir()
	names := []string{"pl-1", "pl-2", "pl-3"}
	dirs := make([]string, len(names))
	fl := &fleet{nodes: make([]*serverProc, len(names)), rng: rand.New(rand.NewPCG(13, 7))}
	for i, name := range names {
		dirs[i] = filepath.Join(root, name)
		fl.nodes[i] = startClusterNode(t, nc, name, dirs[i])
	}
	single := startServe(t, filepath.Join(root, "single"))
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	waitConverged(t, client, fl.up(), 30*time.Second)
	checkClusterSurface(t, client, fl.nodes[0])

	tr := &traffic{fleet: fl, single: single, workers: 16, client: client,
		base: time.Now().Add(-6 * time.Hour).UnixMilli()}
	check := func(what string) {
		t.Helper()
		if len(tr.errs) > 0 {
			t.Fatalf("%s: %d hits failed:\n%s", what, len(tr.errs), strings.Join(tr.errs, "\n"))
		}
	}
	start := time.Now()
	tr.round(0, 0, clusterVisitors, 0, nil, time.Time{})
	tr.round(1, 0, clusterVisitors, 0, nil, time.Time{})
	check("rounds 0 and 1")
	t.Logf("rounds 0 and 1: %d hits in %s", 2*clusterVisitors, time.Since(start).Round(time.Millisecond))

	// A Pathlight node dies with its disk while hits arrive; its shards move to the others.
	phase := time.Now()
	var killed time.Time
	tr.round(2, 0, clusterVisitors, clusterVisitors/3, func() {
		p := fl.nodes[2]
		fl.set(2, nil)
		killed = time.Now()
		if err := kill(p); err != nil {
			tr.fail("SIGKILL %s: %v", names[2], err)
		}
		if err := os.RemoveAll(dirs[2]); err != nil {
			tr.fail("remove the data of %s: %v", names[2], err)
		}
	}, time.Time{})
	// The dead node's visitors' next hits reach the survivors.
	tr.round(3, 0, clusterVisitors, 0, nil, time.Time{})
	check("rounds 2 and 3, with a node killed")
	t.Logf("rounds 2 and 3 (a node killed): %s", time.Since(phase).Round(time.Millisecond))
	phase = time.Now()
	hs := waitConverged(t, client, fl.up(), 30*time.Second)
	t.Logf("converged %s later", time.Since(phase).Round(time.Millisecond))
	t.Logf("%s killed %s ago; the survivors own %d and %d shards", names[2], time.Since(killed).Round(time.Millisecond),
		hs[0].Cluster.ShardsOwned, hs[1].Cluster.ShardsOwned)
	if n := metricSum(t, fl.up(), "pathlight_cluster_takeovers_total"); n == 0 {
		t.Error("pathlight_cluster_takeovers_total is 0 on the survivors after a node died")
	}
	compareJourneys(t, client, fl.up(), single, tr, clusterVisitors)
	checkExports(t, fl.up(), single, tr)

	// The node comes back with an empty disk and rebuilds its replica from the stream.
	dirs[2] = filepath.Join(root, names[2]+"-fresh")
	fl.set(2, startClusterNode(t, nc, names[2], dirs[2]))

	// A NATS server dies while hits arrive; it comes back at the end of the round.
	phase = time.Now()
	tr.round(4, 0, clusterVisitors, clusterVisitors/3, func() {
		if !nc.servers[1].signal(syscall.SIGKILL) {
			tr.fail("%s still running 10s after SIGKILL", nc.servers[1].name)
		}
	}, time.Time{})
	check("round 4, with a NATS server killed")
	t.Logf("round 4 (a NATS server killed): %s", time.Since(phase).Round(time.Millisecond))
	phase = time.Now()
	nc.servers[1].start(t)
	nc.waitReady(t, 30*time.Second)
	t.Logf("the NATS server restarted and ready in %s", time.Since(phase).Round(time.Millisecond))

	// Every NATS server stops for a few seconds: hits are answered from local state and
	// queued; the outboxes drain once the servers are back, while hits go on. Half of the
	// visitors send their hit during the outage, spread over it; the others while the
	// outboxes drain.
	for _, n := range fl.up() {
		if h, err := readHealth(client, n.url); err == nil {
			t.Logf("before the outage: %s applied %d of %d, owns %d shards, outbox %d", h.Cluster.Node, h.Cluster.AppliedSeq,
				h.Cluster.StreamLastSeq, h.Cluster.ShardsOwned, h.Cluster.OutboxEvents)
		}
	}
	for _, s := range nc.servers {
		s.stop(t, syscall.SIGTERM)
	}
	tr.outage.Store(true)
	outageStart := time.Now()
	tr.pace = 3 * time.Second / (clusterVisitors / 2)
	next := tr.round(5, 0, clusterVisitors/2, 0, nil, outageStart.Add(4*time.Second))
	tr.pace = 0
	check("round 5 with every NATS server stopped")
	degraded := 0
	for _, n := range fl.up() {
		h, err := readHealth(client, n.url)
		if err != nil {
			t.Fatalf("/healthz while NATS is down: %v", err)
		}
		if h.Status == "degraded" && h.Cluster.Stream == "unreachable" && h.Cluster.OutboxEvents > 0 {
			degraded++
		}
	}
	tr.outage.Store(false)
	for _, s := range nc.servers {
		s.start(t)
	}
	t.Logf("NATS down for %s: %d hits sent; %d of %d nodes said degraded with a backlog", time.Since(outageStart).Round(time.Millisecond),
		next, degraded, len(fl.up()))
	if degraded == 0 {
		t.Error("no node's /healthz said degraded, stream unreachable, with events in its outbox while every NATS server was down")
	}
	phase = time.Now()
	tr.round(5, next, clusterVisitors, 0, nil, time.Time{})
	check("round 5 after NATS came back")
	t.Logf("round 5 after NATS came back: %d hits in %s", clusterVisitors-next, time.Since(phase).Round(time.Millisecond))
	nc.waitReady(t, 30*time.Second)
	waitConverged(t, client, fl.up(), 60*time.Second)
	t.Logf("the outboxes drained and the fleet converged %s after NATS came back", time.Since(phase).Round(time.Millisecond))

	phase = time.Now()
	tr.round(6, 0, clusterVisitors, 0, nil, time.Time{})
	check("round 6")
	waitConverged(t, client, fl.up(), 30*time.Second)
	t.Logf("round 6 and convergence: %s", time.Since(phase).Round(time.Millisecond))
	t.Logf("%d hits to the fleet and to the single server in %s", len(tr.results), time.Since(start).Round(time.Millisecond))

	if len(tr.results) != clusterRounds*clusterVisitors {
		t.Fatalf("%d hits answered by the fleet and the single server; want %d", len(tr.results), clusterRounds*clusterVisitors)
	}
	checkReplies(t, tr.results)
	nodes := fl.up()
	if len(nodes) != len(names) {
		t.Fatalf("%d nodes up at the end; want %d", len(nodes), len(names))
	}
	compareJourneys(t, client, nodes, single, tr, clusterVisitors)
	checkExports(t, nodes, single, tr)
	day := func(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02") }
	compareReports(t, client, nodes, names, single,
		reportPaths(day(tr.base-86400_000), day(time.Now().Add(48*time.Hour).UnixMilli())), clusterVisitors, 30*time.Second)
	if n := metricSum(t, nodes, "pathlight_cluster_forwarded_hits_total"); n == 0 {
		t.Error("pathlight_cluster_forwarded_hits_total is 0 on every node after hits sent to random nodes")
	}
	checkEraseEverywhere(t, client, nodes, scriptVID(7))
}

// checkEraseEverywhere erases vid on the first node and waits up to 10 s for every node to
// answer 404 for it.
func checkEraseEverywhere(t *testing.T, client *http.Client, nodes []*serverProc, vid string) {
	t.Helper()
	path := "/api/v1/visitors/" + vid
	for _, n := range nodes {
		if _, err := adminJSON(client, n.url, path); err != nil {
			t.Fatalf("before the erase: %s: %v", n.url, err)
		}
	}
	if code, body := adminDo(t, http.MethodDelete, nodes[0].url, path); code != http.StatusOK {
		t.Fatalf("DELETE %s = %d %s", path, code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range nodes {
		for {
			code, body := adminDo(t, http.MethodGet, n.url, path)
			if code == http.StatusNotFound {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: GET %s = %d %s 10s after the erase on %s; want 404", n.url, path, code, body, nodes[0].url)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// acknowledged returns the ids of every event the fleet accepted in a 200 reply.
func (tr *traffic) acknowledged() map[string]bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	ids := map[string]bool{}
	for _, r := range tr.results {
		for _, id := range r.fleet.Accepted {
			ids[id] = true
		}
	}
	return ids
}

// checkReplies compares each hit's reply from the fleet with the single server's: the same
// events accepted (or, for a hit sent again after a node vanished, accepted or duplicate),
// and the same decisions. A hit answered while every NATS server was down must say queued.
// A queued hit may decide from a replica that has not heard the visitor's last hit on another
// node yet, so its decisions are logged, not held to the single server's.
func checkReplies(t *testing.T, results []hitResult) {
	t.Helper()
	bad, queued, queuedDiffer, outage, dup := 0, 0, 0, 0, 0
	for _, r := range results {
		where := fmt.Sprintf("visitor %d (%s) round %d", r.visitor, scriptVID(r.visitor), r.round)
		if r.fleet.VID != r.single.VID {
			t.Errorf("%s: vid %q; the single server %q", where, r.fleet.VID, r.single.VID)
		}
		// A hit forwarded to a node that stored it and died before answering is answered
		// again by another node, which finds its events stored: duplicate, not accepted.
		got := append(slices.Clone(r.fleet.Accepted), r.fleet.Duplicate...)
		if len(r.fleet.Duplicate) > 0 {
			dup++
		}
		if strings.Join(sortedCopy(got), ",") != strings.Join(sortedCopy(r.single.Accepted), ",") {
			t.Errorf("%s: the fleet accepted %v (duplicate %v); the single server %v", where, r.fleet.Accepted, r.fleet.Duplicate, r.single.Accepted)
		}
		if r.outage {
			outage++
			if len(r.fleet.Accepted) > 0 && !r.fleet.Queued {
				t.Errorf("%s: answered while every NATS server was down without \"queued\": true", where)
			}
		}
		d := rawDiff(r.fleet.Decisions, r.single.Decisions, decisionSkip)
		if r.fleet.Queued {
			queued++
			if len(d) > 0 {
				queuedDiffer++
			}
			continue
		}
		if len(d) > 0 {
			if bad < 20 {
				t.Errorf("%s (node %d, retried %v): decisions differ from the single server's:\n  %s", where, r.node, r.retried, strings.Join(d, "\n  "))
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d hits got other decisions than on the single server", bad, len(results))
	}
	if outage == 0 {
		t.Error("no hit was answered while every NATS server was down")
	}
	t.Logf("%d hits answered while NATS was down; %d queued in all, %d of them decided otherwise than the single server; %d answered with events already stored (duplicate)",
		outage, queued, queuedDiffer, dup)
}

// sortedCopy returns s sorted, leaving s alone.
func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// history describes how the fleet answered visitor i's hits, for a failure message.
func (tr *traffic) history(i int) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "visitor %d (%s):", i, scriptVID(i))
	for _, r := range tr.results {
		if r.visitor == i {
			fmt.Fprintf(&b, "\n    round %d: node %d at %s, queued %v, retried %v, accepted %v, duplicate %v", r.round, r.node,
				r.sent.Format("15:04:05.000"), r.fleet.Queued, r.retried, r.fleet.Accepted, r.fleet.Duplicate)
		}
	}
	return b.String()
}

// compareJourneys fails the test for every visitor whose journey on a node differs from the
// single server's, with how the fleet answered the first few of them.
func compareJourneys(t *testing.T, client *http.Client, nodes []*serverProc, single *serverProc, tr *traffic, visitors int) {
	t.Helper()
	var mu sync.Mutex
	var diffs []string
	var differ []int
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				path := "/api/v1/visitors/" + scriptVID(i)
				want, err := adminJSON(client, single.url, path)
				var out []string
				if err != nil {
					out = append(out, "single: "+err.Error())
				}
				for _, n := range nodes {
					if err != nil {
						break
					}
					got, gerr := adminJSON(client, n.url, path)
					if gerr != nil {
						out = append(out, fmt.Sprintf("%s: %v", n.url, gerr))
						continue
					}
					for _, d := range jsonDiff(got, want, journeySkip, 5) {
						out = append(out, fmt.Sprintf("%s %s%s", n.url, path, d))
					}
				}
				mu.Lock()
				diffs = append(diffs, out...)
				if len(out) > 0 {
					differ = append(differ, i)
				}
				mu.Unlock()
			}
		})
	}
	for i := range visitors {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(diffs) > 0 {
		n := len(diffs)
		if n > 30 {
			diffs = diffs[:30]
		}
		slices.Sort(differ)
		var hist []string
		for _, i := range differ[:min(3, len(differ))] {
			hist = append(hist, tr.history(i))
		}
		t.Errorf("%d differences in the journeys of %d visitors between the fleet and the single server (node path: fleet ≠ single):\n%s\nhow the fleet answered the first of them:\n%s",
			n, len(differ), strings.Join(diffs, "\n"), strings.Join(hist, "\n"))
	}
}

// checkExports checks that the event export of every node holds each event of the script
// once, the same events as the single server's, among them every event the fleet
// acknowledged; an event exported twice comes with how the fleet answered its visitor.
func checkExports(t *testing.T, nodes []*serverProc, single *serverProc, tr *traffic) {
	acked := tr.acknowledged()
	t.Helper()
	want := exportIDs(t, single, "v")
	for _, n := range nodes {
		got := exportIDs(t, n, "v")
		missing, extra, twice := 0, 0, 0
		for id := range acked {
			if got[id] == 0 {
				if missing < 5 {
					t.Errorf("%s: acknowledged event %s is not in the export", n.url, id)
				}
				missing++
			}
		}
		for id, c := range got {
			if c > 1 {
				if twice < 3 {
					var v int
					_, _ = fmt.Sscanf(id, "v%d-", &v)
					t.Errorf("%s: event %s exported %d times; %s", n.url, id, c, tr.history(v))
				}
				twice++
			}
			if want[id] == 0 {
				extra++
			}
		}
		for id := range want {
			if got[id] == 0 && !acked[id] {
				missing++
			}
		}
		if missing+extra+twice > 0 {
			t.Errorf("%s: export of %d events against the single server's %d: %d missing, %d not on the single server, %d more than once",
				n.url, len(got), len(want), missing, extra, twice)
		}
	}
}
