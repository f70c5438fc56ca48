package server_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/rules/rulestest"
	"github.com/pathlight/pathlight/internal/server"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// fixedRules is a rules manager whose reloads fail, or not, as a test says.
type fixedRules struct {
	err    error
	status server.RulesStatus
}

// Reload implements server.RulesManager.
func (f *fixedRules) Reload() error {
	if f.err != nil {
		f.status.Errors, f.status.FailedAt = []string{f.err.Error(), "journey.yaml:9: unknown field"}, time.Now()
		f.status.ReloadErrs++
	}
	return f.err
}

// Status implements server.RulesManager.
func (f *fixedRules) Status() server.RulesStatus { return f.status }

// startManaged runs a real server on 127.0.0.1 over real Badger, with the example rules, a
// rules manager and the spend files of spendDir, as `pathlight serve` wires them.
func startManaged(t *testing.T, mgr server.RulesManager, spendDir string) string {
	t.Helper()
	cfg, db := openRig(t, "shop=https://shop.example;blog=https://blog.example")
	set := rulestest.Example(t, "shop", "blog") // the demo's rules, for the test's sites
	clock := func() time.Time { return reportsNow }
	feed := analytics.NewFeed(clock)
	tr := track.New(track.Watch(trackstore.New(db), feed), nil, set, track.Config{
		SiteHosts: map[string][]string{"shop": {"shop.example"}, "blog": {"blog.example"}}, Now: clock})
	reports := analytics.New(tr, feed, analytics.Options{Now: clock, MaxStaleness: -1, Spend: analytics.SpendFiles(spendDir)})
	srv := server.New(server.Options{Config: cfg, Tracker: tr, Rules: mgr, Analytics: reports})
	return serveRig(t, srv)
}

// TestRulesReloadFailureFollowsTheErrorContract: a failed reload answers 422 with error,
// reason and the reason header, and still the status; a status without a failure omits
// errors and failed_at.
func TestRulesReloadFailureFollowsTheErrorContract(t *testing.T) {
	mgr := &fixedRules{status: server.RulesStatus{Version: "abc", Files: []string{"journey.yaml"}}}
	base := startManaged(t, mgr, t.TempDir())
	status, _, body := call(t, "GET", base+"/api/v1/rules", "")
	if status != 200 || strings.Contains(body, `"errors"`) || strings.Contains(body, `"failed_at"`) || !strings.Contains(body, `"version":"abc"`) {
		t.Errorf("GET /api/v1/rules = %d %s; want the status without errors or failed_at", status, body)
	}

	mgr.err = errors.New("journey.yaml:3: bad step")
	status, reason, body := call(t, "POST", base+"/api/v1/rules/reload", "")
	e := decode[struct {
		Error, Reason string
		Status        struct {
			Errors   []string
			FailedAt time.Time `json:"failed_at"`
		}
	}](t, body)
	if status != 422 || !strings.HasPrefix(reason, "rules_invalid: ") || e.Reason != "rules_invalid" ||
		!strings.Contains(e.Error, "journey.yaml:3: bad step") || len(e.Status.Errors) != 2 || e.Status.FailedAt.IsZero() {
		t.Errorf("failed reload = %d %q %s; want 422 rules_invalid with the first error and the status", status, reason, body)
	}
	if _, _, body := call(t, "GET", base+"/api/v1/rules", ""); !strings.Contains(body, `"errors":[`) || !strings.Contains(body, `"failed_at":"`) {
		t.Errorf("GET /api/v1/rules after a failed reload = %s; want errors and failed_at", body)
	}
}

// TestMalformedSpendIsUnprocessable: a spend file that cannot be read answers 422 naming the
// file and the line, without Retry-After; a fixed file is read by the next report.
func TestMalformedSpendIsUnprocessable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "spend.csv")
	if err := os.WriteFile(file, []byte("date,channel,amount\n2026-03-02,Paid Search,abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := startManaged(t, &fixedRules{}, dir)
	req, _ := http.NewRequest("GET", base+"/api/v1/reports/cac?from=2026-03-01", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	status, reason, body := call(t, "GET", base+"/api/v1/reports/cac?from=2026-03-01", "")
	if status != 422 || !strings.HasPrefix(reason, "bad_spend: ") || !strings.Contains(body, file) || !strings.Contains(body, "line 2") || resp.Header.Get("Retry-After") != "" {
		t.Errorf("cac with a malformed spend file = %d %q %s (Retry-After %q); want 422 bad_spend naming %s, line 2", status, reason, body, resp.Header.Get("Retry-After"), file)
	}
	if err := os.WriteFile(file, []byte("date,channel,amount,currency\n2026-03-02,Paid Search,12,EUR\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if status, _, body := call(t, "GET", base+"/api/v1/reports/cac?from=2026-03-01", ""); status != 200 || !strings.Contains(body, `"spend":12`) {
		t.Errorf("cac after the file was fixed = %d %s; want 200 with spend 12", status, body)
	}
}

// TestUnknownSiteIsBadRequest: a site the server does not serve answers 400 listing those it
// does, on the reports, reach and the export; reach without visitors has a null share.
func TestUnknownSiteIsBadRequest(t *testing.T) {
	base := startManaged(t, &fixedRules{}, t.TempDir())
	for _, path := range []string{"/api/v1/reports/overview?site=nosuch", "/api/v1/rules/reach?site=nosuch", "/api/v1/events?site=nosuch"} {
		status, reason, body := call(t, "GET", base+path, "")
		if status != 400 || !strings.HasPrefix(reason, "unknown_site: ") || !strings.Contains(body, "blog, shop") {
			t.Errorf("GET %s = %d %q %s; want 400 unknown_site listing blog, shop", path, status, reason, body)
		}
	}
	status, _, body := call(t, "GET", base+"/api/v1/rules/reach?site=blog", "")
	if status != 200 || !strings.Contains(body, `"visitors":0,"share":null`) || strings.Contains(body, `"share":0`) {
		t.Errorf("reach of a site without visitors = %d %s; want each share null", status, body)
	}
}

// TestBearerSchemeIsCaseInsensitive: the auth scheme is matched without regard to case.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	ts := start(t)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		if r := ts.do(t, "GET", "/api/v1/sites", "", "Authorization", scheme+" "+token); r.status != 200 {
			t.Errorf("Authorization: %s <token> = %d %s; want 200", scheme, r.status, r.body)
		}
	}
	for _, bad := range []string{"Basic " + token, "Bearer", "Bearertoken " + token, token} {
		if r := ts.do(t, "GET", "/api/v1/sites", "", "Authorization", bad); r.status != 401 {
			t.Errorf("Authorization: %q = %d; want 401", bad, r.status)
		}
	}
}

// TestMalformedVisitorIDIsBadRequest: a string that cannot be a visitor id answers 400 with a
// short echo, on every route that takes one; a well-formed unknown id stays 404.
func TestMalformedVisitorIDIsBadRequest(t *testing.T) {
	ts := start(t)
	auth := []string{"Authorization", "Bearer " + token}
	long := strings.Repeat("a", 5000)
	for _, vid := range []string{"not-a-vid", long, strings.ToUpper("0123456789abcdef0123456789abcdef")} {
		for _, rt := range []struct{ method, path string }{
			{"GET", "/api/v1/visitors/" + vid},
			{"DELETE", "/api/v1/visitors/" + vid},
			{"GET", "/api/v1/visitors/" + vid + "/explain"},
			{"GET", "/api/v1/events?vid=" + vid},
		} {
			r := ts.do(t, rt.method, rt.path, "", auth...)
			if r.status != 400 || !strings.HasPrefix(r.header.Get("X-Pathlight-Reason"), "bad_request: ") || len(r.body) > 200 {
				t.Errorf("%s %.60s = %d %.300s (%d bytes); want 400 bad_request with a short echo", rt.method, rt.path, r.status, r.body, len(r.body))
			}
		}
	}
	unknown := "0123456789abcdef0123456789abcdef"
	for _, rt := range []struct{ method, path string }{
		{"GET", "/api/v1/visitors/" + unknown},
		{"DELETE", "/api/v1/visitors/" + unknown},
		{"GET", "/api/v1/visitors/" + unknown + "/explain"},
		{"GET", "/api/v1/events?vid=" + unknown},
	} {
		if r := ts.do(t, rt.method, rt.path, "", auth...); r.status != 404 || !strings.HasPrefix(r.header.Get("X-Pathlight-Reason"), "unknown_visitor: ") {
			t.Errorf("%s %s = %d %s; want 404 unknown_visitor", rt.method, rt.path, r.status, r.body)
		}
	}
}

// TestEventExportReadsTimesAsReportsDo: the export takes dates as the reports do, and its
// default from is a day before its to, not before now.
func TestEventExportReadsTimesAsReportsDo(t *testing.T) {
	base := startReports(t)
	if status, _, body := call(t, "POST", base+"/api/v1/import", handComputed()); status != 200 {
		t.Fatalf("import = %d %s", status, body)
	}
	cases := []struct{ query, want string }{
		{"from=2026-03-03&to=2026-03-04", "c1,c2,b1,b2,b3,b4"},
		{"to=2026-03-03T12:00:00Z", "c1,c2"}, // [Mar 2 12:00, Mar 3 12:00)
		{"to=2026-03-04", "c1,c2,b1,b2,b3,b4"},
		{"from=2026-03-01&to=2026-03-03", "a1,a2"},
	}
	for _, c := range cases {
		status, reason, body := call(t, "GET", base+"/api/v1/events?"+c.query, "")
		if status != 200 {
			t.Errorf("GET /api/v1/events?%s = %d %q %s; want 200", c.query, status, reason, body)
			continue
		}
		var ids []string
		for _, e := range exportLines(t, body) {
			ids = append(ids, e.ID)
		}
		if got := strings.Join(ids, ","); got != c.want {
			t.Errorf("GET /api/v1/events?%s ids = %q; want %q", c.query, got, c.want)
		}
	}
	if status, _, body := call(t, "GET", base+"/api/v1/events?from=soon", ""); status != 400 || !strings.Contains(body, "a date (2026-01-02)") {
		t.Errorf("GET /api/v1/events?from=soon = %d %s; want 400 naming the forms the reports take", status, body)
	}
}

// TestImportAuthenticatesBeforeTheBodyLimit: a large import without a valid token is refused
// as unauthorised, not as too large; with the token, the import limit holds whatever the
// query string (which the import refuses, having read the body).
func TestImportAuthenticatesBeforeTheBodyLimit(t *testing.T) {
	base := startReports(t)
	line := importLine(1, 2, 10, 0, `{"id":"x1","type":"pageview","url":"https://shop.example/"}`) + "\n"
	body := strings.Repeat(line, 200<<10/len(line)+1) // over 200 KB, past the 64 KiB body limit
	for _, auth := range []string{"", "Bearer nope"} {
		req, _ := http.NewRequest("POST", base+"/api/v1/import", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("X-Pathlight-Reason"), "unauthorised: ") {
			t.Errorf("large import with Authorization %q = %d %q; want 401 unauthorised", auth, resp.StatusCode, resp.Header.Get("X-Pathlight-Reason"))
		}
	}
	// With a query string the body is still read under the import's limit: the answer is about
	// the parameter the import does not take, not a 413.
	if status, reason, out := call(t, "POST", base+"/api/v1/import?x=1", body); status != 400 || !strings.HasPrefix(reason, `bad_request: "x": unknown parameter`) {
		t.Errorf("POST /api/v1/import?x=1 with the token = %d %q %.200s; want 400 naming x", status, reason, out)
	}
	lines := fmt.Sprintf(`{"lines":%d,`, strings.Count(body, "\n"))
	if status, reason, out := call(t, "POST", base+"/api/v1/import", body); status != 200 || !strings.HasPrefix(out, lines) {
		t.Errorf("POST /api/v1/import with the token = %d %q %.200s; want 200 and every line read", status, reason, out)
	}
}
