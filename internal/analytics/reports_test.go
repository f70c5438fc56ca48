package analytics_test

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/report"
)

// shop sends the hand-computed traffic of the report tests:
//
//	visitor 1: Mar 2 10:00 lands from a Paid Social ad (campaign spring), views the jacket;
//	           Mar 4 09:00 comes back direct, adds to cart, checks out (asking for the
//	           checkout_banner slot), buys for 100, answers the NPS survey 9.
//	visitor 2: Mar 3 15:00 lands from Google search, views the jacket, adds to cart, buys
//	           for 50 without the checkout page.
//	visitor 3: Mar 3 11:00 lands from the newsletter (Email), views pricing, leaves.
func shop(t *testing.T, e *env) {
	t.Helper()
	e.send(t,
		hit{at: at(2, 10, 0), n: 1, evs: []ev{pv("/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring", "")}},
		hit{at: at(2, 10, 1), n: 1, evs: []ev{pv("/products/jacket", "")}},
		hit{at: at(3, 11, 0), n: 3, evs: []ev{pv("/?utm_source=newsletter&utm_medium=email", "")}},
		hit{at: at(3, 11, 1), n: 3, evs: []ev{pv("/pricing", "")}},
		hit{at: at(3, 15, 0), n: 2, evs: []ev{pv("/", "https://www.google.com/")}},
		hit{at: at(3, 15, 2), n: 2, evs: []ev{pv("/products/jacket", "")}},
		hit{at: at(3, 15, 3), n: 2, evs: []ev{named("add_to_cart", nil)}},
		hit{at: at(3, 15, 5), n: 2, evs: []ev{named("purchase", map[string]any{"value": 50})}},
		hit{at: at(4, 9, 0), n: 1, evs: []ev{pv("/", "")}},
		hit{at: at(4, 9, 1), n: 1, evs: []ev{named("add_to_cart", nil)}},
		hit{at: at(4, 9, 2), n: 1, slots: []string{"checkout_banner"}, evs: []ev{pv("/checkout", "")}},
		hit{at: at(4, 9, 3), n: 1, evs: []ev{named("purchase", map[string]any{"value": 100})}},
		hit{at: at(4, 9, 4), n: 1, evs: []ev{pv("/thanks", "")}},
		hit{at: at(4, 9, 5), n: 1, evs: []ev{prompt("post_purchase_nps", "shown", ""), prompt("post_purchase_nps", "answered", "9")}},
	)
}

func TestOverviewHandComputed(t *testing.T) {
	e := newEnv(t, at(20, 12, 0))
	shop(t, e)
	o := run[*analytics.Overview](t, e, "overview", day(1), day(11))
	want := analytics.Figures{Visitors: 3, Sessions: 4, Conversions: 2, Converters: 2, ConversionRate: report.Some(2.0 / 3), Value: 150}
	if o.Figures != want {
		t.Errorf("overview figures = %+v; want %+v", o.Figures, want)
	}
	if (o.Previous != analytics.Figures{}) {
		t.Errorf("previous = %+v; want zeros", o.Previous)
	}
	wantDays := map[string]analytics.DayFigures{
		"2026-03-02": {Date: "2026-03-02", Visitors: 1, Sessions: 1},
		"2026-03-03": {Date: "2026-03-03", Visitors: 2, Sessions: 2, Conversions: 1, Value: 50},
		"2026-03-04": {Date: "2026-03-04", Visitors: 1, Sessions: 1, Conversions: 1, Value: 100},
	}
	if len(o.ByDay) != 10 {
		t.Fatalf("by_day has %d days; want 10", len(o.ByDay))
	}
	for _, d := range o.ByDay {
		if w := wantDays[d.Date]; d != w && !(w.Date == "" && d.Visitors+d.Sessions+d.Conversions == 0) {
			t.Errorf("by_day %s = %+v; want %+v", d.Date, d, w)
		}
	}
	wantChans := []analytics.ChannelFigures{
		{Channel: "Direct", Visitors: 1, Sessions: 1, Conversions: 1, Value: 100},
		{Channel: "Organic Search", Visitors: 1, Sessions: 1, Conversions: 1, Value: 50},
		{Channel: "Email", Visitors: 1, Sessions: 1},
		{Channel: "Paid Social", Visitors: 1, Sessions: 1},
	}
	if !slices.Equal(o.ByChannel, wantChans) {
		t.Errorf("by_channel = %+v; want %+v", o.ByChannel, wantChans)
	}
	// The next ten days: visitor 1's and 2's journeys are in the previous period.
	o = run[*analytics.Overview](t, e, "overview", day(11), day(21))
	if o.Previous.Visitors != 3 || o.Previous.Conversions != 2 || o.Visitors != 0 {
		t.Errorf("overview of Mar 11–21 = %+v, previous %+v; want 0 visitors now, 3 and 2 conversions before", o.Figures, o.Previous)
	}
}

func TestAttributionHandComputed(t *testing.T) {
	e := newEnv(t, at(20, 12, 0))
	shop(t, e)
	a := run[*analytics.AttributionReport](t, e, "attribution", day(1), day(11))
	type credit struct {
		conv, value float64
	}
	// Visitor 1's journey: Paid Social (Mar 2 10:00) > Direct (Mar 4 09:00), converting at
	// Mar 4 09:03 for 100; visitor 2's: Organic Search, converting for 50.
	dPS, dD := float64(at(4, 9, 3).Sub(at(2, 10, 0))/time.Second), float64(at(4, 9, 3).Sub(at(4, 9, 0))/time.Second)
	wPS, wD := math.Exp2(-dPS/(7*86400)), math.Exp2(-dD/(7*86400))
	ps, d := wPS/(wPS+wD), wD/(wPS+wD)
	want := map[string]map[string]credit{
		"first_touch":     {"Paid Social": {1, 100}, "Organic Search": {1, 50}},
		"last_touch":      {"Direct": {1, 100}, "Organic Search": {1, 50}},
		"last_non_direct": {"Paid Social": {1, 100}, "Organic Search": {1, 50}},
		"linear":          {"Paid Social": {0.5, 50}, "Direct": {0.5, 50}, "Organic Search": {1, 50}},
		"position_based":  {"Paid Social": {0.5, 50}, "Direct": {0.5, 50}, "Organic Search": {1, 50}},
		"time_decay":      {"Paid Social": {ps, 100 * ps}, "Direct": {d, 100 * d}, "Organic Search": {1, 50}},
		// No nulls: removing any one channel loses half the conversions, so the three
		// removal effects are equal and each channel gets 2/3 of a conversion. Value: E[value]
		// is 75; without Paid Social or Direct 25 (removal effect 2/3), without Organic
		// Search 50 (1/3), so 150 splits 60, 60, 30.
		"markov":  {"Paid Social": {2.0 / 3, 60}, "Direct": {2.0 / 3, 60}, "Organic Search": {2.0 / 3, 30}},
		"shapley": {"Paid Social": {0.5, 50}, "Direct": {0.5, 50}, "Organic Search": {1, 50}},
	}
	if len(a.Models) != len(want) {
		t.Fatalf("models = %d; want %d", len(a.Models), len(want))
	}
	for m, chans := range want {
		got := a.Models[m]
		if got == nil || got.Conversions != 2 || got.Value != 150 {
			t.Fatalf("%s = %+v; want 2 conversions worth 150", m, got)
		}
		credited := 0
		for _, c := range got.Channels {
			if c.Conversions != 0 {
				credited++
			}
		}
		if credited != len(chans) {
			t.Errorf("%s channels = %+v; want credit for %v", m, got.Channels, chans)
		}
		for ch, w := range chans {
			c := got.Channel(ch)
			if !near(c.Conversions, w.conv) || !near(c.Value, w.value) {
				t.Errorf("%s %s = %v conversions, %v value; want %v, %v", m, ch, c.Conversions, c.Value, w.conv, w.value)
			}
		}
	}

	// With campaigns, the Paid Social credit is the spring campaign's.
	a = run[*analytics.AttributionReport](t, e, "attribution", day(1), day(11), "model", "linear", "campaigns", "1")
	if c := a.Models["linear"].Channel("Paid Social"); len(c.Campaigns) != 1 || c.Campaigns[0].Campaign != "spring" || !near(c.Campaigns[0].Conversions, 0.5) {
		t.Errorf("linear Paid Social campaigns = %+v; want spring with 0.5", c.Campaigns)
	}
}

func TestPathsAndTTCHandComputed(t *testing.T) {
	e := newEnv(t, at(20, 12, 0))
	shop(t, e)
	p := run[*analytics.PathsReport](t, e, "paths", day(1), day(11))
	want := []report.PathRow{
		{Path: []string{"Organic Search"}, Conversions: 1, Value: 50},
		{Path: []string{"Paid Social", "Direct"}, Conversions: 1, Value: 100},
	}
	if len(p.Rows) != len(want) {
		t.Fatalf("paths = %+v; want %+v", p.Rows, want)
	}
	for i := range want {
		if !slices.Equal(p.Rows[i].Path, want[i].Path) || p.Rows[i].Conversions != want[i].Conversions || p.Rows[i].Value != want[i].Value || p.Rows[i].Nulls != 0 {
			t.Errorf("paths row %d = %+v; want %+v", i, p.Rows[i], want[i])
		}
	}
	if p.Totals != (analytics.PathTotals{Conversions: 2, Value: 150}) {
		t.Errorf("totals = %+v; want 2 conversions, 150", p.Totals)
	}
	// Visitor 3's Email touch (Mar 3 11:00) expires unconverted on Apr 2, 11:00.
	p = run[*analytics.PathsReport](t, e, "paths", day(30), time.Date(2026, 4, 3, 0, 0, 0, 0, time.UTC))
	if len(p.Rows) != 1 || p.Rows[0].Path[0] != "Email" || p.Rows[0].Nulls != 1 {
		t.Errorf("paths of Mar 30–Apr 3 = %+v; want one Email null", p.Rows)
	}

	ttc := run[*report.TTC](t, e, "ttc", day(1), day(11))
	s1 := at(4, 9, 3).Sub(at(2, 10, 0)).Seconds()
	if ttc.Conversions != 2 || ttc.NoTouch != 0 || !near(ttc.Seconds.Median.Value, (s1+300)/2) || !near(ttc.Touches.Mean.Value, 1.5) {
		t.Errorf("ttc = %+v; want 2 conversions, median %v s, 1.5 touches", ttc, (s1+300)/2)
	}
}

func TestFunnelHandComputed(t *testing.T) {
	e := newEnv(t, at(20, 12, 0))
	shop(t, e)
	f := run[*analytics.FunnelReport](t, e, "funnel", day(1), day(11))
	if f.ID != "purchase" || !slices.Equal(f.Funnels, []string{"purchase", "signup"}) || f.Funnel == nil {
		t.Fatalf("funnel = %+v; want the purchase funnel of the example rules", f)
	}
	var counts []int
	for _, s := range f.Funnel.Steps {
		counts = append(counts, s.Visitors)
	}
	if !slices.Equal(counts, []int{3, 2, 2, 1, 1}) {
		t.Errorf("purchase funnel counts = %v; want [3 2 2 1 1]", counts)
	}
	// The rules break the funnel down by session.channel: the channel of the session in
	// which each visitor's best attempt started.
	got := map[string]int{}
	for _, g := range f.Funnel.Groups {
		got[g.Key] = g.Steps[len(g.Steps)-1].Visitors*10 + g.Steps[0].Visitors
	}
	want := map[string]int{"Paid Social": 11, "Organic Search": 1, "Email": 1}
	if len(got) != len(want) {
		t.Errorf("funnel groups = %v; want %v (completions×10 + entries)", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("funnel group %s = %d; want %d (completions×10 + entries)", k, got[k], v)
		}
	}
	if last := f.Funnel.Steps[4]; last.MedianTime.Value != at(4, 9, 3).Sub(at(4, 9, 2)).Seconds() {
		t.Errorf("median time to purchase = %v; want 60 s", last.MedianTime)
	}

	adhoc := run[*analytics.FunnelReport](t, e, "funnel", day(1), day(11), "steps", "viewed_product,purchased", "breakdown", "device")
	if s := adhoc.Funnel.Steps; s[0].Visitors != 2 || s[1].Visitors != 2 || adhoc.Funnel.Groups[0].Key != "desktop" {
		t.Errorf("ad-hoc funnel = %+v; want 2 and 2 visitors, all desktop", adhoc.Funnel)
	}
}

func TestSurveysAndExperiments(t *testing.T) {
	e := newEnv(t, at(20, 12, 0))
	shop(t, e)
	s := run[*analytics.SurveysReport](t, e, "surveys", day(1), day(11))
	var nps *analytics.SurveyReport
	for i := range s.Surveys {
		if s.Surveys[i].ID == "post_purchase_nps" {
			nps = &s.Surveys[i]
		}
	}
	if nps == nil || nps.Shown != 1 || nps.Answered != 1 || nps.NPS == nil || nps.NPS.Score.Value != 100 || nps.Type != "nps" {
		t.Fatalf("post_purchase_nps = %+v; want 1 shown, 1 answered, NPS 100", nps)
	}
	if len(nps.ByStage) != 1 || nps.ByStage[0].Key != "retention" {
		t.Errorf("NPS by stage = %+v; want one answer in retention (the stage of purchased)", nps.ByStage)
	}

	x := run[*analytics.ExperimentsReport](t, e, "experiments", day(1), day(11))
	if len(x.Experiments) != 1 || x.Experiments[0].ID != "checkout_trust" || x.Experiments[0].Goal != "purchased" {
		t.Fatalf("experiments = %+v; want checkout_trust", x.Experiments)
	}
	exposed, converted := 0, 0
	for _, a := range x.Experiments[0].Arms {
		exposed += a.Exposures
		converted += a.Conversions
	}
	if exposed != 1 || converted != 1 {
		t.Errorf("checkout_trust exposures %d, conversions %d; want 1 and 1 (visitor 1 bought after the checkout page)", exposed, converted)
	}
}

func TestReachAndLive(t *testing.T) {
	e := newEnv(t, at(20, 12, 0))
	shop(t, e)
	r, err := e.svc.Reach("")
	if err != nil {
		t.Fatal(err)
	}
	if r.Visitors != 3 || len(r.Segments) != 5 {
		t.Fatalf("reach = %+v; want 3 visitors and the 5 example segments", r)
	}
	for _, sg := range r.Segments {
		if sg.ID == "returning_customer" && (sg.Visitors != 2 || sg.Share == nil || !near(*sg.Share, 2.0/3)) {
			t.Errorf("returning_customer = %+v; want 2 visitors (both buyers), share 2/3", sg)
		}
	}
	// The shop's events were imported: counted apart, as they arrived, never among the
	// newest events of requests.
	l := e.svc.Live()
	if len(l.HitsPerSecond) != 60 || len(l.ImportedPerSecond) != 60 || len(l.Recent) != 0 {
		t.Fatalf("live = %d and %d seconds, %d recent; want 60, 60 and no event of a request", len(l.HitsPerSecond), len(l.ImportedPerSecond), len(l.Recent))
	}
	n, imported := 0, 0
	for i := range l.HitsPerSecond {
		n += l.HitsPerSecond[i].N
		imported += l.ImportedPerSecond[i].N
	}
	if n != 0 || imported != 15 {
		t.Errorf("hits and imported events in the last minute = %d, %d; want 0 and 15 (the imported events, arrived now)", n, imported)
	}
}

func TestSitesAreApart(t *testing.T) {
	e := newEnv(t, at(20, 12, 0))
	shop(t, e)
	e.send(t, hit{at: at(5, 8, 0), n: 9, site: "blog", evs: []ev{pv("/", "https://www.google.com/")}})
	all := run[*analytics.Overview](t, e, "overview", day(1), day(11))
	shopOnly := run[*analytics.Overview](t, e, "overview", day(1), day(11), "site", "shop")
	blog := run[*analytics.Overview](t, e, "overview", day(1), day(11), "site", "blog")
	if all.Visitors != 4 || shopOnly.Visitors != 3 || blog.Visitors != 1 || blog.Conversions != 0 {
		t.Errorf("visitors all %d, shop %d, blog %d; want 4, 3, 1", all.Visitors, shopOnly.Visitors, blog.Visitors)
	}
}

func TestQueryErrors(t *testing.T) {
	e := newEnv(t, at(20, 12, 0))
	cases := []struct {
		name string
		opts map[string]string
	}{
		{"attribution", map[string]string{"model": "magic"}},
		{"attribution", map[string]string{"order": "9"}},
		{"attribution", map[string]string{"lookback": "-3d"}},
		{"funnel", map[string]string{"funnel": "nope"}},
		{"funnel", map[string]string{"breakdown": "weather"}},
		{"cac", map[string]string{"model": "all"}},
		{"paths", map[string]string{"limit": "0"}},
	}
	for _, c := range cases {
		_, err := e.svc.Report(c.name, analytics.Query{From: day(1).UnixMilli(), To: day(2).UnixMilli(), Options: c.opts})
		var qe *analytics.QueryError
		if !errors.As(err, &qe) {
			t.Errorf("Report(%q, %v) error = %v; want a QueryError", c.name, c.opts, err)
		}
	}
	if _, err := e.svc.Report("weather", analytics.Query{From: 0, To: 1}); !errors.Is(err, analytics.ErrUnknownReport) {
		t.Errorf("Report(weather) error = %v; want ErrUnknownReport", err)
	}
}

func TestNewQuery(t *testing.T) {
	now := at(20, 12, 30)
	cases := []struct {
		in       map[string]string
		from, to int64
		opts     int
		bad      bool
	}{
		// The last 30 days: today and the 29 whole UTC days before it.
		{in: map[string]string{}, from: day(20 - 29).UnixMilli(), to: day(21).UnixMilli()},
		{in: map[string]string{"from": "2026-03-01", "to": "2026-03-02T00:00:00Z"}, from: day(1).UnixMilli(), to: day(2).UnixMilli()},
		{in: map[string]string{"from": "1000", "to": "2000", "model": "linear", "site": "shop"}, from: 1000, to: 2000, opts: 1},
		{in: map[string]string{"from": "yesterday"}, bad: true},
		{in: map[string]string{"from": "2000", "to": "1000"}, bad: true},
	}
	for _, c := range cases {
		q, err := analytics.NewQuery(c.in, now)
		if c.bad {
			if err == nil {
				t.Errorf("NewQuery(%v) = %+v; want an error", c.in, q)
			}
			continue
		}
		if err != nil || q.From != c.from || q.To != c.to || len(q.Options) != c.opts {
			t.Errorf("NewQuery(%v) = %+v, %v; want [%d, %d) with %d options", c.in, q, err, c.from, c.to, c.opts)
		}
	}
}

// TestSurveysCountVisitorsApart: the surveys report counts distinct visitors, so it reads
// the records with their ids, where the other reports read them without.
func TestSurveysCountVisitorsApart(t *testing.T) {
	e := newEnv(t, at(20, 12, 0))
	var hits []hit
	for n := 1; n <= 3; n++ {
		hits = append(hits,
			hit{at: at(4, 9, n), n: n, evs: []ev{pv("/thanks", "")}},
			hit{at: at(4, 10, n), n: n, evs: []ev{prompt("post_purchase_nps", "shown", ""), prompt("post_purchase_nps", "answered", fmt.Sprint(6+n))}},
		)
	}
	e.send(t, hits...)
	o := run[*analytics.Overview](t, e, "overview", day(1), day(11))
	if o.Visitors != 3 {
		t.Errorf("overview: %d visitors; want 3", o.Visitors)
	}
	s := run[*analytics.SurveysReport](t, e, "surveys", day(1), day(11))
	for _, sv := range s.Surveys {
		if sv.ID == "post_purchase_nps" && (sv.Shown != 3 || sv.VisitorsShown != 3 || sv.VisitorsAnswered != 3) {
			t.Errorf("NPS shown %d times to %d visitors, answered by %d; want 3 times to 3 visitors, answered by 3", sv.Shown, sv.VisitorsShown, sv.VisitorsAnswered)
		}
	}
}
