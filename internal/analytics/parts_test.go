package analytics

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/analytics/reportstore"
	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules"
)

// randomVisitors returns n visitors over days 0 … 60 with every part of a record filled at
// random from the rules' names: sessions, step arrivals and counts, conversions, devices,
// countries, segments, experiment assignments, prompt events of the rules' surveys (with
// holdouts), and a few visitors known only from their prompt events.
func randomVisitors(set *rules.Set, seed uint64, n int) []*reportstore.Visitor {
	r := rand.New(rand.NewPCG(seed, 11))
	pick := func(ss ...string) string { return ss[r.IntN(len(ss))] }
	var steps []string
	for _, s := range set.Steps() {
		steps = append(steps, s.ID)
	}
	exps, surveys := set.Experiments(), set.Surveys()
	vs := make([]*reportstore.Visitor, n)
	for i := range vs {
		v := &reportstore.Visitor{HasState: r.IntN(10) != 0, Sites: []string{pick("demo", "other")}}
		vs[i] = v
		j := &v.J
		j.VID = fmt.Sprintf("%032x", i+1)
		t := r.Int64N(60 * testDay)
		for range r.IntN(5) {
			if !v.HasState {
				break
			}
			j.Touches = append(j.Touches, journey.Touchpoint{StartedAt: t, LastAt: t + r.Int64N(2*3600_000),
				Channel: pick("Direct", "Email", "Paid Search", ""), Source: pick("google", ""), Medium: pick("cpc", "email", ""), Campaign: pick("spring", "brand", "")})
			at := t
			for range r.IntN(6) {
				at += r.Int64N(600_000)
				st := steps[r.IntN(len(steps))]
				j.Steps = append(j.Steps, journey.StepMark{Step: st, At: at})
				if r.IntN(4) == 0 {
					j.Conversions = append(j.Conversions, journey.Conversion{Step: st, At: at, Value: float64(r.IntN(200))})
				}
			}
			t += r.Int64N(15 * testDay)
		}
		if v.HasState {
			j.EarlierConversions = r.IntN(4) / 3
			j.Device = event.DeviceType(r.IntN(4))
			j.Country = pick("DE", "FR", "US", "")
			for range r.IntN(3) {
				j.Segments = append(j.Segments, pick("returning", "vip", "new"))
			}
			slices.Sort(j.Segments)
			j.Segments = slices.Compact(j.Segments)
			for _, x := range exps {
				if r.IntN(2) == 0 && len(x.Variants) > 0 {
					j.Arms = append(j.Arms, journey.Assignment{Experiment: x.ID, Variant: pick(append(x.Variants, "gone")...), At: r.Int64N(60 * testDay), Exposed: r.IntN(3) != 0})
				}
			}
			for _, m := range j.Steps {
				k := slices.IndexFunc(v.Steps, func(c journey.Count) bool { return c.Key == m.Step })
				if k < 0 {
					v.Steps = append(v.Steps, journey.Count{Key: m.Step, FirstAt: m.At - r.Int64N(5*testDay)})
					k = len(v.Steps) - 1
				}
				v.Steps[k].N++
				v.Steps[k].LastAt = m.At
			}
		}
		for k := range r.IntN(4) {
			if len(surveys) == 0 {
				break
			}
			si := surveys[r.IntN(len(surveys))]
			p := reportstore.Prompt{Site: v.Sites[0], ID: fmt.Sprintf("%d-%d", i, k), Prompt: si.ID, Action: pick(event.ActionShown, event.ActionAnswered, event.ActionDismissed, reportstore.ActionHoldout), At: r.Int64N(60 * testDay)}
			if p.Action == event.ActionAnswered {
				switch {
				case len(si.Choices) > 0:
					p.Answer = si.Choices[r.IntN(len(si.Choices))]
				case si.Type == rules.SurveyText:
					p.Answer = fmt.Sprint("answer ", i)
				default:
					p.Answer = fmt.Sprint(r.IntN(11))
				}
			}
			if r.IntN(2) == 0 {
				p.Segments = []string{pick("returning", "vip")}
			}
			v.Prompts = append(v.Prompts, p)
		}
	}
	return vs
}

// partsStore puts visitors into a new report store in memory, as folds would, and packs
// its even days, so that reports read single records and packs.
func partsStore(t *testing.T, vs []*reportstore.Visitor) *reportstore.Store {
	t.Helper()
	rs := reportstore.New(reportstore.NewMemory(), 0)
	if _, err := rs.Put(make([]*reportstore.Visitor, len(vs)), vs); err != nil {
		t.Fatal(err)
	}
	for d := int64(0); d < 62; d += 2 {
		if _, _, err := rs.Pack(d, d+1); err != nil {
			t.Fatal(err)
		}
	}
	return rs
}

// TestReportsReadOnlyThePartsTheyState runs every report, with options that reach each of
// its paths (each funnel breakdown, ad-hoc steps, every model), for two sites and two
// periods, over a random store read with each report's parts and over the same store read
// whole, and checks that the results are the same to the byte. Each store is new, so that
// no rollup kept by one reading serves the other. A reading of no part at all must change
// every report: the random store feeds each of them.
func TestReportsReadOnlyThePartsTheyState(t *testing.T) {
	set, err := rules.LoadDir(filepath.Join("..", "..", "rules"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(70 * testDay)
	vs := randomVisitors(set, 1, 1500)
	steps := set.Steps()
	adhoc := steps[0].ID + "," + steps[1].ID + "," + steps[2].ID
	optionSets := map[string][]map[string]string{
		"funnel": {{}, {"breakdown": "channel"}, {"breakdown": "device"}, {"breakdown": "country"}, {"breakdown": "segment"},
			{"breakdown": "arm:" + set.Experiments()[0].ID}, {"steps": adhoc, "exclude": steps[3].ID, "mode": "unordered"}},
		"health":      {{}, {"steps": adhoc}},
		"micro":       {{}, {"steps": adhoc}},
		"attribution": {{}, {"model": "all"}},
		"cac":         {{}, {"model": "markov"}},
		"ttc":         {{}, {"steps": steps[len(steps)-1].ID, "first_only": "true"}},
	}
	periods := [][2]int64{{5*testDay + 3*3600_000, 40 * testDay}, {0, 62 * testDay}}
	run := func(parts func(reportstore.Parts) reportstore.Parts) map[string]string {
		s := newService(nil, func() *rules.Set { return set }, nil, Options{Now: func() time.Time { return now }})
		s.recordParts = parts
		rs := partsStore(t, vs)
		out := map[string]string{}
		for name, def := range reportDefs {
			for _, o := range append([]map[string]string{{}}, optionSets[name]...) {
				for _, site := range []string{"", "demo"} {
					for _, p := range periods {
						rc := &reportCtx{s: s, rs: rs, q: Query{From: p[0], To: p[1], Site: site, Options: o}, o: opts{m: o}, set: set, now: now}
						res, err := def.run(rc)
						b, jerr := json.Marshal(res)
						if jerr != nil {
							t.Fatal(jerr)
						}
						out[fmt.Sprintf("%s %v site=%q %d-%d", name, o, site, p[0], p[1])] = fmt.Sprintf("%s error=%v", b, err)
					}
				}
			}
		}
		return out
	}
	stated := run(nil)
	whole := run(func(reportstore.Parts) reportstore.Parts { return reportstore.AllParts })
	none := run(func(reportstore.Parts) reportstore.Parts { return 0 })
	keys := make([]string, 0, len(whole))
	for k := range whole {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	changed := map[string]bool{}
	for _, k := range keys {
		if !strings.HasSuffix(whole[k], "error=<nil>") {
			t.Errorf("%s failed: %s", k, whole[k])
		}
		if stated[k] != whole[k] {
			t.Errorf("%s with the parts it states =\n%s\nread whole\n%s", k, stated[k], whole[k])
		}
		if none[k] != whole[k] {
			changed[strings.Fields(k)[0]] = true
		}
	}
	for name := range reportDefs {
		if !changed[name] {
			t.Errorf("report %s is the same read from no part of the records: the random store does not feed it", name)
		}
	}
}
