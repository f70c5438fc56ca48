package server

import (
	"hash/maphash"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// bucket is a token bucket: tokens refill at rate per second up to burst; each request takes
// one.
type bucket struct {
	tokens float64
	last   time.Time
}

// take refills b for the time since its last use and takes a token. When none is left it
// returns how long until one is.
func (b *bucket) take(now time.Time, rate float64, burst int) (time.Duration, bool) {
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = min(float64(burst), b.tokens+d*rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
}

const limiterShards = 64

// limiter keeps a token bucket per key in sharded maps, so that concurrent requests from
// different clients rarely share a lock. Buckets that have refilled completely are swept.
type limiter[K comparable] struct {
	rate  float64
	burst int
	hash  func(K) uint64
	// own, when set, returns a key that shares no memory with the caller's: a key kept in
	// the map must not keep the request it was cut from alive.
	own    func(K) K
	shards [limiterShards]struct {
		sync.Mutex
		m map[K]*bucket
	}
}

func newLimiter[K comparable](rate float64, burst int, hash func(K) uint64) *limiter[K] {
	l := &limiter[K]{rate: rate, burst: burst, hash: hash}
	for i := range l.shards {
		l.shards[i].m = make(map[K]*bucket)
	}
	return l
}

func (l *limiter[K]) allow(k K, now time.Time) (time.Duration, bool) {
	sh := &l.shards[l.hash(k)%limiterShards]
	sh.Lock()
	b := sh.m[k]
	if b == nil {
		if l.own != nil {
			k = l.own(k)
		}
		b = new(bucket)
		sh.m[k] = b
	}
	wait, ok := b.take(now, l.rate, l.burst)
	sh.Unlock()
	return wait, ok
}

// sweep drops buckets that would be full by now: forgetting them changes nothing.
func (l *limiter[K]) sweep(now time.Time) {
	full := time.Duration(float64(l.burst) / l.rate * float64(time.Second))
	for i := range l.shards {
		sh := &l.shards[i]
		sh.Lock()
		for k, b := range sh.m {
			if now.Sub(b.last) > full {
				delete(sh.m, k)
			}
		}
		sh.Unlock()
	}
}

// limiters are the per-client-IP and per-visitor rate limits.
type limiters struct {
	ip      *limiter[netip.Addr]
	visitor *limiter[string]
}

func newLimiters(rateIP float64, burstIP int, rateVisitor float64, burstVisitor int) *limiters {
	seed := maphash.MakeSeed()
	l := &limiters{
		ip: newLimiter(rateIP, burstIP, func(a netip.Addr) uint64 {
			b := a.As16()
			return maphash.Bytes(seed, b[:])
		}),
		visitor: newLimiter(rateVisitor, burstVisitor, func(s string) uint64 { return maphash.String(seed, s) }),
	}
	// A visitor id is cut from the request's body or cookie; the map keeps its own copy.
	l.visitor.own = strings.Clone
	return l
}

func (l *limiters) allowIP(a netip.Addr, now time.Time) (time.Duration, bool) {
	return l.ip.allow(a, now)
}

func (l *limiters) allowVisitor(vid string, now time.Time) (time.Duration, bool) {
	if len(vid) > 64 {
		vid = vid[:64]
	}
	return l.visitor.allow(vid, now)
}

// sweep runs until stop closes, sweeping both limiters every interval.
func (l *limiters) sweep(stop <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			l.ip.sweep(now)
			l.visitor.sweep(now)
		}
	}
}
