package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// simWorkers is how many visitors a direct simulation tracks at once: enough for the
// store's group commit to fill its groups.
const simWorkers = 64

// simulateDirect tracks the simulation straight into a stopped server's data directory,
// through the same tracker and report store the server uses, a visitor at a time (each
// visitor's events in order), without holding the whole import in memory.
func simulateDirect(c simConfig, dataDir, rulesDir string, maxDur time.Duration, stdout, stderr io.Writer) error {
	fail := func(err error) error { return exitError{code: 1, msg: "pathlight simulate: " + err.Error()} }
	set, err := rules.LoadDir(rulesDir)
	if err != nil {
		return fail(fmt.Errorf("--rules %s: %w", rulesDir, err))
	}
	// The traffic follows the rules the server serves, as over HTTP.
	simRules, _, err := dirRules(rulesDir, c.site, true, stderr)
	if err != nil {
		return err
	}
	c.rules = simRules
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fail(err)
	}
	plan := config.PlanMemory(512 << 20)
	db, err := store.Open(filepath.Join(dataDir, "badger"), storeOptions(plan))
	if err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) || strings.Contains(err.Error(), "directory lock") {
			return fail(fmt.Errorf("%s is in use by a running server: stop it, or send the traffic with --server", dataDir))
		}
		return fail(err)
	}
	defer db.Close()
	retention := 400 * 24 * time.Hour
	feed := analytics.NewFeed(nil)
	tr := track.New(track.Watch(trackstore.New(db), feed), nil, set, track.Config{
		Retention: retention, SiteHosts: map[string][]string{c.site: {"shop.example"}}, StateCache: int(plan.StateCache),
	})
	svc := analytics.New(tr, feed, analytics.Options{Store: trackstore.New(db), Retention: retention})
	if err := svc.Open(); err != nil {
		return fail(err)
	}
	im := analytics.NewImporter(tr, func(id string) (string, bool) { return id, id == c.site })

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), maxDur)
	defer cancel()
	var (
		next, done         atomic.Int64
		accepted, rejected atomic.Int64
		wg                 sync.WaitGroup
		errMu              sync.Mutex
		firstErr           error
		spend              = map[simSpendKey]float64{} // under errMu
	)
	setErr := func(err error) {
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		cancel()
	}
	for range simWorkers {
		wg.Go(func() {
			var body bytes.Buffer
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= c.visitors {
					return
				}
				v := newSimVisitor(c, i)
				v.run()
				body.Reset()
				for _, l := range v.lines {
					body.Write(l.text)
					body.WriteByte('\n')
				}
				res, err := im.Import(body.Bytes())
				if err != nil {
					setErr(err)
					return
				}
				if res.BadLines > 0 {
					setErr(fmt.Errorf("visitor %d: %d lines refused: %v", i, res.BadLines, res.Errors))
					return
				}
				errMu.Lock()
				for _, vs := range v.visits {
					spend[vs.simSpendKey] += vs.cost
				}
				errMu.Unlock()
				accepted.Add(int64(res.Accepted))
				rejected.Add(int64(res.Rejected))
				done.Add(1)
			}
		})
	}
	// Fold the commits into the report store as they come, so the feed stays small.
	stop := make(chan struct{})
	var fwg sync.WaitGroup
	fwg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := svc.Flush(); err != nil {
					setErr(err)
				}
			}
		}
	})
	wg.Wait()
	close(stop)
	fwg.Wait()
	// The history is left as a server that had lived through it keeps it: its closed days
	// packed (a running server packs each day once it closes), so that a server started
	// on it has no conversion to do in the background.
	if err := svc.Flush(); err != nil && firstErr == nil {
		firstErr = err
	}
	if err := svc.Pack(context.Background()); err != nil && firstErr == nil {
		firstErr = fmt.Errorf("pack the closed days: %w", err)
	}
	if err := svc.Close(); err != nil && firstErr == nil {
		firstErr = err
	}
	// The spend of the paid visits, as the admin API would store it for this simulation.
	rows := make([]simSpend, 0, len(spend))
	for k, amount := range spend {
		rows = append(rows, simSpend{k, math.Round(amount*100) / 100})
	}
	slices.SortFunc(rows, func(a, b simSpend) int {
		return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.channel, b.channel), cmp.Compare(a.campaign, b.campaign))
	})
	if err := os.MkdirAll(filepath.Join(dataDir, "spend.d"), 0o755); err == nil && firstErr == nil {
		firstErr = os.WriteFile(filepath.Join(dataDir, "spend.d", spendSource(c.site, c.seed)+".csv"), spendCSV(rows), 0o644)
	}
	fmt.Fprintf(stdout, "simulated %d of %d visitors over %d days (seed %d) into %s in %s: accepted %d events, %d rejected\n",
		done.Load(), c.visitors, c.days, c.seed, dataDir, since(start), accepted.Load(), rejected.Load())
	if firstErr != nil && !errors.Is(firstErr, context.Canceled) {
		return fail(firstErr)
	}
	if int(done.Load()) < c.visitors {
		return exitError{code: 1, msg: fmt.Sprintf("pathlight simulate: stopped after --max-duration %v with %d visitors not written", maxDur, c.visitors-int(done.Load()))}
	}
	if rejected.Load() > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("pathlight simulate: the tracker rejected %d events", rejected.Load())}
	}
	return nil
}
