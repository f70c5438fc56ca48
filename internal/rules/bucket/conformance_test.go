package bucket

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// The GrowthBook cross-SDK cases (cases.json, spec 0.8.0) live outside the repository, in
// ../shared/conformance/growthbook next to the repository root.

// tolerance is how far a float may be from GrowthBook's expected value: the cases round
// to 8 decimals (1/3 is written 0.33333333), as GrowthBook's own SDK tests allow.
const tolerance = 1e-6

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

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func floats(v any) []float64 {
	items, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]float64, len(items))
	for i, x := range items {
		out[i] = num(x)
	}
	return out
}

func ranges(v any) [][2]float64 {
	items, _ := v.([]any)
	out := make([][2]float64, len(items))
	for i, x := range items {
		r := floats(x)
		if len(r) == 2 {
			out[i] = [2]float64{r[0], r[1]}
		}
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) <= tolerance }

func TestGrowthBookHash(t *testing.T) {
	cases := loadCases(t, "hash")
	for i, c := range cases {
		seed, _ := c[0].(string)
		value, _ := c[1].(string)
		version := int(num(c[2]))
		got, ok := Hash(seed, value, version)
		if c[3] == nil {
			if ok {
				t.Errorf("%d: Hash(%q, %q, %d) = %v, true; want false", i, seed, value, version, got)
			}
			continue
		}
		if want := num(c[3]); !ok || !near(got, want) {
			t.Errorf("%d: Hash(%q, %q, %d) = %v, %v; want %v", i, seed, value, version, got, ok, want)
		}
	}
	t.Logf("GrowthBook hash: %d cases", len(cases))
}

func TestGrowthBookBucketRanges(t *testing.T) {
	cases := loadCases(t, "getBucketRange")
	for _, c := range cases {
		name, _ := c[0].(string)
		args, _ := c[1].([]any)
		n, coverage, weights := int(num(args[0])), num(args[1]), floats(args[2])
		got, want := BucketRanges(n, coverage, weights), ranges(c[2])
		if !equalRanges(got, want) {
			t.Errorf("%s: BucketRanges(%d, %v, %v) = %v; want %v", name, n, coverage, weights, got, want)
		}
	}
	t.Logf("GrowthBook getBucketRange: %d cases", len(cases))
}

func equalRanges(a, b [][2]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !near(a[i][0], b[i][0]) || !near(a[i][1], b[i][1]) {
			return false
		}
	}
	return true
}

func TestGrowthBookChooseVariation(t *testing.T) {
	cases := loadCases(t, "chooseVariation")
	for _, c := range cases {
		name, _ := c[0].(string)
		n, r, want := num(c[1]), ranges(c[2]), int(num(c[3]))
		if got := ChooseVariation(n, r); got != want {
			t.Errorf("%s: ChooseVariation(%v, %v) = %d; want %d", name, n, r, got, want)
		}
	}
	t.Logf("GrowthBook chooseVariation: %d cases", len(cases))
}

func TestGrowthBookInNamespace(t *testing.T) {
	cases := loadCases(t, "inNamespace")
	for _, c := range cases {
		name, _ := c[0].(string)
		id, _ := c[1].(string)
		tuple, _ := c[2].([]any)
		nsID, _ := tuple[0].(string)
		ns := Namespace{ID: nsID, Start: num(tuple[1]), End: num(tuple[2])}
		want, _ := c[3].(bool)
		if got := InNamespace(id, ns); got != want {
			t.Errorf("%s: InNamespace(%q, %+v) = %v; want %v", name, id, ns, got, want)
		}
	}
	t.Logf("GrowthBook inNamespace: %d cases", len(cases))
}

func TestGrowthBookEqualWeights(t *testing.T) {
	cases := loadCases(t, "getEqualWeights")
	for _, c := range cases {
		n, want := int(num(c[0])), floats(c[1])
		got := EqualWeights(n)
		ok := len(got) == len(want)
		for i := 0; ok && i < len(got); i++ {
			ok = near(got[i], want[i])
		}
		if !ok {
			t.Errorf("EqualWeights(%d) = %v; want %v", n, got, want)
		}
	}
	t.Logf("GrowthBook getEqualWeights: %d cases", len(cases))
}
