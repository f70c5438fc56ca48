// Package deliver sends what automations stored in the outbox: a background Deliverer that
// fires due timers, posts each pending delivery to its destination signed as the Standard
// Webhooks specification says, retries failures with exponential backoff and jitter for up
// to three days under the same webhook id, keeps each visitor's deliveries to one destination
// in order, and moves a delivery that ran out of attempts to a dead state from which it can
// be replayed. It never runs on the hit path: a slow or dead receiver costs hits nothing.
package deliver

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/pathlight/pathlight/internal/automate"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/track"
)

// Backoff is the retry schedule: the n-th retry waits First·2ⁿ⁻¹, at most Max, with equal
// jitter (a random half of the wait is dropped, so receivers that recover are not hit by
// every sender at once). A delivery still failing Horizon after it was written is dead.
type Backoff struct {
	First   time.Duration
	Max     time.Duration
	Horizon time.Duration
}

// DefaultBackoff retries after about 5 s, 10 s, 20 s … up to every 6 hours, for 3 days.
var DefaultBackoff = Backoff{First: 5 * time.Second, Max: 6 * time.Hour, Horizon: 72 * time.Hour}

// wait returns the jittered delay before retry n (n ≥ 1).
func (b Backoff) wait(n int) time.Duration {
	d := b.First
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// Config configures a Deliverer.
type Config struct {
	Tracker *track.Tracker // fires timers and commits outcomes under the visitor's lock
	Store   track.Store    // the tracker's store, scanned for timers and deliveries
	Client  *http.Client   // nil: a client that follows no redirect
	Now     func() time.Time
	Logger  *slog.Logger
	Backoff Backoff       // zero: DefaultBackoff
	Poll    time.Duration // how often the outbox is looked at without a wake-up; 0: 1 s
	// Secret returns a destination's signing secret (whsec_ and base64, or raw bytes);
	// nil reads the environment variable or file the destination names.
	Secret func(d rules.Destination) (string, error)
	// Getenv reads the environment for the default Secret; nil: os.Getenv.
	Getenv func(string) string
	// Owns, when set, says whether this server is the one to fire a visitor's timers and
	// send its deliveries: in cluster mode, the owner of the visitor's shard, so that a
	// webhook goes out once for the fleet and not once per node. nil: every visitor.
	Owns func(vid string) bool
}

// maxScan bounds the deliveries and timers one pass reads.
const maxScan = 10_000

// Deliverer sends the outbox. Start it with Run; it is safe for concurrent use.
type Deliverer struct {
	cfg  Config
	wake chan struct{}
	m    *metrics.Set

	mu       sync.Mutex
	inflight map[string]bool // outbox keys being sent
	// settled holds outbox keys whose attempt finished, with the number of the last pass
	// started by then: a pass that started no later read the outbox from a snapshot that
	// may predate the outcome, and must not take the key for due again.
	settled   map[string]uint64
	passes    uint64
	dests     map[string]*destState
	oldest    map[string]int64 // per destination: Created of the oldest pending delivery, Unix ms
	delivered map[string]int64 // per destination: deliveries acknowledged since start
	pending   map[string]int
	wg        sync.WaitGroup
}

// New returns a Deliverer.
func New(cfg Config) *Deliverer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Backoff == (Backoff{}) {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Secret == nil {
		cfg.Secret = envSecret(cfg.Getenv)
	}
	d := &Deliverer{
		cfg: cfg, wake: make(chan struct{}, 1), m: metrics.NewSet(),
		inflight: map[string]bool{}, settled: map[string]uint64{}, dests: map[string]*destState{}, oldest: map[string]int64{}, delivered: map[string]int64{}, pending: map[string]int{},
	}
	return d
}

// Wake asks for a pass now: the tracker calls it after committing deliveries or timers.
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for the requests in flight (each bounded by its
// destination's timeout). Undelivered work stays in the outbox for the next start.
func (d *Deliverer) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return
		case <-d.wake:
		case <-t.C:
		}
		began := time.Now()
		d.Pass(ctx)
		// Wake-ups come with every commit that stores a delivery, and a pass reads the whole
		// outbox: under traffic, with a backlog behind a dead receiver, passes follow each
		// other no sooner than nine times the last one took, so that the deliverer scans
		// at most a tenth of the time, whatever the number of hits.
		rest := max(minPass, 9*time.Since(began))
		t.Reset(max(d.cfg.Poll, rest))
		select {
		case <-ctx.Done():
		case <-time.After(rest):
		}
	}
}

// minPass is the least time between two passes of Run.
const minPass = 20 * time.Millisecond

// Pass fires the timers that are due and starts sending every delivery that may go now; it
// does not wait for the sends.
func (d *Deliverer) Pass(ctx context.Context) {
	if err := d.fireTimers(); err != nil {
		d.cfg.Logger.Error("automation timers", "err", err)
	}
	if err := d.sendDue(ctx); err != nil {
		d.cfg.Logger.Error("outbox", "err", err)
	}
}

// Wait waits for the sends in flight; for tests and shutdown.
func (d *Deliverer) Wait() { d.wg.Wait() }

// fireTimers hands each visitor's due timers to the tracker.
func (d *Deliverer) fireTimers() error {
	now := d.cfg.Now().UnixMilli()
	start, end := automate.TimersUpTo(now)
	byVID := map[string][][]byte{}
	var order []string
	n := 0
	err := d.cfg.Store.Scan(start, end, func(k, _ []byte) error {
		_, vid, _, err := automate.ParseTimerKey(k)
		if err != nil {
			return nil // not ours to judge; leave it
		}
		if d.cfg.Owns != nil && !d.cfg.Owns(vid) {
			return nil // another node's visitor: fired there
		}
		if byVID[vid] == nil {
			order = append(order, vid)
		}
		byVID[vid] = append(byVID[vid], append([]byte(nil), k...))
		if n++; n == maxScan {
			return track.ErrStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, track.ErrStop) {
		return err
	}
	for _, vid := range order {
		if _, err := d.cfg.Tracker.FireDue(vid, now, byVID[vid]); err != nil {
			d.cfg.Logger.Error("fire timers", "vid", vid, "err", err)
		}
	}
	return nil
}

// sendDue scans the outbox in order and starts the deliveries that may go: due, not behind
// an earlier delivery of the same visitor to the same destination, within the destination's
// concurrency and rate.
func (d *Deliverer) sendDue(ctx context.Context) error {
	now := d.cfg.Now().UnixMilli()
	set := d.cfg.Tracker.Rules()
	d.mu.Lock()
	d.passes++
	pass := d.passes
	d.mu.Unlock()
	blocked := map[string]bool{} // destination 0 vid: an earlier delivery waits
	var start []*automate.Delivery
	start0, end := automate.Range(automate.PrefixQueue, "")
	n := 0
	err := d.cfg.Store.Scan(start0, end, func(k, v []byte) error {
		if n++; n > maxScan {
			return track.ErrStop
		}
		// The head of the record decides; the body is decoded only for what goes now, so a
		// long backlog behind a dead receiver costs a pass little.
		var del automate.Head
		if err := automate.UnmarshalHead(v, &del); err != nil {
			d.cfg.Logger.Error("outbox record does not decode; left alone", "key", string(k), "err", err)
			return nil
		}
		if d.cfg.Owns != nil && !d.cfg.Owns(del.VID) {
			return nil // another node's visitor: sent there
		}
		lane := del.Destination + "\x00" + del.VID
		if blocked[lane] {
			return nil
		}
		blocked[lane] = true // whatever happens to this one, later ones of the lane wait
		if del.Next > now {
			return nil
		}
		d.mu.Lock()
		_, stale := d.settled[string(k)]
		busy := d.inflight[string(k)] || stale
		d.mu.Unlock()
		if busy {
			return nil
		}
		full := new(automate.Delivery)
		if err := automate.UnmarshalRecord(v, full); err != nil {
			return nil
		}
		start = append(start, full)
		return nil
	})
	if err != nil && !errors.Is(err, track.ErrStop) {
		return err
	}
	d.mu.Lock()
	for k, p := range d.settled {
		if p < pass { // settled before this pass's snapshot was taken: it shows the outcome
			delete(d.settled, k)
		}
	}
	d.mu.Unlock()
	for _, del := range start {
		dest, ok := set.Destination(del.Destination)
		if !ok {
			continue // its destination left the rules: kept until it comes back or is erased
		}
		ds := d.dest(dest)
		if !ds.acquire(d.cfg.Now()) {
			continue
		}
		key := string(del.Key(false))
		d.mu.Lock()
		d.inflight[key] = true
		d.mu.Unlock()
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.attempt(ctx, ds, dest, del)
			ds.release()
			d.mu.Lock()
			delete(d.inflight, key)
			d.settled[key] = d.passes
			d.mu.Unlock()
			d.Wake()
		}()
	}
	return nil
}
