package journey

import (
	"fmt"
	"math"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
)

func TestBoundTouchpoints(t *testing.T) {
	s := &State{}
	const n = MaxTouchpoints + 5
	for i := range n {
		h := pageview(at(i*60), "/")
		if i%2 == 0 {
			h = from(h, paid)
		}
		Apply(s, h, Options{})
	}
	if s.Sessions != n || len(s.Touchpoints) != MaxTouchpoints {
		t.Fatalf("Sessions, len(Touchpoints) = %d, %d; want %d, %d", s.Sessions, len(s.Touchpoints), n, MaxTouchpoints)
	}
	if got, want := s.Touchpoints[0].StartedAt, at(5*60); got != want {
		t.Errorf("oldest kept StartedAt = %d; want %d (session 6)", got, want)
	}
	for i, tp := range s.Touchpoints {
		wantIDs := 0
		if (i+5)%2 == 0 {
			wantIDs = 1
		}
		if len(tp.ClickIDs) != wantIDs {
			t.Fatalf("Touchpoints[%d].ClickIDs = %v; want %d click ids", i, tp.ClickIDs, wantIDs)
		}
	}
	// No two touchpoints may share a click-id buffer after the shifts.
	s.Touchpoints[len(s.Touchpoints)-1].ClickIDs = append(s.Touchpoints[len(s.Touchpoints)-1].ClickIDs[:0], event.ClickID{Name: "x"})
	if s.Touchpoints[len(s.Touchpoints)-3].ClickIDs[0].Name != "gclid" {
		t.Errorf("touchpoints share a click-id buffer")
	}
}

func TestBoundClickIDs(t *testing.T) {
	src := paid
	src.ClickIDs = make([]event.ClickID, MaxClickIDs+3)
	s := &State{}
	Apply(s, from(pageview(at(0), "/"), src), Options{})
	if got := len(s.Session().ClickIDs); got != MaxClickIDs {
		t.Errorf("len(ClickIDs) = %d; want %d", got, MaxClickIDs)
	}
	src.ClickIDs[0].Name = "changed"
	if s.Session().ClickIDs[0].Name == "changed" {
		t.Errorf("touchpoint click ids alias the hit's slice")
	}
}

func TestBoundPathsAndEvents(t *testing.T) {
	s := &State{}
	var overflowed int
	for i := range MaxPaths + 10 {
		if Apply(s, pageview(at(0)+int64(i), fmt.Sprintf("/p%d", i)), Options{}).Overflow {
			overflowed++
		}
	}
	if c := Apply(s, pageview(at(1), "/p0"), Options{}); c.Overflow {
		t.Errorf("Apply(known path after overflow) = %+v; want no Overflow", c)
	}
	for i := range MaxEvents + 3 {
		Apply(s, custom(at(2)+int64(i), fmt.Sprintf("e%d", i)), Options{})
	}
	if overflowed != 10 {
		t.Errorf("Overflow reported %d times; want 10", overflowed)
	}
	if len(s.Paths) != MaxPaths+1 || len(s.Events) != MaxEvents+1 {
		t.Errorf("len(Paths), len(Events) = %d, %d; want %d, %d", len(s.Paths), len(s.Events), MaxPaths+1, MaxEvents+1)
	}
	var sum uint32
	for _, c := range s.Paths {
		sum += c.N
	}
	if sum != s.Pageviews {
		t.Errorf("sum of Paths = %d; want Pageviews %d", sum, s.Pageviews)
	}
	if got := s.Path("/p0").N; got != 2 {
		t.Errorf(`Path("/p0").N = %d; want 2`, got)
	}
	if got := s.Path(OtherPath); got.N != 10 || got.FirstAt != at(0)+MaxPaths || got.LastAt != at(0)+MaxPaths+9 {
		t.Errorf("Path(OtherPath) = %+v; want 10 pageviews from %d to %d", got, at(0)+MaxPaths, at(0)+MaxPaths+9)
	}
	if got := s.Event(OtherEvent).N; got != 3 {
		t.Errorf("Event(OtherEvent).N = %d; want 3", got)
	}
}

func TestInsertByTime(t *testing.T) {
	tests := []struct {
		list []int64
		v    int64
		max  int
		want []int64
	}{
		{nil, 5, 3, []int64{5}},
		{[]int64{1, 2}, 3, 3, []int64{1, 2, 3}},
		{[]int64{1, 3}, 2, 3, []int64{1, 2, 3}},
		{[]int64{1, 3}, 3, 3, []int64{1, 3, 3}},
		{[]int64{2, 3}, 1, 3, []int64{1, 2, 3}},
		{[]int64{1, 2, 3}, 4, 3, []int64{2, 3, 4}},
		{[]int64{1, 3, 5}, 2, 3, []int64{2, 3, 5}},
		{[]int64{1, 3, 5}, 0, 3, []int64{1, 3, 5}}, // older than a full list: dropped
		{[]int64{1, 2, 3, 4}, 5, 3, []int64{3, 4, 5}},
		{[]int64{1}, 2, 0, []int64{1}},
	}
	for _, tt := range tests {
		marks := make([]StepMark, len(tt.list))
		for i, v := range tt.list {
			marks[i] = StepMark{At: v}
		}
		got := insertByTime(marks, StepMark{At: tt.v}, tt.max, markAt)
		ats := make([]int64, len(got))
		for i, m := range got {
			ats[i] = m.At
		}
		if fmt.Sprint(ats) != fmt.Sprint(tt.want) {
			t.Errorf("insertByTime(%v, %d, max %d) = %v; want %v", tt.list, tt.v, tt.max, ats, tt.want)
		}
	}
}

func TestReachStep(t *testing.T) {
	s := &State{}
	s.ReachStep("visit", at(1))
	s.ReachStep("signup", at(3))
	s.ReachStep("visit", at(2)) // late mark: history stays in time order
	s.ReachStep("", at(4))
	if got, want := s.Step("visit"), (Count{Key: "visit", N: 2, FirstAt: at(1), LastAt: at(2)}); got != want {
		t.Errorf(`Step("visit") = %+v; want %+v`, got, want)
	}
	want := []StepMark{{"visit", at(1)}, {"visit", at(2)}, {"signup", at(3)}}
	if fmt.Sprint(s.StepHistory) != fmt.Sprint(want) {
		t.Errorf("StepHistory = %v; want %v", s.StepHistory, want)
	}

	for i := range MaxStepHistory + 7 {
		s.ReachStep(fmt.Sprintf("s%d", i%MaxSteps), at(10+i))
	}
	if len(s.StepHistory) != MaxStepHistory || s.StepHistory[0].At != at(17) {
		t.Errorf("len(StepHistory), first At = %d, %d; want %d, %d", len(s.StepHistory), s.StepHistory[0].At, MaxStepHistory, at(17))
	}
	if len(s.Steps) != MaxSteps {
		t.Errorf("len(Steps) = %d; want %d", len(s.Steps), MaxSteps)
	}
	// Steps was full: "visit" and "signup", reached longest ago, made room for s198 and s199.
	if s.Step("visit").N != 0 || s.Step("signup").N != 0 || s.Step("s199").N != 1 {
		t.Errorf(`Step("visit"), Step("signup"), Step("s199") = %+v, %+v, %+v; want the old ones evicted`,
			s.Step("visit"), s.Step("signup"), s.Step("s199"))
	}
}

func TestAddConversion(t *testing.T) {
	s := &State{}
	for i := range MaxConversions + 4 {
		s.AddConversion("purchase", at(i), 10)
	}
	s.AddConversion("refund", at(200), -5)
	s.AddConversion("broken", at(201), nan())
	if s.Conversions != MaxConversions+6 || s.Value != float64(MaxConversions+4)*10-5 {
		t.Errorf("Conversions, Value = %d, %v; want %d, %v", s.Conversions, s.Value, MaxConversions+6, float64(MaxConversions+4)*10-5)
	}
	if len(s.ConversionList) != MaxConversions {
		t.Fatalf("len(ConversionList) = %d; want %d", len(s.ConversionList), MaxConversions)
	}
	if last := s.ConversionList[MaxConversions-1]; last != (Conversion{Step: "broken", At: at(201)}) {
		t.Errorf("last conversion = %+v; want broken at %d worth 0", last, at(201))
	}
	if first := s.ConversionList[0]; first.At != at(6) {
		t.Errorf("first kept conversion At = %d; want %d", first.At, at(6))
	}
}

func TestSetAssignment(t *testing.T) {
	s := &State{}
	a := s.SetAssignment("hero", "b", at(1))
	a.Exposed = true
	if got := s.SetAssignment("hero", "b", at(2)); *got != (Assignment{"hero", "b", at(1), true}) {
		t.Errorf(`SetAssignment("hero", "b") again = %+v; want it unchanged`, *got)
	}
	if got := s.SetAssignment("hero", "c", at(3)); *got != (Assignment{"hero", "c", at(3), false}) {
		t.Errorf(`SetAssignment("hero", "c") = %+v; want the new variant, not exposed`, *got)
	}
	for i := range MaxExperiments {
		s.SetAssignment(fmt.Sprintf("x%d", i), "a", at(10+i))
	}
	if len(s.Experiments) != MaxExperiments || s.Assignment("hero") != nil || s.Assignment("x99") == nil {
		t.Errorf("after %d more experiments: len %d, hero %v; want the oldest, hero, evicted",
			MaxExperiments, len(s.Experiments), s.Assignment("hero"))
	}
}

func TestBoundPrompts(t *testing.T) {
	s := &State{}
	Apply(s, pageview(at(0), "/"), Options{})
	for i := range MaxPrompts + 1 {
		Apply(s, prompt(at(1)+int64(i), fmt.Sprintf("p%d", i), event.ActionShown), Options{})
	}
	if len(s.Prompts) != MaxPrompts || s.Prompt("p0") != nil || s.Prompt("p100") == nil {
		t.Errorf("len(Prompts) = %d, p0 kept %v; want %d with p0, shown longest ago, evicted",
			len(s.Prompts), s.Prompt("p0") != nil, MaxPrompts)
	}
}

func TestSaturation(t *testing.T) {
	if got := inc(math.MaxUint32); got != math.MaxUint32 {
		t.Errorf("inc(MaxUint32) = %d; want MaxUint32", got)
	}
	if got := satAdd32(math.MaxUint32-1, 5); got != math.MaxUint32 {
		t.Errorf("satAdd32(MaxUint32-1, 5) = %d; want MaxUint32", got)
	}
	if got := satAdd32(2, 3); got != 5 {
		t.Errorf("satAdd32(2, 3) = %d; want 5", got)
	}
	if got := satAdd64(math.MaxInt64-1, 5); got != math.MaxInt64 {
		t.Errorf("satAdd64(MaxInt64-1, 5) = %d; want MaxInt64", got)
	}
	s := &State{Paths: []Count{{Key: "/", N: math.MaxUint32, FirstAt: 1, LastAt: 2}}}
	Apply(s, pageview(3, "/"), Options{})
	if got := s.Path("/"); got.N != math.MaxUint32 || got.LastAt != 3 {
		t.Errorf(`Path("/") after a pageview at the limit = %+v; want N MaxUint32, LastAt 3`, got)
	}
}
