//go:build !race

package bucket

import "testing"

// TestHashNoAllocs guards the decision path: hashing an ASCII id, and the namespace check,
// allocate nothing. (The race detector adds allocations, hence the build tag.)
func TestHashNoAllocs(t *testing.T) {
	id := "0c8a2f4e-61d5-4b1e-9a0c-3f7e2b9d8a41"
	ns := Namespace{ID: "pricing", Start: 0, End: 0.5}
	tests := map[string]func(){
		"Hash v1":     func() { Hash("exp", id, 1) },
		"Hash v2":     func() { Hash("exp", id, 2) },
		"InNamespace": func() { InNamespace(id, ns) },
		"non-ASCII":   func() { Hash("exp", "été-😀", 2) },
	}
	for name, f := range tests {
		if got := testing.AllocsPerRun(100, f); got != 0 {
			t.Errorf("%s: AllocsPerRun = %v; want 0", name, got)
		}
	}
}
