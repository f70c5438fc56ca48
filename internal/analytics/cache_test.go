package analytics_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/rules"
)

// TestCachedResultsFollowRulesAndSpend: with no new hit between them, a report asked for again
// after a rules reload or a new spend file shows the new rules and spend, not the cached
// result.
func TestCachedResultsFollowRulesAndSpend(t *testing.T) {
	dir := t.TempDir()
	spendFile := filepath.Join(dir, "spend.csv")
	writeSpend := func(text string) {
		t.Helper()
		if err := os.WriteFile(spendFile, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeSpend("date,channel,amount,currency\n2026-03-02,Paid Social,100,EUR\n")
	e := newEnv(t, at(20, 12, 0), func(o *analytics.Options) { o.Spend = analytics.SpendFiles(dir) })
	shop(t, e)

	if c := run[*analytics.CACReport](t, e, "cac", day(1), day(11)); c.Spend != 100 {
		t.Fatalf("cac spend = %v; want 100", c.Spend)
	}
	// The same size, and maybe the same modification time: only the content tells.
	writeSpend("date,channel,amount,currency\n2026-03-02,Paid Social,999,EUR\n")
	if c := run[*analytics.CACReport](t, e, "cac", day(1), day(11)); c.Spend != 999 {
		t.Errorf("cac spend after a new spend file = %v; want 999", c.Spend)
	}
	writeSpend("date,channel,amount\n2026-03-02,Paid Social,abc\n")
	_, err := e.svc.Report("cac", analytics.Query{From: day(1).UnixMilli(), To: day(11).UnixMilli()})
	var se *analytics.SpendError
	if !errors.As(err, &se) {
		t.Errorf("cac with a malformed spend file: error %v; want a SpendError", err)
	}

	if f := run[*analytics.FunnelReport](t, e, "funnel", day(1), day(11)); len(f.Funnels) == 0 {
		t.Fatal("funnel report lists no funnels; want the example rules' funnels")
	}
	e.tr.SetRules(rules.Empty())
	if f := run[*analytics.FunnelReport](t, e, "funnel", day(1), day(11)); len(f.Funnels) != 0 || f.Funnel != nil {
		t.Errorf("funnel report after the rules changed = %+v; want no funnels, as the rules in force define none", f)
	}
}

// TestResultCacheKeepsToItsBound: results beyond the cache's byte bound are not kept, so
// the cache never holds more than its share of the memory budget.
func TestResultCacheKeepsToItsBound(t *testing.T) {
	e := newEnv(t, at(20, 12, 0), func(o *analytics.Options) { o.CacheBytes = 1 })
	shop(t, e)
	q := analytics.Query{From: day(1).UnixMilli(), To: day(11).UnixMilli(), Options: map[string]string{}}
	a, err := e.svc.Report("overview", q)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.svc.Report("overview", q)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Error("a result larger than the cache's bound was kept and served again")
	}
	e2 := newEnv(t, at(20, 12, 0))
	shop(t, e2)
	a, _ = e2.svc.Report("overview", q)
	if b, _ = e2.svc.Report("overview", q); a != b {
		t.Error("with the default bound, the same report asked twice was computed twice")
	}
}
