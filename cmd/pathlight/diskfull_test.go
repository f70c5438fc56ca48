//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/store"
)

// diskReserve is the --disk-reserve of the full-disk test: the smallest the server takes.
const diskReserve = 512 << 20

// mountTmpfs mounts a tmpfs of size bytes for the test and unmounts it at the end. It skips
// the test, saying why, where the test cannot mount one.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root (CI runs as root); the reserve path is covered by TestServeWithReserveAboveFreeSpace and the store's tests")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s); the reserve path is covered by TestServeWithReserveAboveFreeSpace", err, strings.TrimSpace(string(out)))
	}
	// Registered before the server's cleanup, so it runs after the server is gone.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
			_ = exec.Command("umount", "-l", dir).Run()
		}
	})
	return dir
}

// freeBytes is the free space of the filesystem of dir, as the server reads it.
func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// fill writes a file into dir until the filesystem has about leave bytes free.
func fill(t *testing.T, dir string, leave int64) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "filler"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for free := freeBytes(t, dir); free > leave; free = freeBytes(t, dir) {
		n := min(int64(len(chunk)), free-leave)
		if _, err := f.Write(chunk[:n]); err != nil {
			t.Fatalf("fill: %v", err)
		}
	}
}

// diskHit sends one batch of n events with ids prefix-seq-i for visitor vid and returns the
// status, the X-Pathlight-Reason header and the accepted ids.
func diskHit(t *testing.T, url, vid, prefix string, seq, n int) (int, string, []string) {
	t.Helper()
	var body strings.Builder
	fmt.Fprintf(&body, `{"site":"demo","vid":%q,"events":[`, vid)
	for i := range n {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"id":"%s-%d-%d","type":"event","name":"add_to_cart","url":"https://shop.example/p/%d?utm_source=news&utm_medium=email","title":"A page title of some length","props":{"sku":"TJ-%d","value":30,"note":%q}}`,
			prefix, seq, i, i, i, strings.Repeat("x", 400))
	}
	body.WriteString(`]}`)
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/hit", strings.NewReader(body.String()))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", crashUA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /v1/hit: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var reply struct {
		Accepted []string `json:"accepted"`
		Reason   string   `json:"reason"`
	}
	_ = json.Unmarshal(b, &reply)
	if resp.StatusCode == http.StatusServiceUnavailable && reply.Reason != "disk_full" {
		t.Fatalf("503 with reason %q (%s); want disk_full", reply.Reason, b)
	}
	return resp.StatusCode, resp.Header.Get("X-Pathlight-Reason"), reply.Accepted
}

// diskAdminGet answers an admin GET with its status and body.
func diskAdminGet(t *testing.T, url, path string) (int, string) {
	t.Helper()
	return adminDo(t, http.MethodGet, url, path)
}

func adminDo(t *testing.T, method, url, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url+path, nil)
	req.Header.Set("Authorization", "Bearer "+crashToken)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// health reads /healthz.
func health(t *testing.T, url string) (status int, body struct{ Status, Reason, Message string }) {
	t.Helper()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	return resp.StatusCode, body
}

// metric returns the value of the /metrics line that starts with name, "" when none.
func metric(t *testing.T, url, name string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// TestDiskFullKeepsServing fills a small tmpfs under a running server: hits are refused with
// 503 disk_full before Badger runs out of room, reports and the admin API keep answering,
// /healthz and /metrics say so, an erasure still works, the server stops and starts again on
// the full disk, and once space is freed hits are accepted again, with every acknowledged
// event kept.
func TestDiskFullKeepsServing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped in -short mode")
	}
	mnt := mountTmpfs(t, diskReserve+96<<20)
	data := filepath.Join(mnt, "data")
	reserve := fmt.Sprint("--disk-reserve=", diskReserve)
	p := startServe(t, data, reserve)

	acked := map[string]bool{}
	ack := func(ids []string) {
		for _, id := range ids {
			acked[id] = true
		}
	}
	// A visitor to erase later, and some traffic before the disk fills.
	const eraseVID = "e0000000000000000000000000000001"
	if code, reason, _ := diskHit(t, p.url, eraseVID, "erase", 0, 3); code != http.StatusOK {
		t.Fatalf("first hit = %d %s", code, reason)
	}
	for seq := range 20 {
		code, reason, ids := diskHit(t, p.url, fmt.Sprintf("%032x", seq%5+1), "a", seq, 20)
		if code != http.StatusOK {
			t.Fatalf("hit on an empty disk = %d %s", code, reason)
		}
		ack(ids)
	}

	// Leave 8 MiB above the reserve, then send hits until they are refused.
	fill(t, mnt, diskReserve+8<<20)
	refused := false
	for seq := 100; seq < 5100 && !refused; seq++ {
		code, reason, ids := diskHit(t, p.url, fmt.Sprintf("%032x", seq%50+1), "a", seq, 20)
		switch code {
		case http.StatusOK:
			ack(ids)
		case http.StatusServiceUnavailable:
			refused = true
			if !strings.HasPrefix(reason, "disk_full: ") {
				t.Errorf("X-Pathlight-Reason = %q; want disk_full: …", reason)
			}
		default:
			t.Fatalf("hit = %d %s", code, reason)
		}
	}
	if !refused {
		t.Fatal("5,000 hits of 20 events on a disk 8 MiB above the reserve were all accepted")
	}
	if !p.logged("disk nearly full", 5*time.Second) {
		t.Errorf("no warning in the log when hits began to be refused:\n%s", p.stderr.String())
	}
	if free := freeBytes(t, mnt); free < diskReserve/2 {
		t.Errorf("free space when hits were refused = %d; want about the reserve (%d) or more", free, diskReserve)
	}
	t.Logf("%d events acknowledged before the disk was full; %d MiB free", len(acked), freeBytes(t, mnt)>>20)

	// Everything but new data keeps answering, and says why hits are refused.
	code, h := health(t, p.url)
	if code != http.StatusOK || h.Status != "degraded" || h.Reason != "disk_full" || h.Message == "" {
		t.Errorf("/healthz on a full disk = %d %+v; want 200, degraded, disk_full with a message", code, h)
	}
	for name, want := range map[string]string{
		"pathlight_disk_full":          "1",
		"pathlight_disk_reserve_bytes": fmt.Sprint(diskReserve),
	} {
		if got := metric(t, p.url, name); got != want {
			t.Errorf("%s = %q; want %q", name, got, want)
		}
	}
	if got := metric(t, p.url, "pathlight_disk_refused_writes_total"); got == "" || got == "0" {
		t.Errorf("pathlight_disk_refused_writes_total = %q; want at least 1", got)
	}
	if got := metric(t, p.url, `pathlight_requests_rejected_total{reason="disk_full"}`); got == "" || got == "0" {
		t.Errorf(`pathlight_requests_rejected_total{reason="disk_full"} = %q; want at least 1`, got)
	}
	if got := metric(t, p.url, "pathlight_disk_free_bytes"); got == "" {
		t.Error("pathlight_disk_free_bytes is missing")
	}
	for _, path := range []string{"/api/v1/reports/overview", "/api/v1/rules", "/api/v1/live", "/api/v1/visitors/" + fmt.Sprintf("%032x", 1)} {
		if code, body := diskAdminGet(t, p.url, path); code != http.StatusOK {
			t.Errorf("GET %s on a full disk = %d %s; want 200", path, code, body)
		}
	}
	// An erasure deletes, which the reserve keeps room for.
	if code, body := adminDo(t, http.MethodDelete, p.url, "/api/v1/visitors/"+eraseVID); code != http.StatusOK {
		t.Errorf("DELETE a visitor on a full disk = %d %s; want 200", code, body)
	}

	// A stop on the full disk flushes Badger cleanly, and the server starts again on it,
	// refusing hits.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM on a full disk = %d; want 0\n%s", code, p.stderr.String())
	}
	fill(t, mnt, diskReserve-16<<20)
	p = startServe(t, data, reserve)
	if code, _, _ := diskHit(t, p.url, fmt.Sprintf("%032x", 1), "b", 0, 1); code != http.StatusServiceUnavailable {
		t.Fatalf("hit after a start on a full disk = %d; want 503", code)
	}
	if _, h := health(t, p.url); h.Reason != "disk_full" {
		t.Errorf("/healthz after a start on a full disk = %+v; want disk_full", h)
	}
	// Below seven eighths of the reserve even an erasure is refused, and says so; the
	// visitor stays whole.
	fill(t, mnt, diskReserve*7/8-8<<20)
	time.Sleep(2 * store.PollInterval)
	erased := fmt.Sprintf("/api/v1/visitors/%032x", 2)
	if code, body := adminDo(t, http.MethodDelete, p.url, erased); code != http.StatusServiceUnavailable || !strings.Contains(body, `"reason":"disk_full"`) {
		t.Errorf("DELETE a visitor far below the reserve = %d %s; want 503 disk_full", code, body)
	}
	if code, body := diskAdminGet(t, p.url, erased); code != http.StatusOK {
		t.Errorf("GET the visitor whose erasure was refused = %d %s; want 200", code, body)
	}

	// Freeing space lets hits in again within a poll or two, without a restart.
	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for seq := 1; ; seq++ {
		code, reason, ids := diskHit(t, p.url, fmt.Sprintf("%032x", 1), "c", seq, 1)
		if code == http.StatusOK {
			ack(ids)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hits still refused 10s after space was freed: %d %s", code, reason)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, h := health(t, p.url); h.Status != "ok" {
		t.Errorf("/healthz after space was freed = %+v; want ok", h)
	}
	if got := metric(t, p.url, "pathlight_disk_full"); got != "0" {
		t.Errorf("pathlight_disk_full after space was freed = %q; want 0", got)
	}

	exported := exportIDs(t, p, "")
	for id := range exported {
		if strings.HasPrefix(id, "erase-") {
			t.Errorf("event %s of the erased visitor is still in the log", id)
		}
		if strings.HasPrefix(id, "b-") {
			t.Errorf("event %s of a refused hit is in the log", id)
		}
		delete(exported, id)
		if acked[id] {
			exported[id] = 1
		}
	}
	checkAcknowledged(t, acked, exported)
}

// TestServeWithReserveAboveFreeSpace starts the real server with a reserve larger than any
// disk: it starts, refuses hits with 503 disk_full, and keeps reports and /healthz answering.
func TestServeWithReserveAboveFreeSpace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary; skipped in -short mode")
	}
	p := startServe(t, filepath.Join(t.TempDir(), "data"), "--disk-reserve", "1000TiB")
	code, reason, _ := diskHit(t, p.url, fmt.Sprintf("%032x", 1), "r", 0, 1)
	if code != http.StatusServiceUnavailable || !strings.HasPrefix(reason, "disk_full: ") {
		t.Fatalf("hit = %d %q; want 503 disk_full", code, reason)
	}
	if _, h := health(t, p.url); h.Status != "degraded" || h.Reason != "disk_full" {
		t.Errorf("/healthz = %+v; want degraded, disk_full", h)
	}
	if code, body := diskAdminGet(t, p.url, "/api/v1/reports/overview"); code != http.StatusOK {
		t.Errorf("GET overview = %d %s; want 200", code, body)
	}
	// Admin writes are refused the same way: an import, and (below seven eighths of the reserve) an
	// erasure.
	line := fmt.Sprintf(`{"ts":%d,"ua":%q,"batch":{"site":"demo","vid":"%032x","events":[{"id":"i1","type":"pageview","url":"https://shop.example/"}]}}`,
		time.Now().UnixMilli(), crashUA, 2)
	req, _ := http.NewRequest(http.MethodPost, p.url+"/api/v1/import", strings.NewReader(line))
	req.Header.Set("Authorization", "Bearer "+crashToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), `"reason":"disk_full"`) {
		t.Errorf("POST /api/v1/import = %d %s; want 503 disk_full", resp.StatusCode, b)
	}
	if code, body := adminDo(t, http.MethodDelete, p.url, fmt.Sprintf("/api/v1/visitors/%032x", 3)); code != http.StatusNotFound {
		t.Errorf("DELETE an unknown visitor = %d %s; want 404 (nothing to write)", code, body)
	}
	if !p.logged("disk-reserve", 5*time.Second) {
		t.Errorf("no warning about the reserve at start:\n%s", p.stderr.String())
	}
}

// logged reports whether the server's log contains s within d: the gate logs from its own
// goroutine, so a line can follow the reply that it explains.
func (p *serverProc) logged(s string, d time.Duration) bool {
	for end := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if strings.Contains(p.stderr.String(), s) {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}
