package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.Data != "./data" || c.Rules != "./rules" || c.Identity != "cookie" {
		t.Fatalf("defaults = %+v", c)
	}
	if !c.AnyOrigin || len(c.Sites) != 2 || c.Sites[0].ID != "demo" || c.Sites[1].ID != "shop" ||
		!slices.Equal(c.Sites[0].Origins, []string{"*"}) || !slices.Equal(c.Sites[1].Origins, []string{"*"}) {
		t.Fatalf("default sites = %+v, any origin %v; want demo and shop accepting any origin", c.Sites, c.AnyOrigin)
	}
	if c.Retention != 400*24*time.Hour || c.BodyLimit != 65536 {
		t.Fatalf("retention %v, body limit %d", c.Retention, c.BodyLimit)
	}
}

func TestPrecedenceFlagOverEnvOverFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pathlight.yaml")
	yaml := "addr: 127.0.0.1:9000\ndata: /srv/file\nrules: /srv/rules\nsites:\n  shop: [https://shop.example, https://www.shop.example]\n  blog: https://blog.example\nrate_ip: 5\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load([]string{"--config", file, "--data", "/srv/flag"}, env(map[string]string{
		"PATHLIGHT_DATA":  "/srv/env",
		"PATHLIGHT_RULES": "/srv/env-rules",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" {
		t.Errorf("addr = %q; want the file's", c.Addr)
	}
	if c.Rules != "/srv/env-rules" {
		t.Errorf("rules = %q; want the environment's", c.Rules)
	}
	if c.Data != "/srv/flag" {
		t.Errorf("data = %q; want the flag's", c.Data)
	}
	if c.RateIP != 5 {
		t.Errorf("rate_ip = %v; want 5", c.RateIP)
	}
	if len(c.Sites) != 2 || c.Sites[0].ID != "shop" || len(c.Sites[0].Origins) != 2 || c.AnyOrigin {
		t.Errorf("sites = %+v", c.Sites)
	}
	if h := c.Sites[0].Hosts(); len(h) != 2 || h[1] != "www.shop.example" {
		t.Errorf("hosts = %v", h)
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	_, err := Load([]string{"--addr", "nope", "--identity", "fingerprint", "--retention", "forever", "--sites", "x=ftp://a"}, env(nil))
	if err == nil {
		t.Fatal("Load with four bad flags succeeded")
	}
	for _, want := range []string{"--addr", "--identity", "--retention", "--sites"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestUnknownFlagAndFileKey(t *testing.T) {
	if _, err := Load([]string{"--nope"}, env(nil)); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown flag: err = %v", err)
	}
	file := filepath.Join(t.TempDir(), "c.yaml")
	_ = os.WriteFile(file, []byte("adress: x\n"), 0o600)
	if _, err := Load([]string{"--config", file}, env(nil)); err == nil || !strings.Contains(err.Error(), `unknown setting "adress"`) {
		t.Errorf("unknown key: err = %v", err)
	}
	if _, err := Load([]string{"--help"}, env(nil)); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: err = %v; want flag.ErrHelp", err)
	}
}

func TestParseSites(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{"demo=http://localhost:8080,https://Shop.Example;blog=https://blog.example", "demo[http://localhost:8080 https://shop.example] blog[https://blog.example]", ""},
		{"a=*", "a[*]", ""},
		{"a", "", "want site=origin"},
		{"a=https://x/path", "", "no path"},
		{"a=https://x;a=https://y", "", "twice"},
		{"a b=https://x", "", "site id"},
		{"a=", "", "no origins"},
	}
	for _, tt := range tests {
		sites, err := ParseSites(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSites(%q) err = %v; want it to mention %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		var got []string
		for _, s := range sites {
			got = append(got, s.ID+"["+strings.Join(s.Origins, " ")+"]")
		}
		if strings.Join(got, " ") != tt.want || err != nil {
			t.Errorf("ParseSites(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"14d": 14 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "90m": 90 * time.Minute, "1.5d": 36 * time.Hour} {
		if got, err := ParseDuration(in); got != want || err != nil {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseDuration("soon"); err == nil {
		t.Error("ParseDuration(soon) succeeded")
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Load([]string{"--trusted-proxies", "10.0.0.0/8, 192.168.1.7"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Demo {
		t.Error("demo on by default")
	}
	if c, err := Load([]string{"--demo", "--sync-writes=true"}, env(nil)); err != nil || !c.Demo || !c.SyncWrites {
		t.Fatalf("bare --demo: %+v, %v", c, err)
	}
	if len(c.TrustedProxies) != 2 || c.TrustedProxies[1].Bits() != 32 {
		t.Fatalf("trusted proxies = %v", c.TrustedProxies)
	}
}

// The README's install snippet must work under the quick start (`make run`, no --sites): its
// data-site is one of the sites served by default.
func TestReadmeSnippetSiteIsServedByDefault(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load([]string{"--demo"}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, s := range c.Sites {
		served[s.ID] = slices.Contains(s.Origins, "*")
	}
	found := 0
	for _, m := range regexp.MustCompile(`data-site="([^"]*)"`).FindAllStringSubmatch(string(readme), -1) {
		found++
		if !served[m[1]] {
			t.Errorf("README.md's snippet names data-site=%q, which `make run` does not serve from any origin (it serves %v)", m[1], c.Sites)
		}
	}
	if found == 0 {
		t.Fatal("README.md has no snippet with data-site")
	}
}

func TestDiskReserve(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil || c.DiskReserve != 1<<30 {
		t.Fatalf("default disk reserve = %d, %v; want 1 GiB", c.DiskReserve, err)
	}
	file := filepath.Join(t.TempDir(), "pathlight.yaml")
	if err := os.WriteFile(file, []byte("disk_reserve: 2GB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int64
	}{
		{[]string{"--config", file}, nil, 2e9},
		{[]string{"--config", file}, map[string]string{"PATHLIGHT_DISK_RESERVE": "768MiB"}, 768 << 20},
		{[]string{"--config", file, "--disk-reserve", "0"}, map[string]string{"PATHLIGHT_DISK_RESERVE": "768MiB"}, 0},
		{[]string{"--disk-reserve=1.5 GiB"}, nil, 3 << 29},
	} {
		c, err := Load(tc.args, env(tc.env))
		if err != nil || c.DiskReserve != tc.want {
			t.Errorf("Load(%q, %v): disk reserve %v, %v; want %d", tc.args, tc.env, c, err, tc.want)
		}
	}
	for _, bad := range []string{"100MiB", "lots", "-1GiB", "1PB", "1e3MB"} {
		_, err := Load([]string{"--disk-reserve", bad}, env(nil))
		if err == nil || !strings.Contains(err.Error(), "--disk-reserve") {
			t.Errorf("--disk-reserve %q: err = %v; want an error naming the flag", bad, err)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "512MiB": 512 << 20, "1gib": 1 << 30, "500 MB": 500e6, "1TB": 1e12, "2KiB": 2048, "10B": 10} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "1 XB", "1..5GB", "9999999EiB"} {
		if _, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) succeeded; want an error", in)
		}
	}
}

func TestMemoryBudget(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Memory != 512<<20 {
		t.Errorf("default memory = %d; want 512 MiB", c.Memory)
	}
	c, err = Load([]string{"--memory", "2GiB"}, env(map[string]string{"PATHLIGHT_MEMORY": "1GiB"}))
	if err != nil || c.Memory != 2<<30 {
		t.Fatalf("--memory 2GiB = %d, %v; want 2 GiB (the flag beats the environment)", c.Memory, err)
	}
	for _, bad := range []string{"lots", "10MiB", "-5GiB"} {
		if _, err := Load([]string{"--memory", bad}, env(nil)); err == nil || !strings.Contains(err.Error(), "--memory") {
			t.Errorf("--memory %q: error %v; want one naming --memory", bad, err)
		}
	}
	// The parts never add up to more than the budget, whatever its size, and leave at least
	// an eighth of it as headroom; memtables (and tables) are powers of two from 2 to 16 MiB.
	for _, b := range []int64{MinMemory, 512 << 20, 3<<30 + 7, 64 << 30} {
		p := PlanMemory(b)
		sum := p.MemTableMemory + p.Builders + p.IndexCache + p.EventMemTableMemory + p.EventBuilders + p.EventIndexCache +
			p.StateCache + p.ReportCache + p.Backlog + p.Work
		pow2 := p.MemTable&(p.MemTable-1) == 0
		if sum != b || p.Work < b/8 || p.Backlog < 32<<20 || p.GoLimit > b || !pow2 || p.MemTable < 2<<20 || p.MemTable > 16<<20 {
			t.Errorf("PlanMemory(%d) = %+v: parts add up to %d; want the budget, with headroom left", b, p, sum)
		}
	}
}

// TestPprofAddr: --pprof-addr is off by default, takes a loopback host:port, and refuses any
// other address unless --pprof-remote says so.
func TestPprofAddr(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil || c.PprofAddr != "" || c.PprofRemote {
		t.Fatalf("default: %q %v, %v; want no profiles", c.PprofAddr, c.PprofRemote, err)
	}
	for _, ok := range []string{"127.0.0.1:6060", "[::1]:6060", "localhost:0", "127.0.0.2:1"} {
		if c, err := Load([]string{"--pprof-addr", ok}, env(nil)); err != nil || c.PprofAddr != ok {
			t.Errorf("--pprof-addr %s: %v; want it taken", ok, err)
		}
	}
	for _, bad := range []string{"0.0.0.0:6060", ":6060", "10.0.0.5:6060", "example.com:6060", "[::]:6060"} {
		_, err := Load([]string{"--pprof-addr", bad}, env(nil))
		if err == nil || !strings.Contains(err.Error(), "--pprof-addr") || !strings.Contains(err.Error(), "--pprof-remote") {
			t.Errorf("--pprof-addr %s: %v; want a refusal naming --pprof-addr and --pprof-remote", bad, err)
		}
		if c, err := Load([]string{"--pprof-addr", bad, "--pprof-remote"}, env(nil)); err != nil || !c.PprofRemote {
			t.Errorf("--pprof-addr %s --pprof-remote: %v; want it taken", bad, err)
		}
	}
	if _, err := Load([]string{"--pprof-addr", "6060"}, env(map[string]string{"PATHLIGHT_PPROF_REMOTE": "true"})); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("--pprof-addr 6060: %v; want host:port asked for", err)
	}
}
