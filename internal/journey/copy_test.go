package journey

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/pathlight/pathlight/internal/event"
)

// canon returns a deep copy of v with every empty slice nil, so that reflect.DeepEqual
// compares what a State holds, not whether a list was ever allocated.
func canon(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Slice:
		if v.Len() == 0 {
			return reflect.Zero(v.Type())
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(canon(v.Index(i)))
		}
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			out.Field(i).Set(canon(v.Field(i)))
		}
		return out
	}
	return v
}

func sameState(a, b *State) bool {
	return reflect.DeepEqual(canon(reflect.ValueOf(*a)).Interface(), canon(reflect.ValueOf(*b)).Interface())
}

// strs calls fn with every string of v (a State, or anything inside one).
func strs(v reflect.Value, fn func(string)) {
	switch v.Kind() {
	case reflect.String:
		fn(v.String())
	case reflect.Slice:
		for i := range v.Len() {
			strs(v.Index(i), fn)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			strs(v.Field(i), fn)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			strs(v.Elem(), fn)
		}
	}
}

func TestCopy(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pooled := &State{}
	for i := range 300 {
		src := randomState(r)
		want := src.AppendBinary(nil)
		Copy(pooled, src)
		if !sameState(pooled, src) {
			t.Fatalf("state %d: Copy = %+v; want %+v", i, pooled, src)
		}
		// Changing the copy in every way a hit can leaves the source as it was: a new
		// session past MaxTouchpoints recycles the oldest one's click-id buffer.
		for j := range MaxTouchpoints + 1 {
			h := from(pageview(src.LastSeen+int64(j+1)*(SessionTimeout+1), "/new"), paid)
			Apply(pooled, h, Options{})
		}
		for k := range pooled.Touchpoints {
			if ids := pooled.Touchpoints[k].ClickIDs; len(ids) > 0 {
				ids[0].Value = "changed"
			}
		}
		pooled.Paths = append(pooled.Paths[:0], Count{Key: "/x"})
		pooled.Recent = append(pooled.Recent[:0], RecentID{Hash: 1})
		if got := src.AppendBinary(nil); !bytes.Equal(got, want) {
			t.Fatalf("state %d: the source changed with its copy", i)
		}
	}
}

// TestApplyKeepsDecodedForm applies long random sequences of hits and rule updates and checks
// after each (every tenth, past the first 300) that the State equals the decoding of its own record: what the tracker's
// state cache relies on to keep States decoded instead of their records.
func TestApplyKeepsDecodedForm(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	srcs := []event.Source{direct, organic, paid, email, referral}
	for round := range 4 {
		s := &State{}
		opt := Options{DefaultConversion: round%2 == 0, OwnStrings: round >= 2}
		ms := t0
		for i := range 3000 {
			ms += r.Int64N(3 * SessionTimeout / 2)
			var h *event.Hit
			switch r.IntN(10) {
			case 0, 1, 2, 3:
				h = from(pageview(ms, fmt.Sprintf("/p%d", r.IntN(MaxPaths+50))), srcs[r.IntN(len(srcs))])
			case 4:
				h = custom(ms, fmt.Sprintf("e%d", r.IntN(MaxEvents+20)), prop("value", event.NumberValue(float64(r.IntN(100)))))
			case 5:
				h = custom(ms, DefaultConversionEvent, prop("value", event.NumberValue(12.5)))
			case 6:
				h = identify(ms, fmt.Sprintf("u%d", r.IntN(3)), prop(fmt.Sprintf("t%d", r.IntN(MaxTraits+5)), event.StringValue("v")),
					prop("n", event.NumberValue(1)), prop("b", event.BoolValue(true)), prop("gone", event.Value{}))
			case 7:
				h = prompt(ms, fmt.Sprintf("q%d", r.IntN(MaxPrompts+5)), []string{event.ActionShown, event.ActionDismissed, event.ActionAnswered}[r.IntN(3)])
			case 8:
				h = engagement(ms, r.Int64N(60_000))
			default:
				h = pageview(ms-r.Int64N(2*SessionTimeout), "/late") // a retried beacon
			}
			Apply(s, h, opt)
			switch r.IntN(4) {
			case 0:
				s.ReachStep(fmt.Sprintf("step%d", r.IntN(MaxSteps+10)), ms)
			case 1:
				s.AddConversion("step1", ms, 3)
			case 2:
				s.SetAssignment(fmt.Sprintf("x%d", r.IntN(MaxExperiments+5)), "b", ms).Exposed = r.IntN(2) == 0
			}
			s.AddRecent(r.Uint64(), ms/1000)
			s.TrimRecent(ms/1000, 48*3600, nil)
			s.Logged = append(s.Logged, LogRef{TS: ms, Seq: uint64(i)})
			if len(s.Logged) >= MaxLogged {
				s.Logged = s.Logged[:0]
			}
			s.Stage = []string{"", "lead", "customer"}[r.IntN(3)]
			s.Segments = append(s.Segments[:0], []string{"a", "b", "c"}[:r.IntN(4)]...)
			if i > 300 && i%10 != 0 {
				continue // every hit at first, then every tenth: reflect is slow
			}
			var got State
			if err := Decode(s.AppendBinary(nil), &got); err != nil {
				t.Fatalf("round %d hit %d: Decode = %v", round, i, err)
			}
			if !sameState(&got, s) {
				t.Fatalf("round %d hit %d: the State differs from its decoded record:\n got %+v\nwant %+v", round, i, &got, s)
			}
		}
	}
}

// TestApplyOwnStrings checks that with OwnStrings no string of the State points into the
// request's text, whatever kind of hit added it.
func TestApplyOwnStrings(t *testing.T) {
	text := strings.Repeat("x", 16) + "v-42/landing/other-pagesignup_clickgooglecpcspringtermcontentgclidCj0KCQnews.example.orgu-7plantpro/cart-wayq1"
	at := func(sub string) string { // sub as a part of text, as the wire decoder hands it
		i := strings.Index(text, sub)
		if i < 0 {
			t.Fatalf("%q is not in the request text", sub)
		}
		return text[i : i+len(sub)]
	}
	src := event.Source{Source: at("google"), Medium: at("cpc"), Campaign: at("spring"), Term: at("term"),
		Content: at("content"), Channel: "Paid Search", RefHost: at("news.example.org"),
		ClickIDs: []event.ClickID{{Name: at("gclid"), Value: at("Cj0KCQ")}}}
	hits := []*event.Hit{
		from(pageview(at0(0), at("/landing")), src),
		from(pageview(at0(1), at("/other-page")), src),
		custom(at0(2), at("signup_click")),
		identify(at0(3), at("u-7"), prop(at("plan"), event.StringValue(at("pro")))),
		prompt(at0(4), at("q1"), event.ActionShown),
		from(pageview(at0(60), at("/cart-way")), src), // a new session of the same campaign
	}
	for _, h := range hits {
		h.VID = at("v-42")
	}
	s := &State{}
	applyAll(s, Options{OwnStrings: true}, hits...)
	lo := uintptr(unsafe.Pointer(unsafe.StringData(text)))
	hi := lo + uintptr(len(text))
	n := 0
	strs(reflect.ValueOf(s), func(v string) {
		n++
		if p := uintptr(unsafe.Pointer(unsafe.StringData(v))); v != "" && p >= lo && p < hi {
			t.Errorf("the State keeps %q inside the request's text", v)
		}
	})
	if s.UserID != "u-7" || len(s.Touchpoints) != 2 || s.Touchpoints[1].Source != "google" || len(s.Prompts) != 1 {
		t.Fatalf("Apply recorded %+v", s)
	}
	if unsafe.StringData(s.Touchpoints[1].Source) != unsafe.StringData(s.Touchpoints[0].Source) {
		t.Errorf("the second session copied its source again; want it shared with the first session's")
	}
	// Without the option the strings are the hit's own, as before.
	s = &State{}
	applyAll(s, Options{}, hits...)
	if p := uintptr(unsafe.Pointer(unsafe.StringData(s.Paths[0].Key))); p < lo || p >= hi {
		t.Errorf("without OwnStrings, the path was copied")
	}
}

func at0(minutes int) int64 { return at(minutes) }

func TestClearSpareAndMemSize(t *testing.T) {
	s := typicalState()
	full := s.MemSize()
	paths := len(s.Paths)
	s.Paths = s.Paths[:1]
	s.Touchpoints = s.Touchpoints[:1]
	if got := s.MemSize(); got != full {
		t.Errorf("MemSize after shortening lists = %d; want %d (the arrays are still held)", got, full)
	}
	s.ClearSpare()
	if k := s.Paths[:paths][1].Key; k != "" {
		t.Errorf("ClearSpare left %q past the length of Paths", k)
	}
	if tp := s.Touchpoints[:2][1]; tp.Channel != "" || tp.ClickIDs != nil {
		t.Errorf("ClearSpare left %+v past the length of Touchpoints", tp)
	}
	if got := s.MemSize(); got >= full {
		t.Errorf("MemSize after ClearSpare = %d; want less than %d (click-id buffers dropped)", got, full)
	}
	if got := (&State{}).MemSize(); got != int(unsafe.Sizeof(State{})) {
		t.Errorf("MemSize of an empty State = %d; want %d", got, unsafe.Sizeof(State{}))
	}
}
