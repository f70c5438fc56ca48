package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestCrashWhileJourneysHeldKeepsDedup kills the server while busy visitors' journeys are
// held out of Badger (the store holds back the keys a batch rewrites, for seconds) and the
// log holds nothing after them: the visitors stopped, and the batch with their last hits is
// applied but for the held journeys. Then it retries the last hits each visitor had
// acknowledged: every event of them must come back a duplicate, since the journey that
// remembers its id is replayed from the log, and be in the event log once.
func TestCrashWhileJourneysHeldKeepsDedup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped in -short mode")
	}
	data := filepath.Join(t.TempDir(), "data")
	p := startServe(t, data)
	type sent struct {
		body string
		id   string
	}
	const writers, kept = 4, 8
	last := make([][]sent, writers)
	seqs := make([]int, writers)
	// stream sends hits of every visitor for d; each visitor's journey is rewritten by
	// every hit, many times in every batch of the applier.
	stream := func(d time.Duration) {
		var wg sync.WaitGroup
		end := time.Now().Add(d)
		for w := range writers {
			wg.Go(func() {
				client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
				defer client.CloseIdleConnections()
				vid := fmt.Sprintf("%032x", 100+w)
				for ; time.Now().Before(end); seqs[w]++ {
					id := fmt.Sprintf("h%d-%d", w, seqs[w])
					body := fmt.Sprintf(`{"site":"demo","vid":%q,"events":[{"id":%q,"type":"pageview","url":"https://shop.example/p/%d","title":"x"}],"slots":["hero"]}`, vid, id, seqs[w]%7)
					accepted, _, err := postHitReply(client, p.url, body)
					if err != nil {
						t.Errorf("visitor %d: %v", w, err)
						return
					}
					if slices.Equal(accepted, []string{id}) {
						last[w] = append(last[w], sent{body, id})
						if len(last[w]) > kept {
							last[w] = last[w][1:]
						}
					}
				}
			})
		}
		wg.Wait()
	}
	// Kill once the applier has applied every write it was given (its count stays put for
	// longer than a batch takes to gather) and
	// the backlog still holds bytes: the held journeys. A hold that ended just then leaves
	// nothing held; the visitors then send a little more, and the test tries again.
	held := false
	for try := 0; try < 5 && !held; try++ {
		stream(1500 * time.Millisecond)
		// Stable over more than the applier's batch window (a second): nothing queued.
		prev := -1.0
		for range 10 {
			time.Sleep(1200 * time.Millisecond)
			n := metricValue(t, p, "pathlight_store_applied_writes_total")
			if n == prev {
				held = metricValue(t, p, "pathlight_store_backlog_bytes") > 0
				break
			}
			prev = n
		}
	}
	if !held {
		t.Fatal("five times the applier had nothing held once it applied the last hits")
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v", err)
	}
	p.wait(t, 10*time.Second)

	p2 := startServe(t, data)
	client := &http.Client{Timeout: 5 * time.Second}
	var ids []string
	for w := range writers {
		if len(last[w]) < kept {
			t.Fatalf("visitor %d had %d hits acknowledged before the kill; want at least %d", w, len(last[w]), kept)
		}
		for _, s := range last[w] {
			accepted, dup, err := postHitReply(client, p2.url, s.body)
			if err != nil {
				t.Fatal(err)
			}
			if len(accepted) != 0 || !slices.Equal(dup, []string{s.id}) {
				t.Errorf("retry of %s after the restart: accepted %q, duplicate %q; want it a duplicate", s.id, accepted, dup)
			}
			ids = append(ids, s.id)
		}
	}
	exported := exportIDs(t, p2, "h")
	for _, id := range ids {
		if exported[id] != 1 {
			t.Errorf("event %s is in the event log %d times; want once", id, exported[id])
		}
	}
}

// postHitReply sends one hit and returns the accepted and duplicate ids of a 200 reply.
func postHitReply(client *http.Client, url, body string) (accepted, duplicate []string, err error) {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/hit", strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("User-Agent", crashUA)
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("POST /v1/hit = %d %s", resp.StatusCode, b)
	}
	var reply struct {
		Accepted  []string `json:"accepted"`
		Duplicate []string `json:"duplicate"`
	}
	if err := json.Unmarshal(b, &reply); err != nil {
		return nil, nil, fmt.Errorf("POST /v1/hit reply %q: %w", b, err)
	}
	return reply.Accepted, reply.Duplicate, nil
}
