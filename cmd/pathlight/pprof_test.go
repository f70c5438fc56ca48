package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPprofListener: --pprof-addr serves Go's profiles on a listener of its own, leaves out
// the command line (it may hold --admin-token), and stops with the server.
func TestPprofListener(t *testing.T) {
	addr, stop, err := startPprof("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/debug/pprof/heap?debug=1"); code != 200 || !strings.Contains(body, "heap profile") {
		t.Errorf("heap profile: %d %.80q; want 200 and a heap profile", code, body)
	}
	if code, body := get("/debug/pprof/goroutine?debug=1"); code != 200 || !strings.Contains(body, "startPprof") {
		t.Errorf("goroutine profile: %d; want 200 with this listener's goroutine in it", code)
	} else if !strings.Contains(body, "goroutine profile") {
		t.Errorf("goroutine profile body %.80q", body)
	}
	if code, _ := get("/debug/pprof/profile?seconds=1"); code != 200 {
		t.Errorf("CPU profile: %d; want 200", code)
	}
	if code, _ := get("/debug/pprof/cmdline"); code != 404 {
		t.Errorf("command line: %d; want 404 (it may hold secrets)", code)
	}
	stop()
	if _, err := client.Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Error("the profiles still answer after stop")
	}
}

// TestServePprofFlag: `serve --pprof-addr` announces the profiles' address and serves them
// there, not on the public listener; a non-loopback address is refused at start.
func TestServePprofFlag(t *testing.T) {
	p := startServe(t, t.TempDir(), "--pprof-addr", "127.0.0.1:0")
	if !strings.HasPrefix(p.pprof, "http://127.0.0.1:") {
		t.Fatalf("serve printed the profiles' address %q; want http://127.0.0.1:…", p.pprof)
	}
	resp, err := http.Get(p.pprof + "heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "heap profile") {
		t.Errorf("GET %sheap: %d %.60q; want the heap profile", p.pprof, resp.StatusCode, b)
	}
	if resp, err := http.Get(p.url + "/debug/pprof/heap"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("the public listener serves the profiles too")
		}
	}
	code, _, stderr := runBinary(t, "serve", "--data", t.TempDir(), "--pprof-addr", "0.0.0.0:0")
	if code != 2 || !strings.Contains(stderr, "--pprof-addr") || !strings.Contains(stderr, "--pprof-remote") {
		t.Errorf("serve --pprof-addr 0.0.0.0:0: exit %d, %q; want 2 and an error naming --pprof-addr and --pprof-remote", code, stderr)
	}
}
