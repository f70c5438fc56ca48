package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
)

// reportsNow is the clock of the reports tests: the traffic they import is from the days
// before.
var reportsNow = time.Date(2026, 3, 20, 12, 0, 0, 0, time.UTC)

// startReports runs a real server on 127.0.0.1 with the analytics service wired as the
// command wires it (a feed on the tracker's store), on a fixed clock.
func startReports(t *testing.T) string {
	t.Helper()
	return startAt(t, func() time.Time { return reportsNow }).url
}

// call makes an admin request and returns the status, the reason header and the body.
func call(t *testing.T, method, url, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Pathlight-Reason"), string(b)
}

// importLine is one line of POST /api/v1/import: visitor n's event at a time in March 2026.
func importLine(n, day, hour, minute int, event string) string {
	ts := time.Date(2026, 3, day, hour, minute, 0, 0, time.UTC).UnixMilli()
	return fmt.Sprintf(`{"ts":%d,"ua":%q,"ip":"203.0.113.9","batch":{"site":"shop","vid":"%032x","slots":["checkout_banner"],"events":[%s]}}`,
		ts, chromeUA, n, strings.ReplaceAll(event, "TS", fmt.Sprint(ts)))
}

// handComputed is the traffic of the end-to-end case: three visitors, two purchases.
func handComputed() string {
	pv := func(id, path, ref string) string {
		return fmt.Sprintf(`{"id":%q,"type":"pageview","ts":TS,"url":"https://shop.example%s","ref":%q}`, id, path, ref)
	}
	evt := func(id, name, props string) string {
		return fmt.Sprintf(`{"id":%q,"type":"event","name":%q,"ts":TS,"url":"https://shop.example/","props":{%s}}`, id, name, props)
	}
	return strings.Join([]string{
		importLine(1, 2, 10, 0, pv("a1", "/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring", "")),
		importLine(1, 2, 10, 1, pv("a2", "/products/jacket", "")),
		importLine(3, 3, 11, 0, pv("c1", "/?utm_source=newsletter&utm_medium=email", "")),
		importLine(3, 3, 11, 1, pv("c2", "/pricing", "")),
		importLine(2, 3, 15, 0, pv("b1", "/", "https://www.google.com/")),
		importLine(2, 3, 15, 2, pv("b2", "/products/jacket", "")),
		importLine(2, 3, 15, 3, evt("b3", "add_to_cart", "")),
		importLine(2, 3, 15, 5, evt("b4", "purchase", `"value":50`)),
		importLine(1, 4, 9, 0, pv("a3", "/", "")),
		importLine(1, 4, 9, 1, evt("a4", "add_to_cart", "")),
		importLine(1, 4, 9, 2, pv("a5", "/checkout", "")),
		importLine(1, 4, 9, 3, evt("a6", "purchase", `"value":100`)),
	}, "\n") + "\n"
}

func getJSON[T any](t *testing.T, url string) T {
	t.Helper()
	status, reason, body := call(t, "GET", url, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s = %d %s: %s", url, status, reason, body)
	}
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("GET %s: decode %s: %v", url, body, err)
	}
	return v
}

// TestReportsEndToEnd imports known hits at known times through the admin API and checks
// the reports' figures, computed by hand.
func TestReportsEndToEnd(t *testing.T) {
	base := startReports(t)
	status, _, body := call(t, "POST", base+"/api/v1/import", handComputed())
	var imp analytics.ImportResult
	if err := json.Unmarshal([]byte(body), &imp); status != http.StatusOK || err != nil {
		t.Fatalf("import = %d %s", status, body)
	}
	if imp.Lines != 12 || imp.Accepted != 12 || imp.Duplicate != 0 || imp.Rejected != 0 || len(imp.Errors) != 0 {
		t.Fatalf("import = %+v; want 12 lines, 12 events accepted", imp)
	}
	period := "from=2026-03-01T00:00:00Z&to=2026-03-11T00:00:00Z"

	type envelope[T any] struct {
		Report      string `json:"report"`
		From, To    int64
		Site        string
		GeneratedAt int64 `json:"generated_at"`
		Data        T     `json:"data"`
	}
	ov := getJSON[envelope[analytics.Overview]](t, base+"/api/v1/reports/overview?"+period)
	if ov.Report != "overview" || ov.From != time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli() || ov.GeneratedAt != reportsNow.UnixMilli() {
		t.Errorf("envelope = %+v; want report overview from Mar 1, generated now", ov)
	}
	if f := ov.Data.Figures; f.Visitors != 3 || f.Sessions != 4 || f.Conversions != 2 || f.Value != 150 || f.ConversionRate.Value != 2.0/3 {
		t.Errorf("overview = %+v; want 3 visitors, 4 sessions, 2 conversions worth 150, rate 2/3", f)
	}

	fn := getJSON[envelope[analytics.FunnelReport]](t, base+"/api/v1/reports/funnel?"+period+"&funnel=purchase")
	var counts []int
	for _, s := range fn.Data.Funnel.Steps {
		counts = append(counts, s.Visitors)
	}
	if !slices.Equal(counts, []int{3, 2, 2, 1, 1}) {
		t.Errorf("purchase funnel = %v; want [3 2 2 1 1]", counts)
	}

	at := getJSON[envelope[analytics.AttributionReport]](t, base+"/api/v1/reports/attribution?"+period+"&model=linear&lookback=30d")
	lin := at.Data.Models["linear"]
	want := map[string]float64{"Paid Social": 0.5, "Direct": 0.5, "Organic Search": 1}
	for ch, w := range want {
		if c := lin.Channel(ch); math.Abs(c.Conversions-w) > 1e-12 {
			t.Errorf("linear credit of %s = %v; want %v", ch, c.Conversions, w)
		}
	}
	if len(at.Data.Models) != 1 {
		t.Errorf("models = %d; want only linear", len(at.Data.Models))
	}

	paths := getJSON[envelope[analytics.PathsReport]](t, base+"/api/v1/reports/paths?"+period)
	if len(paths.Data.Rows) != 2 || !slices.Equal(paths.Data.Rows[1].Path, []string{"Paid Social", "Direct"}) || paths.Data.Totals.Value != 150 {
		t.Errorf("paths = %+v; want Organic Search, then Paid Social > Direct; 150 in all", paths.Data)
	}

	x := getJSON[envelope[analytics.ExperimentsReport]](t, base+"/api/v1/reports/experiments?"+period)
	if len(x.Data.Experiments) != 1 || x.Data.Experiments[0].ID != "checkout_trust" {
		t.Fatalf("experiments = %+v", x.Data)
	}
	exposed := 0
	for _, a := range x.Data.Experiments[0].Arms {
		exposed += a.Exposures
	}
	if exposed != 1 {
		t.Errorf("checkout_trust exposures = %d; want 1 (visitor 1 on /checkout)", exposed)
	}

	reach := getJSON[analytics.Reach](t, base+"/api/v1/rules/reach")
	if reach.Visitors != 3 || len(reach.Segments) == 0 {
		t.Errorf("reach = %+v; want 3 visitors in the example segments", reach)
	}
	// An import is history: its events are counted apart, never among the newest events.
	live := getJSON[analytics.Live](t, base+"/api/v1/live")
	imported := 0
	for _, s := range live.ImportedPerSecond {
		imported += s.N
	}
	if len(live.HitsPerSecond) != 60 || len(live.Recent) != 0 || imported != 12 {
		t.Errorf("live = %d seconds, %d recent, %d imported; want 60, none and the 12 imported events", len(live.HitsPerSecond), len(live.Recent), imported)
	}
	// Importing the same lines again changes nothing: every event is a duplicate.
	_, _, body = call(t, "POST", base+"/api/v1/import", handComputed())
	if err := json.Unmarshal([]byte(body), &imp); err != nil || imp.Duplicate != 12 || imp.Accepted != 0 {
		t.Errorf("second import = %s; want 12 duplicates", body)
	}
}

func TestReportsAPIErrors(t *testing.T) {
	base := startReports(t)
	cases := []struct {
		method, path, body string
		status             int
		reason             string
	}{
		{"GET", "/api/v1/reports/attribution?model=magic", "", 400, "bad_request"},
		{"GET", "/api/v1/reports/overview?from=yesterday", "", 400, "bad_request"},
		{"GET", "/api/v1/reports/overview?from=2026-03-02&to=2026-03-01", "", 400, "bad_request"},
		{"GET", "/api/v1/reports/funnel?funnel=nope", "", 400, "bad_request"},
		{"GET", "/api/v1/reports/weather", "", 404, "unknown_report"},
		{"POST", "/api/v1/reports/overview", "", 405, "method"},
		{"GET", "/api/v1/import", "", 405, "method"},
		{"DELETE", "/api/v1/live", "", 405, "method"},
	}
	for _, c := range cases {
		status, reason, body := call(t, c.method, base+c.path, c.body)
		if status != c.status || !strings.HasPrefix(reason, c.reason) || !strings.Contains(body, `"error"`) {
			t.Errorf("%s %s = %d %q %s; want %d %s with an error body", c.method, c.path, status, reason, body, c.status, c.reason)
		}
	}
	// Without the token, nothing.
	resp, err := http.Get(base + "/api/v1/reports/overview")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("reports without a token = %d; want 401", resp.StatusCode)
	}
	// Bad lines are listed and skipped; good ones are kept.
	body := strings.Join([]string{
		`{"ts":0,"batch":{}}`,
		`not json`,
		importLine(1, 2, 10, 0, `{"id":"x1","type":"pageview","url":"https://shop.example/"}`),
		strings.Replace(importLine(2, 2, 10, 0, `{"id":"x2","type":"pageview","url":"https://shop.example/"}`), `"shop"`, `"elsewhere"`, 1),
		`{"ts":` + fmt.Sprint(reportsNow.Add(time.Hour).UnixMilli()) + `,"batch":{"site":"shop","events":[]}}`,
	}, "\n")
	status, _, out := call(t, "POST", base+"/api/v1/import", body)
	var imp analytics.ImportResult
	if err := json.Unmarshal([]byte(out), &imp); status != 200 || err != nil {
		t.Fatalf("import = %d %s", status, out)
	}
	var lines []int
	for _, e := range imp.Errors {
		lines = append(lines, e.Line)
	}
	if imp.Lines != 5 || imp.Accepted != 1 || !slices.Equal(lines, []int{1, 2, 4, 5}) {
		t.Errorf("import = %+v; want 5 lines, 1 accepted, errors on lines 1, 2, 4, 5", imp)
	}
}

// TestSurveyAnswersBySegmentAtAnswerTime: a pricing hesitator answers the pricing survey,
// then signs up and leaves the segment. The answer still counts for pricing_hesitator.
func TestSurveyAnswersBySegmentAtAnswerTime(t *testing.T) {
	base := startReports(t)
	pv := func(id string) string {
		return fmt.Sprintf(`{"id":%q,"type":"pageview","ts":TS,"url":"https://shop.example/pricing"}`, id)
	}
	lines := strings.Join([]string{
		importLine(9, 5, 10, 0, pv("h1")),
		importLine(9, 5, 10, 1, pv("h2")),
		importLine(9, 5, 10, 2, pv("h3")),
		importLine(9, 5, 10, 3, `{"id":"h4","type":"prompt","ts":TS,"url":"https://shop.example/pricing","prompt":"pricing_exit","action":"answered","answer":"Price"}`),
		importLine(9, 5, 10, 5, `{"id":"h5","type":"event","name":"signup","ts":TS,"url":"https://shop.example/signup"}`),
		importLine(9, 5, 10, 6, pv("h6")),
	}, "\n") + "\n"
	if status, _, body := call(t, "POST", base+"/api/v1/import", lines); status != http.StatusOK {
		t.Fatalf("import: %d %s", status, body)
	}
	// After signing up the visitor is no longer a hesitator.
	st := getJSON[struct {
		Segments []string `json:"segments"`
	}](t, base+fmt.Sprintf("/api/v1/visitors/%032x", 9))
	if slices.Contains(st.Segments, "pricing_hesitator") {
		t.Fatalf("segments after signup = %v; the case needs the visitor to have left pricing_hesitator", st.Segments)
	}
	rep := getJSON[struct {
		Data analytics.SurveysReport `json:"data"`
	}](t, base+"/api/v1/reports/surveys?from=2026-03-01T00:00:00Z&to=2026-03-11T00:00:00Z")
	for _, s := range rep.Data.Surveys {
		if s.ID != "pricing_exit" {
			continue
		}
		for _, g := range s.BySegment {
			if g.Key == "pricing_hesitator" && g.Answers == 1 {
				return
			}
		}
		t.Fatalf("pricing_exit by segment = %+v; want the answer under pricing_hesitator, the segment at answer time", s.BySegment)
	}
	t.Fatal("no pricing_exit survey in the report")
}
