//go:build !race

package journey

import "testing"

// TestAllocs guards the hot paths: applying a hit on a known page, encoding, decoding the
// same visitor into a pooled State, writing the JSON view and copying into a pooled State
// allocate nothing.
func TestAllocs(t *testing.T) {
	s := typicalState()
	h := pageview(s.LastSeen, "/pricing")
	data := s.AppendBinary(nil)
	buf := make([]byte, 0, 8<<10)
	pooled := &State{}
	if err := Decode(data, pooled); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    func()
	}{
		{"Apply(pageview of a known path)", func() { h.Time++; Apply(s, h, Options{DefaultConversion: true}) }},
		{"AppendBinary", func() { buf = s.AppendBinary(buf[:0]) }},
		{"Decode(same visitor, pooled State)", func() {
			if err := Decode(data, pooled); err != nil {
				t.Fatal(err)
			}
		}},
		{"AppendJSON", func() { buf = s.AppendJSON(buf[:0]) }},
		{"Copy(into a pooled State)", func() { Copy(pooled, s) }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.f); got != 0 {
			t.Errorf("%s: %v allocs; want 0", tt.name, got)
		}
	}
}
