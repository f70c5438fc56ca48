package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// build validates raw settings into a Config, collecting every problem.
func build(raw map[string]string) (*Config, []error) {
	var errs []error
	bad := func(name, format string, a ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", name, fmt.Sprintf(format, a...)))
	}
	c := &Config{
		Addr:         raw["addr"],
		Data:         raw["data"],
		Rules:        raw["rules"],
		AdminToken:   raw["admin-token"],
		GeoIP:        raw["geoip"],
		Identity:     raw["identity"],
		Consent:      raw["consent"],
		CookieDomain: strings.TrimPrefix(raw["cookie-domain"], "."),
		LogLevel:     raw["log-level"],
		PprofAddr:    strings.TrimSpace(raw["pprof-addr"]),
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		bad("addr", "%q is not host:port: %v", c.Addr, err)
	}
	if c.Data == "" {
		bad("data", "must not be empty")
	}
	if c.Rules == "" {
		bad("rules", "must not be empty")
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		bad("admin-token", "must be at least 16 characters")
	}
	switch c.Identity {
	case "cookie", "cookieless":
	default:
		bad("identity", "%q: want cookie or cookieless", c.Identity)
	}
	switch c.Consent {
	case "implied", "required":
	default:
		bad("consent", "%q: want implied or required", c.Consent)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "%q: want debug, info, warn or error", c.LogLevel)
	}
	var err error
	if c.Sites, err = ParseSites(raw["sites"]); err != nil {
		bad("sites", "%v", err)
	}
	if len(c.Sites) == 0 && err == nil {
		for _, id := range devSites {
			c.Sites = append(c.Sites, Site{ID: id, Origins: []string{"*"}})
		}
		c.AnyOrigin = true
	}
	if c.TrustedProxies, err = parsePrefixes(raw["trusted-proxies"]); err != nil {
		bad("trusted-proxies", "%v", err)
	}
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"retention", &c.Retention}, {"replay-retention", &c.ReplayRetention}, {"read-timeout", &c.ReadTimeout},
		{"write-timeout", &c.WriteTimeout}, {"idle-timeout", &c.IdleTimeout},
	}
	for _, d := range durations {
		v, err := ParseDuration(raw[d.name])
		if err != nil || v <= 0 {
			bad(d.name, "%q: want a positive duration like 30s, 10m, 2h, 90d", raw[d.name])
		}
		*d.dst = v
	}
	ints := []struct {
		name string
		dst  *int
		min  int
	}{
		{"body-limit", &c.BodyLimit, 1024}, {"burst-ip", &c.BurstIP, 1},
		{"burst-visitor", &c.BurstVisitor, 1}, {"max-conns-per-ip", &c.MaxConnsPerIP, 1},
		{"wal-segment-size", &c.WALSegment, 64 << 10},
	}
	for _, n := range ints {
		v, err := strconv.Atoi(raw[n.name])
		if err != nil || v < n.min {
			bad(n.name, "%q: want a whole number of at least %d", raw[n.name], n.min)
		}
		*n.dst = v
	}
	rates := []struct {
		name string
		dst  *float64
	}{{"rate-ip", &c.RateIP}, {"rate-visitor", &c.RateVisitor}}
	for _, r := range rates {
		v, err := strconv.ParseFloat(raw[r.name], 64)
		if err != nil || v <= 0 {
			bad(r.name, "%q: want a positive number of requests per second", raw[r.name])
		}
		*r.dst = v
	}
	if v, err := ParseBytes(raw["disk-reserve"]); err != nil {
		bad("disk-reserve", "%v", err)
	} else if v != 0 && v < MinDiskReserve {
		bad("disk-reserve", "%q is below the minimum of 512MiB (0 turns the check off)", raw["disk-reserve"])
	} else {
		c.DiskReserve = v
	}
	for _, cp := range []struct {
		name string
		dst  *int64
	}{{"replay-session-cap", &c.ReplaySessionCap}, {"replay-daily-cap", &c.ReplayDailyCap}} {
		if v, err := ParseBytes(raw[cp.name]); err != nil || v < 64<<10 {
			bad(cp.name, "%q: want a size of at least 64KiB, such as 5MiB or 1GiB", raw[cp.name])
		} else {
			*cp.dst = v
		}
	}
	if c.Memory, err = ParseBytes(raw["memory"]); err != nil || c.Memory < MinMemory {
		bad("memory", "%q: want a size of at least 384MiB, such as 512MiB or 2GiB", raw["memory"])
	}
	bools := []struct {
		name string
		dst  *bool
	}{{"sync-writes", &c.SyncWrites}, {"demo", &c.Demo}, {"pprof-remote", &c.PprofRemote}}
	for _, b := range bools {
		v, err := strconv.ParseBool(raw[b.name])
		if err != nil {
			bad(b.name, "%q: want true or false", raw[b.name])
		}
		*b.dst = v
	}
	if c.PprofAddr != "" {
		checkPprofAddr(c.PprofAddr, c.PprofRemote, bad)
	}
	if raw["cluster"] != "" {
		c.Cluster = buildCluster(raw, bad)
	} else if raw["node"] != "" {
		bad("node", "is set but --cluster is not: give the NATS URLs of the fleet with --cluster")
	}
	return c, errs
}

// checkPprofAddr checks --pprof-addr: host:port, and a loopback host unless --pprof-remote
// says otherwise. The profiles need no token and show what the server holds in memory (a
// heap profile's stacks, the goroutines' arguments), so they stay on the machine by default.
func checkPprofAddr(addr string, remote bool, bad func(name, format string, a ...any)) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		bad("pprof-addr", "%q is not host:port: %v", addr, err)
		return
	}
	if remote || isLoopback(host) {
		return
	}
	shown := host
	if shown == "" {
		shown = "every interface"
	}
	bad("pprof-addr", "%q listens on %s, which is not a loopback address: profiles need no token, so use 127.0.0.1 or [::1] (and an SSH tunnel), or add --pprof-remote to serve them there anyway", addr, shown)
}

// isLoopback reports whether host is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// ParseSites parses 'demo=http://localhost:8080,https://shop.example;blog=https://blog.example'.
// An origin is scheme://host[:port] with no path; "*" allows any origin for that site.
func ParseSites(s string) ([]Site, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var sites []Site
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, origins, ok := strings.Cut(part, "=")
		id = strings.TrimSpace(id)
		if !ok || id == "" {
			return nil, fmt.Errorf("%q: want site=origin[,origin…]", part)
		}
		if !validSiteID(id) {
			return nil, fmt.Errorf("site id %q: use letters, digits, - and _ (at most 64)", id)
		}
		if seen[id] {
			return nil, fmt.Errorf("site %q is listed twice", id)
		}
		seen[id] = true
		site := Site{ID: id}
		for _, o := range strings.Split(origins, ",") {
			o = strings.TrimSpace(o)
			if o == "" {
				continue
			}
			norm, err := normaliseOrigin(o)
			if err != nil {
				return nil, fmt.Errorf("site %q: %w", id, err)
			}
			site.Origins = append(site.Origins, norm)
		}
		if len(site.Origins) == 0 {
			return nil, fmt.Errorf("site %q has no origins", id)
		}
		sites = append(sites, site)
	}
	return sites, nil
}

func validSiteID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func normaliseOrigin(o string) (string, error) {
	if o == "*" {
		return o, nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("origin %q: want scheme://host[:port]", o)
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("origin %q: an origin has no path, query or fragment", o)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			a, err := netip.ParseAddr(p)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR", p)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pr, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR: %v", p, err)
		}
		out = append(out, pr.Masked())
	}
	return out, nil
}

// ParseDuration is time.ParseDuration plus days ("14d") and weeks ("2w").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseFloat(n, 64)
		return time.Duration(v * float64(24*time.Hour)), err
	}
	if n, ok := strings.CutSuffix(s, "w"); ok {
		v, err := strconv.ParseFloat(n, 64)
		return time.Duration(v * float64(7*24*time.Hour)), err
	}
	return time.ParseDuration(s)
}

// MinDiskReserve is the smallest --disk-reserve other than 0; the store needs that much room
// with its smallest memtables (store.MinDiskReserve, which a test keeps equal).
const MinDiskReserve = 512 << 20

// byteUnits are the units ParseBytes knows, lower-cased: decimal (kB, MB, GB, TB) and binary
// (KiB, MiB, GiB, TiB).
var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseBytes parses a size in bytes: a whole or decimal number followed by an optional unit
// (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB; any case, a space allowed): "1GiB", "512 MB",
// "1048576".
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	mult, ok := byteUnits[unit]
	v, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || v < 0 || v*float64(mult) >= 1<<62 {
		return 0, fmt.Errorf("%q: want a size like 1GiB, 512MiB or 500MB", s)
	}
	return int64(v * float64(mult)), nil
}
