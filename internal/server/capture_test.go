package server_test

import (
	"encoding/json"
	"strings"
	"testing"
)

func captureBody(id, extra string) string {
	return `{"site":"shop","id":"` + id + `","ts":1,"url":"https://shop.example/pricing?x=1","w":1280,` +
		`"clicks":[{"s":"#buy","x":0.5,"y":0.5,"px":640,"py":100,"r":true,"d":true},{"s":"#buy","x":0.1,"y":0.1,"px":600,"py":90}]` + extra + `}`
}

type heatmapReply struct {
	Report string `json:"report"`
	Site   string `json:"site"`
	Data   struct {
		Page     string `json:"page"`
		Band     string `json:"band"`
		Clicks   int    `json:"clicks"`
		Rage     int    `json:"rage_clicks"`
		Dead     int    `json:"dead_clicks"`
		Views    int    `json:"pageviews"`
		Elements []struct {
			Selector string `json:"selector"`
			Clicks   int    `json:"clicks"`
		} `json:"elements"`
		RageTop []struct {
			Selector string `json:"selector"`
			Count    int    `json:"count"`
		} `json:"rage_top"`
		Scroll []struct {
			Depth int     `json:"depth"`
			Share float64 `json:"share"`
		} `json:"scroll"`
	} `json:"data"`
}

func (ts *testServer) heatmap(t *testing.T, query string) heatmapReply {
	t.Helper()
	r := ts.do(t, "GET", "/api/v1/reports/heatmap?"+query, "", "Authorization", "Bearer "+token)
	if r.status != 200 {
		t.Fatalf("heatmap report: %d %s", r.status, r.body)
	}
	return decode[heatmapReply](t, r.body)
}

func TestCaptureIngestAndReport(t *testing.T) {
	ts := start(t)
	origin := []string{"Origin", "https://shop.example"}
	if r := ts.do(t, "POST", "/v1/capture", captureBody("b1", ""), origin...); r.status != 204 {
		t.Fatalf("capture: %d %s", r.status, r.body)
	}
	// A retry of the same batch counts once; the last batch of the pageview has its scroll.
	ts.do(t, "POST", "/v1/capture", captureBody("b1", ""), origin...)
	if r := ts.do(t, "POST", "/v1/capture", `{"site":"shop","id":"b2","url":"https://shop.example/pricing","w":1280,"clicks":[],"scroll":75}`, origin...); r.status != 204 {
		t.Fatalf("capture with scroll: %d %s", r.status, r.body)
	}
	h := ts.heatmap(t, "site=shop")
	d := h.Data
	if h.Report != "heatmap" || d.Page != "/pricing" || d.Band != "desktop" || d.Clicks != 2 || d.Rage != 1 || d.Dead != 1 || d.Views != 1 {
		t.Fatalf("report %+v; want /pricing desktop, 2 clicks, 1 rage, 1 dead, 1 pageview", h)
	}
	if len(d.Elements) != 1 || d.Elements[0].Selector != "#buy" || d.Elements[0].Clicks != 2 || len(d.RageTop) != 1 {
		t.Errorf("elements %+v rage %+v", d.Elements, d.RageTop)
	}
	if d.Scroll[15].Share != 1 || d.Scroll[16].Share != 0 {
		t.Errorf("scroll %+v; want every pageview to 75%%, none further", d.Scroll)
	}
	m := ts.do(t, "GET", "/metrics", "")
	if v := metricValue(t, m.body, `pathlight_capture_batches_total{result="accepted"}`); v != 2 {
		t.Errorf("accepted batches %v; want 2", v)
	}
	if v := metricValue(t, m.body, `pathlight_capture_batches_total{result="duplicate"}`); v != 1 {
		t.Errorf("duplicate batches %v; want 1", v)
	}
	if v := metricValue(t, m.body, `pathlight_capture_clicks_total`); v != 2 {
		t.Errorf("clicks %v; want 2", v)
	}
}

func TestCaptureWithoutConsentStoresNothing(t *testing.T) {
	ts := start(t, "--consent", "required")
	origin := []string{"Origin", "https://shop.example"}
	for _, c := range []struct {
		name, extra string
		headers     []string
	}{
		{"GPC", `,"consent":"granted"`, []string{"Sec-GPC", "1"}},
		{"denied", `,"consent":"denied"`, nil},
		{"no grant under --consent required", ``, nil},
	} {
		r := ts.do(t, "POST", "/v1/capture", captureBody("x-"+strings.ReplaceAll(c.name, " ", "-"), c.extra), append(origin, c.headers...)...)
		if r.status != 204 {
			t.Errorf("%s: %d %s; want 204", c.name, r.status, r.body)
		}
	}
	if d := ts.heatmap(t, "site=shop").Data; d.Clicks != 0 || d.Page != "" {
		t.Errorf("report after batches without consent: %+v; want nothing", d)
	}
	if r := ts.do(t, "POST", "/v1/capture", captureBody("granted", `,"consent":"granted"`), origin...); r.status != 204 {
		t.Fatalf("granted: %d %s", r.status, r.body)
	}
	if d := ts.heatmap(t, "site=shop").Data; d.Clicks != 2 {
		t.Errorf("report after a granted batch: %d clicks; want 2", d.Clicks)
	}
	m := ts.do(t, "GET", "/metrics", "")
	if v := metricValue(t, m.body, `pathlight_capture_batches_total{result="no_consent"}`); v != 3 {
		t.Errorf("no_consent batches %v; want 3", v)
	}
}

func TestCaptureRefusals(t *testing.T) {
	ts := start(t)
	for _, c := range []struct {
		name, body, origin string
		status             int
		reason             string
	}{
		{"bad JSON", `{"site":`, "https://shop.example", 400, "bad_capture"},
		{"unknown member", strings.Replace(captureBody("a", ""), `"ts":1`, `"when":1`, 1), "https://shop.example", 400, "bad_capture"},
		{"bad click", strings.Replace(captureBody("a", ""), `"x":0.5`, `"x":5`, 1), "https://shop.example", 400, "bad_capture"},
		{"unknown site", strings.Replace(captureBody("a", ""), `"shop"`, `"nope"`, 1), "https://shop.example", 403, "unknown_site"},
		{"foreign origin", captureBody("a", ""), "https://evil.example", 403, "origin"},
	} {
		r := ts.do(t, "POST", "/v1/capture", c.body, "Origin", c.origin)
		if r.status != c.status || !strings.HasPrefix(r.header.Get("X-Pathlight-Reason"), c.reason+":") {
			t.Errorf("%s: %d %q; want %d %s", c.name, r.status, r.header.Get("X-Pathlight-Reason"), c.status, c.reason)
		}
	}
	if r := ts.do(t, "GET", "/v1/capture", ""); r.status != 405 {
		t.Errorf("GET /v1/capture: %d; want 405", r.status)
	}
	if r := ts.do(t, "OPTIONS", "/v1/capture", "", "Origin", "https://shop.example", "Access-Control-Request-Method", "POST"); r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	auth := []string{"Authorization", "Bearer " + token}
	for q, want := range map[string]string{
		"range=90d":       `\"range\": unknown parameter`,
		"band=watch":      "band:",
		"page=pricing":    "page:",
		"page=/a&page=/b": "given more than once",
		"site=nope":       "nope",
	} {
		r := ts.do(t, "GET", "/api/v1/reports/heatmap?"+q, "", auth...)
		if r.status != 400 || !strings.Contains(r.body, want) {
			t.Errorf("heatmap?%s: %d %s; want 400 with %q", q, r.status, r.body, want)
		}
	}
	if r := ts.do(t, "GET", "/api/v1/reports/heatmap", ""); r.status != 401 {
		t.Errorf("heatmap without a token: %d; want 401", r.status)
	}
	var list struct{ Reports string }
	_ = json.Unmarshal([]byte(ts.do(t, "GET", "/api/v1/reports", "", auth...).body), &list)
	if !strings.Contains(list.Reports, "heatmap") {
		t.Errorf("report list %q does not name heatmap", list.Reports)
	}
}

func TestHitReplySamplesCapture(t *testing.T) {
	ts := start(t)
	var raw struct {
		Decisions struct {
			Capture *struct {
				Rule    string `json:"rule"`
				Heatmap bool   `json:"heatmap"`
			} `json:"capture"`
		} `json:"decisions"`
	}
	r := ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"e1","type":"pageview","url":"https://shop.example/pricing"}]}`, "Origin", "https://shop.example")
	if err := json.Unmarshal([]byte(r.body), &raw); err != nil || raw.Decisions.Capture == nil || !raw.Decisions.Capture.Heatmap || raw.Decisions.Capture.Rule != "shop_pages" {
		t.Fatalf("/pricing reply %s; want decisions.capture of rule shop_pages", r.body)
	}
	r = ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"e2","type":"pageview","url":"https://shop.example/about"}]}`, "Origin", "https://shop.example")
	if strings.Contains(r.body, `"capture"`) {
		t.Errorf("/about reply %s; want no capture (no rule names the page)", r.body)
	}
	r = ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"e3","type":"pageview","url":"https://shop.example/pricing"}]}`, "Origin", "https://shop.example", "Sec-GPC", "1")
	if strings.Contains(r.body, `"capture"`) {
		t.Errorf("GPC reply %s; want no capture", r.body)
	}
}

func TestDashboardFramesAndLoadsFromOnlyTheSites(t *testing.T) {
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{nil, "frame-src 'self' https://shop.example"},
		{[]string{"--sites", "shop=*"}, "frame-src 'self' http: https:"},
	} {
		ts := start(t, c.flags...)
		csp := ts.do(t, "GET", "/dashboard/login", "").header.Get("Content-Security-Policy")
		if !strings.HasSuffix(csp, "; "+c.want) || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%v: Content-Security-Policy %q; want it to end with %q and keep frame-ancestors 'none'", c.flags, csp, c.want)
		}
		// A page rebuilt from its recording loads its images, fonts and styles from its site.
		sites := strings.TrimPrefix(c.want, "frame-src 'self'")
		for _, d := range []string{"img-src 'self' data:" + sites + ";", "font-src 'self' data:" + sites + ";", "style-src 'self' 'unsafe-inline'" + sites + ";", "media-src 'self'" + sites + ";"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%v: Content-Security-Policy %q; want %q", c.flags, csp, d)
			}
		}
		if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "connect-src 'self';") {
			t.Errorf("%v: Content-Security-Policy %q; want scripts and connections from the dashboard's origin only", c.flags, csp)
		}
	}
}

func TestRulesStatusListsCaptures(t *testing.T) {
	base := startManaged(t, &fixedRules{}, t.TempDir())
	_, _, body := call(t, "GET", base+"/api/v1/rules", "")
	var status struct {
		Captures []struct {
			ID      string   `json:"id"`
			Pages   []string `json:"pages"`
			Share   float64  `json:"share"`
			Heatmap bool     `json:"heatmap"`
			Replay  bool     `json:"replay"`
			Sites   []string `json:"sites"`
		} `json:"captures"`
	}
	if err := json.Unmarshal([]byte(body), &status); err != nil || len(status.Captures) != 2 {
		t.Fatalf("GET /api/v1/rules = %s; want two capture rules", body)
	}
	c := status.Captures[0]
	if c.ID != "shop_pages" || c.Share != 1 || !c.Heatmap || c.Replay || len(c.Pages) != 5 || strings.Join(c.Sites, ",") != "shop,blog" {
		t.Errorf("capture %+v; want the example rule shop_pages for shop and blog", c)
	}
	if r := status.Captures[1]; r.ID != "shop_replays" || r.Heatmap || !r.Replay || len(r.Pages) != 5 {
		t.Errorf("capture %+v; want the example rule shop_replays, replay only", r)
	}
}

func TestHeatmapFiltersByTheVisitorsJourney(t *testing.T) {
	ts := start(t)
	origin := []string{"Origin", "https://shop.example"}
	r := ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"p1","type":"pageview","url":"https://shop.example/pricing?utm_source=facebook&utm_medium=paid_social"}]}`, origin...)
	vid := decode[hitReply](t, r.body).VID
	if vid == "" {
		t.Fatalf("hit: %s", r.body)
	}
	// One batch of the paid visitor (by the body's vid), one of a visitor without a journey.
	if r := ts.do(t, "POST", "/v1/capture", strings.Replace(captureBody("paid", ""), `"id":`, `"vid":"`+vid+`","id":`, 1), origin...); r.status != 204 {
		t.Fatalf("capture: %d %s", r.status, r.body)
	}
	ts.do(t, "POST", "/v1/capture", captureBody("nobody", ""), origin...)
	for q, want := range map[string]int{
		"":                            4,
		"&channel=Paid%20Social":      2,
		"&channel=Direct":             0,
		"&segment=paid_social":        2,
		"&segment=returning_visitor":  0,
		"&step=viewed_pricing":        2,
		"&arm=checkout_trust:control": 0,
	} {
		h := ts.heatmap(t, "site=shop&page=/pricing"+q)
		if h.Data.Clicks != want {
			t.Errorf("heatmap%s: %d clicks; want %d", q, h.Data.Clicks, want)
		}
	}
	auth := []string{"Authorization", "Bearer " + token}
	for q, want := range map[string]string{
		"segment=nope":                       "is not defined by the rules; they define paid_social",
		"step=nope":                          "viewed_pricing",
		"arm=nope:x":                         "is not defined",
		"channel=Direct&segment=paid_social": "give one of channel, segment, step and arm",
	} {
		r := ts.do(t, "GET", "/api/v1/reports/heatmap?"+q, "", auth...)
		if r.status != 400 || !strings.Contains(r.body, want) {
			t.Errorf("heatmap?%s: %d %s; want 400 with %q", q, r.status, r.body, want)
		}
	}
}
