package journey

import (
	"fmt"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
)

// laptopAndPhone returns the states of one user on two cookies: a laptop (sessions at 0 and
// 120 minutes) and a phone (sessions at 60 and 200 minutes, the latest).
func laptopAndPhone() (laptop, phone *State) {
	opt := Options{DefaultConversion: true}
	laptop = &State{}
	applyAll(laptop, opt,
		from(pageview(at(0), "/"), organic),
		pageview(at(1), "/pricing"),
		custom(at(2), "signup"),
		identify(at(2), "u1", prop("plan", event.StringValue("pro"))),
		from(pageview(at(120), "/"), paid),
		prompt(at(121), "nps", event.ActionShown),
	)
	laptop.ReachStep("visit", at(0))
	laptop.ReachStep("signup", at(2))
	laptop.SetAssignment("hero", "a", at(0))
	laptop.Stage = "lead"

	mobile := event.Device{Type: event.DeviceMobile, OS: "iOS", Browser: "Safari"}
	phone = &State{}
	for _, h := range []*event.Hit{
		from(pageview(at(60), "/"), email),
		pageview(at(61), "/blog"),
		pageview(at(200), "/"),
		prompt(at(201), "nps", event.ActionShown),
		prompt(at(201), "chat", event.ActionDismissed),
		custom(at(202), "purchase", prop("value", event.NumberValue(30))),
		identify(at(202), "u1", prop("plan", event.StringValue("free")), prop("company", event.StringValue("acme"))),
	} {
		h.VID, h.Device = "v-2", mobile
		Apply(phone, h, opt)
	}
	phone.ReachStep("visit", at(60))
	phone.ReachStep("purchase", at(202))
	phone.SetAssignment("hero", "b", at(60))
	phone.SetAssignment("pricing", "x", at(61))
	phone.Stage = "customer"
	return laptop, phone
}

func TestMerge(t *testing.T) {
	dst, src := laptopAndPhone()
	Merge(dst, src)

	check := func(name string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("after Merge: %s = %v; want %v", name, got, want)
		}
	}
	var starts []int64
	for _, tp := range dst.Touchpoints {
		starts = append(starts, tp.StartedAt)
	}
	check("VID, UserID, Stage", []string{dst.VID, dst.UserID, dst.Stage}, []string{"v-1", "u1", "lead"})
	check("FirstSeen, LastSeen", []int64{dst.FirstSeen, dst.LastSeen}, []int64{at(0), at(202)})
	check("Device.OS", dst.Device.OS, "iOS")
	check("Sessions", dst.Sessions, 4)
	check("Touchpoints start times", starts, []int64{at(0), at(60), at(120), at(200)})
	check("Pageviews", dst.Pageviews, 6)
	check(`Path("/")`, dst.Path("/"), Count{Key: "/", N: 4, FirstAt: at(0), LastAt: at(200)})
	check(`Path("/blog")`, dst.Path("/blog"), Count{Key: "/blog", N: 1, FirstAt: at(61), LastAt: at(61)})
	check(`Event("purchase")`, dst.Event("purchase").N, 1)
	check(`Step("visit")`, dst.Step("visit"), Count{Key: "visit", N: 2, FirstAt: at(0), LastAt: at(60)})
	check("StepHistory", dst.StepHistory, []StepMark{{"visit", at(0)}, {"signup", at(2)}, {"visit", at(60)}, {"purchase", at(202)}})
	check("Conversions, Value", []float64{float64(dst.Conversions), dst.Value}, []float64{1, 30})
	check("ConversionList", dst.ConversionList, []Conversion{{"purchase", at(202), 30}})
	check(`Assignment("hero")`, dst.Assignment("hero").Variant, "a")
	check(`Assignment("pricing")`, dst.Assignment("pricing").Variant, "x")
	check("Traits", dst.Traits, event.Props{prop("plan", event.StringValue("pro")), prop("company", event.StringValue("acme"))})
	// nps was shown in the phone's session, which is the current one after the merge.
	check(`Prompt("nps")`, *dst.Prompt("nps"), PromptStat{ID: "nps", Shown: 2, LastShown: at(201), LastSession: 4})
	check(`Prompt("chat")`, *dst.Prompt("chat"), PromptStat{ID: "chat", Dismissed: 1})
	check("PromptLast, PromptSession", []int64{dst.PromptLast, int64(dst.PromptSession)}, []int64{at(201), 1})

	src.Touchpoints[0].ClickIDs = append(src.Touchpoints[0].ClickIDs, event.ClickID{Name: "x"})
	src.Segments = append(src.Segments, "x")
	for _, tp := range dst.Touchpoints {
		for _, id := range tp.ClickIDs {
			if id.Name == "x" {
				t.Errorf("dst shares click ids with src after Merge")
			}
		}
	}
}

func TestMergeCurrentSessionFromDst(t *testing.T) {
	// Fold the laptop into the phone: the phone (dst) owns the current session, so its prompt
	// numbering and budget stay.
	laptop, phone := laptopAndPhone()
	Merge(phone, laptop)
	if got, want := *phone.Prompt("nps"), (PromptStat{ID: "nps", Shown: 2, LastShown: at(201), LastSession: 4}); got != want {
		t.Errorf(`Prompt("nps") = %+v; want %+v`, got, want)
	}
	if phone.PromptSession != 1 || phone.Device.OS != "iOS" || phone.Stage != "customer" {
		t.Errorf("PromptSession, Device.OS, Stage = %d, %q, %q; want 1, iOS, customer",
			phone.PromptSession, phone.Device.OS, phone.Stage)
	}
	if got := phone.Assignment("hero").Variant; got != "b" {
		t.Errorf(`Assignment("hero").Variant = %q; want "b" (dst wins)`, got)
	}
}

func TestMergeEdges(t *testing.T) {
	laptop, _ := laptopAndPhone()
	want := string(laptop.AppendBinary(nil))

	Merge(laptop, &State{})
	if got := string(laptop.AppendBinary(nil)); got != want {
		t.Errorf("Merge(s, empty) changed s")
	}
	Merge(laptop, laptop)
	Merge(laptop, nil)
	Merge(nil, laptop)
	if got := string(laptop.AppendBinary(nil)); got != want {
		t.Errorf("Merge(s, s) or with nil changed s")
	}

	empty := &State{}
	Merge(empty, laptop)
	if got := string(empty.AppendBinary(nil)); got != want {
		t.Errorf("Merge(empty, s) = %x; want s %x", got, want)
	}
}

func TestMergeBounds(t *testing.T) {
	dst, src := &State{}, &State{}
	for i := range MaxPaths {
		Apply(dst, pageview(at(i), fmt.Sprintf("/d%d", i)), Options{})
	}
	for i := range 5 {
		Apply(src, pageview(at(i), fmt.Sprintf("/s%d", i)), Options{})
		Apply(src, pageview(at(i), "/d0"), Options{})
	}
	for i := range MaxTouchpoints {
		Apply(src, pageview(at(1000+i*60), "/d1"), Options{})
	}
	Merge(dst, src)
	if got := dst.Path(OtherPath).N; got != 5 {
		t.Errorf("Path(OtherPath).N = %d; want 5", got)
	}
	if got := dst.Path("/d0").N; got != 6 {
		t.Errorf(`Path("/d0").N = %d; want 6`, got)
	}
	var sum uint32
	for _, c := range dst.Paths {
		sum += c.N
	}
	if sum != dst.Pageviews {
		t.Errorf("sum of Paths = %d; want Pageviews %d", sum, dst.Pageviews)
	}
	if len(dst.Touchpoints) != MaxTouchpoints || dst.Touchpoints[0].StartedAt != at(1000) {
		t.Errorf("len(Touchpoints), oldest = %d, %d; want %d, %d", len(dst.Touchpoints),
			dst.Touchpoints[0].StartedAt, MaxTouchpoints, at(1000))
	}
}
