package analytics_test

import (
	"testing"

	"github.com/pathlight/pathlight/internal/analytics"
)

// TestOverviewChange checks that a change against the previous period is given only when
// the previous period holds enough to compare: not right after the data began.
func TestOverviewChange(t *testing.T) {
	e := newEnv(t, at(20, 12, 0))
	var hits []hit
	// 40 visitors in the period (March 11–20) and 2 in the one before: the data began
	// at the end of the previous period.
	for n := 1; n <= 40; n++ {
		hits = append(hits, hit{at: at(11+n%9, 10, n), n: n, evs: []ev{pv("/", "")}})
	}
	for n := 41; n <= 42; n++ {
		hits = append(hits, hit{at: at(10, 23, n), n: n, evs: []ev{pv("/", "")}})
	}
	e.send(t, hits...)
	o := run[*analytics.Overview](t, e, "overview", day(11), day(21))
	if o.Visitors != 40 || o.Previous.Visitors != 2 || o.Change.Visitors.Valid || o.Change.Sessions.Valid || o.Change.ConversionRate.Valid {
		t.Errorf("overview = %d against %d visitors, change %+v; want 40 against 2 and no change", o.Visitors, o.Previous.Visitors, o.Change)
	}
	// 30 visitors more in the previous period: 32 against 40, a change of +25%.
	hits = hits[:0]
	for n := 43; n <= 72; n++ {
		hits = append(hits, hit{at: at(1+n%9, 9, n%60), n: n, evs: []ev{pv("/", "")}})
	}
	e.send(t, hits...)
	o = run[*analytics.Overview](t, e, "overview", day(11), day(21))
	if o.Previous.Visitors != 32 || !o.Change.Visitors.Valid || !near(o.Change.Visitors.Value, 0.25) || o.Change.Conversions.Valid {
		t.Errorf("overview = %d against %d visitors, change %+v; want 40 against 32, visitors +25%%, conversions none", o.Visitors, o.Previous.Visitors, o.Change)
	}
}

func TestComparable(t *testing.T) {
	cases := []struct {
		now, before int
		want        bool
	}{
		{100, 20, true}, {100, 19, false}, {1000, 99, false}, {1000, 100, true}, {0, 25, true}, {25, 0, false},
	}
	for _, c := range cases {
		if got := analytics.Comparable(c.now, c.before); got != c.want {
			t.Errorf("Comparable(%d, %d) = %v; want %v", c.now, c.before, got, c.want)
		}
	}
}
