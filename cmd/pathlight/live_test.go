package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLiveShowsArrivals checks the live view and /metrics through a running server: a
// request's hit shows as it arrives, among the newest events and in hits per second;
// imported events, backdated or not, are counted apart and never among the newest events.
func TestLiveShowsArrivals(t *testing.T) {
	url := testServer(t, "", time.Now)
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, body string) string {
		t.Helper()
		code, b := sendAdmin(t, client, url, method, path, body)
		if code != 200 {
			t.Fatalf("%s %s = %d %s", method, path, code, b)
		}
		return b
	}
	now := time.Now()
	var lines []string
	for i, ago := range []time.Duration{10 * 24 * time.Hour, time.Hour, time.Second} {
		ts := now.Add(-ago).UnixMilli()
		lines = append(lines, fmt.Sprintf(`{"ts":%d,"ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0","ip":"203.0.113.9","batch":{"site":"demo","vid":"%032x","events":[{"id":"imp%d","type":"pageview","ts":%d,"url":"https://shop.example/imported"},{"id":"imq%d","type":"event","name":"add_to_cart","ts":%d,"url":"https://shop.example/imported"}]}}`, ts, i+1, i, ts, i, ts))
	}
	if res := do("POST", "/api/v1/import", strings.Join(lines, "\n")); !strings.Contains(res, `"accepted":6`) {
		t.Fatalf("import = %s; want 6 events accepted", res)
	}
	const live = "abcdefabcdefabcdefabcdefabcdef01"
	before := time.Now().UnixMilli()
	do("POST", "/v1/hit", fmt.Sprintf(`{"site":"demo","vid":%q,"events":[{"id":"l1","type":"pageview","url":"https://shop.example/now","ts":%d}]}`, live, now.Add(-time.Hour).UnixMilli()))
	after := time.Now().UnixMilli()

	var l struct {
		HitsPerSecond     []struct{ T, N int64 } `json:"hits_per_second"`
		ImportedPerSecond []struct{ T, N int64 } `json:"imported_per_second"`
		Recent            []struct {
			VID      string
			Path     string
			Received int64
		}
	}
	if err := json.Unmarshal([]byte(do("GET", "/api/v1/live", "")), &l); err != nil {
		t.Fatal(err)
	}
	sum := func(s []struct{ T, N int64 }) (n int64) {
		for _, x := range s {
			n += x.N
		}
		return n
	}
	if n := sum(l.HitsPerSecond); n != 1 {
		t.Errorf("live hits in the last minute = %d; want the 1 hit of a request", n)
	}
	if n := sum(l.ImportedPerSecond); n != 6 {
		t.Errorf("live imported events in the last minute = %d; want 6", n)
	}
	// The hit is shown although its event time is an hour ago: it arrived now.
	if len(l.Recent) != 1 || l.Recent[0].VID != live || l.Recent[0].Path != "/now" || l.Recent[0].Received < before || l.Recent[0].Received > after {
		t.Errorf("live recent = %+v; want only the hit of %s, received in [%d, %d]", l.Recent, live, before, after)
	}

	metrics := do("GET", "/metrics", "")
	for _, want := range []string{`pathlight_events_total{result="accepted"} 1`, `pathlight_import_events_total{result="accepted"} 6`, `pathlight_import_bad_lines_total 0`} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
