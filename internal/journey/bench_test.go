package journey

import (
	"testing"

	"github.com/pathlight/pathlight/internal/event"
)

// BenchmarkApplyPageview applies pageviews of a known path to a visitor with a few sessions:
// the common hit.
func BenchmarkApplyPageview(b *testing.B) {
	s := typicalState()
	h := pageview(s.LastSeen, "/pricing")
	b.ReportAllocs()
	for b.Loop() {
		h.Time++
		Apply(s, h, Options{DefaultConversion: true})
	}
}

// BenchmarkApply covers the other hit types on the typical visitor.
func BenchmarkApply(b *testing.B) {
	for _, bc := range []struct {
		name string
		hit  *event.Hit
	}{
		{"event", custom(0, "cta_click")},
		{"engagement", engagement(0, 1200)},
		{"prompt", prompt(0, "nps", event.ActionDismissed)},
		{"identify", identify(0, "u-12345", prop("plan", event.StringValue("team")))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := typicalState()
			bc.hit.Time = s.LastSeen
			b.ReportAllocs()
			for b.Loop() {
				bc.hit.Time++
				Apply(s, bc.hit, Options{})
			}
		})
	}
}

func BenchmarkAppendBinary(b *testing.B) {
	s := typicalState()
	buf := s.AppendBinary(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = s.AppendBinary(buf[:0])
	}
}

// BenchmarkDecode decodes into a pooled State: the same visitor (the store reads a visitor,
// applies a hit and writes it back), and other visitors of a similar shape.
func BenchmarkDecode(b *testing.B) {
	typical := typicalState()
	data := typical.AppendBinary(nil)
	b.Run("same", func(b *testing.B) {
		s := &State{}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if err := Decode(data, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("other", func(b *testing.B) {
		other := typicalState()
		other.VID = "8b1f0e2d-6c4a-4e59-a3b7-0d9c8e7f6a5b"
		other.Paths[3].Key = "/blog/another-post"
		records := [][]byte{data, other.AppendBinary(nil)}
		s := &State{}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := Decode(records[i&1], s); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkCopy copies the typical visitor into a pooled State, as the tracker takes a
// journey out of its state cache; BenchmarkDecode/other is what a hit paid before.
func BenchmarkCopy(b *testing.B) {
	s := typicalState()
	pooled := &State{}
	b.ReportAllocs()
	for b.Loop() {
		Copy(pooled, s)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	s := typicalState()
	buf := s.AppendJSON(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = s.AppendJSON(buf[:0])
	}
}

func BenchmarkMerge(b *testing.B) {
	laptop, phone := laptopAndPhone()
	data := laptop.AppendBinary(nil)
	dst := &State{}
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(data, dst); err != nil {
			b.Fatal(err)
		}
		Merge(dst, phone)
	}
}

// busyState is a visitor of the load run (make bench-load): hundreds of hits in a day, so
// every bounded list that grows with hits is full (step history, recent ids, conversions).
func busyState() *State {
	s := typicalState()
	steps := []string{"landed", "viewed_product", "viewed_pricing", "added_to_cart", "began_checkout", "signed_up", "purchased"}
	ms := s.LastSeen
	for i := range 400 {
		ms += 7_000
		Apply(s, pageview(ms, []string{"/", "/products/trail-jacket", "/cart", "/checkout", "/pricing"}[i%5]), Options{DefaultConversion: true})
		s.ReachStep(steps[(i*3)%len(steps)], ms)
		if i%8 == 0 {
			s.AddConversion("purchased", ms, 129.5)
		}
		s.AddRecent(uint64(i)*0x9e3779b97f4a7c15, ms/1000)
		s.TrimRecent(ms/1000, 48*3600, nil)
	}
	return s
}

// BenchmarkAppendBinaryBusy encodes the busy visitor: what every hit of such a visitor pays
// for its commit. In "cached" every step name is the rule set's string; in "restored" the
// visitor was read back from its record (after a restart, or out of the cache) and then
// reached more steps, so each step name is held at two addresses.
func BenchmarkAppendBinaryBusy(b *testing.B) {
	restored := &State{}
	if err := Decode(busyState().AppendBinary(nil), restored); err != nil {
		b.Fatal(err)
	}
	steps := []string{"landed", "viewed_product", "viewed_pricing", "added_to_cart", "began_checkout", "signed_up", "purchased"}
	for i := range 100 {
		restored.ReachStep(steps[(i*5)%len(steps)], restored.LastSeen+int64(i))
	}
	for _, bc := range []struct {
		name string
		s    *State
	}{{"cached", busyState()}, {"restored", restored}} {
		b.Run(bc.name, func(b *testing.B) {
			buf := bc.s.AppendBinary(nil)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				buf = bc.s.AppendBinary(buf[:0])
			}
		})
	}
}

// BenchmarkApplyBusy applies a hit of the load run to the busy visitor and reaches a step, as
// rules.Set.Observe does after Apply: the step history and recent ids are full, so each hit
// pushes out the oldest entries.
func BenchmarkApplyBusy(b *testing.B) {
	s := busyState()
	h := pageview(s.LastSeen, "/products/trail-jacket")
	opt := Options{DefaultConversion: true}
	b.ReportAllocs()
	for b.Loop() {
		h.Time += 1000
		Apply(s, h, opt)
		s.ReachStep("viewed_product", h.Time)
		s.AddRecent(uint64(h.Time)*0x9e3779b97f4a7c15, h.Time/1000)
		s.TrimRecent(h.Time/1000, 48*3600, nil)
	}
}

// BenchmarkCopyBusy copies the busy visitor, as a hit of a cached journey whose last commit
// was queued does (cluster mode); BenchmarkDecodeBusy is what a hit paid before the cache kept
// journeys decoded.
func BenchmarkCopyBusy(b *testing.B) {
	s := busyState()
	pooled := &State{}
	b.ReportAllocs()
	for b.Loop() {
		Copy(pooled, s)
	}
}

func BenchmarkDecodeBusy(b *testing.B) {
	s := busyState()
	data := s.AppendBinary(nil)
	other := busyState()
	other.VID = "another-visitor"
	pooled := &State{}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%2 == 1 {
			Copy(pooled, other) // as a pooled State that held another visitor
		}
		if err := Decode(data, pooled); err != nil {
			b.Fatal(err)
		}
	}
}
