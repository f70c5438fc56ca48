package reportstore

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/report"
	"github.com/pathlight/pathlight/internal/track"
)

const day = DayMS

func vid(n int) string { return fmt.Sprintf("%032x", n) }

// visitor returns a visitor with a session on each of days, a step on the first and a
// conversion on the last.
func visitor(n int, sites []string, days ...int64) *Visitor {
	v := &Visitor{HasState: true, Sites: sites}
	v.J.VID = vid(n)
	for _, d := range days {
		v.J.Touches = append(v.J.Touches, journey.Touchpoint{StartedAt: d*day + 3600_000, LastAt: d*day + 3700_000, Channel: "Email", Campaign: "weekly"})
	}
	v.J.Steps = []journey.StepMark{{Step: "landed", At: days[0]*day + 3600_000}}
	v.J.Conversions = []journey.Conversion{{Step: "purchased", At: days[len(days)-1]*day + 3650_000, Value: 12.5}}
	v.J.Segments = []string{"returning"}
	return v
}

func TestCodecRoundTrip(t *testing.T) {
	v := visitor(7, []string{"shop", "blog"}, 3, 5)
	v.J.EarlierConversions = 2
	v.J.Device = event.DeviceMobile
	v.J.Country = "DE"
	v.J.Arms = []journey.Assignment{{Experiment: "x", Variant: "b", At: 42, Exposed: true}}
	v.J.Conversions = append(v.J.Conversions, journey.Conversion{Step: "purchased", At: 6 * day, Value: math.NaN()})
	v.Steps = []journey.Count{{Key: "landed", N: 3, FirstAt: 1, LastAt: 9}}
	v.Prompts = []Prompt{{Site: "shop", ID: "p1", Prompt: "nps", Action: "answered", Answer: "9", At: 77, Segments: []string{}},
		{Site: "shop", ID: "p2", Prompt: "nps", Action: "shown", At: 70}}
	got, err := decodeVisitor(v.J.VID, appendVisitor(nil, v), NewInterner())
	if err != nil {
		t.Fatal(err)
	}
	nan := got.J.Conversions[1].Value
	got.J.Conversions[1].Value, v.J.Conversions[1].Value = 0, 0
	if !math.IsNaN(nan) || !reflect.DeepEqual(got, v) {
		t.Errorf("decoded =\n%+v\nwant\n%+v", got, v)
	}
	for i := range len(appendVisitor(nil, v)) {
		if _, err := decodeVisitor("x", appendVisitor(nil, v)[:i], NewInterner()); err == nil {
			t.Fatalf("a record cut at %d bytes decodes", i)
		}
	}
}

// each returns the ids Each hands over.
func each(t *testing.T, s *Store, site string, r ...Range) []string {
	t.Helper()
	var out []string
	if err := s.Each(site, r, NewInterner(), func(vs []*Visitor) error {
		for _, v := range vs {
			out = append(out, v.J.VID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPutAndEach(t *testing.T) {
	s := New(NewMemory(), 0)
	a, b, c := visitor(3, []string{"shop"}, 10, 12), visitor(1, []string{"blog"}, 11), visitor(2, []string{"shop", "blog"}, 12, 20)
	if _, err := s.Put([]*Visitor{nil, nil, nil}, []*Visitor{a, b, c}); err != nil {
		t.Fatal(err)
	}
	all := Range{From: 0, To: 100, Flags: FlagActive}
	// In the store's order: by last day (11, 12, 20), then id.
	if got := each(t, s, "", all); !reflect.DeepEqual(got, []string{vid(1), vid(3), vid(2)}) {
		t.Errorf("every visitor = %v; want each once, by last day", got)
	}
	if got := each(t, s, "shop", all); !reflect.DeepEqual(got, []string{vid(3), vid(2)}) {
		t.Errorf("shop's visitors = %v; want 3 and 2", got)
	}
	if got := each(t, s, "", Range{From: 12, To: 12, Flags: FlagConversion}); !reflect.DeepEqual(got, []string{vid(3)}) {
		t.Errorf("conversions on day 12 = %v; want visitor 3's", got)
	}
	if got := each(t, s, "", Range{From: 12, To: 12, Flags: FlagTouch}, Range{From: 11, To: 11, Flags: FlagStep}); !reflect.DeepEqual(got, []string{vid(1), vid(3), vid(2)}) {
		t.Errorf("two ranges = %v; want 1, 3, 2", got)
	}
	if got := each(t, s, "", Range{From: 19, To: 30, Flags: FlagActive}); !reflect.DeepEqual(got, []string{vid(2)}) {
		t.Errorf("days 19 to 30 = %v; want visitor 2 only", got)
	}
	// Visitor 3 changes: its day 10 goes; then it is erased.
	a2 := visitor(3, []string{"shop"}, 12)
	changed, err := s.Put([]*Visitor{a}, []*Visitor{a2})
	if err != nil {
		t.Fatal(err)
	}
	if changed != 10*day {
		t.Errorf("change at %d; want the start of day 10 (%d), the first day the visitor is no longer active on", changed, 10*day)
	}
	if got := each(t, s, "", Range{From: 10, To: 10, Flags: FlagActive}); len(got) != 0 {
		t.Errorf("day 10 after the change = %v; want nobody", got)
	}
	if n, segs, err := s.Reach("shop"); err != nil || n != 2 || segs["returning"] != 2 {
		t.Errorf("shop reach = %d, %v, %v; want 2 visitors, 2 returning", n, segs, err)
	}
	if _, err := s.Put([]*Visitor{a2}, []*Visitor{nil}); err != nil {
		t.Fatal(err)
	}
	if got := each(t, s, "", all); !reflect.DeepEqual(got, []string{vid(1), vid(2)}) {
		t.Errorf("after the erase = %v; want 1 and 2", got)
	}
	if got, err := s.Get([]string{vid(3), vid(2)}, NewInterner()); err != nil || got[0] != nil || got[1] == nil || got[1].J.VID != vid(2) {
		t.Errorf("Get(3, 2) = %v, %v; want no record for 3 and 2's", got, err)
	}
	if n, _, _ := s.Reach(""); n != 2 {
		t.Errorf("reach of every site = %d; want 2", n)
	}
	if err := s.Recount(nil); err != nil {
		t.Fatal(err)
	}
	if n, segs, _ := s.Reach("blog"); n != 2 || segs["returning"] != 2 {
		t.Errorf("blog reach after a recount = %d, %v; want 2, 2", n, segs)
	}
}

func TestRollupsDroppedFromTheDayOfAChange(t *testing.T) {
	s := New(NewMemory(), 0)
	v := visitor(1, []string{"shop"}, 5)
	if _, err := s.Put([]*Visitor{nil}, []*Visitor{v}); err != nil {
		t.Fatal(err)
	}
	tab := &report.PathTable{}
	tab.Add([]string{"Email"}, 1, 12.5, 0)
	for d := int64(3); d <= 8; d++ {
		if err := s.PutRollup("shop", d, "k", tab); err != nil {
			t.Fatal(err)
		}
	}
	// A backdated session on day 6.
	v2 := visitor(1, []string{"shop"}, 5, 6)
	if _, err := s.Put([]*Visitor{v}, []*Visitor{v2}); err != nil {
		t.Fatal(err)
	}
	for d := int64(3); d <= 8; d++ {
		got := &report.PathTable{}
		ok, err := getRollup(s, "shop", d, "k", got)
		if err != nil {
			t.Fatal(err)
		}
		if want := d < 5; ok != want {
			t.Errorf("rollup of day %d kept = %v; want %v (the change touched day 5: the conversion moved to day 6)", d, ok, want)
		}
		if ok && (len(got.Rows) != 1 || got.Rows[0].Value != 12.5) {
			t.Errorf("rollup of day %d = %+v; want the table kept", d, got.Rows)
		}
	}
}

// TestEachReusesMemoryCleanly: chunks reuse the memory of the previous one, and a record
// never shows what an earlier record left there.
func TestEachReusesMemoryCleanly(t *testing.T) {
	s := New(NewMemory(), 0)
	const n = 2*ChunkSize + 77
	var olds, news []*Visitor
	for i := range n {
		v := visitor(i+1, []string{"shop"}, int64(10+i%5))
		if i%2 == 0 {
			v.J.Arms = []journey.Assignment{{Experiment: "x", Variant: fmt.Sprint("arm", i), At: 1, Exposed: true}}
			v.J.Touches = append(v.J.Touches, journey.Touchpoint{StartedAt: int64(10+i%5)*day + 1, Channel: "Direct"})
		} else {
			v.J.Segments = nil
		}
		olds, news = append(olds, nil), append(news, v)
	}
	if _, err := s.Put(olds, news); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, v := range news {
		want[v.J.VID] = fmt.Sprint(len(v.J.Touches), v.J.Arms, v.J.Segments, v.J.Conversions)
	}
	seen := 0
	err := s.Each("", []Range{{From: 0, To: 100, Flags: FlagActive}}, NewInterner(), func(vs []*Visitor) error {
		for _, v := range vs {
			seen++
			if got := fmt.Sprint(len(v.J.Touches), v.J.Arms, v.J.Segments, v.J.Conversions); got != want[v.J.VID] {
				t.Fatalf("visitor %s read as %s; want %s", v.J.VID, got, want[v.J.VID])
			}
		}
		return nil
	})
	if err != nil || seen != n {
		t.Fatalf("Each handed over %d visitors, %v; want %d", seen, err, n)
	}
}

// TestRollupsOfAnOlderEncodingAreNotKept: a rollup kept by an earlier release (gob) reads as
// not kept, so the report computes the day again and keeps it in the current encoding.
func TestRollupsOfAnOlderEncodingAreNotKept(t *testing.T) {
	s := New(NewMemory(), 0)
	tab := &report.PathTable{}
	tab.Add([]string{"Email"}, 1, 12.5, 0)
	var old bytes.Buffer
	if err := gob.NewEncoder(&old).Encode(tab); err != nil {
		t.Fatal(err)
	}
	if err := s.kv.Write([]track.Op{{Key: rollupKey("shop", 4, "k"), Value: old.Bytes()}}); err != nil {
		t.Fatal(err)
	}
	got := &report.PathTable{}
	if ok, err := getRollup(s, "shop", 4, "k", got); ok || err != nil {
		t.Fatalf("a gob rollup read as kept = %v, %v (%+v); want not kept", ok, err, got.Rows)
	}
	if err := s.PutRollup("shop", 4, "k", tab); err != nil {
		t.Fatal(err)
	}
	seen := 0
	err := s.EachRollup("shop", 3, 5, []string{"j", "k", "l"}, func(d int64, what string, b []byte) error {
		seen++
		if d != 4 || what != "k" {
			t.Errorf("EachRollup gave day %d, %q; want only day 4's k", d, what)
		}
		return got.UnmarshalBinary(b)
	})
	if err != nil || seen != 1 || len(got.Rows) != 1 || got.Rows[0].Value != 12.5 {
		t.Fatalf("after PutRollup: %d rollups read, %v, %+v; want day 4's table", seen, err, got.Rows)
	}
}

// TestEachWithoutIDs: under NoIDs, Each hands over the same records without their visitor
// ids.
func TestEachWithoutIDs(t *testing.T) {
	s := New(NewMemory(), 0)
	var olds, news []*Visitor
	for i := range 50 {
		olds, news = append(olds, nil), append(news, visitor(i+1, []string{"shop"}, int64(10+i%3)))
	}
	if _, err := s.Put(olds, news); err != nil {
		t.Fatal(err)
	}
	var made []string // ID() of the records read without ids
	read := func(in *Interner) (ids, recs []string) {
		err := s.Each("", []Range{{From: 0, To: 100, Flags: FlagActive}}, in, func(vs []*Visitor) error {
			for _, v := range vs {
				ids = append(ids, v.J.VID)
				if v.J.VID == "" {
					made = append(made, v.ID())
				}
				j := v.J
				j.VID = ""
				recs = append(recs, fmt.Sprint(j, v.Sites, v.Steps))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids, recs
	}
	withIDs, want := read(NewInterner())
	noIDs, got := read(NewInterner().NoIDs())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records without ids differ from the records with them")
	}
	for i := range noIDs {
		if noIDs[i] != "" || len(withIDs[i]) != 32 {
			t.Fatalf("record %d: id %q under NoIDs, %q without; want \"\" and 32 hex digits", i, noIDs[i], withIDs[i])
		}
	}
	// A record read without its id still makes it on demand.
	if !reflect.DeepEqual(made, withIDs) {
		t.Errorf("ID() of the records read without ids = %q; want %q", made, withIDs)
	}
	if len(noIDs) != 50 {
		t.Errorf("Each handed over %d records; want 50", len(noIDs))
	}
}

// TestEachRollupKeepsSitesApart: a site whose name begins another's, and every site
// together (""), each read only their own rollups.
func TestEachRollupKeepsSitesApart(t *testing.T) {
	s := New(NewMemory(), 0)
	for i, site := range []string{"", "sh", "shop"} {
		tab := &report.PathTable{}
		tab.Add([]string{"Email"}, 1, float64(i+1), 0)
		for d := int64(1); d <= 3; d++ {
			if err := s.PutRollup(site, d, "k", tab); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, site := range []string{"", "sh", "shop"} {
		var days []int64
		err := s.EachRollup(site, 1, 3, []string{"k"}, func(d int64, _ string, b []byte) error {
			var got report.PathTable
			if err := got.UnmarshalBinary(b); err != nil {
				return err
			}
			if len(got.Rows) != 1 || got.Rows[0].Value != float64(i+1) {
				t.Errorf("site %q, day %d: read %+v; want its own table (value %d)", site, d, got.Rows, i+1)
			}
			days = append(days, d)
			return nil
		})
		if err != nil || !reflect.DeepEqual(days, []int64{1, 2, 3}) {
			t.Errorf("site %q: read days %v, %v; want 1, 2 and 3 in order", site, days, err)
		}
	}
}

// getRollup reads one day's rollup into v: false when none is kept or it does not decode.
func getRollup(s *Store, site string, day int64, what string, v *report.PathTable) (bool, error) {
	found := false
	err := s.EachRollup(site, day, day, []string{what}, func(_ int64, _ string, b []byte) error {
		found = v.UnmarshalBinary(b) == nil
		return nil
	})
	return found, err
}

// TestFirstDiffComparesActiveDays: a change of the days a visitor was active on (the
// overview's rollups read them) is a change from the first such day; a change that leaves
// them as they were (a session that lasts longer on the same day, the oldest step arrival
// dropped on a day a session covers) is none.
func TestFirstDiffComparesActiveDays(t *testing.T) {
	base := func() *Visitor {
		v := visitor(1, nil, 10, 14)
		v.J.Steps = []journey.StepMark{{Step: "landed", At: 10*day + 3600_000}, {Step: "landed", At: 12*day + 5}}
		return v
	}
	cases := []struct {
		name   string
		change func(v *Visitor)
		want   int64
	}{
		{"session longer, same day", func(v *Visitor) { v.J.Touches[0].LastAt += 60_000 }, math.MaxInt64},
		{"session into the next days", func(v *Visitor) { v.J.Touches[0].LastAt = 12*day + 1 }, 11 * day},
		{"oldest step arrival dropped, its day covered by a session", func(v *Visitor) { v.J.Steps = v.J.Steps[1:] }, math.MaxInt64},
		{"the only arrival of day 12 dropped", func(v *Visitor) { v.J.Steps = v.J.Steps[:1] }, 12 * day},
		{"a step arrival backdated", func(v *Visitor) {
			v.J.Steps = append([]journey.StepMark{{Step: "landed", At: 3*day + 7}}, v.J.Steps...)
		}, 3 * day},
		{"a step arrival today", func(v *Visitor) { v.J.Steps = append(v.J.Steps, journey.StepMark{Step: "landed", At: 20*day + 9}) }, 20 * day},
	}
	for _, c := range cases {
		a, b := base(), base()
		c.change(b)
		if got := FirstDiff(a, b); got != c.want {
			t.Errorf("%s: FirstDiff = %d; want %d", c.name, got, c.want)
		}
		if got := FirstDiff(b, a); got != c.want {
			t.Errorf("%s, the other way: FirstDiff = %d; want %d", c.name, got, c.want)
		}
	}
}
