package config

import (
	"net/url"
	"os"
	"strconv"
	"strings"
)

// buildCluster validates the cluster settings; bad collects each problem.
func buildCluster(raw map[string]string, bad func(name, format string, a ...any)) *Cluster {
	c := &Cluster{
		Node: raw["node"], Creds: raw["cluster-creds"], TLSCA: raw["cluster-tls-ca"],
		TLSCert: raw["cluster-tls-cert"], TLSKey: raw["cluster-tls-key"],
		User: raw["cluster-user"], Password: raw["cluster-password"],
	}
	for _, u := range strings.Split(raw["cluster"], ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		p, err := url.Parse(u)
		switch {
		case err != nil || p.Host == "" || p.Port() == "":
			bad("cluster", "%q: want a NATS URL like nats://10.0.0.1:4222", u)
		case p.Scheme != "nats" && p.Scheme != "tls":
			bad("cluster", "%q: the scheme must be nats:// or tls://", u)
		case p.Path != "" && p.Path != "/" || p.RawQuery != "":
			bad("cluster", "%q: a NATS URL has no path or query", u)
		default:
			c.URLs = append(c.URLs, u)
		}
	}
	switch {
	case c.Node == "":
		bad("node", "is required with --cluster: give each node a unique name, such as its host name")
	case !validNodeName(c.Node):
		bad("node", "%q: use letters, digits, - and _ (at most 64)", c.Node)
	}
	ints := []struct {
		name     string
		dst      *int
		min, max int
	}{{"cluster-replicas", &c.Replicas, 1, 5}, {"cluster-shards", &c.Shards, 1, 4096}}
	for _, n := range ints {
		v, err := strconv.Atoi(raw[n.name])
		if err != nil || v < n.min || v > n.max {
			bad(n.name, "%q: want a whole number from %d to %d", raw[n.name], n.min, n.max)
		}
		*n.dst = v
	}
	var err error
	if c.Wait, err = ParseDuration(raw["cluster-wait"]); err != nil || c.Wait <= 0 {
		bad("cluster-wait", "%q: want a positive duration like 2s or 500ms", raw["cluster-wait"])
	}
	if c.Lease, err = ParseDuration(raw["cluster-lease"]); err != nil || c.Lease < 1e9 {
		bad("cluster-lease", "%q: want a duration of at least 1s, like 5s", raw["cluster-lease"])
	}
	if c.Outbox, err = ParseBytes(raw["cluster-outbox"]); err != nil || c.Outbox < 1<<20 {
		bad("cluster-outbox", "%q: want a size of at least 1MiB, such as 256MiB", raw["cluster-outbox"])
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("cluster-tls-cert", "--cluster-tls-cert and --cluster-tls-key go together")
	}
	if (c.User == "") != (c.Password == "") {
		bad("cluster-user", "--cluster-user and --cluster-password go together")
	}
	if c.User != "" && c.Creds != "" {
		bad("cluster-creds", "give either --cluster-creds or --cluster-user, not both")
	}
	files := []struct{ name, path string }{
		{"cluster-creds", c.Creds}, {"cluster-tls-ca", c.TLSCA}, {"cluster-tls-cert", c.TLSCert}, {"cluster-tls-key", c.TLSKey},
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			bad(f.name, "%v", err)
		}
	}
	return c
}

func validNodeName(n string) bool { return validSiteID(n) }
