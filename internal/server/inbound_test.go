package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/deliver"
	"github.com/pathlight/pathlight/internal/inbound"
	"github.com/pathlight/pathlight/internal/server"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// startInbound runs a server with the events API, reports and a deliverer.
func startInbound(t *testing.T, hookURL string) (string, *track.Tracker) {
	t.Helper()
	cfg, db := openRig(t, "shop=https://shop.example;blog=https://blog.example")
	src := fmt.Sprintf(`
steps:
  - {id: landed, stage: awareness, when: {event.type: pageview}}
  - {id: deal_won, stage: retention, when: {event.name: deal_won}, conversion: true, value: value}
destinations:
  crm: {url: %q, secret_env: HOOK_SECRET}
automations:
  deal:
    on: {converts: deal_won}
    to: crm
`, hookURL)
	set := loadRules(t, src)
	feed := analytics.NewFeed(nil)
	st := track.Watch(trackstore.New(db), feed)
	var dl *deliver.Deliverer
	tr := track.New(st, nil, set, track.Config{SiteHosts: map[string][]string{"shop": {"shop.example"}}, OnOutbox: func() { dl.Wake() }})
	dl = deliver.New(deliver.Config{Tracker: tr, Store: st, Poll: 10 * time.Millisecond,
		Getenv: func(k string) string { return map[string]string{"HOOK_SECRET": hookSecret}[k] }})
	reports := analytics.New(tr, feed, analytics.Options{MaxStaleness: -1})
	runDeliverer(t, dl)
	srv := server.New(server.Options{Config: cfg, Tracker: tr, Rules: &fixedRules{}, Deliverer: dl, Analytics: reports,
		Keys: inbound.NewKeys(st, nil), Ingest: inbound.NewIngester(tr, 0)})
	return serveRig(t, srv), tr
}

// sendEvents posts body to the events API with auth as the Authorization header.
func sendEvents(t *testing.T, base, auth, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/events", strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("X-Pathlight-Reason"), string(b)
}

func TestEventsAPIMovesTheJourneyAndItsAttribution(t *testing.T) {
	hook := &hookReceiver{}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	base, tr := startInbound(t, hs.URL)

	// A visitor from a Google ad, 30 hours ago, who signs in as u-42.
	landed := time.Now().Add(-30 * time.Hour).UnixMilli()
	vid := postHit(t, base, fmt.Sprintf(`{"site":"shop","events":[
		{"id":"b1","type":"pageview","ts":%d,"url":"https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=brand"},
		{"id":"b2","type":"identify","ts":%d,"user_id":"u-42"}]}`, landed, landed+1000))

	status, _, body := call(t, "POST", base+"/api/v1/keys", `{"site":"shop","name":"crm"}`)
	var key struct {
		ID, Site, Key string
	}
	if status != 201 || json.Unmarshal([]byte(body), &key) != nil || !strings.HasPrefix(key.Key, "plk_") || key.Site != "shop" {
		t.Fatalf("create key = %d %s", status, body)
	}
	if _, _, list := call(t, "GET", base+"/api/v1/keys", ""); !strings.Contains(list, key.ID) || strings.Contains(list, key.Key) {
		t.Fatalf("key list %s: want the id, never the secret", list)
	}
	auth := "Bearer " + key.Key

	// The CRM reports the deal, an hour ago, with its value.
	won := time.Now().Add(-time.Hour).UnixMilli()
	deal := fmt.Sprintf(`{"site":"shop","events":[{"id":"deal-981","user_id":"u-42","type":"event","name":"deal_won","ts":%d,"props":{"value":1200}}]}`, won)
	status, _, body = sendEvents(t, base, auth, deal)
	var res inbound.Result
	if status != 200 || json.Unmarshal([]byte(body), &res) != nil || len(res.Accepted) != 1 || res.Visitors["deal-981"] != vid {
		t.Fatalf("events = %d %s; want deal-981 accepted for %s", status, body, vid)
	}
	st, err := tr.Visitor(vid)
	if err != nil {
		t.Fatal(err)
	}
	if st.Conversions != 1 || st.Value != 1200 || st.Stage != "retention" || st.Sessions != 1 || st.Step("deal_won").LastAt != won {
		t.Fatalf("journey: conversions %d value %v stage %q sessions %d; want 1, 1200, retention, 1 (no session for a back-end event)",
			st.Conversions, st.Value, st.Stage, st.Sessions)
	}
	// The same request again is a duplicate and changes nothing.
	if status, _, body = sendEvents(t, base, auth, deal); status != 200 || !strings.Contains(body, `"duplicate":["deal-981"]`) {
		t.Fatalf("retry = %d %s", status, body)
	}
	if st, _ := tr.Visitor(vid); st.Conversions != 1 {
		t.Fatalf("conversions after a retry = %d", st.Conversions)
	}

	// The conversion counts for the ad that brought the visitor.
	period := fmt.Sprintf("from=%d&to=%d", time.Now().Add(-7*24*time.Hour).UnixMilli(), time.Now().Add(time.Hour).UnixMilli())
	at := getJSON[struct {
		Data analytics.AttributionReport `json:"data"`
	}](t, base+"/api/v1/reports/attribution?"+period+"&model=last_touch&steps=deal_won")
	c := at.Data.Models["last_touch"].Channel("Paid Search")
	if math.Abs(c.Conversions-1) > 1e-9 || math.Abs(c.Value-1200) > 1e-9 {
		t.Fatalf("last-touch credit of Paid Search = %+v; want 1 conversion worth 1200", c)
	}

	// And it fired the automation on conversions.
	waitFor(t, "the deal's delivery", func() bool { return hook.acked() == 1 })
	if !strings.Contains(hook.got[0], `"automation":"deal"`) || !strings.Contains(hook.got[0], `"vid":"`+vid+`"`) {
		t.Fatalf("delivered %s", hook.got[0])
	}

	// A user never seen gets a journey of their own; a vid must be known.
	status, _, body = sendEvents(t, base, auth, `{"site":"shop","events":[
		{"id":"n1","user_id":"u-new","type":"event","name":"email_clicked"},
		{"id":"n2","vid":"0123456789abcdef0123456789abcdef","type":"event","name":"x"},
		{"id":"n3","type":"event","name":"x"},
		{"id":"n4","user_id":"u-42","type":"pageview","url":"https://shop.example/"},
		{"id":"n5","user_id":"u-42","type":"event","name":"x","ts":1}]}`)
	if err := json.Unmarshal([]byte(body), &res); err != nil || status != 200 || len(res.Accepted) != 1 || res.Accepted[0] != "n1" || len(res.Rejected) != 4 {
		t.Fatalf("mixed request = %d %s", status, body)
	}
	for i, want := range []string{"unknown visitor", "vid or user_id", "type must be event or identify", "ts older than"} {
		if !strings.Contains(res.Rejected[i].Reason, want) {
			t.Errorf("rejection %d = %q; want %q", i, res.Rejected[i].Reason, want)
		}
	}
	// A rejection reads as a hit's does: lower-case "id" and "reason", and the event's index.
	if !strings.Contains(body, `"rejected":[{"id":"n2","index":1,"reason":"`) {
		t.Errorf("rejections %s; want them as a hit's: {\"id\", \"index\", \"reason\"}", body)
	}
	if vNew, _ := tr.UserVID("shop", "u-new"); vNew == "" || vNew == vid {
		t.Errorf("u-new linked to %q", vNew)
	}

	// Authentication: a key sends events for its own site only; the admin token sends none.
	for _, c := range []struct {
		auth, body string
		status     int
		reason     string
	}{
		{"", deal, 401, "unauthorised"},
		{"Bearer plk_nope", deal, 401, "unauthorised"},
		{"Bearer " + token, deal, 403, "forbidden"},
		{auth, strings.Replace(deal, `"site":"shop"`, `"site":"blog"`, 1), 400, "bad_request"},
		{auth, `{"site":"shop","events":[]}`, 400, "bad_request"},
		{auth, `{"site":"shop","events":[{"id":"z"}],"extra":1}`, 400, "bad_request"},
	} {
		if status, reason, body := sendEvents(t, base, c.auth, c.body); status != c.status || !strings.HasPrefix(reason, c.reason+":") {
			t.Errorf("auth %q body %.40q = %d %q %s; want %d %s", c.auth, c.body, status, reason, body, c.status, c.reason)
		}
	}
	big := `{"site":"shop","events":[{"id":"big","user_id":"u-42","type":"event","name":"x","props":{"note":"` + strings.Repeat("x", 70_000) + `"}}]}`
	if status, reason, _ := sendEvents(t, base, auth, big); status != 413 || !strings.HasPrefix(reason, "body_too_large") {
		t.Errorf("an oversized request with a valid key = %d %q; want 413 body_too_large", status, reason)
	}
	if status, _, _ := sendEvents(t, base, "Bearer plk_nope", big); status != 401 {
		t.Errorf("an oversized request without a valid key = %d; want 401", status)
	}
	if status, _, body := call(t, "DELETE", base+"/api/v1/keys/"+key.ID, ""); status != 200 {
		t.Fatalf("revoke = %d %s", status, body)
	}
	if status, _, _ := sendEvents(t, base, auth, deal); status != 401 {
		t.Fatalf("a revoked key = %d; want 401", status)
	}
	if status, reason, _ := call(t, "POST", base+"/api/v1/keys", `{"site":"nope"}`); status != 400 || !strings.HasPrefix(reason, "unknown_site") {
		t.Fatalf("key for an unknown site = %d %q", status, reason)
	}
}
