package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/report"
)

// table is one table of a report's printed form. The first table of a report is its main
// table: the one --format csv prints.
type table struct {
	title string
	head  []string
	rows  [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// writeTables prints tables with aligned columns, each under its title.
func writeTables(w io.Writer, ts []table) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, t := range ts {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		if t.title != "" {
			fmt.Fprintln(tw, t.title)
		}
		fmt.Fprintln(tw, strings.Join(t.head, "\t"))
		if len(t.rows) == 0 {
			fmt.Fprintln(tw, "(none)")
		}
		for _, r := range t.rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
	}
	return tw.Flush()
}

// writeCSV prints one table as CSV with its header.
func writeCSV(w io.Writer, t table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.head); err != nil {
		return err
	}
	if err := cw.WriteAll(t.rows); err != nil {
		return err
	}
	return cw.Error()
}

// maxPathRows is the most rows the paths report gives (its limit option's upper bound).
const maxPathRows = 100000

// writePathFile prints the paths report as the ChannelAttribution path file that
// `pathlight attribution --paths` reads back (report.WritePaths), without a total row. When
// the report left paths out, it says so on stderr.
func writePathFile(stdout, stderr io.Writer, p *analytics.PathsReport) error {
	if err := report.WritePaths(stdout, &report.PathTable{Rows: p.Rows}); err != nil {
		return err
	}
	if n := p.RowsTotal - len(p.Rows); n > 0 {
		fmt.Fprintf(stderr, "pathlight report: %d of %s left out by --limit\n", n, plural(p.RowsTotal, "path", ""))
	}
	return nil
}

// count of things: "1 path", "3 paths" (many is the plural; "" adds an s).
func plural(n int, one, many string) string {
	if many == "" {
		many = one + "s"
	}
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// Cell formats.

// change formats a relative change with its sign (+12.5%), n/a when there is none.
func change(v report.NullFloat) string {
	if !v.Valid {
		return "n/a"
	}
	s := strconv.FormatFloat(v.Value*100, 'f', 1, 64) + "%"
	if v.Value > 0 {
		s = "+" + s
	}
	return s
}

func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func frac(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }

// money formats an amount with two decimals, always, so that a column of amounts lines up.
func money(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// ratio formats a ratio such as ROAS with two decimals.
func ratio(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// dec1 formats a figure estimated in fractions of a visitor (step health's visitors and
// completions lost) with one decimal, always, as the dashboard does.
func dec1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// score formats a Net Promoter Score as the whole score the dashboard shows (36.8 is 37; a
// half rounds up, as in the browser).
func score(v float64) string { return strconv.FormatFloat(math.Floor(v+0.5), 'f', 0, 64) }

// window formats a funnel's window: whole days as days (7d, as the rules write it), any other
// as a short duration.
func window(seconds float64) string {
	if d := seconds / 86400; d >= 1 && d == math.Trunc(d) {
		return strconv.FormatFloat(d, 'f', 0, 64) + "d"
	}
	return dur(report.Some(seconds))
}

func count(n int) string { return strconv.Itoa(n) }

func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }

func nullPct(v report.NullFloat) string {
	if !v.Valid {
		return "n/a"
	}
	return pct(v.Value)
}

func nullNum(v report.NullFloat, f func(float64) string) string {
	if !v.Valid {
		return "n/a"
	}
	return f(v.Value)
}

// dur formats seconds as a short duration: 45s, 12m, 3.5h, 2.1d.
func dur(v report.NullFloat) string {
	if !v.Valid {
		return "n/a"
	}
	s := v.Value
	switch {
	case s < 60:
		return strconv.FormatFloat(s, 'f', 0, 64) + "s"
	case s < 3600:
		return strconv.FormatFloat(s/60, 'f', 1, 64) + "m"
	case s < 86400:
		return strconv.FormatFloat(s/3600, 'f', 1, 64) + "h"
	}
	return strconv.FormatFloat(s/86400, 'f', 1, 64) + "d"
}

// tablesOf returns the tables of a report's payload; the first is the main one.
func tablesOf(data any) []table {
	switch d := data.(type) {
	case *analytics.Overview:
		return overviewTables(d)
	case *analytics.JourneyReport:
		return journeyTables(d)
	case *analytics.FunnelReport:
		return funnelTables(d)
	case *analytics.PathsReport:
		return pathsTables(d)
	case *analytics.AttributionReport:
		return attributionTables(d)
	case *report.TTC:
		return ttcTables(d)
	case *analytics.HealthReport:
		return healthTables(d)
	case *analytics.CACReport:
		return cacTables(d)
	case *analytics.SurveysReport:
		return surveyTables(d)
	case *analytics.ExperimentsReport:
		return experimentTables(d)
	case *report.MicroConversions:
		return microTables(d)
	}
	return []table{{head: []string{"report"}, rows: [][]string{{fmt.Sprintf("%T", data)}}}}
}

func overviewTables(o *analytics.Overview) []table {
	sum := table{title: "Summary", head: []string{"figure", "period", "previous period", "change"}}
	sum.add("visitors", count(o.Visitors), count(o.Previous.Visitors), change(o.Change.Visitors))
	sum.add("sessions", count(o.Sessions), count(o.Previous.Sessions), change(o.Change.Sessions))
	sum.add("conversions", count(o.Conversions), count(o.Previous.Conversions), change(o.Change.Conversions))
	sum.add("converters", count(o.Converters), count(o.Previous.Converters), change(o.Change.Converters))
	sum.add("conversion rate", nullPct(o.ConversionRate), nullPct(o.Previous.ConversionRate), change(o.Change.ConversionRate))
	value := "value"
	if o.Currency != "" {
		value += " (" + o.Currency + ")"
	}
	sum.add(value, money(o.Value), money(o.Previous.Value), change(o.Change.Value))
	days := table{title: "By day", head: []string{"date", "visitors", "sessions", "conversions", "value"}}
	for _, d := range o.ByDay {
		days.add(d.Date, count(d.Visitors), count(d.Sessions), count(d.Conversions), money(d.Value))
	}
	chans := table{title: "By channel", head: []string{"channel", "visitors", "sessions", "conversions", "value"}}
	for _, c := range o.ByChannel {
		chans.add(c.Channel, count(c.Visitors), count(c.Sessions), count(c.Conversions), money(c.Value))
	}
	return []table{sum, chans, days}
}

func journeyTables(j *analytics.JourneyReport) []table {
	micro := map[string]report.NullFloat{}
	if j.Micro != nil {
		for _, m := range j.Micro.Steps {
			micro[m.Step] = m.Rate
		}
	}
	steps := table{title: "Steps", head: []string{"step", "visitors", "arrivals", "entries", "exits", "micro-conversion"}}
	if j.JourneyMap == nil {
		return []table{steps}
	}
	for _, n := range j.Steps {
		steps.add(n.Name, count(n.Visitors), count(n.Arrivals), count(n.Entries), count(n.Exits), nullPct(micro[n.Name]))
	}
	stages := table{title: "Stages", head: []string{"stage", "visitors", "arrivals", "entries", "exits"}}
	for _, n := range j.Stages {
		stages.add(n.Name, count(n.Visitors), count(n.Arrivals), count(n.Entries), count(n.Exits))
	}
	edges := table{title: "Transitions", head: []string{"from", "to", "count", "visitors"}}
	for _, e := range j.StepEdges {
		edges.add(e.From, e.To, count(e.Count), count(e.Visitors))
	}
	paths := table{title: fmt.Sprintf("Top session paths (%d sessions)", j.Sessions), head: []string{"path", "sessions", "share"}}
	for _, p := range j.Paths {
		paths.add(strings.Join(p.Steps, " > "), count(p.Sessions), pct(p.Share))
	}
	if j.OtherPaths > 0 {
		paths.add("(other)", count(j.OtherPaths), pct(float64(j.OtherPaths)/float64(max(1, j.Sessions))))
	}
	return []table{steps, stages, edges, paths}
}

func funnelTables(f *analytics.FunnelReport) []table {
	title := "Funnel " + f.ID
	if f.Funnel == nil {
		return []table{{title: "No funnel: the rules define none (funnels: " + strings.Join(f.Funnels, ", ") + ")", head: []string{"step"}}}
	}
	t := table{title: fmt.Sprintf("%s (%s, window %s, %d excluded)", title, f.Funnel.Mode, window(f.Funnel.Window), f.Funnel.Excluded),
		head: []string{"step", "visitors", "from previous", "from first", "drop-off", "mean time", "median time"}}
	for _, s := range f.Funnel.Steps {
		t.add(s.Step, count(s.Visitors), nullPct(s.FromPrevious), nullPct(s.FromFirst), count(s.DropOff), dur(s.MeanTime), dur(s.MedianTime))
	}
	out := []table{t}
	if len(f.Funnel.Groups) > 0 {
		g := table{title: "By " + string(f.Funnel.Breakdown), head: []string{"group", "excluded"}}
		for _, s := range f.Funnel.Steps {
			g.head = append(g.head, s.Step)
		}
		for _, gr := range f.Funnel.Groups {
			row := []string{gr.Key, count(gr.Excluded)}
			for _, s := range gr.Steps {
				row = append(row, count(s.Visitors))
			}
			g.add(row...)
		}
		out = append(out, g)
	}
	for _, n := range f.Notes {
		out = append(out, table{title: "Note: " + n})
	}
	return out
}

func pathsTables(p *analytics.PathsReport) []table {
	t := table{title: fmt.Sprintf("Paths (%d of %d)", len(p.Rows), p.RowsTotal), head: []string{"path", "conversions", "value", "nulls"}}
	for _, r := range p.Rows {
		t.add(strings.Join(r.Path, " > "), num(r.Conversions), money(r.Value), num(r.Nulls))
	}
	t.add("(total)", num(p.Totals.Conversions), money(p.Totals.Value), num(p.Totals.Nulls))
	return []table{t}
}

// modelOrder lists a report's models in the order of analytics.AllModels.
func modelOrder(models map[string]*report.Attribution) []string {
	var names []string
	for _, m := range analytics.AllModels() {
		if models[string(m)] != nil {
			names = append(names, string(m))
		}
	}
	return names
}

func attributionTables(a *analytics.AttributionReport) []table {
	names := modelOrder(a.Models)
	var chans []string
	for _, m := range names {
		for _, c := range a.Models[m].Channels {
			if !slices.Contains(chans, c.Channel) {
				chans = append(chans, c.Channel)
			}
		}
	}
	conv := table{title: "Conversions credited", head: append([]string{"channel"}, names...)}
	val := table{title: "Value credited", head: append([]string{"channel"}, names...)}
	for _, ch := range chans {
		cr, vr := []string{ch}, []string{ch}
		for _, m := range names {
			c := a.Models[m].Channel(ch)
			cr = append(cr, frac(c.Conversions))
			vr = append(vr, money(c.Value))
		}
		conv.add(cr...)
		val.add(vr...)
	}
	if len(names) > 0 {
		m := a.Models[names[0]]
		conv.add("(total)")
		for _, n := range names {
			conv.rows[len(conv.rows)-1] = append(conv.rows[len(conv.rows)-1], frac(a.Models[n].Conversions))
		}
		conv.title = fmt.Sprintf("Conversions credited (%s conversions, %s journeys without)", num(m.Conversions), num(m.Nulls))
	}
	out := []table{conv, val}
	if mk := a.Models[string(report.MarkovChain)]; mk != nil && mk.Markov != nil {
		re := table{title: fmt.Sprintf("Markov chain, order %d: P(conversion) = %s, %d states", mk.Markov.Order, frac(mk.Markov.ConversionProbability), mk.Markov.States),
			head: []string{"channel", "removal effect", "value removal effect"}}
		for _, r := range mk.Markov.RemovalEffects {
			re.add(r.Channel, nullNum(r.Conversion, frac), nullNum(r.Value, frac))
		}
		out = append(out, re)
	}
	camps := table{title: "Campaigns", head: []string{"model", "channel", "campaign", "conversions", "value"}}
	for _, m := range names {
		for _, c := range a.Models[m].Channels {
			for _, cc := range c.Campaigns {
				camps.add(m, c.Channel, cc.Campaign, frac(cc.Conversions), money(cc.Value))
			}
		}
	}
	if len(camps.rows) > 0 {
		out = append(out, camps)
	}
	return out
}

func ttcTables(t *report.TTC) []table {
	sum := table{title: fmt.Sprintf("Time to conversion (%d conversions, %d without a touch)", t.Conversions, t.NoTouch),
		head: []string{"", "mean", "median", "p75", "p90"}}
	sum.add("time", dur(t.Seconds.Mean), dur(t.Seconds.Median), dur(t.Seconds.P75), dur(t.Seconds.P90))
	sum.add("touches", nullNum(t.Touches.Mean, num), nullNum(t.Touches.Median, num), nullNum(t.Touches.P75, num), nullNum(t.Touches.P90, num))
	by := table{title: "By first channel", head: []string{"channel", "conversions", "median time", "p90 time", "median touches"}}
	for _, g := range t.ByFirstChannel {
		by.add(g.Channel, count(g.Conversions), dur(g.Seconds.Median), dur(g.Seconds.P90), nullNum(g.Touches.Median, num))
	}
	return []table{sum, by}
}

func healthTables(h *analytics.HealthReport) []table {
	t := table{title: fmt.Sprintf("Step health of funnel %s, week %s to %s", h.Funnel, fmtTime(h.WeekFrom), fmtTime(h.WeekTo)),
		head: []string{"from", "to", "visitors", "rate", "95% interval", "baseline", "z'", "status", "lost"}}
	if h.HealthReport == nil {
		return []table{t}
	}
	for _, tr := range h.Transitions {
		t.add(tr.From, tr.To, count(tr.Visitors), nullPct(tr.Rate), nullPct(tr.Low)+" – "+nullPct(tr.High),
			nullPct(tr.Baseline), nullNum(tr.Z, func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }), string(tr.Status), dec1(tr.Lost))
	}
	fix := table{title: "Fix first", head: []string{"from", "to", "lost", "intent", "score"}}
	for _, tr := range h.FixFirst {
		fix.add(tr.From, tr.To, dec1(tr.Lost), nullPct(tr.Intent), nullNum(tr.Score, dec1))
	}
	return []table{t, fix}
}

func cacTables(c *analytics.CACReport) []table {
	t := table{head: []string{"channel", "campaign", "spend", "new customers", "CAC", "value", "ROAS"}}
	if c.CACReport == nil {
		return []table{t}
	}
	t.title = fmt.Sprintf("CAC and ROAS by %s (spend %s %s)", c.Model, money(c.Spend), c.Currency)
	row := func(r report.CACRow, campaign string) {
		t.add(r.Channel, campaign, money(r.Spend), frac(r.NewCustomers), nullNum(r.CAC, money), money(r.Value), nullNum(r.ROAS, ratio))
	}
	for _, ch := range c.Channels {
		row(ch.CACRow, "")
		for _, cp := range ch.Campaigns {
			row(cp, cp.Campaign)
		}
	}
	return []table{t}
}

func surveyTables(s *analytics.SurveysReport) []table {
	sum := table{title: "Surveys", head: []string{"survey", "type", "shown", "answered", "answer rate", "NPS"}}
	var out []table
	for _, sv := range s.Surveys {
		if sv.SurveyResult == nil {
			continue
		}
		nps := ""
		if sv.NPS != nil {
			nps = nullNum(sv.NPS.Score, score)
		}
		sum.add(sv.ID, sv.Type, count(sv.Shown), count(sv.Answered), nullPct(sv.AnswerRate), nps)
		if len(sv.Choices) > 0 {
			c := table{title: sv.ID + ": " + sv.Question, head: []string{"answer", "count", "share"}}
			for _, ch := range sv.Choices {
				c.add(ch.Choice, count(ch.Count), nullPct(ch.Share))
			}
			out = append(out, c)
		}
		if len(sv.Texts) > 0 {
			tx := table{title: sv.ID + ": open answers", head: []string{"time", "stage", "answer"}}
			for _, o := range sv.Texts {
				tx.add(fmtTime(o.At), o.Stage, o.Text)
			}
			out = append(out, tx)
		}
	}
	return append([]table{sum}, out...)
}

func experimentTables(x *analytics.ExperimentsReport) []table {
	var out []table
	for _, e := range x.Experiments {
		if e.ExperimentResult == nil {
			continue
		}
		srm := ""
		if e.SRM.Mismatch {
			srm = ", SAMPLE RATIO MISMATCH: do not trust the comparison"
		}
		// As the dashboard's lede: a control arm called "control" is not named twice.
		control := "arms compared with the control"
		if !strings.EqualFold(e.Control, "control") {
			control += ", " + e.Control
		}
		t := table{title: fmt.Sprintf("Experiment %s (goal %s, %s%s)", e.ID, e.Goal, control, srm),
			head: []string{"arm", "exposures", "conversions", "rate", "95% interval", "lift", "p", "chance to beat control", "chance to be best"}}
		for _, a := range e.Arms {
			lift, p, beat := "", "", ""
			if a.VsControl != nil {
				lift, p, beat = nullPct(a.VsControl.Lift), nullNum(a.VsControl.P, frac), nullPct(a.VsControl.ChanceToBeat)
			}
			t.add(a.Arm, count(a.Exposures), count(a.Conversions), nullPct(a.Rate), nullPct(a.Low)+" – "+nullPct(a.High), lift, p, beat, nullPct(a.ChanceToBeBest))
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		out = append(out, table{title: "Experiments", head: []string{"arm"}})
	}
	if len(x.Holdout) > 0 {
		h := table{title: "Prompts against the holdout", head: []string{"prompt", "shown to", "converted", "holdout", "converted", "lift", "p"}}
		for _, l := range x.Holdout {
			h.add(l.Prompt, count(l.Exposed.Visitors), count(l.Exposed.Conversions), count(l.Holdout.Visitors), count(l.Holdout.Conversions), nullPct(l.Lift.Lift), nullNum(l.Lift.P, frac))
		}
		out = append(out, h)
	}
	return out
}

func microTables(m *report.MicroConversions) []table {
	t := table{title: fmt.Sprintf("Micro-conversions (of %d active visitors)", m.Visitors), head: []string{"step", "visitors", "rate"}}
	for _, s := range m.Steps {
		t.add(s.Step, count(s.Visitors), nullPct(s.Rate))
	}
	return []table{t}
}

// since formats how long ago t was, for the simulate summary.
func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
