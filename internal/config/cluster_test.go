package config

import (
	"strings"
	"testing"
	"time"
)

func TestClusterOffByDefault(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster != nil {
		t.Fatalf("cluster = %+v without --cluster; want nil", c.Cluster)
	}
}

func TestClusterSettings(t *testing.T) {
	c, err := Load([]string{"--cluster", "nats://10.0.0.1:4222, tls://10.0.0.2:4222", "--node", "eu-1",
		"--cluster-replicas", "1", "--cluster-lease", "2s", "--cluster-user", "pl"},
		env(map[string]string{"PATHLIGHT_CLUSTER_PASSWORD": "secret", "PATHLIGHT_CLUSTER_SHARDS": "32"}))
	if err != nil {
		t.Fatal(err)
	}
	k := c.Cluster
	if k == nil || len(k.URLs) != 2 || k.URLs[1] != "tls://10.0.0.2:4222" || k.Node != "eu-1" || k.Replicas != 1 ||
		k.Shards != 32 || k.Wait != 2*time.Second || k.Lease != 2*time.Second || k.Outbox != 256<<20 ||
		k.User != "pl" || k.Password != "secret" {
		t.Fatalf("cluster = %+v", k)
	}
}

func TestClusterErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--cluster", "nats://a:4222"}, "--node: is required with --cluster"},
		{[]string{"--node", "a"}, "--node: is set but --cluster is not"},
		{[]string{"--cluster", "http://a:4222", "--node", "a"}, "the scheme must be nats:// or tls://"},
		{[]string{"--cluster", "nats://a", "--node", "a"}, `"nats://a": want a NATS URL`},
		{[]string{"--cluster", "nats://a:4222", "--node", "a.b"}, `--node: "a.b": use letters`},
		{[]string{"--cluster", "nats://a:4222", "--node", "a", "--cluster-shards", "0"}, "--cluster-shards"},
		{[]string{"--cluster", "nats://a:4222", "--node", "a", "--cluster-wait", "soon"}, "--cluster-wait"},
		{[]string{"--cluster", "nats://a:4222", "--node", "a", "--cluster-outbox", "1kB"}, "--cluster-outbox"},
		{[]string{"--cluster", "nats://a:4222", "--node", "a", "--cluster-tls-cert", "/nonexistent.pem"}, "go together"},
		{[]string{"--cluster", "nats://a:4222", "--node", "a", "--cluster-creds", "/nonexistent.creds"}, "--cluster-creds: stat /nonexistent.creds"},
		{[]string{"--cluster", "nats://a:4222", "--node", "a", "--cluster-user", "u"}, "--cluster-user and --cluster-password go together"},
	}
	for _, c := range cases {
		_, err := Load(c.args, env(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v; want it to say %q", c.args, err, c.want)
		}
	}
}
