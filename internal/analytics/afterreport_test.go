package analytics_test

import (
	"testing"

	"github.com/pathlight/pathlight/internal/analytics"
)

// TestAfterReportHook: the hook runs on the report worker once a report it ran is done, before
// the answer (serve trims the table pages the report mapped there), and not for a result
// served from the cache.
func TestAfterReportHook(t *testing.T) {
	calls := make(chan struct{}, 100)
	e := newEnv(t, at(20, 12, 0), func(o *analytics.Options) {
		o.AfterReport = func() { calls <- struct{}{} }
	})
	shop(t, e)
	drain := func() int {
		n := 0
		for {
			select {
			case <-calls:
				n++
			default:
				return n
			}
		}
	}
	drain() // the work the hits may have queued (folds)
	run[*analytics.Overview](t, e, "overview", day(1), day(11))
	if n := drain(); n == 0 { // called before the answer
		t.Fatal("AfterReport was not called when the report was answered")
	}
	run[*analytics.Overview](t, e, "overview", day(1), day(11)) // the same query: cached
	if n := drain(); n != 0 {
		t.Errorf("AfterReport called %d times for a cached result; want 0", n)
	}
}
