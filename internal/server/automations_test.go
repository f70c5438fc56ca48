package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/pathlight/pathlight/internal/deliver"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/server"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

const hookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// hookReceiver is a webhook receiver on 127.0.0.1 that answers 500 while down is set.
type hookReceiver struct {
	mu     sync.Mutex
	down   bool
	got    []string // bodies acknowledged
	badSig int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	wh, _ := standardwebhooks.NewWebhook(hookSecret)
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := wh.Verify(body, r.Header); err != nil {
		h.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if h.down {
		http.Error(w, "receiver down", http.StatusInternalServerError)
		return
	}
	h.got = append(h.got, string(body))
}

func (h *hookReceiver) acked() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.got)
}

// startAutomated runs a server with a deliverer whose retries give up after a second.
func startAutomated(t *testing.T, hookURL string) string {
	t.Helper()
	cfg, db := openRig(t, "shop=https://shop.example")
	src := fmt.Sprintf(`
steps:
  - {id: viewed_pricing, stage: consideration, when: {page.path: /pricing}}
destinations:
  crm: {url: %q, secret_env: HOOK_SECRET}
automations:
  pricing_seen:
    on: {reaches: viewed_pricing}
    cap: once
    to: crm
`, hookURL)
	set := loadRules(t, src)
	var dl *deliver.Deliverer
	st := trackstore.New(db)
	tr := track.New(st, nil, set, track.Config{SiteHosts: map[string][]string{"shop": {"shop.example"}}, OnOutbox: func() { dl.Wake() }})
	dl = deliver.New(deliver.Config{Tracker: tr, Store: st, Poll: 10 * time.Millisecond,
		Backoff: deliver.Backoff{First: 10 * time.Millisecond, Max: 50 * time.Millisecond, Horizon: time.Second},
		Getenv:  func(k string) string { return map[string]string{"HOOK_SECRET": hookSecret}[k] }})
	runDeliverer(t, dl)
	srv := server.New(server.Options{Config: cfg, Tracker: tr, Rules: &fixedRules{}, Deliverer: dl})
	return serveRig(t, srv)
}

// postHit posts body as a browser without a cookie and returns the reply's vid.
func postHit(t *testing.T, base, body string) string {
	t.Helper()
	vid, _, _ := hitAs(t, base, "", false, body)
	return vid
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s", what)
}

func TestAutomationDeliveryThroughTheAdminAPI(t *testing.T) {
	hook := &hookReceiver{}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	base := startAutomated(t, hs.URL)

	vid := postHit(t, base, `{"site":"shop","type":"pageview","id":"p1","url":"https://shop.example/pricing"}`)
	waitFor(t, "the first delivery", func() bool { return hook.acked() == 1 })
	var env struct {
		Automation string
		Visitor    struct{ VID string }
	}
	if err := json.Unmarshal([]byte(hook.got[0]), &env); err != nil || env.Automation != "pricing_seen" || env.Visitor.VID != vid {
		t.Fatalf("delivered %s (%v)", hook.got[0], err)
	}

	// A receiver that stays down: the delivery dies, is listed, and replays once it is back.
	hook.mu.Lock()
	hook.down = true
	hook.mu.Unlock()
	postHit(t, base, `{"site":"shop","type":"pageview","id":"p2","url":"https://shop.example/pricing"}`)
	var dead struct{ Deliveries []deliver.Listed }
	waitFor(t, "a dead delivery", func() bool {
		_, _, body := call(t, "GET", base+"/api/v1/deliveries?state=dead&destination=crm", "")
		_ = json.Unmarshal([]byte(body), &dead)
		return len(dead.Deliveries) == 1
	})
	if d := dead.Deliveries[0]; d.State != "dead" || d.LastStatus != 500 || !strings.Contains(d.LastError, "receiver down") || d.Body != nil {
		t.Fatalf("dead delivery listed as %+v", d)
	}
	hook.mu.Lock()
	hook.down = false
	hook.mu.Unlock()
	if status, _, body := call(t, "POST", base+"/api/v1/deliveries/crm/"+dead.Deliveries[0].ID+"/replay", ""); status != 202 {
		t.Fatalf("replay = %d %s", status, body)
	}
	waitFor(t, "the replayed delivery", func() bool { return hook.acked() == 2 })
	if status, _, body := call(t, "POST", base+"/api/v1/destinations/crm/replay", ""); status != 202 || !strings.Contains(body, `"replayed":0`) {
		t.Fatalf("replay of no dead = %d %s", status, body)
	}

	for _, c := range []struct {
		method, path string
		status       int
		reason       string
	}{
		{"GET", "/api/v1/deliveries?colour=red", 400, "bad_request"},
		{"GET", "/api/v1/deliveries?state=lost", 400, "bad_request"},
		{"GET", "/api/v1/deliveries?limit=0", 400, "bad_request"},
		{"GET", "/api/v1/deliveries?destination=nope", 404, "unknown_destination"},
		{"POST", "/api/v1/deliveries/crm/msg_nope/replay", 404, "unknown_delivery"},
		{"GET", "/api/v1/destinations/crm/replay", 405, "method"},
		{"GET", "/api/v1/automations?x=1", 400, "bad_request"},
	} {
		status, reason, body := call(t, c.method, base+c.path, "")
		if status != c.status || !strings.HasPrefix(reason, c.reason+":") {
			t.Errorf("%s %s = %d %q %s; want %d %s", c.method, c.path, status, reason, body, c.status, c.reason)
		}
	}

	_, _, body := call(t, "GET", base+"/api/v1/visitors/"+vid+"/automations", "")
	var va struct {
		Automations []rules.AutomationExplain
	}
	if err := json.Unmarshal([]byte(body), &va); err != nil || len(va.Automations) != 1 || va.Automations[0].Fired != 2 && va.Automations[0].Fired != 1 {
		t.Fatalf("visitor automations = %s", body)
	}
	if a := va.Automations[0]; a.Fired != 1 || a.Ready || !strings.Contains(a.BlockedBy, "once") {
		t.Fatalf("visitor automation = %+v; want fired once, blocked by its cap", a)
	}
	_, _, body = call(t, "GET", base+"/api/v1/visitors/"+vid+"/explain", "")
	if !strings.Contains(body, `"automations":[{"id":"pricing_seen"`) {
		t.Fatalf("explain = %s", body)
	}
	_, _, body = call(t, "GET", base+"/api/v1/automations/stats", "")
	var stats deliver.Stats
	if err := json.Unmarshal([]byte(body), &stats); err != nil {
		t.Fatal(err)
	}
	today := time.Now().UTC().Format("2006-01-02")
	if stats.Fired[today]["pricing_seen"] != 2 || len(stats.Destinations) != 1 || stats.Destinations[0].Delivered != 2 ||
		stats.Destinations[0].Pending != 0 || stats.Destinations[0].Dead != 0 {
		t.Fatalf("stats = %s", body)
	}
	if status, reason, _ := call(t, "GET", base+"/api/v1/automations/stats?from=x", ""); status != 400 || !strings.HasPrefix(reason, "bad_request") {
		t.Fatalf("stats with a bad from = %d %q", status, reason)
	}
	_, _, metrics := call(t, "GET", base+"/metrics", "")
	for _, w := range []string{`pathlight_deliveries_total{destination="crm",outcome="delivered"} 2`, `pathlight_deliveries_total{destination="crm",outcome="dead"} 1`, `pathlight_outbox_oldest_seconds{destination="crm"} 0`} {
		if !strings.Contains(metrics, w) {
			t.Errorf("metrics lack %q", w)
		}
	}
}
