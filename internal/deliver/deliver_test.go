package deliver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/pathlight/pathlight/internal/automate"
	"github.com/pathlight/pathlight/internal/deliver"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// The spec's own test vector (Standard Webhooks, reference libraries).
func TestSignVector(t *testing.T) {
	sig, err := deliver.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil || sig != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("Sign = %q, %v", sig, err)
	}
	if _, err := deliver.Sign("whsec_not base64!", "id", time.Unix(1, 0), nil); err == nil {
		t.Fatal("a secret that is not base64 signed")
	}
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// receiver is a webhook receiver on 127.0.0.1 that verifies signatures, fails while fail
// says so, and records what it acknowledged.
type receiver struct {
	srv  *httptest.Server
	wh   *standardwebhooks.Webhook
	fail atomic.Int64  // answer 503 to this many more requests
	hold chan struct{} // when not nil, requests wait for it to close

	mu       sync.Mutex
	acked    map[string]int // webhook-id → acknowledgements
	order    []string       // acknowledged ids in order
	bodies   map[string][]byte
	ids      map[string]map[string]bool // id → bodies seen (must be one)
	badSig   int
	attempts int
}

func newReceiver(t *testing.T) *receiver {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{wh: wh, acked: map[string]int{}, bodies: map[string][]byte{}, ids: map[string]map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	if r.hold != nil {
		<-r.hold
	}
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	id := req.Header.Get("webhook-id")
	if r.ids[id] == nil {
		r.ids[id] = map[string]bool{}
	}
	r.ids[id][string(body)] = true
	// The tests move the sender's clock by days, so the receiver checks the signature and
	// not the timestamp's distance from its own clock.
	if err := r.wh.VerifyIgnoringTimestamp(body, req.Header); err != nil {
		r.badSig++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.fail.Add(-1) >= 0 {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	r.acked[id]++
	r.order = append(r.order, id)
	r.bodies[id] = body
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) snapshot() (acked map[string]int, order []string, attempts, badSig int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	acked = map[string]int{}
	for k, v := range r.acked {
		acked[k] = v
	}
	return acked, append([]string(nil), r.order...), r.attempts, r.badSig
}

type env struct {
	db  *store.DB
	tr  *track.Tracker
	d   *deliver.Deliverer
	now atomic.Int64 // Unix ms of the fake clock
}

func rulesFor(url string) string {
	return fmt.Sprintf(`
steps:
  - {id: viewed, stage: consideration, when: {event.type: pageview}}
destinations:
  crm: {url: %q, secret_env: CRM_SECRET, concurrency: 2}
automations:
  every_page:
    on: {reaches: viewed}
    to: crm
`, url)
}

func newEnv(t *testing.T, url string, b deliver.Backoff) *env {
	db, err := store.Open(t.TempDir(), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	set, err := rules.Load(fstest.MapFS{"r/a.yaml": {Data: []byte(rulesFor(url))}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db}
	e.now.Store(time.Now().UnixMilli())
	clock := func() time.Time { return time.UnixMilli(e.now.Load()) }
	st := trackstore.New(db)
	var d *deliver.Deliverer
	e.tr = track.New(st, nil, set, track.Config{Now: clock, OnOutbox: func() {
		if d != nil {
			d.Wake()
		}
	}})
	d = deliver.New(deliver.Config{Tracker: e.tr, Store: st, Now: clock, Backoff: b, Poll: 5 * time.Millisecond,
		Getenv: func(k string) string {
			if k == "CRM_SECRET" {
				return secret
			}
			return ""
		}})
	e.d = d
	return e
}

var seq atomic.Int64

// visit sends one pageview per path for visitor vid (a new one when ""), returning the vid.
func (e *env) visit(t *testing.T, vid string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		ev := event.Event{ID: fmt.Sprintf("e%d", seq.Add(1)), Type: event.TypePageview, URL: "https://shop.example" + p}
		b := &event.Batch{Site: "shop", VID: vid, Events: []event.Event{ev}}
		var res track.Result
		if err := e.tr.Track(&track.Request{Batch: b, UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0", IP: netip.MustParseAddr("203.0.113.1")}, &res); err != nil {
			t.Fatal(err)
		}
		vid = res.VID
	}
	return vid
}

// pump runs passes until cond holds, advancing the fake clock by step each time; it fails
// after 2,000 passes.
func (e *env) pump(t *testing.T, step time.Duration, cond func() bool) {
	t.Helper()
	for range 2000 {
		e.d.Pass(context.Background())
		e.d.Wait()
		if cond() {
			return
		}
		e.now.Add(step.Milliseconds())
	}
	t.Fatal("condition not reached after 2,000 passes")
}

func (e *env) count(p byte) int {
	n := 0
	start, end := automate.Range(p, "")
	_ = e.db.Scan(start, end, func(_, _ []byte) error { n++; return nil })
	return n
}

func TestFailingReceiverGetsEveryDeliveryOnceInOrder(t *testing.T) {
	r := newReceiver(t)
	r.fail.Store(7)
	e := newEnv(t, r.srv.URL, deliver.Backoff{First: time.Second, Max: time.Minute, Horizon: 72 * time.Hour})
	a := e.visit(t, "", "/a1", "/a2", "/a3")
	b := e.visit(t, "", "/b1", "/b2")
	want := 5
	e.pump(t, time.Minute, func() bool { acked, _, _, _ := r.snapshot(); return len(acked) == want })
	acked, order, attempts, badSig := r.snapshot()
	if badSig != 0 {
		t.Fatalf("%d requests with a bad signature", badSig)
	}
	for id, n := range acked {
		if n != 1 {
			t.Errorf("%s acknowledged %d times", id, n)
		}
	}
	if attempts != want+7 {
		t.Errorf("attempts = %d; want %d (5 deliveries, 7 failures)", attempts, want+7)
	}
	r.mu.Lock()
	for id, bodies := range r.ids {
		if len(bodies) != 1 {
			t.Errorf("%s was sent with %d different bodies", id, len(bodies))
		}
	}
	r.mu.Unlock()
	// Per visitor, the occurrences arrive in the order they fired.
	for _, vid := range []string{a, b} {
		var got []uint32
		for _, id := range order {
			var env automate.Envelope
			_ = json.Unmarshal(r.bodies[id], &env)
			if env.Visitor.VID == vid {
				got = append(got, env.Occurrence)
			}
		}
		for i := range got {
			if got[i] != uint32(i+1) {
				t.Fatalf("visitor %s: occurrences in order %v", vid, got)
			}
		}
	}
	if n := e.count(automate.PrefixQueue); n != 0 {
		t.Fatalf("%d deliveries still pending", n)
	}
	var m strings.Builder
	e.d.WriteMetrics(&m)
	for _, w := range []string{`pathlight_deliveries_total{destination="crm",outcome="delivered"} 5`, `pathlight_deliveries_total{destination="crm",outcome="failed"} 7`, `pathlight_outbox_pending{destination="crm"} 0`} {
		if !strings.Contains(m.String(), w) {
			t.Errorf("metrics lack %q:\n%s", w, m.String())
		}
	}
}

func TestDeadLetterAndReplay(t *testing.T) {
	r := newReceiver(t)
	r.fail.Store(1 << 40)
	e := newEnv(t, r.srv.URL, deliver.Backoff{First: time.Minute, Max: time.Hour, Horizon: 72 * time.Hour})
	vid := e.visit(t, "", "/x", "/y")
	e.pump(t, time.Hour, func() bool { return e.count(automate.PrefixDead) == 2 })
	if e.count(automate.PrefixQueue) != 0 {
		t.Fatal("a dead delivery is still pending")
	}
	dead, err := e.d.List("crm", deliver.StateDead, 10)
	if err != nil || len(dead) != 2 || dead[0].LastStatus != 503 || !strings.Contains(dead[0].LastError, "down for maintenance") ||
		dead[0].Attempts < 10 || dead[0].VID != vid {
		t.Fatalf("dead = %+v, %v", dead, err)
	}
	if got := time.Duration(dead[0].DeadAt-dead[0].Created) * time.Millisecond; got < 60*time.Hour || got > 73*time.Hour {
		t.Fatalf("dead after %s; want about 3 days", got)
	}
	r.fail.Store(0)
	if err := e.d.Replay("crm", dead[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Replay("crm", "msg_nope"); err == nil {
		t.Fatal("replay of an unknown id succeeded")
	}
	e.pump(t, time.Second, func() bool { acked, _, _, _ := r.snapshot(); return acked[dead[1].ID] == 1 })
	if n, err := e.d.ReplayDead("crm"); err != nil || n != 1 {
		t.Fatalf("ReplayDead = %d, %v; want 1", n, err)
	}
	e.pump(t, time.Second, func() bool { acked, _, _, _ := r.snapshot(); return acked[dead[0].ID] == 1 })
	if e.count(automate.PrefixDead)+e.count(automate.PrefixQueue) != 0 {
		t.Fatal("replayed deliveries left keys behind")
	}
}

// A receiver that does not answer holds its deliveries, never the hits; an erase while a
// delivery is in flight is not undone by its outcome.
func TestStuckReceiverNeverSlowsHitsAndEraseWins(t *testing.T) {
	r := newReceiver(t)
	r.hold = make(chan struct{})
	e := newEnv(t, r.srv.URL, deliver.Backoff{First: time.Second, Max: time.Minute, Horizon: time.Hour})
	vid := e.visit(t, "", "/1")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 5 {
			e.d.Pass(context.Background()) // starts the send, which hangs in the receiver
		}
	}()
	<-done
	// Hits go on while the receiver holds the request (this would block forever otherwise).
	vid2 := e.visit(t, "", "/2", "/3", "/4")
	if _, err := e.tr.Erase(vid); err != nil {
		t.Fatal(err)
	}
	close(r.hold)
	e.d.Wait()
	e.pump(t, time.Second, func() bool { return e.count(automate.PrefixQueue) == 0 })
	acked, _, _, _ := r.snapshot()
	if len(acked) != 4 {
		t.Fatalf("acknowledged %d; want 4 (1 in flight at the erase, 3 of the other visitor)", len(acked))
	}
	if e.count(automate.PrefixDead) != 0 {
		t.Fatal("dead deliveries")
	}
	_ = vid2
}

// adReceiver records the requests an ad platform receiver got.
type adReceiver struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (a *adReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.reqs, a.body = append(a.reqs, r), append(a.body, b)
	a.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (a *adReceiver) n() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.reqs)
}

// Conversions reach Meta and Google Ads receivers with their credentials added at sending,
// only for a visitor who granted consent and came through an ad click.
func TestAdPlatformsGetConsentedClicksOnly(t *testing.T) {
	meta, google := &adReceiver{}, &adReceiver{}
	ms, gs := httptest.NewServer(meta), httptest.NewServer(google)
	defer ms.Close()
	defer gs.Close()
	src := fmt.Sprintf(`
steps:
  - {id: purchased, stage: retention, when: {event.name: purchase}, conversion: true, value: value}
destinations:
  meta: {url: "%s/v21.0/123/events", format: meta_capi, secret_env: META_TOKEN, currency: EUR, event_name: Purchase}
  gads: {url: "%s/v17/customers/1234567890:uploadClickConversions", format: google_ads, secret_env: GADS_TOKEN,
         currency: EUR, conversion_action: customers/1234567890/conversionActions/987654321}
automations:
  order:
    on: {converts: purchased}
    to: [meta, gads]
`, ms.URL, gs.URL)
	db, err := store.Open(t.TempDir(), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	set, err := rules.Load(fstest.MapFS{"r/a.yaml": {Data: []byte(src)}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	st := trackstore.New(db)
	tr := track.New(st, nil, set, track.Config{})
	d := deliver.New(deliver.Config{Tracker: tr, Store: st, Getenv: func(k string) string {
		return map[string]string{"META_TOKEN": "meta-token-1", "GADS_TOKEN": "ya29.token"}[k]
	}})
	send := func(vid string, consent event.Consent, url string) {
		evs := []event.Event{
			// The click's landing an hour before the purchase: Google takes only conversions after the click.
			{ID: fmt.Sprintf("a%d", seq.Add(1)), Type: event.TypePageview, URL: url, TS: time.Now().Add(-time.Hour).UnixMilli()},
			{ID: fmt.Sprintf("a%d", seq.Add(1)), Type: event.TypeEvent, Name: "purchase", URL: "https://shop.example/thanks",
				Props: event.Props{{Key: "value", Val: event.NumberValue(49.5)}}},
		}
		var res track.Result
		b := &event.Batch{Site: "shop", VID: vid, Consent: consent, Events: evs}
		if err := tr.Track(&track.Request{Batch: b, UserAgent: "Mozilla/5.0 Chrome/124.0"}, &res); err != nil {
			t.Fatal(err)
		}
	}
	ad := "https://shop.example/?fbclid=IwAR2F4-dbP0l7Mn1IawQQ&gclid=Cj0KCQiA"
	send(fmt.Sprintf("%032x", 1), event.ConsentGranted, ad)                      // both
	send(fmt.Sprintf("%032x", 2), event.ConsentUnset, ad)                        // implied consent: none
	send(fmt.Sprintf("%032x", 3), event.ConsentGranted, "https://shop.example/") // no click: none
	d.Pass(context.Background())
	d.Wait()
	if meta.n() != 1 || google.n() != 1 {
		t.Fatalf("meta got %d, google %d; want 1 each", meta.n(), google.n())
	}
	mr, gr := meta.reqs[0], google.reqs[0]
	if mr.URL.Query().Get("access_token") != "meta-token-1" || mr.Header.Get("webhook-signature") != "" {
		t.Errorf("meta request %s: the token goes in access_token, no webhook signature", mr.URL)
	}
	if gr.Header.Get("Authorization") != "Bearer ya29.token" {
		t.Errorf("google Authorization = %q", gr.Header.Get("Authorization"))
	}
	var mb automate.MetaRequest
	var gb automate.GoogleAdsRequest
	if json.Unmarshal(meta.body[0], &mb) != nil || len(mb.Data) != 1 || !strings.HasPrefix(mb.Data[0].UserData.Fbc, "fb.1.") ||
		!strings.HasSuffix(mb.Data[0].UserData.Fbc, ".IwAR2F4-dbP0l7Mn1IawQQ") || mb.Data[0].CustomData == nil || mb.Data[0].CustomData.Value != 49.5 {
		t.Errorf("meta body %s", meta.body[0])
	}
	if json.Unmarshal(google.body[0], &gb) != nil || len(gb.Conversions) != 1 || gb.Conversions[0].Gclid != "Cj0KCQiA" || !gb.PartialFailure {
		t.Errorf("google body %s", google.body[0])
	}
	// The token never reaches the outbox.
	if n := countWith(t, db, "meta-token-1") + countWith(t, db, "ya29.token"); n != 0 {
		t.Errorf("a token is stored in %d keys", n)
	}
}

func countWith(t *testing.T, db *store.DB, s string) int {
	n := 0
	_ = db.Scan([]byte{0}, []byte{0xff}, func(k, v []byte) error {
		if strings.Contains(string(v), s) || strings.Contains(string(k), s) {
			n++
		}
		return nil
	})
	return n
}

// A pass reads the outbox from a snapshot; an attempt that finishes while the pass scans
// must not be taken for due again from that snapshot. With the deliverer's own loop, many
// visitors and a quick receiver, every delivery is acknowledged exactly once.
func TestNoDeliveryTwiceFromAStaleSnapshot(t *testing.T) {
	r := newReceiver(t)
	e := newEnv(t, r.srv.URL, deliver.Backoff{First: time.Second, Max: time.Minute, Horizon: time.Hour})
	const visitors = 150
	for range visitors {
		e.visit(t, "", "/p")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.d.Run(ctx); close(done) }()
	deadline := time.Now().Add(time.Minute)
	for {
		acked, _, _, _ := r.snapshot()
		if len(acked) == visitors || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	acked, _, attempts, _ := r.snapshot()
	if len(acked) != visitors || attempts != visitors {
		t.Fatalf("%d deliveries acknowledged in %d requests; want %d in as many", len(acked), attempts, visitors)
	}
}

// A destination's rate bounds the requests a second, whatever its concurrency: on a frozen
// clock one pass sends at most a second's worth, and a second later a second's worth more.
func TestRateLimitPerDestination(t *testing.T) {
	r := newReceiver(t)
	db, err := store.Open(t.TempDir(), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src := fmt.Sprintf(`
steps:
  - {id: viewed, stage: consideration, when: {event.type: pageview}}
destinations:
  crm: {url: %q, secret_env: CRM_SECRET, concurrency: 10, rate: 3}
automations:
  every_page: {on: {reaches: viewed}, to: crm}
`, r.srv.URL)
	set, err := rules.Load(fstest.MapFS{"r/a.yaml": {Data: []byte(src)}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	clock := func() time.Time { return now }
	st := trackstore.New(db)
	e := &env{db: db, tr: track.New(st, nil, set, track.Config{Now: clock})}
	e.d = deliver.New(deliver.Config{Tracker: e.tr, Store: st, Now: clock, Getenv: func(string) string { return secret }})
	for range 10 {
		e.visit(t, "", "/p")
	}
	sent := func() int { _, _, n, _ := r.snapshot(); return n }
	for range 3 {
		e.d.Pass(context.Background())
		e.d.Wait()
	}
	if n := sent(); n != 3 {
		t.Fatalf("requests on a frozen clock = %d; want 3 (the rate)", n)
	}
	now = now.Add(time.Second)
	e.d.Pass(context.Background())
	e.d.Wait()
	if n := sent(); n != 6 {
		t.Fatalf("requests a second later = %d; want 6", n)
	}
}
