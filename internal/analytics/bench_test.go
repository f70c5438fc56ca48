package analytics

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// benchEnd is the end of the benchmarks' traffic: 90 days of it, up to this moment.
var benchEnd = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// The 1 M-event store is built once per test binary (it takes a minute) and removed by
// TestMain.
var million struct {
	once sync.Once
	dir  string
	db   *store.DB
	tr   *track.Tracker
	n    int
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if million.db != nil {
		million.db.Close()
	}
	if million.dir != "" {
		os.RemoveAll(million.dir)
	}
	os.Exit(code)
}

// benchTracker returns a tracker over a store holding about n events of generated traffic
// spread over the 90 days before benchEnd.
func benchTracker(b *testing.B, n int) (*track.Tracker, int) {
	million.once.Do(func() {
		million.dir, million.err = os.MkdirTemp("", "pathlight-bench-")
		if million.err != nil {
			return
		}
		million.db, million.err = store.Open(million.dir, store.Options{})
		if million.err != nil {
			return
		}
		set, err := rules.LoadDir(filepath.Join("..", "..", "rules"))
		if err != nil {
			million.err = err
			return
		}
		clock := func() time.Time { return benchEnd }
		million.tr = track.New(trackstore.New(million.db), nil, set, track.Config{Now: clock,
			SiteHosts: map[string][]string{"demo": {"shop.example"}}})
		million.n, million.err = generate(million.tr, n, 1)
	})
	if million.err != nil {
		b.Fatal(million.err)
	}
	return million.tr, million.n
}

// Channels of generated sessions, with the landing URL and referrer that make them, and how
// likely a session of each converts.
var benchChannels = []struct {
	query, ref string
	buy        float64
}{
	{"", "", 0.06},
	{"?utm_source=google&utm_medium=cpc&utm_campaign=brand", "", 0.08},
	{"", "https://www.google.com/", 0.05},
	{"?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring", "", 0.03},
	{"?utm_source=newsletter&utm_medium=email&utm_campaign=weekly", "", 0.07},
	{"", "https://blog.example.org/post", 0.04},
}

// generate tracks visitors until about n events are stored: each visitor comes one to four
// times over the 90 days, browses, sometimes adds to the cart, checks out and buys. Two
// goroutines share the visitors.
func generate(tr *track.Tracker, n int, seed uint64) (int, error) {
	const workers = 2
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total int
		first error
	)
	start := benchEnd.Add(-90 * 24 * time.Hour).UnixMilli()
	span := int64(90 * 24 * time.Hour / time.Millisecond)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			var (
				b   event.Batch
				res track.Result
			)
			ip := netip.MustParseAddr("203.0.113.7")
			for v := w; ; v += workers {
				mu.Lock()
				done := total >= n || first != nil
				mu.Unlock()
				if done {
					return
				}
				vid := fmt.Sprintf("%032x", v+1)
				t := start + r.Int64N(span)
				count := 0
				for range 1 + r.IntN(4) {
					if t >= benchEnd.UnixMilli() {
						break
					}
					ch := benchChannels[r.IntN(len(benchChannels))]
					pages := []string{"/" + ch.query, "/products/jacket", "/pricing", "/products/jacket"}[:1+r.IntN(4)]
					b.Reset()
					b.Site, b.VID = "demo", vid
					add := func(e event.Event) {
						e.ID = fmt.Sprintf("%s-%d", vid, count)
						e.TS = t
						count++
						t += 20_000 + r.Int64N(60_000)
						b.Events = append(b.Events, e)
					}
					for i, p := range pages {
						e := event.Event{Type: event.TypePageview, URL: "https://shop.example" + p}
						if i == 0 {
							e.Ref = ch.ref
						}
						add(e)
					}
					if r.Float64() < ch.buy*3 {
						add(event.Event{Type: event.TypeEvent, Name: "add_to_cart", URL: "https://shop.example/products/jacket"})
						if r.Float64() < 0.5 {
							add(event.Event{Type: event.TypePageview, URL: "https://shop.example/checkout"})
							add(event.Event{Type: event.TypeEvent, Name: "purchase", URL: "https://shop.example/checkout/pay",
								Props: event.Props{{Key: "value", Val: event.NumberValue(float64(20 + r.IntN(200)))}}})
						}
					}
					res.Reset()
					req := track.Request{Batch: &b, UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0", IP: ip, Now: t}
					if err := tr.Track(&req, &res); err != nil {
						mu.Lock()
						first = err
						mu.Unlock()
						return
					}
					t += int64(r.ExpFloat64() * float64(7*24*time.Hour/time.Millisecond))
				}
				mu.Lock()
				total += count
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return total, first
}

// BenchmarkRecompute1M fills a report store in memory from scratch over a store of one million
// events: the whole event log and every visitor state are read again.
func BenchmarkRecompute1M(b *testing.B) {
	tr, n := benchTracker(b, 1_000_000)
	b.ReportAllocs()
	b.ReportMetric(float64(n), "events")
	visitors := 0
	for b.Loop() {
		s := New(tr, nil, Options{Now: func() time.Time { return benchEnd }})
		if err := s.Rebuild(); err != nil {
			b.Fatal(err)
		}
		r, err := s.Reach("")
		if err != nil {
			b.Fatal(err)
		}
		visitors = r.Visitors
	}
	b.ReportMetric(float64(visitors), "visitors")
}

// BenchmarkReport90Days runs each report over the last 90 days of the 1 M-event store, with
// the report store filled and the daily rollups kept (as the server's background job keeps them),
// but no cached result: each run asks for a period ending a millisecond later.
func BenchmarkReport90Days(b *testing.B) {
	tr, _ := benchTracker(b, 1_000_000)
	s := New(tr, nil, Options{Now: func() time.Time { return benchEnd }})
	for _, name := range []string{"overview", "journey", "funnel", "paths", "attribution", "ttc", "health", "cac", "surveys", "experiments"} {
		b.Run(name, func(b *testing.B) {
			q := Query{From: benchEnd.Add(-90 * 24 * time.Hour).UnixMilli(), To: benchEnd.UnixMilli(), Options: map[string]string{}}
			if _, err := s.Report(name, q); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				q.To++
				if _, err := s.Report(name, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReportAfterHit is a live site's worst case: a hit arrives before each report and
// the service may not share a state of the store (MaxStaleness < 0), so each report folds
// the commit into the report store first and computes afresh over the 90 days. With the
// default MaxStaleness, reports within two seconds share the cached results instead.
func BenchmarkReportAfterHit(b *testing.B) {
	benchTracker(b, 1_000_000)
	set, err := rules.LoadDir(filepath.Join("..", "..", "rules"))
	if err != nil {
		b.Fatal(err)
	}
	clock := func() time.Time { return benchEnd }
	feed := NewFeed(clock)
	tr := track.New(track.Watch(trackstore.New(million.db), feed), nil, set, track.Config{Now: clock,
		SiteHosts: map[string][]string{"demo": {"shop.example"}}})
	s := New(tr, feed, Options{Now: clock, MaxStaleness: -1})
	for _, name := range []string{"overview", "funnel", "attribution"} {
		b.Run(name, func(b *testing.B) {
			q := Query{From: benchEnd.Add(-90 * 24 * time.Hour).UnixMilli(), To: benchEnd.UnixMilli(), Options: map[string]string{}}
			if _, err := s.Report(name, q); err != nil {
				b.Fatal(err)
			}
			var (
				batch event.Batch
				res   track.Result
				n     int
			)
			b.ReportAllocs()
			for b.Loop() {
				n++
				batch.Reset()
				batch.Site, batch.VID = "demo", fmt.Sprintf("%032x", 5_000_000+n)
				batch.Events = append(batch.Events, event.Event{ID: fmt.Sprint("live-", name, n), Type: event.TypePageview, URL: "https://shop.example/"})
				res.Reset()
				if err := tr.Track(&track.Request{Batch: &batch, UserAgent: "Mozilla/5.0 Chrome/124.0", Now: benchEnd.UnixMilli() - 1000}, &res); err != nil {
					b.Fatal(err)
				}
				if _, err := s.Report(name, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFeed measures what the tracker's commit path pays for the reports: one visitor
// state and one event-log record heard, per hit.
func BenchmarkFeed(b *testing.B) {
	f := NewFeed(nil)
	vid := []byte("0123456789abcdef0123456789abcdef")
	rec := event.AppendRecord(nil, &event.Hit{Site: "demo", VID: string(vid), Time: 1_700_000_000_000,
		Event: &event.Event{ID: "e1", Type: event.TypePageview, URL: "https://shop.example/products/jacket"}})
	key := make([]byte, 17)
	b.ReportAllocs()
	for b.Loop() {
		f.StateChanged(vid, false)
		f.EventLogged(key, rec, false)
	}
}

// BenchmarkReadHead measures the record head reader of full builds.
func BenchmarkReadHead(b *testing.B) {
	rec := event.AppendRecord(nil, &event.Hit{Site: "demo", VID: "0123456789abcdef0123456789abcdef", Time: 1_700_000_000_000,
		Event: &event.Event{ID: "e1", Type: event.TypePageview, URL: "https://shop.example/products/jacket"}})
	b.ReportAllocs()
	for b.Loop() {
		if !readHead(rec).ok {
			b.Fatal("record not read")
		}
	}
}
