package journey

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/pathlight/pathlight/internal/event"
)

// randomState returns a State with every field set from r: lengths up to the bounds, times
// anywhere in int64 or close together, strings of arbitrary bytes. Empty lists are nil, as
// Decode leaves them in a new State.
func randomState(r *rand.Rand) *State {
	str := func() string {
		b := make([]byte, r.IntN(12))
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = byte(r.Uint32())
			} else {
				b[i] = byte('a' + r.IntN(26))
			}
		}
		return string(b)
	}
	pick := func(choices ...string) string { return choices[r.IntN(len(choices))] }
	base := r.Int64N(2e12)
	tm := func() int64 {
		switch r.IntN(8) {
		case 0:
			return 0
		case 1:
			return int64(r.Uint64())
		}
		return base + r.Int64N(1e9)
	}
	n := func(max int) int {
		if r.IntN(4) == 0 {
			return 0
		}
		if r.IntN(8) == 0 {
			return max
		}
		return r.IntN(min(max, 8) + 1)
	}
	count := func() uint32 {
		if r.IntN(8) == 0 {
			return r.Uint32()
		}
		return uint32(r.IntN(20))
	}
	float := func() float64 {
		switch r.IntN(4) {
		case 0:
			return 0
		case 1:
			return math.Round(r.NormFloat64()*1e4) / 100
		}
		return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
	}
	counts := func(max int) []Count {
		var cs []Count
		for range n(max) {
			cs = append(cs, Count{Key: str(), N: count(), FirstAt: tm(), LastAt: tm()})
		}
		return cs
	}
	value := func() event.Value {
		switch r.IntN(4) {
		case 0:
			return event.Value{}
		case 1:
			return event.StringValue(str())
		case 2:
			return event.NumberValue(float())
		}
		return event.BoolValue(r.IntN(2) == 0)
	}

	s := &State{
		VID: str(), UserID: str(), FirstSeen: base, LastSeen: tm(),
		Sessions:  count(),
		Pageviews: count(),
		Paths:     counts(MaxPaths + 1),
		Events:    counts(MaxEvents + 1),
		Device: event.Device{Type: event.DeviceType(r.IntN(256)), OS: pick("", "iOS", str()),
			Browser: str(), Bot: r.IntN(2) == 0},
		Geo:           event.Geo{Country: str(), Region: str(), City: str(), TimeZone: str()},
		Stage:         str(),
		Steps:         counts(MaxSteps),
		Conversions:   count(),
		Value:         float(),
		PromptLast:    tm(),
		PromptSession: count(),
		SpillUntil:    tm() / 1000,
	}
	for range n(MaxTouchpoints) {
		tp := Touchpoint{StartedAt: tm(), LastAt: tm(), Channel: pick("", "Direct", str()),
			Source: pick("", "google", str()), Medium: pick("", "cpc", str()), Campaign: str(),
			Term: str(), Content: str(), LandingPage: pick("/", str()), RefHost: str(),
			Pageviews: count(), EngagedMS: tm()}
		for range n(MaxClickIDs) {
			tp.ClickIDs = append(tp.ClickIDs, event.ClickID{Name: str(), Value: str()})
		}
		s.Touchpoints = append(s.Touchpoints, tp)
	}
	for range n(MaxTraits) {
		s.Traits = append(s.Traits, event.Prop{Key: str(), Val: value()})
	}
	for range n(MaxStepHistory) {
		step := str()
		if len(s.Steps) > 0 && r.IntN(4) > 0 {
			step = s.Steps[r.IntN(len(s.Steps))].Key
		}
		s.StepHistory = append(s.StepHistory, StepMark{Step: step, At: tm()})
	}
	for range n(5) {
		s.Segments = append(s.Segments, str())
	}
	for range n(MaxConversions) {
		s.ConversionList = append(s.ConversionList, Conversion{Step: pick("purchase", str()), At: tm(), Value: float()})
	}
	for range n(MaxExperiments) {
		s.Experiments = append(s.Experiments, Assignment{Experiment: str(), Variant: str(), At: tm(), Exposed: r.IntN(2) == 0})
	}
	for range n(MaxPrompts) {
		s.Prompts = append(s.Prompts, PromptStat{ID: str(), Shown: count(), Dismissed: count(),
			Answered: count(), LastShown: tm(), LastSession: count()})
	}
	for range n(MaxRecent) {
		s.Recent = append(s.Recent, RecentID{Hash: r.Uint64() & recentHashMask, At: tm() / 1000})
	}
	for range n(MaxLogged) {
		s.Logged = append(s.Logged, LogRef{TS: tm(), Seq: r.Uint64()})
	}
	return s
}

func TestCodecRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	reused := &State{}
	for i := range 500 {
		s := randomState(r)
		data := s.AppendBinary(nil)
		got := &State{}
		if err := Decode(data, got); err != nil {
			t.Fatalf("state %d: Decode(AppendBinary(s)) = %v; want nil", i, err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("state %d: Decode(AppendBinary(s)) = %+v; want %+v", i, got, s)
		}
		// A pooled State that held another visitor decodes to the same encoding.
		if err := Decode(data, reused); err != nil {
			t.Fatalf("state %d: Decode into a reused State = %v; want nil", i, err)
		}
		if again := reused.AppendBinary(nil); !bytes.Equal(again, data) {
			t.Fatalf("state %d: Decode into a reused State re-encodes as %x; want %x", i, again, data)
		}
	}
}

func TestCodecTypicalSize(t *testing.T) {
	s := typicalState()
	data := s.AppendBinary(nil)
	js := s.AppendJSON(nil)
	t.Logf("typical visitor: %d bytes binary, %d bytes JSON", len(data), len(js))
	if len(data) >= 1024 {
		t.Errorf("len(AppendBinary(typical visitor)) = %d; want under 1024", len(data))
	}
	got := &State{}
	if err := Decode(data, got); err != nil {
		t.Fatalf("Decode(typical visitor) = %v; want nil", err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("Decode(typical visitor) = %+v; want %+v", got, s)
	}
}

// TestCodecTruncated checks that every proper prefix of a record is an error, not a panic or
// a silently shorter State.
func TestCodecTruncated(t *testing.T) {
	data := typicalState().AppendBinary(nil)
	s := &State{}
	for i := range len(data) {
		if err := Decode(data[:i], s); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Decode(first %d of %d bytes) = %v; want ErrCorrupt", i, len(data), err)
		}
		if s.VID != "" || len(s.Touchpoints) != 0 {
			t.Fatalf("Decode(first %d bytes) failed but left data in the State", i)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := typicalState().AppendBinary(nil)
	huge := []byte{Version, 0xff, 0xff, 0xff, 0xff, 0x0f} // a 4 GiB VID
	tooMany := (&State{}).AppendBinary(nil)
	tooMany = append(tooMany[:1:1], 0, 0, 0, 0, 0, 0xe9, 0x07) // 1001 touchpoints
	// mutate encodes s, finds marker in the record and replaces the n bytes at offset off from
	// the marker's start with repl.
	mutate := func(s *State, marker string, off, n int, repl ...byte) []byte {
		data := s.AppendBinary(nil)
		i := bytes.Index(data, []byte(marker)) + off
		return append(append(bytes.Clone(data[:i]), repl...), data[i+n:]...)
	}
	withTrait := &State{Traits: event.Props{{Key: "KEYX", Val: event.BoolValue(true)}}}
	withMark := &State{Steps: []Count{{Key: "STEPX"}}, StepHistory: []StepMark{{Step: "STEPX"}}}
	withVID := &State{VID: "VIDX"}
	tests := []struct {
		name string
		data []byte
		want error
		msg  string // the failure's context in the message
	}{
		{"invalid boolean", mutate(withTrait, "KEYX", 5, 1, 2), ErrCorrupt, "invalid boolean at offset 25"},
		{"unknown trait kind", mutate(withTrait, "KEYX", 4, 1, 9), ErrCorrupt, "trait kind 9"},
		{"step index out of range", mutate(withMark, "STEPX", 9, 1, 2), ErrCorrupt, "step index 2 of 1"},
		{"count over 32 bits", mutate(withVID, "VIDX", 7, 1, 0x80, 0x80, 0x80, 0x80, 0x10), ErrCorrupt, "count 4294967296 out of range"},
		{"empty", nil, ErrCorrupt, "empty record"},
		{"unknown version", append([]byte{Version + 1}, valid[1:]...), ErrVersion, "version 3"},
		{"version 0", []byte{0}, ErrVersion, "version 0"},
		{"trailing bytes", append(bytes.Clone(valid), 0), ErrCorrupt, "1 bytes after the record"},
		{"huge string length", huge, ErrCorrupt, "string of 4294967295 bytes with 0 left"},
		{"more touchpoints than the bound", tooMany, ErrCorrupt, "1001 touchpoints, more than 100"},
		{"bad varint", []byte{Version, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, ErrCorrupt, "invalid varint at offset 1"},
	}
	for _, tt := range tests {
		err := Decode(tt.data, &State{})
		if !errors.Is(err, tt.want) {
			t.Errorf("Decode(%s) = %v; want %v", tt.name, err, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Decode(%s) = %q; want a message with %q", tt.name, err, tt.msg)
		}
	}
}

// TestDecodeVersion1 checks that a record written before the recent event ids were kept
// still decodes, with none.
func TestDecodeVersion1(t *testing.T) {
	s := typicalState()
	s.Recent, s.SpillUntil, s.Logged = nil, s.FirstSeen/1000, nil
	v2 := s.AppendBinary(nil)
	// Version 2 appended SpillUntil (0 from FirstSeen: one byte) and two empty lists (one
	// byte each).
	v1 := append([]byte{1}, v2[1:len(v2)-3]...)
	got := &State{Recent: []RecentID{{Hash: 1, At: 2}}, SpillUntil: 7}
	if err := Decode(v1, got); err != nil {
		t.Fatalf("Decode(version 1 record) = %v; want nil", err)
	}
	s.SpillUntil = 0
	if len(got.Recent) != 0 || got.SpillUntil != 0 {
		t.Errorf("Decode(version 1 record): Recent %v, SpillUntil %d; want none and 0", got.Recent, got.SpillUntil)
	}
	got.Recent = nil
	if !reflect.DeepEqual(got, s) {
		t.Errorf("Decode(version 1 record) = %+v; want %+v", got, s)
	}
}

// TestDecodeReusesStrings checks the pooled path: decoding a visitor into the State it came
// from keeps the very same strings, and so do the list entries of a State that was Reset.
func TestDecodeReusesStrings(t *testing.T) {
	data := typicalState().AppendBinary(nil)
	pooled := &State{}
	if err := Decode(data, pooled); err != nil {
		t.Fatal(err)
	}
	vid, landing := pooled.VID, pooled.Touchpoints[2].LandingPage
	if err := Decode(data, pooled); err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(pooled.VID) != unsafe.StringData(vid) {
		t.Errorf("Decode into the same State made a new VID string; want the old one reused")
	}
	pooled.Reset()
	if err := Decode(data, pooled); err != nil {
		t.Fatal(err)
	}
	if unsafe.StringData(pooled.Touchpoints[2].LandingPage) != unsafe.StringData(landing) {
		t.Errorf("Decode into a reset State made a new landing page string; want the old one reused")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(typicalState().AppendBinary(nil))
	f.Add((&State{}).AppendBinary(nil))
	laptop, phone := laptopAndPhone()
	f.Add(laptop.AppendBinary(nil))
	f.Add(phone.AppendBinary(nil))
	r := rand.New(rand.NewPCG(3, 4))
	for range 4 {
		f.Add(randomState(r).AppendBinary(nil))
	}
	f.Add([]byte{Version, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &State{}
		if err := Decode(data, s); err != nil {
			return
		}
		enc := s.AppendBinary(nil)
		if !json.Valid(s.AppendJSON(nil)) {
			t.Fatalf("AppendJSON of a decoded State is not valid JSON")
		}
		s2 := &State{}
		if err := Decode(enc, s2); err != nil {
			t.Fatalf("Decode(AppendBinary(Decode(data))) = %v; want nil", err)
		}
		if enc2 := s2.AppendBinary(nil); !bytes.Equal(enc, enc2) {
			t.Fatalf("re-encoding differs:\n%x\n%x", enc, enc2)
		}
		// Decoding into the populated State (the pooled path) gives the same result.
		if err := Decode(enc, s); err != nil {
			t.Fatalf("Decode into a reused State = %v; want nil", err)
		}
		if enc3 := s.AppendBinary(nil); !bytes.Equal(enc, enc3) {
			t.Fatalf("re-encoding after a reused Decode differs:\n%x\n%x", enc, enc3)
		}
	})
}
