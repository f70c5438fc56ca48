package report

import (
	"testing"

	"github.com/pathlight/pathlight/internal/journey"
)

func TestQuantile(t *testing.T) {
	tests := []struct {
		xs   []float64
		q    float64
		want NullFloat
	}{
		{[]float64{4, 1, 3, 2}, .5, Some(2.5)},
		{[]float64{1, 2, 3, 4}, .75, Some(3.25)},
		{[]float64{1, 2, 3, 4, 5}, .5, Some(3)},
		{[]float64{5}, .9, Some(5)},
		{[]float64{1, 9}, 0, Some(1)},
		{[]float64{1, 9}, 1, Some(9)},
		{nil, .5, NullFloat{}},
		{[]float64{1}, 2, NullFloat{}},
	}
	for _, tt := range tests {
		if got := Quantile(append([]float64(nil), tt.xs...), tt.q); got != tt.want {
			t.Errorf("Quantile(%v, %v) = %v; want %v", tt.xs, tt.q, got, tt.want)
		}
	}
}

func TestTimeToConversion(t *testing.T) {
	js := []Journey{
		{
			Touches:     []journey.Touchpoint{tp(d(10), "Email", ""), tp(d(12), "Paid Search", ""), tp(d(14), "Paid Search", "")},
			Conversions: []journey.Conversion{conv(d(15), "purchase", 1)},
		},
		{
			Touches:     []journey.Touchpoint{tp(d(0), "Organic Search", ""), tp(d(20), Direct, "")},
			Conversions: []journey.Conversion{conv(d(21), "purchase", 1)},
		},
		{
			Touches:     []journey.Touchpoint{tp(d(1), "Email", "")},
			Conversions: []journey.Conversion{conv(d(2), "purchase", 1), conv(d(3), "purchase", 1)},
		},
		{
			Touches:     []journey.Touchpoint{tp(d(0), "Email", "")},
			Conversions: []journey.Conversion{conv(d(40), "purchase", 1)},
		},
	}
	res, err := TimeToConversion(js, PathOptions{From: d(0), To: d(100)})
	if err != nil {
		t.Fatalf("TimeToConversion() = %v", err)
	}
	// Seconds: 86400, 172800, 432000, 1814400. Touches: 1, 1, 2, 3.
	want := TTC{
		Conversions: 4,
		NoTouch:     1,
		Seconds:     Summary{Mean: Some(626400), Median: Some(302400), P75: Some(777600), P90: Some(1399680)},
		Touches:     Summary{Mean: Some(1.75), Median: Some(1.5), P75: Some(2.25), P90: Some(2.7)},
	}
	if res.Conversions != want.Conversions || res.NoTouch != want.NoTouch || !summaryNear(res.Seconds, want.Seconds) || !summaryNear(res.Touches, want.Touches) {
		t.Errorf("TimeToConversion() = %+v; want %+v", res, want)
	}
	if len(res.ByFirstChannel) != 2 || res.ByFirstChannel[0].Channel != "Email" || res.ByFirstChannel[0].Conversions != 3 ||
		res.ByFirstChannel[0].Seconds.Median != Some(172800) || res.ByFirstChannel[1].Channel != "Organic Search" {
		t.Errorf("TimeToConversion() by first channel = %+v; want Email (3, median 172800 s), then Organic Search", res.ByFirstChannel)
	}
}

// summaryNear compares summaries to within rounding.
func summaryNear(a, b Summary) bool {
	for _, p := range [][2]NullFloat{{a.Mean, b.Mean}, {a.Median, b.Median}, {a.P75, b.P75}, {a.P90, b.P90}} {
		if p[0].Valid != p[1].Valid || !near(p[0].Value, p[1].Value, 1e-12) {
			return false
		}
	}
	return true
}

func TestMicroConversionRates(t *testing.T) {
	js := []Journey{
		{Touches: []journey.Touchpoint{{StartedAt: d(1), LastAt: d(1) + hour}}, Steps: []journey.StepMark{mark(d(1), "cart")}},
		{Touches: []journey.Touchpoint{{StartedAt: d(-5), LastAt: d(-4)}}},                                                   // not active
		{Touches: []journey.Touchpoint{{StartedAt: d(-1), LastAt: d(0.5)}}, Steps: []journey.StepMark{mark(d(0.5), "view")}}, // overlaps
		{Steps: []journey.StepMark{mark(d(2), "cart"), mark(d(3), "cart")}},
	}
	res, err := MicroConversionRates(js, nil, d(0), d(10))
	if err != nil {
		t.Fatalf("MicroConversionRates() = %v", err)
	}
	want := []MicroConversion{{"cart", 2, Some(2.0 / 3)}, {"view", 1, Some(1.0 / 3)}}
	if res.Visitors != 3 || len(res.Steps) != 2 || res.Steps[0] != want[0] || res.Steps[1] != want[1] {
		t.Errorf("MicroConversionRates() = %+v; want 3 visitors, %+v", res, want)
	}
	res, _ = MicroConversionRates(nil, []string{"cart"}, d(0), d(10))
	if res.Visitors != 0 || res.Steps[0].Rate.Valid {
		t.Errorf("MicroConversionRates(nobody) = %+v; want an undefined rate", res)
	}
}
