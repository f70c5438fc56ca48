package reportstore

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

// randomVisitor returns a visitor with every part of a record filled at random (some parts
// empty) over days 0 … 20.
func randomVisitor(r *rand.Rand, n int) *Visitor {
	pick := func(ss ...string) string { return ss[r.IntN(len(ss))] }
	v := &Visitor{HasState: r.IntN(8) != 0}
	v.J.VID = vid(n)
	for range r.IntN(3) {
		v.Sites = append(v.Sites, pick("shop", "blog", "docs"))
	}
	t := r.Int64N(20 * day)
	for range r.IntN(4) {
		v.J.Touches = append(v.J.Touches, journey.Touchpoint{StartedAt: t, LastAt: t + r.Int64N(2*day),
			Channel: pick("Email", "Direct", ""), Source: pick("google", ""), Medium: pick("cpc", ""), Campaign: pick("spring", "brand", "")})
		t += r.Int64N(3 * day)
	}
	for range r.IntN(5) {
		v.J.Steps = append(v.J.Steps, journey.StepMark{Step: pick("landed", "added_to_cart", "purchased"), At: r.Int64N(20 * day)})
	}
	for range r.IntN(3) {
		v.J.Conversions = append(v.J.Conversions, journey.Conversion{Step: "purchased", At: r.Int64N(20 * day), Value: float64(r.IntN(300))})
	}
	v.J.EarlierConversions = r.IntN(3)
	v.J.Device = event.DeviceType(r.IntN(4))
	v.J.Country = pick("DE", "FR", "")
	for range r.IntN(3) {
		v.J.Segments = append(v.J.Segments, pick("returning", "vip", "new"))
	}
	for range r.IntN(3) {
		v.J.Arms = append(v.J.Arms, journey.Assignment{Experiment: pick("x", "y"), Variant: pick("a", "b"), At: r.Int64N(20 * day), Exposed: r.IntN(2) == 0})
	}
	for range r.IntN(3) {
		v.Steps = append(v.Steps, journey.Count{Key: pick("landed", "purchased"), N: uint32(1 + r.IntN(9)), FirstAt: r.Int64N(10 * day), LastAt: 10*day + r.Int64N(10*day)})
	}
	for i := range r.IntN(3) {
		p := Prompt{Site: pick("shop", "blog"), ID: fmt.Sprintf("%d-%d", n, i), Prompt: pick("nps", "why"), Action: pick("shown", "answered", ActionHoldout),
			Answer: pick("", "9", fmt.Sprint("free text ", n)), At: r.Int64N(20 * day)}
		if r.IntN(2) == 0 {
			p.Segments = []string{}
			for range r.IntN(3) {
				p.Segments = append(p.Segments, pick("returning", "vip"))
			}
		}
		v.Prompts = append(v.Prompts, p)
	}
	return v
}

// onlyParts returns v with the parts not in p zeroed, as a decoder keeping p hands it over.
func onlyParts(v *Visitor, p Parts) Visitor {
	w := *v
	zero := func(part Parts, f func()) {
		if p&part == 0 {
			f()
		}
	}
	zero(PartSites, func() { w.Sites = nil })
	zero(PartTouches, func() { w.J.Touches = nil })
	zero(PartMarks, func() { w.J.Steps = nil })
	zero(PartConversions, func() { w.J.Conversions, w.J.EarlierConversions = nil, 0 })
	zero(PartDevice, func() { w.J.Device = 0 })
	zero(PartCountry, func() { w.J.Country = "" })
	zero(PartSegments, func() { w.J.Segments = nil })
	zero(PartArms, func() { w.J.Arms = nil })
	zero(PartCounts, func() { w.Steps = nil })
	zero(PartPrompts, func() { w.Prompts = nil })
	return w
}

// TestEachDecodesOnlyTheParts fills a store with random visitors, packs half its days,
// writes a third of its records and packs again as records were encoded before their parts
// had lengths, and reads it with each part alone, with random sets of parts and with every
// part: each visitor handed over is the visitor written, with exactly the parts not asked
// for left zero, whether its record is a single key or in a pack, of either encoding.
func TestEachDecodesOnlyTheParts(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s := New(NewMemory(), 0)
	const n = 600
	want := map[string]*Visitor{}
	olds, news := make([]*Visitor, n), make([]*Visitor, n)
	for i := range n {
		news[i] = randomVisitor(r, i)
		want[news[i].J.VID] = news[i]
	}
	if _, err := s.Put(olds, news); err != nil {
		t.Fatal(err)
	}
	for d := int64(0); d < 50; d += 2 {
		if _, _, err := s.Pack(d, d+1); err != nil {
			t.Fatal(err)
		}
	}
	singles, packs := countKeys(t, s.kv.(*Memory))
	if singles == 0 || packs == 0 {
		t.Fatalf("%d single records, %d packs: want both", singles, packs)
	}
	if oldSingles, oldPacks := unsection(t, s.kv.(*Memory), 3); oldSingles == 0 || oldPacks == 0 || oldSingles == singles || oldPacks == packs {
		t.Fatalf("%d of %d single records and %d of %d packs in the older encoding: want some of each, not all", oldSingles, singles, oldPacks, packs)
	}
	sets := []Parts{0, AllParts}
	for p := PartSites; p <= PartPrompts; p <<= 1 {
		sets = append(sets, p, AllParts&^p)
	}
	for range 20 {
		sets = append(sets, Parts(r.IntN(int(AllParts)+1)))
	}
	all := []Range{{From: 0, To: 100, Flags: 0xff}}
	for _, p := range sets {
		seen := 0
		err := s.Each("", all, NewInterner().Only(p), func(vs []*Visitor) error {
			for _, v := range vs {
				seen++
				w := want[v.J.VID]
				if w == nil {
					return fmt.Errorf("visitor %s was never written", v.J.VID)
				}
				got, exp := *v, onlyParts(w, p)
				got.filed, got.filedOK, got.packed, got.id, got.hasID = 0, false, false, [vidBytes]byte{}, false
				if !reflect.DeepEqual(got, exp) {
					t.Errorf("parts %b: visitor %s =\n%+v\nwant\n%+v", p, v.J.VID, got, exp)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if seen == 0 {
			t.Fatalf("parts %b: no visitor handed over", p)
		}
	}
}

// TestOlderPacksArePackedAgain: days packed in records of the older encoding are packed
// again in the new one, and read the same.
func TestOlderPacksArePackedAgain(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	m := NewMemory()
	s := New(m, 0)
	const n = 800
	news := make([]*Visitor, n)
	for i := range news {
		news[i] = randomVisitor(r, i)
	}
	if _, err := s.Put(make([]*Visitor, n), news); err != nil {
		t.Fatal(err)
	}
	for {
		if _, ok, err := s.Pack(0, 50); err != nil {
			t.Fatal(err)
		} else if !ok {
			break
		}
	}
	all := Range{From: 0, To: 100, Flags: 0xff}
	want := dump(t, s, "", all)
	if _, packs := unsection(t, m, 1); packs == 0 {
		t.Fatal("no pack to write in the older encoding")
	}
	days := 0
	for {
		day, ok, err := s.Pack(0, 50)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		if days++; days > 50 {
			t.Fatalf("day %d packed again and again", day)
		}
	}
	if days == 0 {
		t.Fatal("no day packed again")
	}
	for k, v := range m.m {
		if isPackKey([]byte(k)) && unsectioned(v) {
			t.Errorf("pack %x still in the older encoding", k)
		}
	}
	if got := dump(t, s, "", all); !slices.Equal(got, want) {
		t.Errorf("after packing again: %d records, want %d (or they differ)", len(got), len(want))
	}
}

// TestPartsNotReadAreSkippedByTheirLength: a record whose prompt events are damaged inside
// their length decodes without them (the part is stepped over unread) and is refused by a
// reader of the prompt events.
func TestPartsNotReadAreSkippedByTheirLength(t *testing.T) {
	v := visitor(1, []string{"shop"}, 3, 4)
	v.Prompts = []Prompt{{Site: "shop", ID: "p", Prompt: "nps", Action: "answered", Answer: "9", At: 5}}
	rec := appendVisitor(nil, v)
	// The prompt events are the last part: make the length of its site larger than the part.
	i := bytes.LastIndex(rec, []byte("\x04shop\x01p"))
	if i < 0 {
		t.Fatalf("no prompt event in %x", rec)
	}
	rec[i] = 0x7f
	if _, err := decodeVisitor("x", rec, NewInterner().Only(AllParts&^PartPrompts)); err != nil {
		t.Errorf("without the prompt events: %v", err)
	}
	if _, err := decodeVisitor("x", rec, NewInterner()); err == nil {
		t.Error("a damaged part decodes")
	}
}

// TestPartialDecodingRefusesCutRecords: a record cut short, of either encoding, is refused
// whatever parts are decoded, as a whole decoding refuses it.
func TestPartialDecodingRefusesCutRecords(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 50 {
		v := randomVisitor(r, i)
		for _, rec := range [][]byte{appendVisitor(nil, v), appendVisitorUnsectioned(nil, v, nil)} {
			for _, p := range []Parts{0, PartSites, PartPrompts, PartTouches | PartCounts, AllParts} {
				for cut := range len(rec) {
					if _, err := decodeVisitor("x", rec[:cut], NewInterner().Only(p)); err == nil {
						t.Fatalf("version %d, parts %b: a record cut at %d of %d bytes decodes", rec[0], p, cut, len(rec))
					}
				}
			}
		}
	}
}

// BenchmarkEachParts reads a packed store of random visitors whole, and with the parts the
// overview, the funnel and the surveys read: the time of Each, decoding included.
func BenchmarkEachParts(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	s := New(NewMemory(), 0)
	const n = 20000
	news := make([]*Visitor, n)
	for i := range news {
		news[i] = randomVisitor(r, i)
	}
	if _, err := s.Put(make([]*Visitor, n), news); err != nil {
		b.Fatal(err)
	}
	for d := int64(0); d < 50; d++ {
		if _, _, err := s.Pack(d, d+1); err != nil {
			b.Fatal(err)
		}
	}
	all := []Range{{From: 0, To: 100, Flags: 0xff}}
	for _, c := range []struct {
		name  string
		parts Parts
	}{
		{"whole", AllParts},
		{"overview", PartTouches | PartMarks | PartConversions},
		{"funnel", PartMarks},
		{"surveys", PartPrompts | PartSegments | PartCounts},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Each("", all, NewInterner().NoIDs().Only(c.parts), func([]*Visitor) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
