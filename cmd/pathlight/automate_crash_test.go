package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/pathlight/pathlight/internal/automate"
)

const crashHookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// hookLog is a webhook receiver on 127.0.0.1 that verifies every signature and records
// each webhook-id it acknowledged, with its body.
type hookLog struct {
	mu     sync.Mutex
	acked  map[string]int
	bodies map[string]map[string]bool
	badSig int
	delay  time.Duration
}

func newHookLog(t *testing.T, delay time.Duration) (*hookLog, string) {
	h := &hookLog{acked: map[string]int{}, bodies: map[string]map[string]bool{}, delay: delay}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL
}

func (h *hookLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	time.Sleep(h.delay) // a slow receiver: deliveries are in flight when the server dies
	wh, _ := standardwebhooks.NewWebhook(crashHookSecret)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := wh.Verify(body, r.Header); err != nil {
		h.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := r.Header.Get("webhook-id")
	h.acked[id]++
	if h.bodies[id] == nil {
		h.bodies[id] = map[string]bool{}
	}
	h.bodies[id][string(body)] = true
}

func (h *hookLog) has(ids ...string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, id := range ids {
		if h.acked[id] > 0 {
			n++
		}
	}
	return n
}

func writeRules(t *testing.T, src string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "automations.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// waitUntil polls cond every 20 ms for up to a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCrashDuringDeliveryLosesNone kills the server with SIGKILL while deliveries are in
// flight to a slow receiver; after a restart, every automation an acknowledged hit fired
// reaches the receiver, under its one id and with its one body.
func TestCrashDuringDeliveryLosesNone(t *testing.T) {
	hook, url := newHookLog(t, 30*time.Millisecond)
	rulesDir := writeRules(t, fmt.Sprintf(`
steps:
  - {id: viewed, stage: consideration, when: {event.type: pageview}}
destinations:
  crm: {url: %q, secret_env: PL_TEST_HOOK_SECRET, concurrency: 2}
automations:
  viewed_page:
    on: {reaches: viewed}
    to: crm
`, url))
	data := t.TempDir()
	env := []string{"PL_TEST_HOOK_SECRET=" + crashHookSecret}
	p := startServeWith(t, data, rulesDir, env)
	client := &http.Client{Timeout: 5 * time.Second}
	const visitors = 60
	var ids []string
	for i := range visitors {
		vid := fmt.Sprintf("%032x", 0xabc000+i)
		body := fmt.Sprintf(`{"site":"demo","vid":%q,"type":"pageview","id":"kill-%d","url":"https://shop.example/p%d"}`, vid, i, i)
		acc, err := postHit(client, p.url, body)
		if err != nil || len(acc) != 1 {
			t.Fatalf("hit %d: %v %v", i, acc, err)
		}
		ids = append(ids, automate.MessageID(vid, "viewed_page", 1, "crm"))
	}
	// Kill it while deliveries are still going out.
	waitUntil(t, "the first deliveries", func() bool { return hook.has(ids...) >= 3 })
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 10*time.Second)
	before := hook.has(ids...)
	if before == visitors {
		t.Fatalf("every delivery went out before the kill; the receiver is not slow enough to test a crash")
	}
	startServeWith(t, data, rulesDir, env)
	waitUntil(t, "every delivery after the restart", func() bool { return hook.has(ids...) == visitors })
	hook.mu.Lock()
	defer hook.mu.Unlock()
	if hook.badSig != 0 {
		t.Errorf("%d deliveries with a bad signature", hook.badSig)
	}
	dups := 0
	for _, id := range ids {
		dups += hook.acked[id] - 1
		if len(hook.bodies[id]) != 1 {
			t.Errorf("%s was sent with %d different bodies", id, len(hook.bodies[id]))
		}
	}
	if len(hook.acked) != visitors {
		t.Errorf("the receiver acknowledged %d ids; want %d", len(hook.acked), visitors)
	}
	// At least once: a request in flight at the kill may come again after the restart, and
	// no more than the destination's concurrency (2) were in flight.
	if dups > 2 {
		t.Errorf("%d deliveries came twice; at most the 2 in flight at the kill may", dups)
	}
	t.Logf("%d of %d delivered before the kill, %d sent twice", before, visitors, dups)
}

// TestTimerFiresAfterRestartUnlessCancelled arms two abandoned-cart timers, cancels one by a
// purchase, kills the server before they are due and starts it again after: the due one
// fires, the cancelled one never does.
func TestTimerFiresAfterRestartUnlessCancelled(t *testing.T) {
	hook, url := newHookLog(t, 0)
	rulesDir := writeRules(t, fmt.Sprintf(`
steps:
  - {id: added_to_cart, stage: decision, when: {event.name: add_to_cart}}
  - {id: purchased, stage: retention, when: {event.name: purchase}, conversion: true}
destinations:
  crm: {url: %q, secret_env: PL_TEST_HOOK_SECRET, concurrency: 1}
automations:
  cart_abandoned:
    on: {after: added_to_cart, wait: 3s, unless: purchased}
    to: crm
`, url))
	data := t.TempDir()
	env := []string{"PL_TEST_HOOK_SECRET=" + crashHookSecret}
	p := startServeWith(t, data, rulesDir, env)
	client := &http.Client{Timeout: 5 * time.Second}
	cancelled, due := fmt.Sprintf("%032x", 0xb0b), fmt.Sprintf("%032x", 0xa11ce)
	hit := func(vid, id, name string) {
		body := fmt.Sprintf(`{"site":"demo","vid":%q,"type":"event","id":%q,"name":%q,"url":"https://shop.example/cart"}`, vid, id, name)
		if acc, err := postHit(client, p.url, body); err != nil || len(acc) != 1 {
			t.Fatalf("%s: %v %v", name, acc, err)
		}
	}
	// The cancelled visitor's timer would fall due first, and go out first (concurrency 1).
	hit(cancelled, "c1", "add_to_cart")
	hit(cancelled, "c2", "purchase")
	hit(due, "d1", "add_to_cart")
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.wait(t, 10*time.Second)
	hook.mu.Lock()
	early := len(hook.acked)
	hook.mu.Unlock()
	if early != 0 {
		t.Fatalf("%d deliveries before the timers were due", early)
	}
	time.Sleep(3 * time.Second) // the timers fall due while the server is down
	p = startServeWith(t, data, rulesDir, env)
	dueID := automate.MessageID(due, "cart_abandoned", 1, "crm")
	waitUntil(t, "the due timer's delivery", func() bool { return hook.has(dueID) == 1 })
	if n := hook.has(automate.MessageID(cancelled, "cart_abandoned", 1, "crm")); n != 0 {
		t.Fatal("the cancelled timer fired")
	}
	req, _ := http.NewRequest(http.MethodGet, p.url+"/api/v1/visitors/"+cancelled+"/automations", nil)
	req.Header.Set("Authorization", "Bearer "+crashToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var va struct {
		Memory struct {
			Timers []any
		}
		Automations []struct{ Fired int }
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &va); err != nil || len(va.Memory.Timers) != 0 || len(va.Automations) != 1 || va.Automations[0].Fired != 0 {
		t.Fatalf("the cancelled visitor's automations: %s", b)
	}
	if !strings.Contains(string(b), `"cart_abandoned"`) {
		t.Fatalf("automations: %s", b)
	}
}
