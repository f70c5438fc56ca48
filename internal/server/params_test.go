package server_test

import (
	"strings"
	"testing"
)

// TestAdminRefusesUnknownParams: an admin GET with a query parameter its route does not take,
// or one given twice, is a 400 that names it and lists what the route takes, rather than an
// answer as if it had not been given.
func TestAdminRefusesUnknownParams(t *testing.T) {
	base := startReports(t)
	const vid = "0123456789abcdef0123456789abcdef"
	refused := []struct{ path, says string }{
		{"/api/v1/reports/overview?range=90d", `"range": unknown parameter; GET /api/v1/reports/overview takes from, to, site`},
		{"/api/v1/reports/overview?range=", `"range": unknown parameter`},
		{"/api/v1/reports/overview?range", `"range": unknown parameter`},
		{"/api/v1/reports/attribution?model=markov&oder=2&lookbak=7d", `"lookbak", "oder": unknown parameters; GET /api/v1/reports/attribution takes from, to, site, lookback, steps, keep_repeats, first_only, model, order,`},
		{"/api/v1/reports/journey?limit=5", "takes from, to, site, paths, path_steps"},
		{"/api/v1/reports/funnel?funnel=purchase&breakdown=channel&breakdown=device", `"breakdown": given more than once`},
		{"/api/v1/reports/overview?from=2026-03-01&from=2026-02-01", `"from": given more than once`},
		{"/api/v1/reports?x=1", `"x": unknown parameter; GET /api/v1/reports takes no parameters`},
		{"/api/v1/events?form=2026-03-01", `"form": unknown parameter; GET /api/v1/events takes from, to, site, bots, vid`},
		{"/api/v1/visitors/" + vid + "?full=1", "takes no parameters"},
		{"/api/v1/visitors/" + vid + "/explain?slots=hero", `"slots": unknown parameter; GET /api/v1/visitors/` + vid + "/explain takes site, url, slot, prompt"},
		{"/api/v1/rules/reach?sites=shop", "takes site"},
		{"/api/v1/rules?verbose=1", "takes no parameters"},
		{"/api/v1/live?n=10", "takes no parameters"},
		{"/api/v1/sites?x=1", "takes no parameters"},
	}
	for _, c := range refused {
		status, reason, body := call(t, "GET", base+c.path, "")
		e := decode[struct{ Error, Reason string }](t, body)
		if status != 400 || e.Reason != "bad_request" || !strings.Contains(e.Error, c.says) || !strings.HasPrefix(reason, "bad_request: ") {
			t.Errorf("GET %s = %d %q %s; want 400 bad_request saying %q", c.path, status, reason, body, c.says)
		}
	}
	// What the dashboard and the command line send is taken; routes that do not exist still
	// answer 404 whatever their query.
	taken := []struct {
		path   string
		status int
	}{
		{"/api/v1/reports/overview?from=1772323200000&to=1774915200000&site=shop", 200},
		{"/api/v1/reports/journey?from=2026-03-01&paths=10", 200},
		{"/api/v1/reports/funnel?steps=viewed_product,purchased&breakdown=channel", 200},
		{"/api/v1/reports/funnel?funnel=purchase&breakdown=device", 200},
		{"/api/v1/reports/health?funnel=purchase", 200},
		{"/api/v1/reports/surveys?texts=0", 200},
		{"/api/v1/reports/attribution?model=all&lookback=30d", 200},
		{"/api/v1/reports/cac?model=last_non_direct&lookback=30d", 200},
		{"/api/v1/reports/paths?limit=5&keep_repeats=1&first_only=0&steps=purchased", 200},
		{"/api/v1/reports/experiments", 200},
		{"/api/v1/events?vid=" + vid + "&from=0&bots=1", 404},
		{"/api/v1/rules/reach", 200},
		{"/api/v1/reports/weather?x=1", 404},
		{"/api/v1/nothing?x=1", 404},
	}
	for _, c := range taken {
		if status, reason, body := call(t, "GET", base+c.path, ""); status != c.status {
			t.Errorf("GET %s = %d %q %.200s; want %d", c.path, status, reason, body, c.status)
		}
	}
}

// TestAdminWritesRefuseUnknownParams: the admin routes that change something hold their query
// to the same rule as the GETs, and refuse before they act: an import sent with ?dry_run=1
// must not be imported, nor a visitor erased by a DELETE whose ?confirm the server ignores.
func TestAdminWritesRefuseUnknownParams(t *testing.T) {
	base := startReports(t)
	const vid = "00000000000000000000000000000001"
	line := importLine(1, 2, 10, 0, `{"type":"pageview","id":"p1","ts":TS,"url":"https://shop.example/"}`)
	refused := []struct{ method, path, body, says string }{
		{"POST", "/api/v1/import?dry_run=1", line, `"dry_run": unknown parameter; POST /api/v1/import takes no parameters`},
		{"POST", "/api/v1/rules/reload?dir=/tmp", "", `"dir": unknown parameter; POST /api/v1/rules/reload takes no parameters`},
		{"PUT", "/api/v1/spend/ads?currency=EUR", "date,channel,campaign,amount,currency\n", `"currency": unknown parameter; PUT /api/v1/spend/ads takes no parameters`},
		{"POST", "/api/v1/spend/ads?x=1", "date,channel,campaign,amount,currency\n", `"x": unknown parameter; POST /api/v1/spend/ads`},
		{"DELETE", "/api/v1/spend/ads?x=1", "", `"x": unknown parameter; DELETE /api/v1/spend/ads`},
		{"POST", "/api/v1/keys?site=shop", `{"site":"shop"}`, `"site": unknown parameter; POST /api/v1/keys takes no parameters`},
		{"DELETE", "/api/v1/keys/k1?force=1", "", `"force": unknown parameter; DELETE /api/v1/keys/k1`},
		{"POST", "/api/v1/deliveries/hook/d1/replay?all=1", "", `"all": unknown parameter; POST /api/v1/deliveries/hook/d1/replay`},
		{"POST", "/api/v1/destinations/hook/replay?limit=5", "", `"limit": unknown parameter; POST /api/v1/destinations/hook/replay`},
	}
	for _, c := range refused {
		status, reason, body := call(t, c.method, base+c.path, c.body)
		e := decode[struct{ Error, Reason string }](t, body)
		if status != 400 || e.Reason != "bad_request" || !strings.Contains(e.Error, c.says) || !strings.HasPrefix(reason, "bad_request: ") {
			t.Errorf("%s %s = %d %q %s; want 400 bad_request saying %q", c.method, c.path, status, reason, body, c.says)
		}
	}
	if status, _, body := call(t, "GET", base+"/api/v1/events?vid="+vid, ""); status != 404 {
		t.Fatalf("after a refused import, the visitor's events = %d %.200s; want 404 (nothing imported)", status, body)
	}
	if status, _, body := call(t, "POST", base+"/api/v1/import", line); status != 200 {
		t.Fatalf("import = %d %.200s", status, body)
	}
	if status, _, body := call(t, "DELETE", base+"/api/v1/visitors/"+vid+"?confirm=false", ""); status != 400 || !strings.Contains(decode[struct{ Error string }](t, body).Error, `"confirm": unknown parameter; DELETE /api/v1/visitors/`+vid+" takes no parameters") {
		t.Errorf("DELETE ?confirm=false = %d %.200s; want 400 naming confirm", status, body)
	}
	if status, _, body := call(t, "GET", base+"/api/v1/events?vid="+vid, ""); status != 200 {
		t.Errorf("after a refused erase, the visitor's events = %d %.200s; want 200 (nothing erased)", status, body)
	}
	// A wrong method is still a 405 whatever its query, and the routes answer without one.
	if status, _, body := call(t, "PUT", base+"/api/v1/rules?x=1", ""); status != 405 {
		t.Errorf("PUT /api/v1/rules?x=1 = %d %.200s; want 405", status, body)
	}
	if status, _, body := call(t, "DELETE", base+"/api/v1/visitors/"+vid, ""); status != 200 {
		t.Errorf("DELETE without a query = %d %.200s; want 200", status, body)
	}
}
