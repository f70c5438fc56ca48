package rules

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzLoad feeds arbitrary rule files to the loader: it must report mistakes, never panic.
// It is seeded with the example rules and the fixtures.
func FuzzLoad(f *testing.F) {
	for _, pattern := range []string{"../../rules/*.yaml", "../../rules/tests/*.yaml", "testdata/*/*/*.yaml", "testdata/*/*/*.yml"} {
		names, _ := filepath.Glob(pattern)
		for _, n := range names {
			if data, err := os.ReadFile(n); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Load(fstest.MapFS{"r/a.yaml": {Data: src}}, "r")
		if err == nil {
			// A set that loads must decide and explain without trouble.
			sm := newSim(s, "v1")
			sm.pageview("/pricing?utm_source=facebook&utm_medium=cpc")
			sm.decide(s.Slots()...)
			s.Explain(&sm.st, nil, "", "", "")
			// And for one site, which scoped rules may or may not serve.
			sm.site = "demo"
			sm.pageview("/checkout")
			sm.decide(s.Slots()...)
			s.Explain(&sm.st, nil, "demo", "", "")
		}
		parseTestFile("t.yaml", src)
	})
}
