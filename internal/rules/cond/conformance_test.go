package cond

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The GrowthBook cross-SDK cases (cases.json, spec 0.8.0) live outside the repository, in
// ../shared/conformance/growthbook next to the repository root.

// deviations lists evalCondition cases, by name, that Pathlight knowingly evaluates
// differently from GrowthBook, with the reason. It is empty: every case passes.
var deviations = map[string]string{}

// loadCases reads the cases of one GrowthBook function, or skips the test when the
// conformance data is absent.
func loadCases(t *testing.T, function string) [][]any {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("GrowthBook conformance cases skipped: no go.mod above the test directory")
		}
		dir = parent
	}
	path := filepath.Join(dir, "..", "shared", "conformance", "growthbook", "cases.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("GrowthBook conformance cases skipped: %s is absent", path)
	}
	if err != nil {
		t.Fatalf("read cases: %v", err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	var cases [][]any
	if err := json.Unmarshal(all[function], &cases); err != nil {
		t.Fatalf("decode %s cases: %v", function, err)
	}
	if len(cases) == 0 {
		t.Fatalf("no %s cases in %s", function, path)
	}
	return cases
}

// evalCase is one evalCondition tuple: [name, condition, attributes, expected, savedGroups?].
type evalCase struct {
	name   string
	cond   map[string]any
	attrs  any
	want   bool
	groups map[string][]any
}

func evalCases(t *testing.T) []evalCase {
	raw := loadCases(t, "evalCondition")
	out := make([]evalCase, 0, len(raw))
	for i, r := range raw {
		if len(r) < 4 {
			t.Fatalf("evalCondition case %d has %d elements; want 4 or 5", i, len(r))
		}
		c := evalCase{attrs: r[2]}
		c.name, _ = r[0].(string)
		c.cond, _ = r[1].(map[string]any)
		c.want, _ = r[3].(bool)
		if len(r) > 4 {
			groups, _ := r[4].(map[string]any)
			c.groups = make(map[string][]any, len(groups))
			for k, v := range groups {
				c.groups[k], _ = v.([]any)
			}
		}
		out = append(out, c)
	}
	return out
}

// TestGrowthBookEvalCondition runs every evalCondition case in lenient (GrowthBook) mode.
func TestGrowthBookEvalCondition(t *testing.T) {
	cases := evalCases(t)
	passed := 0
	for i, c := range cases {
		t.Run(fmt.Sprintf("%03d %s", i, c.name), func(t *testing.T) {
			if why, ok := deviations[c.name]; ok {
				t.Skipf("known deviation: %s", why)
			}
			cond, err := Compile(c.cond, DocResolver, Options[Doc]{Lenient: true, SavedGroups: c.groups})
			if err != nil {
				t.Fatalf("Compile(%v) error: %v", c.cond, err)
			}
			doc := Doc{Root: FromAny(c.attrs)}
			if got := cond.Eval(&doc); got != c.want {
				t.Fatalf("Eval(%v) on %v = %v; want %v", c.cond, c.attrs, got, c.want)
			}
			if ok, f := cond.Explain(&doc); ok != c.want || (!ok && f.Op == "") {
				t.Fatalf("Explain(%v) on %v = %v, %+v; want %v with a failure", c.cond, c.attrs, ok, f, c.want)
			}
			passed++
		})
	}
	t.Logf("GrowthBook evalCondition: %d/%d cases passed, %d known deviations", passed, len(cases), len(deviations))
}

// TestGrowthBookStrict checks that strict mode, Pathlight's default, agrees with GrowthBook
// on every case it compiles, and rejects only malformed conditions.
func TestGrowthBookStrict(t *testing.T) {
	rejected := map[string]bool{
		"$in - not array":                         true,
		"$nin - not array":                        true,
		"$ini - not array":                        true,
		"$nini - not array":                       true,
		"unknown operator - pass":                 true,
		"$regex invalid - pass":                   true,
		"$regex invalid - fail":                   true,
		"$inGroup fails for unknown group id":     true,
		"$notInGroup passes for unknown group id": true,
	}
	for i, c := range evalCases(t) {
		cond, err := Compile(c.cond, DocResolver, Options[Doc]{SavedGroups: c.groups})
		if rejected[c.name] {
			if err == nil {
				t.Errorf("%03d %s: Compile(%v) = nil error; want an error in strict mode", i, c.name, c.cond)
			}
			continue
		}
		if err != nil {
			t.Errorf("%03d %s: Compile(%v) error: %v", i, c.name, c.cond, err)
			continue
		}
		if got := cond.Eval(&Doc{Root: FromAny(c.attrs)}); got != c.want {
			t.Errorf("%03d %s: Eval(%v) on %v = %v; want %v", i, c.name, c.cond, c.attrs, got, c.want)
		}
	}
}
