package bucket

import (
	"math"
	"strconv"
	"testing"
	"unicode/utf16"
)

// TestHashNonASCII checks values computed by GrowthBook's JavaScript hashFnv32a, which folds
// in UTF-16 code units: a byte-wise FNV would give other buckets for these ids.
func TestHashNonASCII(t *testing.T) {
	tests := []struct {
		seed, value string
		version     int
		want        float64
	}{
		{"exp", "café", 2, 0.6355},
		{"exp", "visitor-ü-ñ", 2, 0.9566},
		{"семя", "пользователь", 2, 0.3446},
		{"exp", "😀user", 2, 0.6373}, // a surrogate pair
		{"😀", "a😀b", 1, 0.996},      // surrogate pairs in seed and value
		{"exp", "日本語", 1, 0.913},
		{"", "é", 1, 0.94},
		{"seed", "\U0010FFFF", 2, 0.177}, // the last code point
		{"s", "\uE000x", 2, 0.4691},      // above the surrogates, below U+FFFF
	}
	for _, tt := range tests {
		got, ok := Hash(tt.seed, tt.value, tt.version)
		if !ok || got != tt.want {
			t.Errorf("Hash(%q, %q, %d) = %v, %v; want %v", tt.seed, tt.value, tt.version, got, ok, tt.want)
		}
	}
}

func TestHashVersions(t *testing.T) {
	for _, v := range []int{0, 3, 99, -1} {
		if got, ok := Hash("seed", "id", v); ok {
			t.Errorf("Hash(%q, %q, %d) = %v, true; want false", "seed", "id", v, got)
		}
	}
	for _, v := range []int{1, 2} {
		for i := range 1000 {
			id := strconv.Itoa(i)
			if got, ok := Hash("exp", id, v); !ok || got < 0 || got >= 1 {
				t.Fatalf("Hash(%q, %q, %d) = %v, %v; want a number in [0, 1)", "exp", id, v, got, ok)
			}
		}
	}
}

// refFNV is an independent FNV-1a over the UTF-16 encoding of the parts, one after the
// other, as JavaScript sees strings that were decoded separately.
func refFNV(parts ...string) uint32 {
	h := uint32(2166136261)
	for _, s := range parts {
		for _, u := range utf16.Encode([]rune(s)) {
			h ^= uint32(u)
			h *= 16777619
		}
	}
	return h
}

func FuzzHash(f *testing.F) {
	for _, s := range []string{"", "a", "café", "😀user", "\xff\xfe", "日本語"} {
		f.Add("seed", s)
	}
	f.Fuzz(func(t *testing.T, seed, value string) {
		want1 := float64(refFNV(value, seed)%1000) / 1000
		if got, _ := Hash(seed, value, 1); got != want1 {
			t.Fatalf("Hash(%q, %q, 1) = %v; want %v", seed, value, got, want1)
		}
		h := refFNV(strconv.FormatUint(uint64(refFNV(seed, value)), 10))
		want2 := float64(h%10000) / 10000
		if got, _ := Hash(seed, value, 2); got != want2 {
			t.Fatalf("Hash(%q, %q, 2) = %v; want %v", seed, value, got, want2)
		}
	})
}

func TestBucketRangesEdges(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		coverage float64
		weights  []float64
		want     [][2]float64
	}{
		{"no variations", 0, 1, nil, [][2]float64{}},
		{"one variation", 1, 1, nil, [][2]float64{{0, 1}}},
		{"NaN coverage", 2, math.NaN(), nil, [][2]float64{{0, 0}, {0.5, 0.5}}},
		{"negative weight", 2, 1, []float64{1.5, -0.5}, [][2]float64{{0, 0.5}, {0.5, 1}}},
		{"NaN weight", 2, 1, []float64{math.NaN(), 1}, [][2]float64{{0, 0.5}, {0.5, 1}}},
		{"weights within tolerance", 2, 0.5, []float64{0.5, 0.505}, [][2]float64{{0, 0.25}, {0.5, 0.7525}}},
	}
	for _, tt := range tests {
		got := BucketRanges(tt.n, tt.coverage, tt.weights)
		if !equalRanges(got, tt.want) {
			t.Errorf("%s: BucketRanges(%d, %v, %v) = %v; want %v", tt.name, tt.n, tt.coverage, tt.weights, got, tt.want)
		}
	}
}

func TestChooseVariationEdges(t *testing.T) {
	tests := []struct {
		n      float64
		ranges [][2]float64
		want   int
	}{
		{0.5, nil, -1},
		{1, [][2]float64{{0, 0.5}, {0.5, 1}}, -1}, // the end is exclusive
		{math.NaN(), [][2]float64{{0, 1}}, -1},
	}
	for _, tt := range tests {
		if got := ChooseVariation(tt.n, tt.ranges); got != tt.want {
			t.Errorf("ChooseVariation(%v, %v) = %d; want %d", tt.n, tt.ranges, got, tt.want)
		}
	}
}

// TestInNamespaceMatchesHash checks InNamespace against its definition, Hash with version 1
// and the seed "__" + ID, including ranges that split the hash space.
func TestInNamespaceMatchesHash(t *testing.T) {
	for i := range 500 {
		id := "visitor-" + strconv.Itoa(i)
		n, _ := Hash("__checkout", id, 1)
		for _, ns := range []Namespace{{"checkout", 0, 0.5}, {"checkout", 0.5, 1}, {"checkout", n, n}} {
			want := n >= ns.Start && n < ns.End
			if got := InNamespace(id, ns); got != want {
				t.Fatalf("InNamespace(%q, %+v) = %v; want %v (hash %v)", id, ns, got, want, n)
			}
		}
	}
}

func TestEqualWeightsSum(t *testing.T) {
	for n := 1; n <= 20; n++ {
		sum := 0.0
		for _, w := range EqualWeights(n) {
			sum += w
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Errorf("sum of EqualWeights(%d) = %v; want 1", n, sum)
		}
	}
}

func BenchmarkHashV2(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Hash("homepage-hero-2025", "0c8a2f4e-61d5-4b1e-9a0c-3f7e2b9d8a41", 2)
	}
}

func BenchmarkHashV1(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Hash("homepage-hero-2025", "0c8a2f4e-61d5-4b1e-9a0c-3f7e2b9d8a41", 1)
	}
}

func BenchmarkHashV2NonASCII(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Hash("homepage-hero-2025", "visiteur-été-😀", 2)
	}
}

func BenchmarkChooseVariation(b *testing.B) {
	ranges := BucketRanges(3, 0.8, []float64{0.2, 0.3, 0.5})
	b.ReportAllocs()
	for b.Loop() {
		n, _ := Hash("homepage-hero-2025", "0c8a2f4e-61d5-4b1e-9a0c-3f7e2b9d8a41", 2)
		ChooseVariation(n, ranges)
	}
}

func BenchmarkInNamespace(b *testing.B) {
	ns := Namespace{ID: "pricing", Start: 0, End: 0.5}
	b.ReportAllocs()
	for b.Loop() {
		InNamespace("0c8a2f4e-61d5-4b1e-9a0c-3f7e2b9d8a41", ns)
	}
}
