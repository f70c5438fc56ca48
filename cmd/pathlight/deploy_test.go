package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The example deployment in deploy/ (docs/cluster.md) is checked by the programs that will
// read it: Pathlight's own configuration loader, nats-server -t and haproxy -c.

// deployDir is the repository's deploy directory.
func deployDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDeployPathlightConfig starts the binary on deploy/pathlight/pathlight.yaml, with the
// addresses and directories of this machine on the command line and the fleet's URL pointing
// at a closed port: every key of the file is read, and the server gets as far as connecting
// to NATS, which fails with its own message.
func TestDeployPathlightConfig(t *testing.T) {
	t.Setenv("PATHLIGHT_NODE", "pl-1")
	t.Setenv("PATHLIGHT_CLUSTER_PASSWORD", "secret")
	t.Setenv("PATHLIGHT_ADMIN_TOKEN", "deploy-test-token-0123456789")
	closed := freePorts(t, 1)[0]
	code, _, stderr := runBinary(t, "serve", "--config", filepath.Join(deployDir(t), "pathlight", "pathlight.yaml"),
		"--addr", "127.0.0.1:0", "--data", t.TempDir(), "--rules", crashRulesDir(t), "--memory", "384MiB",
		"--cluster", fmt.Sprintf("nats://127.0.0.1:%d", closed))
	if code != 1 || !strings.Contains(stderr, "cluster: connect to NATS") {
		t.Fatalf("pathlight serve --config deploy/pathlight/pathlight.yaml exited %d; want 1, failing to connect to NATS:\n%s", code, stderr)
	}
}

func TestDeployNATSConfigs(t *testing.T) {
	bin := natsBinary(t)
	for _, name := range []string{"nats-1.conf", "nats-2.conf", "nats-3.conf"} {
		cmd := exec.Command(bin, "-c", filepath.Join(deployDir(t), "nats", name), "-t")
		cmd.Env = append(os.Environ(), "PATHLIGHT_NATS_PASSWORD=p", "NATS_ADMIN_PASSWORD=a")
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "is valid") {
			t.Errorf("nats-server -t %s: %v\n%s", name, err, out)
		}
	}
}

func TestDeployHAProxyConfig(t *testing.T) {
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (Debian package haproxy): deploy/haproxy/haproxy.cfg is not checked")
	}
	src, err := os.ReadFile(filepath.Join(deployDir(t), "haproxy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	// The certificate the example names is the operator's; a throwaway one stands in.
	dir := t.TempDir()
	pem := filepath.Join(dir, "track.pem")
	gen := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
		"-subj", "/CN=track.shop.example", "-keyout", pem, "-out", pem+".crt")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Skipf("openssl cannot make a test certificate: %v\n%s", err, out)
	}
	crt, _ := os.ReadFile(pem + ".crt")
	key, _ := os.ReadFile(pem)
	if err := os.WriteFile(pem, append(crt, key...), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := strings.ReplaceAll(string(src), "/etc/haproxy/certs/track.shop.example.pem", pem)
	if !strings.Contains(string(src), "/etc/haproxy/certs/track.shop.example.pem") {
		t.Fatal("haproxy.cfg no longer names /etc/haproxy/certs/track.shop.example.pem: update this test")
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c: %v\n%s", err, out)
	}
}
