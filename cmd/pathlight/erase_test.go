package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEraseReachesMemory erases a visitor through the admin API and checks every copy a
// running server keeps in memory: the live view, the reports (their snapshot and cached
// results: survey open texts, segment reach, the overview), the visitor's journey and
// events, and the tracker's journey cache (the visitor's next hit starts afresh).
func TestEraseReachesMemory(t *testing.T) {
	rulesDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(rulesDir, "rules.yaml"), []byte(`stages: [awareness, retention]
steps:
  - {id: landed, stage: awareness, when: {event.type: pageview}}
  - {id: purchased, stage: retention, when: {event.type: event, event.name: purchase}, conversion: true, value: value}
surveys:
  why: {question: Why?, type: text, show: always}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	url := testServerRules(t, "", rulesDir, time.Now)
	client := &http.Client{Timeout: 10 * time.Second}
	do := func(method, path, body string) (int, string) {
		t.Helper()
		return sendAdmin(t, client, url, method, path, body)
	}
	const (
		gone  = "0123456789abcdef0123456789abcdef"
		other = "fedcba9876543210fedcba9876543210"
	)
	secrets := []string{gone, "/private-page-of-gone", "gone@example.com", "an answer only gone gave"}
	hit := func(vid, path, user, answer string) {
		t.Helper()
		body := fmt.Sprintf(`{"site":"demo","vid":%q,"events":[
			{"id":"%s-1","type":"pageview","url":"https://shop.example%s"},
			{"id":"%s-2","type":"identify","user_id":%q},
			{"id":"%s-3","type":"prompt","prompt":"why","action":"answered","answer":%q},
			{"id":"%s-4","type":"event","name":"purchase","props":{"value":30}}]}`, vid, vid, path, vid, user, vid, answer, vid)
		if code, resp := do("POST", "/v1/hit", body); code != 200 || !strings.Contains(resp, `"accepted":["`) {
			t.Fatalf("hit of %s = %d %s", vid, code, resp)
		}
	}
	hit(gone, "/private-page-of-gone", "gone@example.com", "an answer only gone gave")
	hit(other, "/other-page", "other@example.com", "another answer")

	reads := []string{"/api/v1/live", "/api/v1/reports/surveys", "/api/v1/reports/overview", "/api/v1/rules/reach"}
	for _, path := range reads {
		if code, body := do("GET", path, ""); code != 200 {
			t.Fatalf("GET %s = %d %s", path, code, body)
		}
	}
	// Before the erase: the live view and the open texts hold the visitor (the check can fail).
	if _, body := do("GET", "/api/v1/live", ""); !strings.Contains(body, gone) || !strings.Contains(body, "gone@example.com") {
		t.Fatalf("live view before the erase lacks the visitor: %s", body)
	}
	if _, body := do("GET", "/api/v1/reports/surveys", ""); !strings.Contains(body, secrets[3]) {
		t.Fatalf("surveys before the erase lack the open text: %s", body)
	}
	_, overview := do("GET", "/api/v1/reports/overview", "")

	if code, body := do("DELETE", "/api/v1/visitors/"+gone, ""); code != 200 {
		t.Fatalf("erase = %d %s", code, body)
	}
	// At once, with no wait for a refresh: nothing of the visitor anywhere.
	for _, path := range append(reads, "/api/v1/visitors/"+gone, "/api/v1/events?vid="+gone) {
		_, body := do("GET", path, "")
		for i, s := range secrets {
			if i == 0 && strings.Contains(path, gone) {
				continue // the 404 names the id asked for
			}
			if strings.Contains(body, s) {
				t.Errorf("after the erase GET %s still holds %q:\n%s", path, s, body)
			}
		}
	}
	if code, _ := do("GET", "/api/v1/visitors/"+gone, ""); code != 404 {
		t.Errorf("GET the erased visitor = %d; want 404", code)
	}
	// The other visitor is still there, and the overview counts one visitor fewer.
	if _, body := do("GET", "/api/v1/live", ""); !strings.Contains(body, other) || !strings.Contains(body, "another answer") {
		t.Errorf("the live view lost the other visitor: %s", body)
	}
	var before, after struct {
		Data struct{ Visitors int }
	}
	_, overviewAfter := do("GET", "/api/v1/reports/overview", "")
	if json.Unmarshal([]byte(overview), &before) != nil || json.Unmarshal([]byte(overviewAfter), &after) != nil ||
		before.Data.Visitors != 2 || after.Data.Visitors != 1 {
		t.Errorf("overview visitors before and after the erase = %d, %d; want 2, 1", before.Data.Visitors, after.Data.Visitors)
	}
	// A journey merged into a known user's: erasing the user erases the anonymous visitor's
	// hits too, in the live view as on disk.
	const (
		known = "11111111111111111111111111111111"
		anon  = "22222222222222222222222222222222"
	)
	send := func(vid, body string) {
		t.Helper()
		if code, resp := do("POST", "/v1/hit", fmt.Sprintf(`{"site":"demo","vid":%q,"events":[%s]}`, vid, body)); code != 200 {
			t.Fatalf("hit of %s = %d %s", vid, code, resp)
		}
	}
	send(known, `{"id":"k1","type":"identify","user_id":"merged@example.com"}`)
	send(anon, `{"id":"a1","type":"pageview","url":"https://shop.example/anonymous-page"},{"id":"a2","type":"identify","user_id":"merged@example.com"}`)
	if _, body := do("GET", "/api/v1/live", ""); !strings.Contains(body, "anonymous-page") {
		t.Fatalf("live view before the erase lacks the anonymous hit: %s", body)
	}
	if code, body := do("DELETE", "/api/v1/visitors/"+anon, ""); code != 200 {
		t.Fatalf("erase through the merged id = %d %s", code, body)
	}
	if _, body := do("GET", "/api/v1/live", ""); strings.Contains(body, "anonymous-page") || strings.Contains(body, "merged@example.com") {
		t.Errorf("after erasing the merged user the live view still holds their hits:\n%s", body)
	}

	// The tracker keeps no copy of the journey: the same id comes back as a new visitor.
	if code, body := do("POST", "/v1/hit", fmt.Sprintf(`{"site":"demo","vid":%q,"events":[{"id":"again","type":"pageview","url":"https://shop.example/"}]}`, gone)); code != 200 {
		t.Fatalf("hit after the erase = %d %s", code, body)
	}
	code, body := do("GET", "/api/v1/visitors/"+gone, "")
	if code != 200 || strings.Contains(body, "gone@example.com") || strings.Contains(body, "private-page") || strings.Contains(body, `"purchased"`) {
		t.Errorf("the returning visitor's journey = %d %s; want a fresh one", code, body)
	}
}
