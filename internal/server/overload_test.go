package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/track"
)

// busyStore refuses every write as a store whose backlog is full does.
type busyStore struct{ track.Store }

func (busyStore) Write([]track.Op) error {
	return fmt.Errorf("%w (backlog full)", track.ErrOverloaded)
}

// TestHitWhenStorageIsBehind: a hit that storage cannot take for now is answered 503 with
// the reason "overloaded" and Retry-After, not a generic storage failure.
func TestHitWhenStorageIsBehind(t *testing.T) {
	ts := startWrapped(t, nil, nil, func(st track.Store) track.Store { return busyStore{st} })
	r := ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[{"id":"e1","type":"pageview","url":"https://shop.example/"}]}`,
		"Origin", "https://shop.example")
	if r.status != 503 || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, `"reason":"overloaded"`) {
		t.Fatalf("POST /v1/hit with storage behind = %d %q (Retry-After %q); want 503, reason overloaded, Retry-After",
			r.status, r.body, r.header.Get("Retry-After"))
	}
	m := ts.do(t, "GET", "/metrics", "", "Authorization", "Bearer "+token)
	if !strings.Contains(m.body, "pathlight_store_backlog_bytes") {
		t.Errorf("/metrics has no backlog gauge:\n%s", m.body)
	}
}
