package server_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/deliver"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/server"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
)

// The parts the tests' servers are built from. Each registers its own teardown, so that
// the test ends them in the reverse order: the server shuts down first, then the deliverer
// stops, then the store closes.

// openRig loads the configuration of a server for sites (a --sites value) with the test
// admin token, and opens real Badger in a temporary directory, closed when the test ends.
func openRig(t *testing.T, sites string) (*config.Config, *store.DB) {
	t.Helper()
	cfg, err := config.Load([]string{"--admin-token", token, "--sites", sites}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.TempDir(), trackstore.Options(store.Options{Small: true}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return cfg, db
}

// loadRules loads src as the only rules file.
func loadRules(t *testing.T, src string) *rules.Set {
	t.Helper()
	set, err := rules.Load(fstest.MapFS{"r/a.yaml": {Data: []byte(src)}}, "r")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// runDeliverer runs dl until the test ends.
func runDeliverer(t *testing.T, dl *deliver.Deliverer) {
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { dl.Run(ctx); close(runDone) }()
	t.Cleanup(func() {
		cancel()
		<-runDone
	})
}

// serveRig serves srv on a random 127.0.0.1 port until the test ends and returns its base
// URL; at the end it shuts srv down, and both Shutdown and Serve must return no error.
func serveRig(t *testing.T, srv *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections() // so Shutdown need not wait for them to time out
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}
