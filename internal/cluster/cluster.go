// Package cluster runs Pathlight as a fleet on NATS JetStream; it is the only package that
// talks to NATS. Every node keeps a full copy of the data in its own store; visitors are
// split into shards by a hash of their id, and each shard is leased to one node, its only
// writer. A node publishes each commit to the stream PATHLIGHT before it writes it locally
// (fenced per shard, so a stale owner's write is refused), and applies every other node's
// commits from the stream to its own store, so that every node answers reports for the
// whole fleet. A hit for a shard another node owns is forwarded to that node over NATS
// request/reply. When the stream is out of reach, commits go to a local outbox in the store
// and are published, once each, when it returns.
package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pathlight/pathlight/internal/track"
)

// Names in NATS. The stream holds every commit: pathlight.c.<shard> for the commits of a
// shard's owner (fenced), pathlight.g for every other write (admin writes, anonymous hits,
// writes of a visitor this node does not own other than its hits, the drained outbox).
const (
	StreamName    = "PATHLIGHT"
	LeaseBucket   = "pathlight_leases"
	NodeBucket    = "pathlight_nodes"
	MetaBucket    = "pathlight_meta"
	SaltBucket    = "pathlight_salts"
	subjectShard  = "pathlight.c."
	subjectGlobal = "pathlight.g"
	subjectFwd    = "pathlight.fwd."

	hdrNode     = "Pathlight-Node"
	hdrInstance = "Pathlight-Instance"
	hdrImported = "Pathlight-Imported"
)

// Options configures a Node.
type Options struct {
	URLs     []string
	Node     string
	Replicas int
	Shards   int
	Wait     time.Duration // the longest a hit waits on a forward, takeover or election
	Outbox   int64         // bytes of the local outbox
	Lease    time.Duration
	Creds    string
	TLSCA    string
	TLSCert  string
	TLSKey   string
	User     string
	Password string
	Logger   *slog.Logger
	// Local is this node's store, as the tracker would use it without a cluster (watched,
	// so that reports hear every commit). Commits of other nodes are applied to it.
	Local track.Store
}

// Node is one Pathlight server's membership of the fleet.
type Node struct {
	opt      Options
	log      *slog.Logger
	instance string // random per process: tells this process's commits from its restarts'
	nc       *nats.Conn
	js       jetstream.JetStream
	stream   jetstream.Stream
	leases   jetstream.KeyValue
	nodes    jetstream.KeyValue
	salts    jetstream.KeyValue
	tracker  atomic.Pointer[track.Tracker]
	local    track.Store

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	applied    atomic.Uint64 // stream sequence applied to the local store
	lastSeq    atomic.Uint64 // the stream's last sequence, as last seen
	reachable  atomic.Bool
	appliedN   atomic.Uint64
	forwarded  atomic.Uint64
	fwdFailed  atomic.Uint64
	takeovers  atomic.Uint64
	takeoverNs atomic.Int64
	msgSeq     atomic.Uint64

	own     ownership
	members members
	out     outbox
	fwdFn   atomic.Pointer[func([]byte) []byte]
	sub     *nats.Subscription

	consMu           sync.Mutex // guards stopConsumer
	stopConsumer     func()
	applyMu          sync.Mutex // one stream message applied at a time
	consumerRestarts atomic.Uint64
	closeOnce        sync.Once
	spendFn          func(source string, csv []byte) error
	mustApply        sync.Map // stream sequence → true: own commits the local store did not take
}

// Start connects to NATS, creates the stream and buckets at the fleet's first start, checks
// the shard count against the fleet's, and starts consuming the stream. Call SetTracker and
// then Run.
func Start(opt Options) (*Node, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	var inst [8]byte
	_, _ = rand.Read(inst[:])
	n := &Node{opt: opt, log: opt.Logger, instance: hex.EncodeToString(inst[:]), local: opt.Local}
	n.own.init(opt.Shards, opt.Lease)
	nopts := []nats.Option{
		nats.Name("pathlight " + opt.Node), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false), nats.Timeout(opt.Wait),
		nats.ReconnectBufSize(-1), // a publish while disconnected fails at once: the outbox takes it
	}
	if opt.Creds != "" {
		nopts = append(nopts, nats.UserCredentials(opt.Creds))
	}
	if opt.User != "" {
		nopts = append(nopts, nats.UserInfo(opt.User, opt.Password))
	}
	if opt.TLSCA != "" {
		nopts = append(nopts, nats.RootCAs(opt.TLSCA))
	}
	if opt.TLSCert != "" {
		nopts = append(nopts, nats.ClientCert(opt.TLSCert, opt.TLSKey))
	}
	nc, err := nats.Connect(strings.Join(opt.URLs, ","), nopts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", strings.Join(opt.URLs, ","), err)
	}
	n.nc = nc
	// NATS servers that have just started may still be electing their JetStream leader:
	// try again for a while before giving up.
	deadline := time.Now().Add(setupPatience)
	for {
		err := n.setup()
		if err == nil {
			break
		}
		var cfgErr *setupError
		if errors.As(err, &cfgErr) || time.Now().After(deadline) {
			nc.Close()
			return nil, err
		}
		n.log.Warn("cluster: JetStream not ready; trying again", "err", err)
		time.Sleep(250 * time.Millisecond)
	}
	if err := n.out.open(opt.Local, opt.Outbox); err != nil {
		nc.Close()
		return nil, err
	}
	a, err := readApplied(opt.Local)
	if err != nil {
		nc.Close()
		return nil, err
	}
	n.applied.Store(a)
	n.reachable.Store(true)
	return n, nil
}

// setup creates or opens the stream and the buckets, and checks the shard count.
func (n *Node) setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*n.opt.Wait)
	defer cancel()
	js, err := jetstream.New(n.nc)
	if err != nil {
		return err
	}
	n.js = js
	n.stream, err = js.Stream(ctx, StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		n.stream, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name: StreamName, Subjects: []string{subjectShard + "*", subjectGlobal},
			Storage: jetstream.FileStorage, Replicas: n.opt.Replicas, Duplicates: 2 * time.Minute,
		})
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w (is JetStream enabled on the NATS servers, with at least --cluster-replicas %d of them?)", StreamName, err, n.opt.Replicas)
	}
	if r := n.stream.CachedInfo().Config.Replicas; r != n.opt.Replicas {
		n.log.Warn("cluster: the stream exists with another replica count than --cluster-replicas; it is kept as it is", "stream_replicas", r, "cluster_replicas", n.opt.Replicas)
	}
	bucket := func(name string, ttl time.Duration) (jetstream.KeyValue, error) {
		kv, err := js.KeyValue(ctx, name)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: name, TTL: ttl, Replicas: n.opt.Replicas, Storage: jetstream.FileStorage, History: 1})
			if errors.Is(err, jetstream.ErrBucketExists) {
				kv, err = js.KeyValue(ctx, name)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("key-value bucket %s: %w", name, err)
		}
		return kv, nil
	}
	if n.leases, err = bucket(LeaseBucket, n.opt.Lease); err != nil {
		return err
	}
	if n.nodes, err = bucket(NodeBucket, n.opt.Lease); err != nil {
		return err
	}
	if n.salts, err = bucket(SaltBucket, 50*time.Hour); err != nil {
		return err
	}
	meta, err := bucket(MetaBucket, 0)
	if err != nil {
		return err
	}
	want := strconv.Itoa(n.opt.Shards)
	if _, err := meta.Create(ctx, "shards", []byte(want)); err != nil {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("record the shard count: %w", err)
		}
		e, err := meta.Get(ctx, "shards")
		if err != nil {
			return fmt.Errorf("read the fleet's shard count: %w", err)
		}
		if got := string(e.Value()); got != want {
			return &setupError{fmt.Sprintf("--cluster-shards %s differs from the fleet's %s: every node must use the same shard count", want, got)}
		}
	}
	return nil
}

// setupPatience is how long Start waits for JetStream to answer.
const setupPatience = 30 * time.Second

// setupError is a refusal that waiting does not cure, such as a shard count that differs
// from the fleet's.
type setupError struct{ msg string }

// Error implements error.
func (e *setupError) Error() string { return e.msg }

// SetTracker gives the node the tracker that commits go through; call it before Run.
func (n *Node) SetTracker(t *track.Tracker) { n.tracker.Store(t) }

// Run starts the background work: consuming the stream, leases and membership, draining the
// outbox, answering forwarded hits. It returns at once; Close stops it.
func (n *Node) Run() error {
	n.ctx, n.cancel = context.WithCancel(context.Background())
	for deadline := time.Now().Add(setupPatience); ; {
		err := n.consume()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("consume the stream %s: %w", StreamName, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	sub, err := n.nc.Subscribe(subjectFwd+n.opt.Node, n.serveForward)
	if err != nil {
		return fmt.Errorf("subscribe to forwarded hits: %w", err)
	}
	n.sub = sub
	n.wg.Add(5)
	go func() { defer n.wg.Done(); n.watchNodes() }()
	go func() { defer n.wg.Done(); n.leaseLoop() }()
	go func() { defer n.wg.Done(); n.watchLeases() }()
	go func() { defer n.wg.Done(); n.watchStream() }()
	go func() { defer n.wg.Done(); n.drainLoop() }()
	return nil
}

// Close releases the node's shards (so that others take them over at once), stops the
// background work and disconnects.
func (n *Node) Close() error {
	n.closeOnce.Do(n.close)
	return nil
}

func (n *Node) close() {
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
	if n.sub != nil {
		_ = n.sub.Unsubscribe()
	}
	n.releaseAll()
	n.consMu.Lock()
	if n.stopConsumer != nil {
		n.stopConsumer()
	}
	n.consMu.Unlock()
	_ = n.saveApplied()
	n.nc.Close()
}

// Shard returns the shard of visitor vid among shards.
func Shard(vid string, shards int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(vid))
	return int(h.Sum32() % uint32(shards))
}

// Owns reports whether this node owns vid's shard (and so fires its timers and sends its
// deliveries).
func (n *Node) Owns(vid string) bool {
	return n.own.owns(Shard(vid, n.opt.Shards))
}

// Salt implements track.SaltSource: the first node to need a day's salt stores it in the
// salts bucket, and every node uses that one.
func (n *Node) Salt(day string, fresh []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), n.opt.Wait)
	defer cancel()
	if _, err := n.salts.Create(ctx, day, fresh); err == nil {
		return fresh, nil
	} else if !errors.Is(err, jetstream.ErrKeyExists) {
		return nil, err
	}
	e, err := n.salts.Get(ctx, day)
	if err != nil {
		return nil, err
	}
	return e.Value(), nil
}
