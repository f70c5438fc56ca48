package server_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
)

// replayChunk is a chunk of session s: n rrweb events from ts on, the first a full snapshot
// when seq is 0, then incremental ones; clicks adds three fast clicks at one spot (a rage
// click) after them.
func replayChunk(vid, session string, seq int, ts int64, page string, clicks bool) string {
	var evs []string
	if seq == 0 {
		evs = append(evs, fmt.Sprintf(`{"type":4,"timestamp":%d,"data":{"href":%q,"width":1280,"height":800}}`, ts, page),
			fmt.Sprintf(`{"type":2,"timestamp":%d,"data":{"node":{"type":0,"id":1,"childNodes":[]},"initialOffset":{"left":0,"top":0}}}`, ts))
	}
	evs = append(evs, fmt.Sprintf(`{"type":3,"timestamp":%d,"data":{"source":5,"text":"*****","id":%d}}`, ts+10, 100+seq))
	if clicks {
		for i := range 3 {
			evs = append(evs, fmt.Sprintf(`{"type":3,"timestamp":%d,"data":{"source":2,"type":2,"id":7,"x":100,"y":%d}}`, ts+100+int64(i)*200, 200+i))
		}
	}
	v := ""
	if vid != "" {
		v = `"vid":"` + vid + `",`
	}
	return fmt.Sprintf(`{"site":"shop",%s"session":%q,"page":%q,"seq":%d,"events":[%s]}`, v, session, page, seq, strings.Join(evs, ","))
}

func gzipped(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return b.String()
}

type replaySummary struct {
	ID        string   `json:"id"`
	VID       string   `json:"vid"`
	Site      string   `json:"site"`
	StartedAt int64    `json:"started_at"`
	EndedAt   int64    `json:"ended_at"`
	Pages     []string `json:"pages"`
	Chunks    int      `json:"chunks"`
	Bytes     int      `json:"bytes"`
}

type replayDetail struct {
	ID        string `json:"id"`
	VID       string `json:"vid"`
	Site      string `json:"site"`
	StartedAt int64  `json:"started_at"`
	EndedAt   int64  `json:"ended_at"`
	Events    []struct {
		Type      int   `json:"type"`
		Timestamp int64 `json:"timestamp"`
	} `json:"events"`
	Journey []struct {
		TS   int64  `json:"ts"`
		Type string `json:"type"`
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"journey"`
}

func (ts *testServer) admin(t *testing.T, path string) reply {
	t.Helper()
	return ts.do(t, "GET", path, "", "Authorization", "Bearer "+token)
}

func TestReplayIngestAndRead(t *testing.T) {
	ts := start(t)
	origin := []string{"Origin", "https://shop.example"}
	now := time.Now().UnixMilli()
	// A visitor with a journey: a pageview, then an add to cart (a step) during the recording.
	hit := ts.do(t, "POST", "/v1/hit", fmt.Sprintf(`{"site":"shop","events":[{"id":"e1","type":"pageview","ts":%d,"url":"https://shop.example/products/jacket","title":"Jacket"},{"id":"e2","type":"event","name":"add_to_cart","ts":%d,"url":"https://shop.example/products/jacket"}]}`, now, now+3000), origin...)
	vid := decode[hitReply](t, hit.body).VID
	if hit.status != 200 || vid == "" {
		t.Fatalf("hit: %d %s", hit.status, hit.body)
	}
	const s = "0f2c6a4e-7d1b-4c3e-9a55-2b8e1f0c9d77"
	// Chunk 1 arrives first and compressed, chunk 0 as JSON (a beacon), and chunk 0 again.
	for _, body := range []string{
		gzipped(replayChunk(vid, s, 1, now+5000, "https://shop.example/cart", true)),
		replayChunk(vid, s, 0, now+1, "https://shop.example/products/jacket", false),
		replayChunk(vid, s, 0, now+1, "https://shop.example/products/jacket", false),
	} {
		r := ts.do(t, "POST", "/v1/replay", body, origin...)
		if r.status != 204 {
			t.Fatalf("replay chunk: %d %s", r.status, r.body)
		}
		if r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
			t.Errorf("replay reply without CORS for the site's origin: %v", r.header)
		}
	}
	list := ts.admin(t, "/api/v1/visitors/"+vid+"/replays")
	if list.status != 200 {
		t.Fatalf("visitor replays: %d %s", list.status, list.body)
	}
	got := decode[struct{ Replays []replaySummary }](t, list.body).Replays
	if len(got) != 1 || got[0].ID != s || got[0].VID != vid || got[0].Site != "shop" || got[0].Chunks != 2 ||
		got[0].StartedAt != now+1 || got[0].EndedAt != now+5500 || fmt.Sprint(got[0].Pages) != "[/cart /products/jacket]" || got[0].Bytes <= 0 {
		t.Fatalf("visitor replays %+v; want the one session, 2 chunks, from %d to %d", got, now+1, now+5500)
	}
	d := ts.admin(t, "/api/v1/replays/"+s)
	if d.status != 200 {
		t.Fatalf("replay: %d %s", d.status, d.body)
	}
	rp := decode[replayDetail](t, d.body)
	var types []int
	for _, e := range rp.Events {
		types = append(types, e.Type)
	}
	if fmt.Sprint(types) != "[4 2 3 3 3 3 3]" || rp.VID != vid || rp.StartedAt != now+1 {
		t.Errorf("replay events of types %v (vid %s); want meta, full snapshot, then chunk 0's and chunk 1's incremental events in order", types, rp.VID)
	}
	var marks []string
	for _, m := range rp.Journey {
		marks = append(marks, m.Type+":"+m.Name)
	}
	if want := "[pageview:Jacket event:add_to_cart step:added_to_cart rage_click:3 clicks in a second at 100,202]"; !strings.Contains(fmt.Sprint(marks), "pageview:Jacket") ||
		!strings.Contains(fmt.Sprint(marks), "event:add_to_cart") || !strings.Contains(fmt.Sprint(marks), "step:added_to_cart") || !strings.Contains(fmt.Sprint(marks), "rage_click:") {
		t.Errorf("journey marks %v; want among them %s", marks, want)
	}
	for i := 1; i < len(rp.Journey); i++ {
		if rp.Journey[i].TS < rp.Journey[i-1].TS {
			t.Errorf("journey marks out of time order: %v", rp.Journey)
		}
	}
	period := ts.admin(t, fmt.Sprintf("/api/v1/replays?site=shop&from=%d&to=%d", now, now+60000))
	if p := decode[struct{ Replays []replaySummary }](t, period.body).Replays; period.status != 200 || len(p) != 1 || p[0].ID != s {
		t.Errorf("period replays: %d %s", period.status, period.body)
	}
	// Reached added_to_cart and went no further (no checkout): listed; stopped at viewed_product: not.
	if p := decode[struct{ Replays []replaySummary }](t, ts.admin(t, fmt.Sprintf("/api/v1/replays?site=shop&from=%d&to=%d&step=added_to_cart&stopped=true", now, now+60000)).body).Replays; len(p) != 1 {
		t.Errorf("stopped at added_to_cart: %+v; want the session", p)
	}
	if p := decode[struct{ Replays []replaySummary }](t, ts.admin(t, fmt.Sprintf("/api/v1/replays?site=shop&from=%d&to=%d&step=viewed_product&stopped=true", now, now+60000)).body).Replays; len(p) != 0 {
		t.Errorf("stopped at viewed_product: %+v; want none (the visitor went on to the cart)", p)
	}
	if p := decode[struct{ Replays []replaySummary }](t, ts.admin(t, fmt.Sprintf("/api/v1/replays?site=shop&from=%d&to=%d&step=began_checkout", now, now+60000)).body).Replays; len(p) != 0 {
		t.Errorf("reached began_checkout: %+v; want none", p)
	}
	m := ts.do(t, "GET", "/metrics", "")
	if v := metricValue(t, m.body, `pathlight_replay_chunks_total{result="accepted"}`); v != 2 {
		t.Errorf("accepted chunks %v; want 2", v)
	}
	if v := metricValue(t, m.body, `pathlight_replay_chunks_total{result="duplicate"}`); v != 1 {
		t.Errorf("duplicate chunks %v; want 1", v)
	}
	if v := metricValue(t, m.body, `pathlight_replay_bytes_total`); int(v) != got[0].Bytes {
		t.Errorf("replay bytes %v; want %d", v, got[0].Bytes)
	}

	// Erase takes the recordings with the journey.
	del := ts.do(t, "DELETE", "/api/v1/visitors/"+vid, "", "Authorization", "Bearer "+token)
	if del.status != 200 || !strings.Contains(del.body, `"replays":1`) {
		t.Fatalf("erase: %d %s; want the session erased", del.status, del.body)
	}
	if r := ts.admin(t, "/api/v1/replays/"+s); r.status != 404 || !strings.Contains(r.body, "not_found") {
		t.Errorf("replay after the erase: %d %s; want 404 not_found", r.status, r.body)
	}
	if p := decode[struct{ Replays []replaySummary }](t, ts.admin(t, fmt.Sprintf("/api/v1/replays?site=shop&from=%d&to=%d", now, now+60000)).body).Replays; len(p) != 0 {
		t.Errorf("period replays after the erase: %+v", p)
	}
	if v := metricValue(t, ts.do(t, "GET", "/metrics", "").body, `pathlight_replay_chunks_total{result="accepted"}`); v != 2 {
		t.Errorf("accepted chunks %v after the erase; counters do not go back", v)
	}
}

func TestReplayRefusals(t *testing.T) {
	ts := start(t, "--replay-session-cap", "64KiB")
	origin := []string{"Origin", "https://shop.example"}
	now := time.Now().UnixMilli()
	good := replayChunk("", "session-refusals", 0, now, "https://shop.example/", false)
	cases := []struct {
		name    string
		body    string
		headers []string
		status  int
		reason  string
	}{
		{"unknown site", strings.Replace(good, `"site":"shop"`, `"site":"nope"`, 1), origin, 403, "unknown_site"},
		{"origin", good, []string{"Origin", "https://evil.example"}, 403, "origin"},
		{"gpc", good, append([]string{"Sec-GPC", "1"}, origin...), 403, "no_consent"},
		{"denied", strings.Replace(good, `"site":"shop"`, `"site":"shop","consent":"denied"`, 1), origin, 403, "no_consent"},
		{"bad json", `{"site":"shop",`, origin, 400, "bad_replay"},
		{"unknown member", strings.Replace(good, `"site":"shop"`, `"site":"shop","x":1`, 1), origin, 400, "bad_replay"},
		{"bad session", strings.Replace(good, "session-refusals", "a/b", 1), origin, 400, "bad_replay"},
		{"no events", `{"site":"shop","session":"session-refusals","page":"https://shop.example/","seq":0,"events":[]}`, origin, 400, "bad_replay"},
		{"content type", good, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, origin...), 415, "content_type"},
	}
	for _, c := range cases {
		r := ts.do(t, "POST", "/v1/replay", c.body, c.headers...)
		if r.status != c.status || !strings.Contains(r.body, c.reason) {
			t.Errorf("%s: %d %s; want %d %s", c.name, r.status, r.body, c.status, c.reason)
		}
	}
	// A body over the route's limit (1 MiB) is refused from its Content-Length. The client asks
	// first (Expect: 100-continue): a server that refuses a body while it is being sent resets
	// the connection under the sender's feet.
	req, _ := http.NewRequest("POST", ts.url+"/v1/replay", strings.NewReader(strings.Repeat("x", 2<<20)))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Expect", "100-continue")
	resp, err := (&http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.HasPrefix(resp.Header.Get("X-Pathlight-Reason"), "body_too_large") {
		t.Errorf("a body of 2 MiB: %d %q; want 413 body_too_large", resp.StatusCode, resp.Header.Get("X-Pathlight-Reason"))
	}
	// The session cap: chunks of about 20 KB compressed (random text compresses badly) until
	// the fourth is refused with 429, and nothing of it is stored.
	pad := func(seq int) string {
		var b strings.Builder
		rnd := rand.New(rand.NewPCG(uint64(seq), 1))
		for range 30000 {
			b.WriteByte("abcdefghijklmnopqrstuvwxyz0123456789"[rnd.IntN(36)])
		}
		return fmt.Sprintf(`{"site":"shop","session":"session-capped","page":"https://shop.example/","seq":%d,"events":[{"type":3,"timestamp":%d,"data":{"text":%q}}]}`, seq, now+int64(seq), b.String())
	}
	refused := -1
	for seq := range 6 {
		r := ts.do(t, "POST", "/v1/replay", gzipped(pad(seq)), origin...)
		if r.status == 429 {
			if !strings.Contains(r.body, "replay_session_cap") {
				t.Errorf("cap refusal: %s", r.body)
			}
			refused = seq
			break
		}
		if r.status != 204 {
			t.Fatalf("chunk %d: %d %s", seq, r.status, r.body)
		}
	}
	if refused < 2 {
		t.Fatalf("session cap of 64 KiB refused chunk %d; want a few chunks of about 20 KB first", refused)
	}
	d := decode[replayDetail](t, ts.admin(t, "/api/v1/replays/session-capped").body)
	if len(d.Events) != refused {
		t.Errorf("%d events stored; want %d (none of the refused chunk)", len(d.Events), refused)
	}
	m := ts.do(t, "GET", "/metrics", "").body
	for reason, want := range map[string]float64{"no_consent": 2, "session_cap": 1, "bad_replay": 4} {
		if v := metricValue(t, m, `pathlight_replay_chunks_total{result="`+reason+`"}`); v != want {
			t.Errorf("refusals %s: %v; want %v", reason, v, want)
		}
	}
}

func TestReplayAdminRoutesRefuse(t *testing.T) {
	ts := start(t)
	bearer := []string{"Authorization", "Bearer " + token}
	cases := []struct {
		method, path string
		headers      []string
		status       int
		reason       string
	}{
		{"GET", "/api/v1/replays/session-none", nil, 401, "unauthorised"},
		{"GET", "/api/v1/replays/session-none", bearer, 404, "not_found"},
		{"GET", "/api/v1/replays/session-none?x=1", bearer, 400, "x"},
		{"GET", "/api/v1/replays?site=shop&bogus=1", bearer, 400, "bogus"},
		{"GET", "/api/v1/replays?site=nope", bearer, 400, "unknown_site"},
		{"GET", "/api/v1/replays?site=shop&from=yesterday-ish", bearer, 400, "from"},
		{"GET", "/api/v1/replays?site=shop&limit=0", bearer, 400, "limit"},
		{"GET", "/api/v1/replays?site=shop&stopped=true", bearer, 400, "step"},
		{"GET", "/api/v1/replays?site=shop&step=nowhere", bearer, 400, "nowhere"},
		{"GET", "/api/v1/visitors/not-a-vid/replays", bearer, 400, "visitor id"},
		{"GET", "/api/v1/visitors/0123456789abcdef0123456789abcdef/replays?x=1", bearer, 400, "x"},
		{"POST", "/api/v1/replays/session-none", bearer, 405, "method"},
	}
	for _, c := range cases {
		r := ts.do(t, c.method, c.path, "", c.headers...)
		if r.status != c.status || !strings.Contains(strings.ToLower(r.body), strings.ToLower(c.reason)) {
			t.Errorf("%s %s: %d %s; want %d with %q", c.method, c.path, r.status, r.body, c.status, c.reason)
		}
	}
	// A visitor without recordings has an empty list, not an error.
	r := ts.do(t, "GET", "/api/v1/visitors/0123456789abcdef0123456789abcdef/replays", "", bearer...)
	if r.status != 200 || strings.TrimSpace(r.body) != `{"replays":[]}` {
		t.Errorf("replays of an unknown visitor: %d %s; want 200 and an empty list", r.status, r.body)
	}
}

func TestReplayScript(t *testing.T) {
	ts := start(t)
	r := ts.do(t, "GET", "/pl-rr.js", "", "Accept-Encoding", "gzip")
	if r.status != 200 || r.header.Get("ETag") == "" || !strings.Contains(r.header.Get("Cache-Control"), "max-age") || r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("/pl-rr.js: %d %v", r.status, r.header)
	}
	again := ts.do(t, "GET", "/pl-rr.js", "", "Accept-Encoding", "gzip", "If-None-Match", r.header.Get("ETag"))
	if again.status != 304 {
		t.Errorf("/pl-rr.js revalidated: %d; want 304", again.status)
	}
}

func TestHeatmapSnapshotRoute(t *testing.T) {
	ts := start(t)
	origin := []string{"Origin", "https://shop.example"}
	path := "/api/v1/reports/heatmap/snapshot?site=shop&page=/pricing&band=desktop"
	if r := ts.admin(t, path); r.status != 404 || !strings.Contains(r.body, "not_found") {
		t.Errorf("before any recording: %d %s; want 404 not_found", r.status, r.body)
	}
	chunk := strings.Replace(replayChunk("", "session-snapshot", 0, time.Now().UnixMilli(), "https://shop.example/pricing", false), `"seq":0`, `"seq":0,"snapshot":true`, 1)
	if r := ts.do(t, "POST", "/v1/replay", gzipped(chunk), origin...); r.status != 204 {
		t.Fatalf("chunk with a snapshot: %d %s", r.status, r.body)
	}
	r := ts.admin(t, path)
	if r.status != 200 || !strings.HasPrefix(r.body, `{"type":2,`) || !strings.Contains(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("snapshot: %d %s; want the full-snapshot event", r.status, r.body)
	}
	// The meta event says 1280 px: a desktop snapshot, no phone one.
	if r := ts.admin(t, "/api/v1/reports/heatmap/snapshot?site=shop&page=/pricing&band=phone"); r.status != 404 {
		t.Errorf("phone snapshot: %d %s; want 404", r.status, r.body)
	}
	for q, want := range map[string]string{
		"site=shop&page=/pricing&band=watch": "band",
		"site=shop&band=desktop":             "page",
		"site=shop&page=pricing":             "page",
		"site=shop&page=/pricing&x=1":        "x",
	} {
		if r := ts.admin(t, "/api/v1/reports/heatmap/snapshot?"+q); r.status != 400 || !strings.Contains(r.body, want) {
			t.Errorf("%s: %d %s; want 400 about %s", q, r.status, r.body, want)
		}
	}
}

// A recording made under an anonymous id belongs to the known user it is merged into: it is
// listed under the user and erased with them.
func TestReplayOfAMergedVisitor(t *testing.T) {
	ts := start(t)
	origin := []string{"Origin", "https://shop.example"}
	now := time.Now().UnixMilli()
	hit := func(vid, events string) string {
		t.Helper()
		body := `{"site":"shop",` + vid + `"events":[` + events + `]}`
		r := ts.do(t, "POST", "/v1/hit", body, origin...)
		if r.status != 200 {
			t.Fatalf("hit: %d %s", r.status, r.body)
		}
		return decode[hitReply](t, r.body).VID
	}
	user := hit("", fmt.Sprintf(`{"id":"u1","type":"identify","user_id":"u-7","ts":%d,"url":"https://shop.example/"}`, now))
	anon := hit("", fmt.Sprintf(`{"id":"a1","type":"pageview","ts":%d,"url":"https://shop.example/cart"}`, now))
	if r := ts.do(t, "POST", "/v1/replay", replayChunk(anon, "session-of-anon", 0, now, "https://shop.example/cart", false), origin...); r.status != 204 {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	if merged := hit(`"vid":"`+anon+`",`, fmt.Sprintf(`{"id":"a2","type":"identify","user_id":"u-7","ts":%d,"url":"https://shop.example/cart"}`, now+1000)); merged != user {
		t.Fatalf("after identify: %s; want the user's journey %s", merged, user)
	}
	// A chunk after the merge, under the old id, goes to the user's journey too.
	if r := ts.do(t, "POST", "/v1/replay", replayChunk(anon, "session-after-merge", 0, now+2000, "https://shop.example/cart", false), origin...); r.status != 204 {
		t.Fatalf("replay: %d %s", r.status, r.body)
	}
	list := decode[struct{ Replays []replaySummary }](t, ts.admin(t, "/api/v1/visitors/"+user+"/replays").body).Replays
	if len(list) != 2 || list[0].ID != "session-after-merge" || list[0].VID != user || list[1].ID != "session-of-anon" {
		t.Fatalf("user's replays %+v; want both sessions, newest first, the later filed under the user", list)
	}
	del := ts.do(t, "DELETE", "/api/v1/visitors/"+user, "", "Authorization", "Bearer "+token)
	if del.status != 200 || !strings.Contains(del.body, `"replays":2`) {
		t.Fatalf("erase: %d %s; want both sessions erased", del.status, del.body)
	}
	for _, id := range []string{"session-of-anon", "session-after-merge"} {
		if r := ts.admin(t, "/api/v1/replays/"+id); r.status != 404 {
			t.Errorf("%s after the erase: %d", id, r.status)
		}
	}
}
