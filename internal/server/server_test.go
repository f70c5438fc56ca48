package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/enrich"
	"github.com/pathlight/pathlight/internal/enrich/geotest"
	"github.com/pathlight/pathlight/internal/heatmap"
	"github.com/pathlight/pathlight/internal/replay"
	"github.com/pathlight/pathlight/internal/rules/rulestest"
	"github.com/pathlight/pathlight/internal/server"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

const (
	chromeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	token    = "test-admin-token-0123456789"
)

type testServer struct {
	url     string
	tracker *track.Tracker
	srv     *server.Server
	client  *http.Client
}

// start runs a real server on 127.0.0.1 over real Badger in a temp dir, with the example
// rules. flags are serve flags on top of test defaults.
func start(t testing.TB, flags ...string) *testServer { return startAt(t, nil, flags...) }

// startAt is start with the clock of the tracker and the reports fixed (nil: time.Now). The
// server is wired as `pathlight serve` wires it: the reports feed hears every commit, and
// reports are always computed fresh.
func startAt(t testing.TB, clock func() time.Time, flags ...string) *testServer {
	t.Helper()
	return startLogged(t, clock, nil, flags...)
}

// startLogged is startAt with the server's log written to logs (nil: discarded).
func startLogged(t testing.TB, clock func() time.Time, logs io.Writer, flags ...string) *testServer {
	t.Helper()
	return startWrapped(t, clock, logs, nil, flags...)
}

// startWrapped is startLogged with the tracker's store wrapped by wrap (nil: as it is).
func startWrapped(t testing.TB, clock func() time.Time, logs io.Writer, wrap func(track.Store) track.Store, flags ...string) *testServer {
	t.Helper()
	args := append([]string{"--admin-token", token, "--sites", "shop=https://shop.example"}, flags...)
	cfg, err := config.Load(args, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.TempDir(), trackstore.Options(store.Options{Small: true}))
	if err != nil {
		t.Fatal(err)
	}
	var geo *enrich.GeoDB
	if cfg.GeoIP != "" {
		if geo, err = enrich.OpenGeo(cfg.GeoIP); err != nil {
			t.Fatal(err)
		}
	}
	set := rulestest.Example(t, "shop") // the demo's rules, for the test's site
	hosts := map[string][]string{}
	for _, s := range cfg.Sites {
		hosts[s.ID] = s.Hosts()
	}
	feed := analytics.NewFeed(clock)
	tc := track.Config{Retention: cfg.Retention, SiteHosts: hosts, Now: clock}
	if cfg.Identity == "cookieless" {
		tc.Identity = track.IdentityCookieless
	}
	var st track.Store = trackstore.New(db)
	if wrap != nil {
		st = wrap(st)
	}
	tr := track.New(track.Watch(st, feed), geo, set, tc)
	reports := analytics.New(tr, feed, analytics.Options{Now: clock, MaxStaleness: -1})
	var log *slog.Logger
	if logs != nil {
		log = slog.New(slog.NewJSONHandler(logs, nil))
	}
	srv := server.New(server.Options{Config: cfg, Tracker: tr, StoreSizes: db.Sizes, StoreGroups: db.GroupStats, StoreSlowed: db.SlowedWrites, StoreBacklog: db.Backlog, Analytics: reports, Logger: log,
		StoreMapped: func() (int64, uint64, int64) { m := db.Mapped(); return m.Resident, m.Trims, m.Trimmed },
		Heatmaps:    heatmap.New(trackstore.New(db), cfg.Retention),
		Replays:     replay.New(trackstore.New(db), replay.Config{Retention: cfg.ReplayRetention, SessionCap: cfg.ReplaySessionCap, DailyCap: cfg.ReplayDailyCap, Now: clock})})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	client := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		client.CloseIdleConnections() // so Shutdown need not wait for them to time out
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		db.Close()
	})
	return &testServer{url: "http://" + ln.Addr().String(), tracker: tr, srv: srv, client: client}
}

type reply struct {
	status  int
	header  http.Header
	body    string
	cookies []*http.Cookie
}

func (ts *testServer) do(t *testing.T, method, path, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", chromeUA)
	if body != "" {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b), resp.Cookies()}
}

type hitReply struct {
	VID       string   `json:"vid"`
	Accepted  []string `json:"accepted"`
	Duplicate []string `json:"duplicate"`
	Rejected  []struct {
		ID, Reason string
	} `json:"rejected"`
	Decisions struct {
		Slots map[string]struct {
			Variant, Content, Experiment string
		} `json:"slots"`
		Prompts []json.RawMessage `json:"prompts"`
	} `json:"decisions"`
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

// heldOut reports whether the visitor is in the example rules' 5% holdout, where every slot
// shows its default.
func (ts *testServer) heldOut(t *testing.T, vid string) bool {
	t.Helper()
	r := ts.do(t, "GET", "/api/v1/visitors/"+vid+"/explain", "", "Authorization", "Bearer "+token)
	if r.status != 200 {
		t.Fatalf("explain %s: %d %s", vid, r.status, r.body)
	}
	return decode[struct{ Holdout bool }](t, r.body).Holdout
}

// wantVariant is want, or the default for a held-out visitor.
func (ts *testServer) wantVariant(t *testing.T, vid, want string) string {
	if ts.heldOut(t, vid) {
		return "default"
	}
	return want
}

func TestHitSetsCookieAndStoresJourney(t *testing.T) {
	ts := start(t)
	r := ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"a1","type":"pageview","url":"https://shop.example/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring","title":"Home"}],"slots":["hero"]}`,
		"Origin", "https://shop.example")
	if r.status != 200 {
		t.Fatalf("status %d body %s", r.status, r.body)
	}
	h := decode[hitReply](t, r.body)
	if len(r.cookies) != 1 {
		t.Fatalf("cookies = %v; want pl_vid", r.cookies)
	}
	c := r.cookies[0]
	if c.Name != "pl_vid" || c.Value != h.VID || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge != 400*24*3600 || c.Secure {
		t.Fatalf("cookie = %+v; want pl_vid=%s HttpOnly SameSite=Lax 400 days, not Secure over http", c, h.VID)
	}
	if got := r.header.Get("Access-Control-Allow-Origin"); got != "https://shop.example" || r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("CORS headers: origin %q credentials %q", got, r.header.Get("Access-Control-Allow-Credentials"))
	}
	if d, want := h.Decisions.Slots["hero"], ts.wantVariant(t, h.VID, "paid_social_hero"); d.Variant != want {
		t.Fatalf("hero decision = %+v; want %s", d, want)
	}
	v := ts.do(t, "GET", "/api/v1/visitors/"+h.VID, "", "Authorization", "Bearer "+token)
	if v.status != 200 {
		t.Fatalf("GET visitor: %d %s", v.status, v.body)
	}
	st := decode[struct {
		VID       string `json:"vid"`
		Pageviews int    `json:"pageviews"`
		Sessions  []struct {
			Channel string `json:"channel"`
		} `json:"sessions"`
	}](t, v.body)
	if st.VID != h.VID || st.Pageviews != 1 || len(st.Sessions) != 1 || st.Sessions[0].Channel != "Paid Social" {
		t.Fatalf("visitor = %+v", st)
	}
	// The cookie identifies the visitor on the next hit.
	r2 := ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"a2","type":"pageview","url":"https://shop.example/pricing"}]}`, "Cookie", "pl_vid="+h.VID)
	if decode[hitReply](t, r2.body).VID != h.VID {
		t.Fatalf("second hit: %s", r2.body)
	}
}

func TestBatchRejectsBadEventsKeepsGoodOnes(t *testing.T) {
	ts := start(t)
	long := "https://shop.example/" + strings.Repeat("x", 2100)
	body := fmt.Sprintf(`{"site":"shop","events":[
		{"id":"good","type":"pageview","url":"https://shop.example/"},
		{"type":"pageview","url":"https://shop.example/"},
		{"id":"long","type":"pageview","url":%q},
		{"id":"weird","type":"teleport"},
		{"id":"future","type":"pageview","ts":%d},
		{"id":"huge","type":"event","name":"purchase","props":{"value":1e308}}]}`, long, time.Now().Add(48*time.Hour).UnixMilli())
	r := ts.do(t, "POST", "/v1/hit", body)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	h := decode[hitReply](t, r.body)
	if len(h.Accepted) != 1 || h.Accepted[0] != "good" {
		t.Fatalf("accepted = %v; want [good]", h.Accepted)
	}
	reasons := map[string]string{}
	for _, rj := range h.Rejected {
		reasons[rj.ID] = rj.Reason
	}
	for id, want := range map[string]string{"": "missing id", "long": "url", "weird": "unknown type", "future": "future", "huge": `prop "value" is out of range`} {
		if !strings.Contains(reasons[id], want) {
			t.Errorf("rejection of %q = %q; want it to mention %q", id, reasons[id], want)
		}
	}
}

func TestErrorsHaveStatusAndReason(t *testing.T) {
	ts := start(t, "--body-limit", "2048")
	tests := []struct {
		name, method, path, body string
		headers                  []string
		status                   int
		reason                   string
	}{
		{"malformed JSON", "POST", "/v1/hit", `{"site":"shop","events":[`, nil, 400, "bad_json"},
		{"not an object", "POST", "/v1/hit", `[1,2]`, nil, 400, "bad_json"},
		{"wrong method", "GET", "/v1/hit", "", nil, 405, "method"},
		{"unknown route", "GET", "/v2/hit", "", nil, 404, "not_found"},
		{"unknown site", "POST", "/v1/hit", `{"site":"nope","events":[]}`, nil, 403, "unknown_site"},
		{"origin not allowed", "POST", "/v1/hit", `{"site":"shop","events":[]}`, []string{"Origin", "https://evil.example"}, 403, "origin"},
		{"too large", "POST", "/v1/hit", `{"site":"shop","events":[],"pad":"` + strings.Repeat("x", 4096) + `"}`, nil, 413, "body_too_large"},
		{"content type", "POST", "/v1/hit", `{}`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "content_type"},
		{"multipart form", "POST", "/v1/hit", "--b\r\nContent-Disposition: form-data; name=\"site\"\r\n\r\nshop\r\n--b--\r\n", []string{"Content-Type", "multipart/form-data; boundary=b"}, 415, "content_type"},
		{"JSON sent as multipart", "POST", "/v1/hit", `{"site":"shop","events":[]}`, []string{"Content-Type", "multipart/form-data; boundary=b"}, 415, "content_type"},
		{"multipart without a boundary", "POST", "/v1/beacon", `{"site":"shop","events":[]}`, []string{"Content-Type", "multipart/form-data"}, 415, "content_type"},
		{"multipart decide", "POST", "/v1/decide", `{"site":"shop"}`, []string{"Content-Type", "multipart/form-data; boundary=b"}, 415, "content_type"},
		{"admin without token", "GET", "/api/v1/events", "", nil, 401, "unauthorised"},
		{"admin wrong token", "GET", "/api/v1/events", "", []string{"Authorization", "Bearer nope"}, 401, "unauthorised"},
		{"unknown visitor", "GET", "/api/v1/visitors/0123456789abcdef0123456789abcdef", "", []string{"Authorization", "Bearer " + token}, 404, "unknown_visitor"},
		{"bad visitor id", "DELETE", "/api/v1/visitors/xyz", "", []string{"Authorization", "Bearer " + token}, 400, "bad_request"},
		{"bad export range", "GET", "/api/v1/events?from=yesterday", "", []string{"Authorization", "Bearer " + token}, 400, "bad_request"},
		{"bad export end", "GET", "/api/v1/events?to=soon", "", []string{"Authorization", "Bearer " + token}, 400, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(t, tt.method, tt.path, tt.body, tt.headers...)
			if r.status != tt.status {
				t.Fatalf("status = %d; want %d (body %s)", r.status, tt.status, r.body)
			}
			if got := r.header.Get("X-Pathlight-Reason"); !strings.HasPrefix(got, tt.reason+":") {
				t.Fatalf("X-Pathlight-Reason = %q; want %s: …", got, tt.reason)
			}
			e := decode[struct{ Error, Reason string }](t, r.body)
			if e.Reason != tt.reason || e.Error == "" {
				t.Fatalf("body = %s; want reason %s and an explanation", r.body, tt.reason)
			}
		})
	}
}

func TestPreflight(t *testing.T) {
	ts := start(t)
	r := ts.do(t, "OPTIONS", "/v1/hit", "", "Origin", "https://shop.example", "Access-Control-Request-Method", "POST")
	if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" || !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", r.status, r.header)
	}
	if got := r.header.Get("Access-Control-Allow-Methods"); strings.Contains(got, "GET") {
		t.Errorf("preflight of /v1/hit allows %q; /v1/hit answers GET with 405", got)
	}
	// Origins match whatever their case.
	r = ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[]}`, "Origin", "https://Shop.Example")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://Shop.Example" {
		t.Fatalf("hit from https://Shop.Example: %d with Access-Control-Allow-Origin %q; want 200 and the origin", r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
	r = ts.do(t, "OPTIONS", "/v1/decide", "", "Origin", "https://shop.example", "Access-Control-Request-Method", "GET")
	if r.status != 204 || !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "GET") {
		t.Fatalf("preflight of /v1/decide: %d %v; want GET allowed", r.status, r.header)
	}
	r = ts.do(t, "OPTIONS", "/v1/hit", "", "Origin", "https://evil.example")
	if r.status != 403 {
		t.Fatalf("preflight from a foreign origin: %d; want 403", r.status)
	}
}

// TestErrorsCarryCORS: a refusal from an allowed origin carries the CORS headers, so that the
// page's script can read its status and reason (and drop the batch rather than retry it); a
// foreign origin gets none.
func TestErrorsCarryCORS(t *testing.T) {
	ts := start(t, "--body-limit", "2048", "--rate-visitor", "1", "--burst-visitor", "1")
	const origin = "https://shop.example"
	tests := []struct {
		name, body string
		status     int
	}{
		{"malformed JSON", `{"site":"shop","events":[`, 400},
		{"unknown site", `{"site":"nope","events":[]}`, 403},
		{"too large", `{"site":"shop","events":[],"pad":"` + strings.Repeat("x", 4096) + `"}`, 413},
		{"rate limited", `{"site":"shop","vid":"0123456789abcdef0123456789abcdef","events":[]}`, 429},
	}
	ts.do(t, "POST", "/v1/hit", tests[3].body, "Origin", origin) // spends the visitor's burst
	for _, tt := range tests {
		r := ts.do(t, "POST", "/v1/hit", tt.body, "Origin", origin)
		if r.status != tt.status {
			t.Fatalf("%s: status %d; want %d (%s)", tt.name, r.status, tt.status, r.body)
		}
		if got := r.header.Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("%s: Access-Control-Allow-Origin = %q; want %q", tt.name, got, origin)
		}
		if got := r.header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "X-Pathlight-Reason") || !strings.Contains(got, "Retry-After") {
			t.Errorf("%s: Access-Control-Expose-Headers = %q; want X-Pathlight-Reason and Retry-After", tt.name, got)
		}
	}
	r := ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[`, "Origin", "https://evil.example")
	if r.status != 400 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign origin: %d with Access-Control-Allow-Origin %q; want 400 without it", r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
}

func TestRateLimitPerIP(t *testing.T) {
	ts := start(t, "--rate-ip", "1", "--burst-ip", "3")
	var last reply
	for i := 0; i < 5; i++ {
		last = ts.do(t, "POST", "/v1/beacon", fmt.Sprintf(`{"site":"shop","events":[{"id":"r%d","type":"pageview","url":"https://shop.example/"}]}`, i))
	}
	if last.status != 429 || last.header.Get("Retry-After") == "" {
		t.Fatalf("fifth request in a burst of 3: %d Retry-After %q; want 429 with Retry-After", last.status, last.header.Get("Retry-After"))
	}
}

func TestRateLimitPerVisitor(t *testing.T) {
	ts := start(t, "--rate-visitor", "1", "--burst-visitor", "2")
	vid := "0123456789abcdef0123456789abcdef"
	codes := []int{}
	for i := 0; i < 4; i++ {
		r := ts.do(t, "POST", "/v1/beacon", fmt.Sprintf(`{"site":"shop","vid":%q,"events":[{"id":"v%d","type":"pageview","url":"https://shop.example/"}]}`, vid, i))
		codes = append(codes, r.status)
	}
	if codes[0] != 204 || codes[3] != 429 {
		t.Fatalf("statuses = %v; want 204 first and 429 once the visitor's burst is spent", codes)
	}
}

func TestBeaconAndDecide(t *testing.T) {
	ts := start(t)
	r := ts.do(t, "POST", "/v1/beacon", `{"site":"shop","events":[{"id":"b1","type":"pageview","url":"https://shop.example/checkout"}]}`)
	if r.status != 204 || r.body != "" {
		t.Fatalf("beacon: %d %q; want 204 and no body", r.status, r.body)
	}
	vid := r.cookies[0].Value
	d := ts.do(t, "GET", "/v1/decide?site=shop&slots=checkout_banner,hero&url=https://shop.example/checkout", "", "Cookie", "pl_vid="+vid)
	if d.status != 200 {
		t.Fatalf("decide: %d %s", d.status, d.body)
	}
	h := decode[hitReply](t, d.body)
	// The example rules hold out 5% of visitors: they see defaults only.
	held := ts.heldOut(t, vid)
	banner := h.Decisions.Slots["checkout_banner"]
	if len(h.Accepted) != 0 || h.Decisions.Slots["hero"].Variant == "" || (banner.Experiment == "") != held {
		t.Fatalf("decide reply = %s (holdout %v); want slots decided, the banner by its experiment unless held out, nothing recorded", d.body, held)
	}
	// The arm is sticky: deciding again gives the same.
	d2 := ts.do(t, "POST", "/v1/decide", `{"site":"shop","slots":["checkout_banner"],"url":"https://shop.example/checkout"}`, "Cookie", "pl_vid="+vid)
	if a, b := h.Decisions.Slots["checkout_banner"].Variant, decode[hitReply](t, d2.body).Decisions.Slots["checkout_banner"].Variant; a != b {
		t.Fatalf("experiment arm changed between decisions: %q then %q", a, b)
	}
	st, err := ts.tracker.Visitor(vid)
	if err != nil || st.Pageviews != 1 {
		t.Fatalf("pageviews after decide = %v, %v; want 1 (decide records no pageview)", st, err)
	}
}

func TestExportAndErase(t *testing.T) {
	ts := start(t)
	var vid string
	for i := 0; i < 3; i++ {
		r := ts.do(t, "POST", "/v1/hit", fmt.Sprintf(`{"site":"shop","events":[{"id":"x%d","type":"event","name":"add_to_cart","url":"https://shop.example/p","props":{"value":30}}]}`, i), "Cookie", "pl_vid="+vid)
		h := decode[hitReply](t, r.body)
		if len(h.Accepted) != 1 {
			t.Fatalf("hit %d: %s", i, r.body)
		}
		vid = h.VID
	}
	r := ts.do(t, "GET", "/api/v1/events?from=0", "", "Authorization", "Bearer "+token)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/x-ndjson") {
		t.Fatalf("export: %d %s", r.status, r.header.Get("Content-Type"))
	}
	var ids []string
	sc := bufio.NewScanner(strings.NewReader(r.body))
	for sc.Scan() {
		var e struct {
			ID, VID, Name string
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		ids = append(ids, e.ID)
	}
	if strings.Join(ids, ",") != "x0,x1,x2" {
		t.Fatalf("exported ids = %v; want x0,x1,x2 in time order", ids)
	}
	d := ts.do(t, "DELETE", "/api/v1/visitors/"+vid, "", "Authorization", "Bearer "+token)
	if d.status != 200 || !strings.Contains(d.body, `"deleted":`) {
		t.Fatalf("erase: %d %s", d.status, d.body)
	}
	r = ts.do(t, "GET", "/api/v1/events?from=0", "", "Authorization", "Bearer "+token)
	if strings.TrimSpace(r.body) != "" {
		t.Fatalf("export after erase = %q; want nothing", r.body)
	}
	if g := ts.do(t, "GET", "/api/v1/visitors/"+vid, "", "Authorization", "Bearer "+token); g.status != 404 {
		t.Fatalf("visitor after erase: %d", g.status)
	}
}

func TestGeoOnlyFromTrustedProxy(t *testing.T) {
	mmdb := filepath.Join(t.TempDir(), "city.mmdb")
	err := geotest.WriteCityDB(mmdb, []geotest.Record{{CIDR: "81.2.69.0/24", Country: "GB", Subdivision: "ENG", City: "London", TimeZone: "Europe/London"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		flags   []string
		country string
	}{
		{"trusted", []string{"--geoip", mmdb, "--trusted-proxies", "127.0.0.1/32"}, "GB"},
		{"untrusted", []string{"--geoip", mmdb}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := start(t, tc.flags...)
			r := ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"g1","type":"pageview","url":"https://shop.example/"}]}`,
				"X-Forwarded-For", "81.2.69.160")
			st, err := ts.tracker.Visitor(decode[hitReply](t, r.body).VID)
			if err != nil {
				t.Fatal(err)
			}
			if st.Geo.Country != tc.country {
				t.Fatalf("geo = %+v; want country %q", st.Geo, tc.country)
			}
			if tc.country != "" && st.Geo.City != "London" {
				t.Fatalf("city = %q; want London", st.Geo.City)
			}
		})
	}
}

func TestMetricsAndHealth(t *testing.T) {
	ts := start(t)
	ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"m1","type":"pageview","url":"https://shop.example/"},{"type":"pageview"}]}`)
	ts.do(t, "POST", "/v1/hit", `{nope`)
	m := ts.do(t, "GET", "/metrics", "")
	for _, want := range []string{
		`pathlight_events_total{result="accepted"} 1`,
		`pathlight_events_total{result="rejected",reason="missing id"} 1`,
		`pathlight_requests_rejected_total{reason="bad_json"} 1`,
		`pathlight_request_duration_seconds_bucket{route="hit",le="+Inf"} 2`,
		`pathlight_badger_lsm_bytes`,
		`pathlight_badger_mapped_resident_bytes`, `pathlight_badger_mapped_trims_total`, `pathlight_badger_mapped_trimmed_bytes_total`,
		// The Go runtime and the process, beside Pathlight's own.
		`go_memstats_heap_inuse_bytes`, `go_gc_pauses_seconds`, `go_goroutines`, `process_resident_memory_bytes`,
	} {
		if !strings.Contains(m.body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The accepted hit was committed in a group of its own: the server handles one hit at a time here.
	groups, writes := metricValue(t, m.body, "pathlight_store_commit_groups_total"), metricValue(t, m.body, "pathlight_store_commit_writes_total")
	if groups < 1 || writes != groups {
		t.Errorf("/metrics: %v commit groups holding %v writes; want at least 1, one write each", groups, writes)
	}
	// A store that keeps up slows no write, and none waits at the backlog's bound.
	if n, d, w := metricValue(t, m.body, "pathlight_store_slowed_writes_total"), metricValue(t, m.body, "pathlight_store_slowed_seconds_total"), metricValue(t, m.body, "pathlight_store_backlog_waits_total"); n != 0 || d != 0 || w != 0 {
		t.Errorf("/metrics: %v writes slowed for %vs, %v waited at the bound; want none", n, d, w)
	}
	h := ts.do(t, "GET", "/healthz", "")
	if h.status != 200 || !strings.Contains(h.body, `"status":"ok"`) {
		t.Fatalf("healthz: %d %s", h.status, h.body)
	}
}

// metricValue returns the value of the unlabelled metric name in a /metrics body.
func metricValue(t *testing.T, body, name string) float64 {
	t.Helper()
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("/metrics: %s has value %q: %v", name, v, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics lacks %s", name)
	return 0
}

func TestScriptServedWithETag(t *testing.T) {
	ts := start(t)
	r := ts.do(t, "GET", "/pl.js", "", "Accept-Encoding", "identity")
	if r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "javascript") || r.header.Get("ETag") == "" || len(r.body) < 500 {
		t.Fatalf("/pl.js: %d %v %d bytes", r.status, r.header, len(r.body))
	}
	etag := r.header.Get("ETag")
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		if again := ts.do(t, "GET", "/pl.js", "", "Accept-Encoding", "identity", "If-None-Match", inm); again.status != 304 {
			t.Fatalf("revalidation with If-None-Match %s: %d; want 304", inm, again.status)
		}
	}
	if other := ts.do(t, "GET", "/pl.js", "", "Accept-Encoding", "identity", "If-None-Match", `"other"`); other.status != 200 {
		t.Fatalf("If-None-Match of another tag: %d; want 200", other.status)
	}
	// Go's client asks for gzip and decompresses transparently unless told otherwise: ask
	// explicitly to see the compressed body.
	req, _ := http.NewRequest("GET", ts.url+"/pl.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	gz, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || len(gz) >= len(r.body)*7/10 || resp.Header.Get("ETag") == r.header.Get("ETag") {
		t.Fatalf("gzip: encoding %q, %d bytes of %d, etag %q; want a compressed copy with its own ETag",
			resp.Header.Get("Content-Encoding"), len(gz), len(r.body), resp.Header.Get("ETag"))
	}
}

// TestNoInputCausesServerError throws random and mangled bodies at every public route: the
// answer is always a 2xx or a 4xx, never a 5xx.
func TestNoInputCausesServerError(t *testing.T) {
	ts := start(t, "--rate-ip", "100000", "--burst-ip", "100000", "--rate-visitor", "100000", "--burst-visitor", "100000")
	seeds := []string{
		`{"site":"shop","events":[{"id":"s","type":"pageview","url":"https://shop.example/?a=1","props":{"k":"v","n":1.5,"b":true,"z":null}}],"slots":["hero"]}`,
		`{"site":"shop","id":"one","type":"identify","user_id":"u1","traits":{"plan":"pro"}}`,
		`{"site":"shop","events":[{"id":"p","type":"prompt","prompt":"pricing_exit","action":"answered","answer":"Price"}]}`,
		`{"site":"shop","events":[{"id":"e","type":"engagement","engaged_ms":1200,"scroll":75}]}`,
	}
	rng := rand.New(rand.NewPCG(1, 2))
	routes := []string{"/v1/hit", "/v1/beacon", "/v1/decide"}
	for i := 0; i < 400; i++ {
		b := []byte(seeds[rng.IntN(len(seeds))])
		for n := rng.IntN(4); n >= 0; n-- {
			if len(b) == 0 {
				b = append(b, '{')
			}
			switch rng.IntN(4) {
			case 0:
				b[rng.IntN(len(b))] = byte(rng.IntN(256))
			case 1:
				b = b[:rng.IntN(len(b))]
			case 2:
				at := rng.IntN(len(b) + 1)
				b = append(b[:at], append([]byte(`{"\u0000":[[[`), b[at:]...)...)
			case 3:
				b = append(b, b...)
			}
		}
		route := routes[rng.IntN(len(routes))]
		r := ts.do(t, "POST", route, string(b), "Origin", "https://shop.example")
		if r.status >= 500 {
			t.Fatalf("POST %s %q: status %d %s", route, b, r.status, r.body)
		}
	}
}

func TestExplainSaysWhatBlockedAPrompt(t *testing.T) {
	ts := start(t)
	r := ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"p1","type":"pageview","url":"https://shop.example/pricing"}],"slots":["pricing_offer"]}`)
	vid := decode[hitReply](t, r.body).VID
	e := ts.do(t, "GET", "/api/v1/visitors/"+vid+"/explain?prompt=pricing_exit&url=https://shop.example/pricing", "", "Authorization", "Bearer "+token)
	if e.status != 200 {
		t.Fatalf("explain: %d %s", e.status, e.body)
	}
	ex := decode[struct {
		Version string `json:"version"`
		Prompts []struct {
			ID        string `json:"id"`
			Offered   bool   `json:"offered"`
			BlockedBy string `json:"blocked_by"`
		} `json:"prompts"`
	}](t, e.body)
	if ex.Version == "" || len(ex.Prompts) != 1 || ex.Prompts[0].ID != "pricing_exit" {
		t.Fatalf("explain = %s", e.body)
	}
	if p := ex.Prompts[0]; p.Offered || p.BlockedBy == "" {
		t.Fatalf("pricing_exit after one pricing view: offered %v blocked by %q; want not offered, with the reason", p.Offered, p.BlockedBy)
	}
	if g := ts.do(t, "GET", "/api/v1/visitors/0123456789abcdef0123456789abcdef/explain", "", "Authorization", "Bearer "+token); g.status != 404 {
		t.Fatalf("explain of an unknown visitor: %d", g.status)
	}
}

func TestDecideFromBackEndIsNotABot(t *testing.T) {
	ts := start(t)
	r := ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"be1","type":"pageview","url":"https://shop.example/?utm_source=facebook&utm_medium=paid_social"}],"slots":["hero"]}`)
	vid := decode[hitReply](t, r.body).VID
	// The back end's own HTTP client has a library user agent.
	d := ts.do(t, "GET", "/v1/decide?site=shop&slots=hero&vid="+vid+"&url=https://shop.example/", "", "User-Agent", "Go-http-client/1.1")
	if got, want := decode[hitReply](t, d.body).Decisions.Slots["hero"].Variant, ts.wantVariant(t, vid, "paid_social_hero"); got != want {
		t.Fatalf("back-end decide for a paid-social visitor = %q; want %s (not bot defaults)", got, want)
	}
	// Without a visitor id a library user agent is still a bot.
	d = ts.do(t, "GET", "/v1/decide?site=shop&slots=hero&url=https://shop.example/", "", "User-Agent", "python-requests/2.31")
	if got := decode[hitReply](t, d.body).Decisions.Slots["hero"].Variant; got != "default" {
		t.Fatalf("anonymous library decide = %q; want default", got)
	}
}

func TestSurveyAnswerIsValidated(t *testing.T) {
	ts := start(t)
	r := ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[
		{"id":"s1","type":"prompt","prompt":"pricing_exit","action":"answered","answer":"Price"},
		{"id":"s2","type":"prompt","prompt":"pricing_exit","action":"answered","answer":"<script>alert(1)</script>"},
		{"id":"s3","type":"prompt","prompt":"no_such_survey","action":"answered","answer":"x"}]}`)
	h := decode[hitReply](t, r.body)
	if len(h.Accepted) != 1 || h.Accepted[0] != "s1" {
		t.Fatalf("accepted = %v; want only the valid answer", h.Accepted)
	}
	if len(h.Rejected) != 2 || h.Rejected[0].ID != "s2" || h.Rejected[0].Reason == "" || h.Rejected[1].ID != "s3" {
		t.Fatalf("rejected = %+v; want s2 (not a choice) and s3 (unknown survey) with reasons", h.Rejected)
	}
	st, _ := ts.tracker.Visitor(h.VID)
	if p := st.Prompt("pricing_exit"); p == nil || p.Answered != 1 {
		t.Fatalf("prompt stats = %+v; want one answer", p)
	}
	// Without consent the answers are only counted, but checked all the same.
	r = ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[
		{"id":"g1","type":"prompt","prompt":"pricing_exit","action":"answered","answer":"Nope"},
		{"id":"g2","type":"prompt","prompt":"pricing_exit","action":"answered","answer":"Price"}]}`, "Sec-GPC", "1")
	h = decode[hitReply](t, r.body)
	if len(h.Accepted) != 1 || h.Accepted[0] != "g2" || len(h.Rejected) != 1 || h.Rejected[0].ID != "g1" {
		t.Fatalf("with Sec-GPC: accepted %v, rejected %+v; want g2 accepted and g1 rejected", h.Accepted, h.Rejected)
	}
}

func TestConnectionCapPerIP(t *testing.T) {
	ts := start(t, "--max-conns-per-ip", "2")
	addr := strings.TrimPrefix(ts.url, "http://")
	var open []net.Conn
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, c)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil)
	if err != nil {
		t.Fatalf("third connection got %q: %v", b, err)
	}
	body, _ := io.ReadAll(resp.Body)
	e := decode[struct{ Error, Reason string }](t, string(body))
	if resp.StatusCode != 429 || e.Reason != "too_many_conns" || !strings.HasPrefix(resp.Header.Get("X-Pathlight-Reason"), e.Reason+":") {
		t.Fatalf("third connection got %d %v %s; want a 429 with one reason in header and body", resp.StatusCode, resp.Header, body)
	}
	// Closing one frees its slot.
	open[0].Close()
	open = open[1:]
	// The server frees the slot once it notices the close; until then new connections are
	// turned away, which the client sees as errors or 429s.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			_, _ = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
			b, _ := io.ReadAll(c)
			c.Close()
			if strings.HasPrefix(string(b), "HTTP/1.1 200") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no connection slot within 5 s of closing a connection")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
