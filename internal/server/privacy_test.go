package server_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/enrich/geotest"
)

// TestExportHoldsNoIdentifierWithoutConsent sends a hit of each type with Sec-GPC: 1, with
// consent denied, and from a bot, each carrying a visitor id, a user id, traits, string
// props, a title, a referrer, a query string with an address and a token, click ids and a
// located address. The export holds every event, counted, and none of those identifiers.
func TestExportHoldsNoIdentifierWithoutConsent(t *testing.T) {
	mmdb := filepath.Join(t.TempDir(), "city.mmdb")
	if err := geotest.WriteCityDB(mmdb, []geotest.Record{{CIDR: "81.2.69.0/24", Country: "GB", Subdivision: "ENG", City: "London", TimeZone: "Europe/London"}}); err != nil {
		t.Fatal(err)
	}
	ts := start(t, "--geoip", mmdb, "--trusted-proxies", "127.0.0.1/32")
	const url = "https://shop.example/account/jane.doe%40mail.example?email=jane.doe%40mail.example&token=s3cr3t-t0ken" +
		"&utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_term=kw-jane&fbclid=IwAR-click-id#s3cr3t-t0ken"
	events := func(prefix string) string {
		common := fmt.Sprintf(`"url":%q,"ref":"https://webmail.example/inbox-77","title":"Welcome back, Jane Doe","props":{"email":"jane.doe@mail.example","value":30}`, url)
		return fmt.Sprintf(`[{"id":"%[1]s1","type":"pageview",%[2]s},`+
			`{"id":"%[1]s2","type":"event","name":"add_to_cart",%[2]s},`+
			`{"id":"%[1]s3","type":"identify","user_id":"uid-4711","traits":{"name":"Jane Doe","email":"jane.doe@mail.example"},%[2]s},`+
			`{"id":"%[1]s4","type":"engagement","engaged_ms":4000,"scroll":50,%[2]s},`+
			`{"id":"%[1]s5","type":"prompt","prompt":"pricing_exit","action":"answered","answer":"Price",%[2]s}]`, prefix, common)
	}
	const vid = "0123456789abcdef0123456789abcdef"
	send := func(refusal bool, body string, headers ...string) {
		t.Helper()
		headers = append(headers, "X-Forwarded-For", "81.2.69.160", "Cookie", "pl_vid="+vid)
		r := ts.do(t, "POST", "/v1/hit", body, headers...)
		h := decode[hitReply](t, r.body)
		if r.status != 200 || h.VID != "" || len(h.Accepted) != 5 {
			t.Fatalf("hit = %d %s; want 5 events accepted without a visitor", r.status, r.body)
		}
		// A refusal expires the cookie the browser sent; nothing else is set.
		cleared := len(r.cookies) == 1 && r.cookies[0].Name == "pl_vid" && r.cookies[0].Value == "" &&
			!r.cookies[0].Expires.IsZero() && r.cookies[0].Expires.Before(time.Now())
		if refusal && !cleared || !refusal && len(r.cookies) != 0 {
			t.Errorf("cookies %v set without consent", r.cookies)
		}
	}
	send(true, `{"site":"shop","vid":"`+vid+`","events":`+events("gpc")+`}`, "Sec-GPC", "1")
	send(true, `{"site":"shop","vid":"`+vid+`","consent":"denied","events":`+events("denied")+`}`)
	send(false, `{"site":"shop","events":`+events("bot")+`}`, "User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")

	r := ts.do(t, "GET", "/api/v1/events?from=0&bots=1", "", "Authorization", "Bearer "+token)
	if r.status != 200 {
		t.Fatalf("export = %d %s", r.status, r.body)
	}
	lines := strings.Split(strings.TrimSpace(r.body), "\n")
	if len(lines) != 15 {
		t.Fatalf("export has %d lines; want 15 (every event counted):\n%s", len(lines), r.body)
	}
	for _, s := range []string{vid, "uid-4711", "jane", "s3cr3t", "inbox-77", "IwAR", "kw-jane", "81.2.69.160", "London", "Europe/London", `"ENG"`, "Windows NT"} {
		if strings.Contains(strings.ToLower(r.body), strings.ToLower(s)) {
			t.Errorf("the export holds %q:\n%s", s, r.body)
		}
	}
	for _, s := range []string{`"country":"GB"`, `"campaign":"spring"`, `"value":30`, `"answer":"Price"`, `"path":"/account/:redacted"`} {
		if !strings.Contains(r.body, s) {
			t.Errorf("the export lacks %s, which identifies nobody:\n%s", s, r.body)
		}
	}
	m := ts.do(t, "GET", "/metrics", "")
	for _, want := range []string{"pathlight_events_anonymous_total 10", "pathlight_events_bot_total 5"} {
		if !strings.Contains(m.body, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
