package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/deliver"
	"github.com/pathlight/pathlight/internal/server"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// startTimed runs a server whose tracker and deliverer read the clock *now (Unix ms), with a
// cart-abandonment automation that posts to hookURL an hour after the cart.
func startTimed(t *testing.T, hookURL string, now *atomic.Int64) (string, *deliver.Deliverer) {
	t.Helper()
	cfg, db := openRig(t, "shop=https://shop.example")
	src := fmt.Sprintf(`
steps:
  - {id: added_to_cart, stage: decision, when: {event.name: add_to_cart}}
  - {id: purchased, stage: retention, when: {event.name: purchase}, conversion: true}
destinations:
  crm: {url: %q, secret_env: HOOK_SECRET}
automations:
  abandoned:
    on: {after: added_to_cart, wait: 1h, unless: purchased}
    to: crm
`, hookURL)
	set := loadRules(t, src)
	clock := func() time.Time { return time.UnixMilli(now.Load()) }
	var dl *deliver.Deliverer
	st := trackstore.New(db)
	tr := track.New(st, nil, set, track.Config{Now: clock, SiteHosts: map[string][]string{"shop": {"shop.example"}}, OnOutbox: func() { dl.Wake() }})
	dl = deliver.New(deliver.Config{Tracker: tr, Store: st, Now: clock, Poll: 10 * time.Millisecond,
		Getenv: func(k string) string { return map[string]string{"HOOK_SECRET": hookSecret}[k] }})
	runDeliverer(t, dl)
	srv := server.New(server.Options{Config: cfg, Tracker: tr, Rules: &fixedRules{}, Deliverer: dl})
	return serveRig(t, srv), dl
}

// hitAs posts body with the pl_vid cookie (when not "") and Sec-GPC (when gpc), and returns
// the reply's vid and keep_vid and the Set-Cookie header for pl_vid.
func hitAs(t *testing.T, base, cookie string, gpc bool, body string) (vid string, keep bool, setCookie string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/hit", strings.NewReader(body))
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", chromeUA)
	if cookie != "" {
		req.Header.Set("Cookie", "pl_vid="+cookie)
	}
	if gpc {
		req.Header.Set("Sec-GPC", "1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var r struct {
		VID     string
		KeepVID bool `json:"keep_vid"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &r) != nil {
		t.Fatalf("hit = %d %s", resp.StatusCode, b)
	}
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "pl_vid=") {
			setCookie = c
		}
	}
	return r.VID, r.KeepVID, setCookie
}

// Consent, a cart (a timer armed for an hour later), then a hit with Sec-GPC that still
// carries the cookie: the reply expires the cookie, and when the clock passes the hour the
// timer fires nothing and the receiver gets nothing for that visitor. The control visitor
// never withdraws, and its timer, due later, fires and is delivered. A third visitor's refusal
// comes from a back end, through /v1/decide.
func TestWithdrawnConsentFiresNothingOverHTTP(t *testing.T) {
	hook := &hookReceiver{}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	var now atomic.Int64
	// The clock starts two hours back, so that once moved past the timers it is near the
	// receiver's own: Standard Webhooks receivers refuse a signature more than 5 minutes off.
	now.Store(time.Now().Add(-2 * time.Hour).UnixMilli())
	base, dl := startTimed(t, hs.URL, &now)

	gone, _, set := hitAs(t, base, "", false, `{"site":"shop","consent":"granted","type":"event","id":"a1","name":"add_to_cart","url":"https://shop.example/cart"}`)
	if !strings.HasPrefix(set, "pl_vid="+gone) {
		t.Fatalf("the consenting visitor got cookie %q", set)
	}
	now.Add(time.Minute.Milliseconds())
	stays, _, _ := hitAs(t, base, "", false, `{"site":"shop","consent":"granted","type":"event","id":"b1","name":"add_to_cart","url":"https://shop.example/cart"}`)

	// A back end reports another visitor's refusal through /v1/decide, naming it by vid.
	viaBackEnd, _, _ := hitAs(t, base, "", false, `{"site":"shop","consent":"granted","type":"event","id":"c1","name":"add_to_cart","url":"https://shop.example/cart"}`)
	if status, _, body := call(t, "GET", base+"/v1/decide?site=shop&consent=denied&vid="+viaBackEnd, ""); status != 200 || !strings.Contains(body, `"vid":""`) {
		t.Fatalf("decide with consent denied = %d %s", status, body)
	}

	now.Add(time.Minute.Milliseconds())
	vid, keep, set := hitAs(t, base, gone, true, `{"site":"shop","type":"pageview","id":"a2","url":"https://shop.example/cart"}`)
	if vid != "" || keep {
		t.Fatalf("the withdrawing hit answered vid %q keep_vid %v", vid, keep)
	}
	if !strings.HasPrefix(set, "pl_vid=;") || !strings.Contains(strings.ToLower(set), "expires=") || strings.Contains(set, gone) {
		t.Fatalf("the withdrawing hit's Set-Cookie is %q; want pl_vid expired", set)
	}

	now.Add(2 * time.Hour.Milliseconds())
	dl.Wake()
	delivered := func() (vids []string) {
		hook.mu.Lock()
		defer hook.mu.Unlock()
		for _, b := range hook.got {
			var env struct{ Visitor struct{ VID string } }
			if err := json.Unmarshal([]byte(b), &env); err != nil {
				t.Errorf("delivered %s: %v", b, err)
			}
			vids = append(vids, env.Visitor.VID)
		}
		return vids
	}
	waitFor(t, "the control's delivery", func() bool { return slices.Contains(delivered(), stays) })
	// The withdrawn visitor's timer, due before the control's, would have fired in the pass
	// that fired the control's (timers fire before any send), so the firing log tells.
	// The hook has the control's delivery before the deliverer hears its answer and counts
	// it delivered: read the stats once the delivery is counted.
	var stats deliver.Stats
	var body string
	waitFor(t, "the control's delivery counted", func() bool {
		_, _, body = call(t, "GET", base+"/api/v1/automations/stats?from=0&to="+fmt.Sprint(now.Load()+1), "")
		stats = deliver.Stats{}
		if err := json.Unmarshal([]byte(body), &stats); err != nil {
			t.Fatal(err)
		}
		return len(stats.Destinations) == 1 && stats.Destinations[0].Delivered >= 1
	})
	fired := 0
	for _, day := range stats.Fired {
		fired += day["abandoned"]
	}
	if fired != 1 || len(stats.Destinations) != 1 || stats.Destinations[0].Pending != 0 || stats.Destinations[0].Dead != 0 {
		t.Fatalf("stats = %s; want one firing (the control's) and nothing waiting", body)
	}
	dl.Wait()
	if vids := delivered(); len(vids) != 1 {
		t.Fatalf("the receiver got deliveries for %v; want only the control %s's", vids, stays)
	}
}
