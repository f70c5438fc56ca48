package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/server"
	"github.com/pathlight/pathlight/internal/track"
)

// otherRules are rules unlike the demo's: other surveys of every type, an experiment on a
// slot no demo page has, steps on a page, pages under a path and an event the demo shop does
// not have, and a conversion on another event whose value is in another prop.
const otherRules = `stages: [visit, buy]
steps:
  - {id: visited, stage: visit, when: {event.type: pageview}}
  - {id: carted, stage: buy, when: {event.type: event, event.name: add_to_cart}}
  - {id: guided, stage: visit, when: {page.path: /guides/jackets}}
  - {id: read_docs, stage: visit, when: {page.path: {$regex: "^/docs/"}}}
  - {id: subscribed, stage: visit, when: {event.type: event, event.name: subscribe}}
  - {id: ordered, stage: buy, when: {event.type: event, event.name: order}, conversion: true, value: amount}
surveys:
  fit: {question: How well does it fit?, type: rating, show: always}
  missing: {question: What is missing?, type: text, show: always}
  recommend: {question: Would you recommend us?, type: nps, show: always}
  reasons: {question: Why not today?, type: multiple_choice, choices: [Price, Shipping, Size], show: always}
experiments:
  promo_test:
    slot: promo
    when: {page.path: /cart}
    variants:
      - {id: control, weight: 50}
      - {id: banner, weight: 50, content: "<p>Free shipping</p>"}
    goal: ordered
`

// TestSimulateFollowsServerRules simulates against a server whose rules are not the demo's:
// every event is accepted, the rules' surveys are answered, their experiment exposes
// visitors, conversions carry their value prop, and the spend sent gives CAC and ROAS.
func TestSimulateFollowsServerRules(t *testing.T) {
	rulesDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(rulesDir, "rules.yaml"), []byte(otherRules), 0o644); err != nil {
		t.Fatal(err)
	}
	end := time.Now().UTC().Truncate(time.Hour)
	url := testServerRules(t, "", rulesDir, func() time.Time { return end.Add(time.Hour) })
	out, _, err := runCmd("simulate", "--server", url, "--token", testToken, "--visitors", "300",
		"--days", "10", "--seed", "3", "--end", end.Format(time.RFC3339), "--max-duration", "60s")
	if err != nil || !strings.Contains(out, " 0 rejected, 0 bad lines") || !strings.Contains(out, "spend: ") {
		t.Fatalf("simulate against other rules = %v\n%s; want every event accepted and spend sent", err, out)
	}
	period := []string{"--from", end.Add(-11 * 24 * time.Hour).Format(time.RFC3339), "--to", end.Add(time.Minute).Format(time.RFC3339)}
	get := func(name string, v any, extra ...string) {
		t.Helper()
		res, _, err := runCmd(append(append([]string{"report", name, "--server", url, "--token", testToken, "--format", "json"}, period...), extra...)...)
		if err != nil {
			t.Fatalf("report %s: %v", name, err)
		}
		if err := json.Unmarshal([]byte(res), v); err != nil {
			t.Fatalf("report %s: %v", name, err)
		}
	}
	var sv struct{ Data analytics.SurveysReport }
	get("surveys", &sv)
	answered := map[string]int{}
	for _, s := range sv.Data.Surveys {
		if s.SurveyResult != nil {
			answered[s.ID] = s.Answered
		}
	}
	for _, id := range []string{"fit", "missing", "recommend", "reasons"} {
		if answered[id] == 0 {
			t.Errorf("survey %s has no answers; answered = %v", id, answered)
		}
	}
	var x struct{ Data analytics.ExperimentsReport }
	get("experiments", &x)
	exposed := 0
	for _, e := range x.Data.Experiments {
		for _, a := range e.Arms {
			exposed += a.Exposures
		}
	}
	if exposed == 0 {
		t.Errorf("experiment promo_test exposed nobody: %+v", x.Data.Experiments)
	}
	var j struct{ Data analytics.JourneyReport }
	get("journey", &j)
	reached := map[string]int{}
	for _, n := range j.Data.Steps {
		reached[n.Name] = n.Visitors
	}
	for _, id := range []string{"visited", "carted", "guided", "read_docs", "subscribed", "ordered"} {
		if reached[id] == 0 {
			t.Errorf("nobody reached step %s; reached = %v", id, reached)
		}
	}
	var o struct{ Data analytics.Overview }
	get("overview", &o)
	if o.Data.Conversions == 0 || o.Data.Value < 129*float64(o.Data.Conversions) {
		t.Errorf("overview: %d conversions worth %v; want the orders (the order event), at 129 each (the amount prop)", o.Data.Conversions, o.Data.Value)
	}
	var cac struct{ Data analytics.CACReport }
	get("cac", &cac)
	if cac.Data.CACReport == nil || cac.Data.Spend <= 0 || cac.Data.Currency != "USD" {
		t.Fatalf("cac after simulate = %+v; want the simulated spend in USD", cac.Data.CACReport)
	}
	paid := 0
	for _, ch := range cac.Data.Channels {
		if ch.Spend > 0 && ch.ROAS.Valid {
			paid++
		}
		if ch.Channel == "Paid Search" && (!ch.CAC.Valid || len(ch.Campaigns) != 2) {
			t.Errorf("Paid Search = %+v; want a CAC and the brand and jackets campaigns", ch)
		}
	}
	if paid < 4 {
		t.Errorf("%d channels with spend and ROAS; want the paid ones (search, social, email, affiliates, display)", paid)
	}
	// The same simulation again replaces its spend: the total stays.
	before := cac.Data.Spend
	if _, _, err := runCmd("simulate", "--server", url, "--token", testToken, "--visitors", "300",
		"--days", "10", "--seed", "3", "--end", end.Format(time.RFC3339), "--max-duration", "60s"); err != nil {
		t.Fatal(err)
	}
	get("cac", &cac)
	if cac.Data.Spend != before {
		t.Errorf("spend after the same simulation again = %v; want %v, replaced not added", cac.Data.Spend, before)
	}
}

// TestSpendAPI checks the spend endpoint's answers: rows stored and read by the reports,
// replaced, added to, refused with the line, and removed.
func TestSpendAPI(t *testing.T) {
	url := testServer(t, "", time.Now)
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	day := time.Now().UTC().Format(time.DateOnly)
	spend := func() float64 {
		_, body := do("GET", "/api/v1/reports/cac", "")
		var r struct{ Data analytics.CACReport }
		if err := json.Unmarshal([]byte(body), &r); err != nil || r.Data.CACReport == nil {
			t.Fatalf("cac = %s", body)
		}
		return r.Data.Spend
	}
	if code, body := do("PUT", "/api/v1/spend/ads", "date,channel,campaign,amount,currency\n"+day+",Paid Search,brand,10.5,EUR\n"); code != 200 || !strings.Contains(body, `"rows":1`) {
		t.Fatalf("PUT spend = %d %s", code, body)
	}
	if s := spend(); s != 10.5 {
		t.Errorf("spend after PUT = %v; want 10.5", s)
	}
	if code, body := do("POST", "/api/v1/spend/ads", "date,channel,amount,currency\n"+day+",Display,4,EUR\n"); code != 200 || !strings.Contains(body, `"rows":2`) {
		t.Errorf("POST spend = %d %s", code, body)
	}
	if s := spend(); s != 14.5 {
		t.Errorf("spend after POST = %v; want 14.5", s)
	}
	cases := []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"PUT", "/api/v1/spend/ads", "date,channel,amount\n2026-13-01,Display,4\n", 422, "line 2"},
		{"POST", "/api/v1/spend/ads", "date,channel,amount,currency\n" + day + ",Display,4,USD\n", 422, "currency"},
		{"PUT", "/api/v1/spend/Bad%20Name", "date,channel,amount\n", 400, "source"},
		{"DELETE", "/api/v1/spend/none", "", 404, "unknown spend source"},
		{"GET", "/api/v1/spend/ads", "", 405, ""},
	}
	for _, c := range cases {
		if code, body := do(c.method, c.path, c.body); code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s %s = %d %s; want %d naming %q", c.method, c.path, code, body, c.code, c.want)
		}
	}
	if s := spend(); s != 14.5 {
		t.Errorf("spend after refused requests = %v; want 14.5, unchanged", s)
	}
	if code, body := do("DELETE", "/api/v1/spend/ads", ""); code != 204 {
		t.Errorf("DELETE spend = %d %s", code, body)
	}
	if s := spend(); s != 0 {
		t.Errorf("spend after DELETE = %v; want 0", s)
	}
}

// TestSendSpendInParts sends more spend than one request may carry: the first part
// replaces the source's rows, the others add to them, and the server has them all.
func TestSendSpendInParts(t *testing.T) {
	url := testServer(t, "", time.Now)
	var rows []simSpend
	day := time.Now().UTC().Truncate(24 * time.Hour)
	for i := range 3000 {
		d := day.Add(-time.Duration(i%300) * 24 * time.Hour).Format(time.DateOnly)
		rows = append(rows, simSpend{simSpendKey{d, "Paid Search", "campaign-" + strings.Repeat("x", i%7)}, 1.25})
	}
	if len(spendCSV(rows)) <= spendChunk {
		t.Fatalf("%d bytes of spend fit one request; the test wants several", len(spendCSV(rows)))
	}
	res, err := sendSpend(t.Context(), url, testToken, "parts", rows)
	if err != nil || res.Rows != 3000 || res.Amount != 3750 || res.Currency != "USD" {
		t.Fatalf("sendSpend = %+v, %v; want 3000 rows, 3750 USD", res, err)
	}
	// Sent again, it replaces what the source held rather than adding to it.
	if res, err = sendSpend(t.Context(), url, testToken, "parts", rows[:10]); err != nil || res.Rows != 10 {
		t.Errorf("sendSpend again = %+v, %v; want the 10 rows sent", res, err)
	}
}

// TestSpendDiskFull checks that spend goes through the disk gate: refused, it is a 503
// disk_full with Retry-After, and nothing is written.
func TestSpendDiskFull(t *testing.T) {
	dir := t.TempDir()
	full := func(int) error { return fmt.Errorf("%w: 1 MiB free, below the reserve", track.ErrDiskFull) }
	url := testServerRules(t, dir, filepath.Join("..", "..", "rules"), time.Now, func(o *server.Options) {
		o.SpendSources = analytics.NewSpendSources(dir, full)
	})
	req, _ := http.NewRequest("PUT", url+"/api/v1/spend/ads", strings.NewReader("date,channel,amount\n2026-03-01,Display,4\n"))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"disk_full"`) || resp.Header.Get("Retry-After") == "" {
		t.Errorf("PUT spend on a full disk = %d %s (Retry-After %q); want 503 disk_full", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if _, err := os.Stat(filepath.Join(dir, "spend.d", "ads.csv")); !os.IsNotExist(err) {
		t.Errorf("spend file after a refusal: %v; want none", err)
	}
}
