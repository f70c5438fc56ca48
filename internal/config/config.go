// Package config holds the configuration of `pathlight serve`: its defaults, and how a YAML
// file, PATHLIGHT_* environment variables and command-line flags override them, in that order
// of precedence (a flag beats the environment, which beats the file). Every problem is
// collected and reported at once.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/pathlight/pathlight/internal/yamlguard"
)

// Config is the validated configuration of a server.
type Config struct {
	Addr           string
	Data           string
	Rules          string
	AdminToken     string
	GeoIP          string
	Sites          []Site
	TrustedProxies []netip.Prefix
	Identity       string // "cookie" or "cookieless"
	Consent        string // "implied" or "required"
	Retention      time.Duration
	CookieDomain   string
	BodyLimit      int
	RateIP         float64 // requests per second per client IP
	BurstIP        int
	RateVisitor    float64 // requests per second per visitor
	BurstVisitor   int
	MaxConnsPerIP  int
	ReadTimeout    time.Duration
	WriteTimeout   time.Duration
	IdleTimeout    time.Duration
	SyncWrites     bool
	// DiskReserve is the free space, in bytes, kept on the data directory's filesystem:
	// below it hits and imports are refused (503 disk_full). 0 keeps none.
	DiskReserve int64
	// Memory is the memory budget in bytes: see MemoryPlan for what each part gets.
	Memory     int64
	WALSegment int // preallocated bytes of a write-ahead log segment
	// ReplayRetention is how long session replay recordings are kept.
	ReplayRetention time.Duration
	// ReplaySessionCap and ReplayDailyCap bound the stored bytes of replay recordings: of
	// one recorded session, and of all the recordings that arrive in one UTC day.
	ReplaySessionCap int64
	ReplayDailyCap   int64
	Demo             bool
	LogLevel         string
	// PprofAddr is the loopback address of the profiling listener (net/http/pprof); empty
	// runs none. PprofRemote lets it be any address, by the operator's explicit choice.
	PprofAddr   string
	PprofRemote bool
	// AnyOrigin is true when no --sites were given: the development sites (DevSites) accept
	// every origin, a default that the server warns about.
	AnyOrigin bool
	// Cluster is the fleet to join; nil without --cluster (one embedded server, no NATS).
	Cluster *Cluster
}

// Cluster is the configuration of cluster mode (--cluster and the --cluster-* settings).
type Cluster struct {
	URLs     []string      // NATS server URLs, nats:// or tls://
	Node     string        // this node's name, unique in the fleet
	Replicas int           // replicas of the stream and buckets created at first start
	Shards   int           // visitor shards; must match the fleet's
	Wait     time.Duration // the longest a hit waits on a forward, takeover or election
	Outbox   int64         // bytes of the local outbox before hits are refused
	Lease    time.Duration // lifetime of a shard lease and a membership heartbeat
	Creds    string        // NATS credentials file
	TLSCA    string
	TLSCert  string
	TLSKey   string
	User     string
	Password string
}

// devSites are the sites served when no --sites are given (development only, from any
// origin): "demo", the demo shop's, and "shop", the one the README's install snippet names, so
// that a page of one's own carrying that snippet is tracked under `make run` at once.
var devSites = []string{"demo", "shop"}

// DevSites returns the ids of the sites served when no --sites are given.
func DevSites() []string { return append([]string(nil), devSites...) }

// Site is one site that may send hits, and the origins its pages are served from.
type Site struct {
	ID      string
	Origins []string // scheme://host[:port]
}

// Hosts returns the hosts of the site's origins, for self-referral detection.
func (s Site) Hosts() []string {
	hosts := make([]string, 0, len(s.Origins))
	for _, o := range s.Origins {
		if u, err := url.Parse(o); err == nil && u.Hostname() != "" {
			hosts = append(hosts, strings.ToLower(u.Hostname()))
		}
	}
	return hosts
}

// option is one setting: its flag name (also the YAML key with - → _, and the environment
// variable PATHLIGHT_ + upper-case name with - → _), default and help.
type option struct {
	name, def, help string
}

var options = []option{
	{"addr", "127.0.0.1:8080", "address to listen on, host:port"},
	{"data", "./data", "directory of the Badger database (created when missing)"},
	{"rules", "./rules", "directory of the YAML rule files"},
	{"admin-token", "", "bearer token of the admin API and dashboard; when empty, one is generated at first start, stored in the data directory and printed once"},
	{"geoip", "", "path to a GeoIP2 or GeoLite2 City or Country .mmdb file (optional)"},
	{"sites", "", "allowed sites and their origins: 'demo=http://localhost:8080,https://shop.example;blog=https://blog.example'; when empty, the sites 'demo' (the demo shop) and 'shop' (the README's example) accept any origin (development only)"},
	{"trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For and CDN country headers are believed"},
	{"identity", "cookie", "visitor identity: 'cookie' (first-party pl_vid cookie) or 'cookieless' (daily-salted hash, journeys last a day)"},
	{"consent", "implied", "consent mode: 'implied' (track unless the hit says denied or Sec-GPC: 1) or 'required' (track only hits that say granted)"},
	{"retention", "400d", "how long visitor state and events are kept (e.g. 90d, 400d, 8760h)"},
	{"cookie-domain", "", "Domain attribute of the pl_vid cookie, to share it across a site's subdomains (e.g. example.com)"},
	{"body-limit", "65536", "largest request body in bytes (413 beyond)"},
	{"rate-ip", "50", "sustained requests per second per client IP (429 beyond the burst)"},
	{"burst-ip", "200", "burst of requests per client IP"},
	{"rate-visitor", "20", "sustained requests per second per visitor id"},
	{"burst-visitor", "60", "burst of requests per visitor id"},
	{"max-conns-per-ip", "256", "concurrent connections per client IP"},
	{"read-timeout", "10s", "time to read a whole request"},
	{"write-timeout", "10s", "time to write a whole response"},
	{"idle-timeout", "60s", "keep-alive idle time"},
	{"sync-writes", "false", "fsync every commit (survives power loss, slower); without it commits survive a process crash"},
	{"disk-reserve", "1GiB", "free space to keep on the data directory's filesystem: below it hits and imports are refused with 503 disk_full until space is freed, so that the database always has room to finish its own writes; Badger's memtables are sized from it (at least 512MiB; 0 turns the check off, and a full disk then stops the server)"},
	{"memory", "512MiB", "memory budget (e.g. 512MiB, 2GiB): sizes the memtables, table builders and index caches of Badger and of its event store, the writes waiting for Badger, the visitor-state and report caches, and the Go heap limit (GOMEMLIMIT); at least 384MiB"},
	{"wal-segment-size", "67108864", "bytes preallocated for each segment of the write-ahead log that hits are acknowledged from (at least 65536; at most 1/64 of --disk-reserve)"},
	{"replay-retention", "30d", "how long session replay recordings are kept (shorter than --retention: they show what visitors typed and saw, masked)"},
	{"replay-session-cap", "5MiB", "most bytes (compressed) of one recorded session: chunks beyond it are refused with 429 replay_session_cap"},
	{"replay-daily-cap", "1GiB", "most bytes (compressed) of replay chunks stored per UTC day, all sites together: chunks beyond it are refused with 429 replay_daily_cap until the next day"},
	{"demo", "false", "serve the demo shop at / (make run turns it on)"},
	{"log-level", "info", "debug, info, warn or error"},
	{"pprof-addr", "", "serve Go's profiles (net/http/pprof, under /debug/pprof/) on this loopback address, host:port, for an operator to profile the server; empty (the default) serves none. Profiles show the server's memory and code, so an address other than loopback is refused without --pprof-remote"},
	{"pprof-remote", "false", "let --pprof-addr listen on an address other than loopback; put it behind a firewall, since the profiles need no token"},
	{"cluster", "", "join a fleet: comma-separated NATS server URLs with JetStream (nats://host:4222 or tls://host:4222); empty runs one embedded server without NATS"},
	{"node", "", "this node's name in the fleet (letters, digits, - and _; unique per node); required with --cluster"},
	{"cluster-replicas", "3", "replicas of the stream and key-value buckets created at the fleet's first start (1 for a single NATS server)"},
	{"cluster-shards", "64", "visitor shards leased among the nodes; must be the same on every node"},
	{"cluster-wait", "2s", "the longest a hit waits on a forward to another node, a shard takeover or a stream leader election before it is answered from local state (degraded)"},
	{"cluster-outbox", "256MiB", "bytes of commits kept in the local outbox while the stream is unreachable; past it hits get 503 outbox_full"},
	{"cluster-lease", "5s", "lifetime of a shard lease and of a node's heartbeat, renewed at a third of it"},
	{"cluster-creds", "", "NATS credentials file (user JWT and NKey seed)"},
	{"cluster-tls-ca", "", "CA certificate file to verify the NATS servers"},
	{"cluster-tls-cert", "", "client certificate file for NATS (with --cluster-tls-key)"},
	{"cluster-tls-key", "", "client key file for NATS (with --cluster-tls-cert)"},
	{"cluster-user", "", "NATS user name (with --cluster-password)"},
	{"cluster-password", "", "NATS password; prefer the environment variable PATHLIGHT_CLUSTER_PASSWORD"},
}

// Usage returns the help text of the serve flags.
func Usage() string {
	var b strings.Builder
	for _, o := range options {
		fmt.Fprintf(&b, "  --%s\n\t%s", o.name, o.help)
		if o.def != "" {
			fmt.Fprintf(&b, " (default %q)", o.def)
		}
		fmt.Fprintf(&b, "\n\tenv %s\n", envName(o.name))
	}
	b.WriteString("  --config\n\tpath to a YAML file with any of the settings above (keys with _ or -)\n")
	return b.String()
}

func envName(flagName string) string {
	return "PATHLIGHT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Load builds the configuration from args (the flags after `serve`) and the environment
// (getenv is usually os.Getenv). It returns every problem at once.
func Load(args []string, getenv func(string) string) (*Config, error) {
	raw := make(map[string]string, len(options))
	for _, o := range options {
		raw[o.name] = o.def
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	fs.Usage = func() {}
	set := make(map[string]*flagValue, len(options))
	for _, o := range options {
		v := &flagValue{isBool: o.def == "true" || o.def == "false"}
		set[o.name] = v
		fs.Var(v, o.name, o.help)
	}
	configPath := fs.String("config", "", "YAML config file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w (see pathlight serve --help)", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see pathlight serve --help)", fs.Arg(0))
	}
	var errs []error
	path := *configPath
	if path == "" {
		path = getenv("PATHLIGHT_CONFIG")
	}
	if path != "" {
		if err := readFile(path, raw); err != nil {
			errs = append(errs, err)
		}
	}
	for _, o := range options {
		if v, ok := lookupEnv(getenv, envName(o.name)); ok {
			raw[o.name] = v
		}
	}
	fs.Visit(func(f *flag.Flag) {
		if v, ok := set[f.Name]; ok {
			raw[f.Name] = v.s
		}
	})
	c, verrs := build(raw)
	errs = append(errs, verrs...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// readFile reads a YAML config file into raw. Keys may use - or _; an unknown key is an error
// with its position.
func readFile(path string, raw map[string]string) error {
	data, err := readBounded(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	doc, err := yamlguard.Parse(data, fileLimits)
	var ge *yamlguard.Error
	if errors.As(err, &ge) && ge.Syntax {
		return fmt.Errorf("config file %s: %s", path, yaml.FormatError(ge.Err, false, true))
	}
	if ge != nil {
		if ge.Line == 0 {
			return fmt.Errorf("config file %s: %s", path, ge.Msg)
		}
		return fmt.Errorf("config file %s:%d:%d: %s", path, ge.Line, ge.Col, ge.Msg)
	}
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var m yaml.MapSlice
	if len(doc.File.Docs) > 0 && doc.File.Docs[0].Body != nil {
		if err := yaml.NodeToValue(doc.File.Docs[0].Body, &m, yaml.UseOrderedMap()); err != nil {
			return fmt.Errorf("config file %s: %s", path, yaml.FormatError(err, false, true))
		}
	}
	var errs []error
	for _, item := range m {
		key, _ := item.Key.(string)
		name := strings.ReplaceAll(key, "_", "-")
		if _, ok := raw[name]; !ok {
			errs = append(errs, fmt.Errorf("config file %s: unknown setting %q (known: %s)", path, key, knownNames()))
			continue
		}
		v, err := scalar(item.Value)
		if err != nil {
			errs = append(errs, fmt.Errorf("config file %s: %s: %w", path, key, err))
			continue
		}
		raw[name] = v
	}
	return errors.Join(errs...)
}

// fileLimits bound the config file, which an attacker with write access to it could
// otherwise turn into an alias bomb that takes all memory at start (see yamlguard). A config
// file holds a few dozen settings; the bounds leave room for thousands of site origins.
var fileLimits = yamlguard.Limits{MaxBytes: 1 << 20, MaxDepth: 16, MaxNodes: 100_000, MaxScalarBytes: 1 << 20}

// readBounded reads a file of at most fileLimits.MaxBytes, reading no more of a larger one.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(fileLimits.MaxBytes)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > fileLimits.MaxBytes {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, fileLimits.MaxBytes>>20)
	}
	return data, nil
}

// scalar turns a YAML value into the flag text it stands for. Sites may also be written as a
// map of site id to a list of origins.
func scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool:
		return strconv.FormatBool(x), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case nil:
		return "", nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, err := scalar(e)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), nil
	case yaml.MapSlice:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			k, _ := e.Key.(string)
			s, err := scalar(e.Value)
			if err != nil {
				return "", err
			}
			parts = append(parts, k+"="+s)
		}
		return strings.Join(parts, ";"), nil
	}
	return "", fmt.Errorf("unsupported value %v", v)
}

func knownNames() string {
	names := make([]string, 0, len(options))
	for _, o := range options {
		names = append(names, strings.ReplaceAll(o.name, "-", "_"))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// flagValue holds a flag's text; boolean settings may be given bare (--demo).
type flagValue struct {
	s      string
	isBool bool
}

// String, Set and IsBoolFlag implement flag.Value.
func (v *flagValue) String() string     { return v.s }
func (v *flagValue) Set(s string) error { v.s = s; return nil }
func (v *flagValue) IsBoolFlag() bool   { return v.isBool }
