package report

import (
	"slices"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/journey"
)

func TestBuildPaths(t *testing.T) {
	period := PathOptions{From: d(0), To: d(100)}
	with := func(f func(*PathOptions)) PathOptions {
		o := period
		f(&o)
		return o
	}
	tests := []struct {
		name string
		js   []Journey
		o    PathOptions
		want []PathRow
	}{
		{
			name: "repeats collapse; the converted journey leaves no null",
			js: []Journey{{
				Touches: []journey.Touchpoint{
					tp(d(0), "Organic Search", ""), tp(d(10), "Paid Search", "brand"),
					tp(d(10)+hour, "Paid Search", "generic"), tp(d(20), "Email", "news"),
				},
				Conversions: []journey.Conversion{conv(d(25), "purchase", 100)},
			}},
			o:    period,
			want: []PathRow{{Path: p("Organic Search > Paid Search > Email"), Conversions: 1, Value: 100}},
		},
		{
			name: "repeats kept",
			js: []Journey{{
				Touches:     []journey.Touchpoint{tp(d(10), "Paid Search", ""), tp(d(11), "Paid Search", ""), tp(d(12), "Email", "")},
				Conversions: []journey.Conversion{conv(d(13), "purchase", 5)},
			}},
			o:    with(func(o *PathOptions) { o.KeepRepeats = true }),
			want: []PathRow{{Path: p("Paid Search > Paid Search > Email"), Conversions: 1, Value: 5}},
		},
		{
			name: "window is (T − lookback, T]: a touch exactly lookback before is out, one at T is in",
			js: []Journey{{
				Touches:     []journey.Touchpoint{tp(d(30), "P", ""), tp(d(60), "Q", "")},
				Conversions: []journey.Conversion{conv(d(60), "purchase", 1)},
			}},
			o: period,
			// P: the next touch is exactly 30 days later, so P's journey expired at d60
			// without a conversion in [d30, d60).
			want: []PathRow{{Path: p("P"), Nulls: 1}, {Path: p("Q"), Conversions: 1, Value: 1}},
		},
		{
			name: "a journey that stops expires one lookback after its last touch",
			js: []Journey{
				{Touches: []journey.Touchpoint{tp(d(0), Direct, ""), tp(d(5), "Organic Social", "")}},
				{Touches: []journey.Touchpoint{tp(d(80), "Email", "")}}, // expires d110: after the period
			},
			o:    period,
			want: []PathRow{{Path: p("Direct > Organic Social"), Nulls: 1}},
		},
		{
			name: "a gap of a lookback splits journeys: two nulls",
			js:   []Journey{{Touches: []journey.Touchpoint{tp(d(0), "A", ""), tp(d(40), "B", "")}}},
			o:    period,
			want: []PathRow{{Path: p("A"), Nulls: 1}, {Path: p("B"), Nulls: 1}},
		},
		{
			name: "a null counts only touches after the last conversion",
			js: []Journey{{
				Touches:     []journey.Touchpoint{tp(d(0), "A", ""), tp(d(2), "B", ""), tp(d(3), "C", "")},
				Conversions: []journey.Conversion{conv(d(1), "purchase", 10)},
			}},
			o:    period,
			want: []PathRow{{Path: p("A"), Conversions: 1, Value: 10}, {Path: p("B > C"), Nulls: 1}},
		},
		{
			name: "first conversions only: the customer leaves no null and no second conversion",
			js: []Journey{{
				Touches:     []journey.Touchpoint{tp(d(0), "A", ""), tp(d(2), "B", ""), tp(d(3), "C", "")},
				Conversions: []journey.Conversion{conv(d(1), "purchase", 10), conv(d(4), "purchase", 20)},
			}},
			o:    with(func(o *PathOptions) { o.FirstOnly = true }),
			want: []PathRow{{Path: p("A"), Conversions: 1, Value: 10}},
		},
		{
			name: "first conversions only: a visitor whose first conversion is gone is a customer",
			js: []Journey{{
				Touches:            []journey.Touchpoint{tp(d(0), "A", ""), tp(d(3), "C", "")},
				Conversions:        []journey.Conversion{conv(d(1), "purchase", 10)},
				EarlierConversions: 1,
			}},
			o:    with(func(o *PathOptions) { o.FirstOnly = true }),
			want: nil,
		},
		{
			name: "a conversion without touches in its window is Unassigned",
			js: []Journey{{
				Touches:     []journey.Touchpoint{tp(d(0), "A", "")},
				Conversions: []journey.Conversion{conv(d(50), "purchase", 3)},
			}},
			o:    period,
			want: []PathRow{{Path: p("A"), Nulls: 1}, {Path: p(Unassigned), Conversions: 1, Value: 3}},
		},
		{
			name: "step lookback and step filter",
			js: []Journey{{
				Touches:     []journey.Touchpoint{tp(d(40), "A", ""), tp(d(45), "B", "")},
				Conversions: []journey.Conversion{conv(d(50), "signup", 0), conv(d(51), "newsletter", 0)},
			}},
			o: with(func(o *PathOptions) {
				o.Steps = []string{"signup"}
				o.StepLookback = map[string]time.Duration{"signup": 7 * 24 * time.Hour}
			}),
			want: []PathRow{{Path: p("B"), Conversions: 1}},
		},
		{
			name: "period: from included, to excluded",
			js: []Journey{{
				Touches:     []journey.Touchpoint{tp(d(-1), "A", "")},
				Conversions: []journey.Conversion{conv(d(0), "purchase", 1), conv(d(100), "purchase", 1)},
			}},
			o:    period,
			want: []PathRow{{Path: p("A"), Conversions: 1, Value: 1}},
		},
		{
			name: "unsorted input is sorted, not trusted",
			js: []Journey{{
				Touches:     []journey.Touchpoint{tp(d(12), "B", ""), tp(d(10), "A", "")},
				Conversions: []journey.Conversion{conv(d(13), "purchase", 1)},
			}},
			o:    period,
			want: []PathRow{{Path: p("A > B"), Conversions: 1, Value: 1}},
		},
	}
	for _, tt := range tests {
		got, err := BuildPaths(tt.js, tt.o)
		if err != nil {
			t.Errorf("%s: BuildPaths() = %v", tt.name, err)
			continue
		}
		if !rowsEqual(got.Rows, tt.want) {
			t.Errorf("%s: BuildPaths() = %v; want %v", tt.name, got.Rows, tt.want)
		}
	}
}

func TestBuildPathsCampaigns(t *testing.T) {
	js := []Journey{{
		Touches: []journey.Touchpoint{
			tp(d(0), "Organic Search", ""), tp(d(10), "Paid Search", "brand"),
			tp(d(10)+hour, "Paid Search", "generic"), tp(d(20), "Email", "news"),
		},
		Conversions: []journey.Conversion{conv(d(25), "purchase", 120)},
	}}
	got, err := BuildPaths(js, PathOptions{From: d(0), To: d(100)})
	if err != nil {
		t.Fatalf("BuildPaths() = %v", err)
	}
	// Three positions, 1/3 each; Paid Search's third is shared by its two touches.
	want := []CampaignWeight{
		{"Email", "news", 1.0 / 3, 40},
		{"Organic Search", NotSet, 1.0 / 3, 40},
		{"Paid Search", "brand", 1.0 / 6, 20},
		{"Paid Search", "generic", 1.0 / 6, 20},
	}
	if !slices.EqualFunc(got.Campaigns, want, func(a, b CampaignWeight) bool {
		return a.Channel == b.Channel && a.Campaign == b.Campaign && near(a.Conversions, b.Conversions, 1e-15) && near(a.Value, b.Value, 1e-13)
	}) {
		t.Errorf("BuildPaths() campaigns = %v; want %v", got.Campaigns, want)
	}
}

func TestBuildPathsOptionErrors(t *testing.T) {
	for _, o := range []PathOptions{
		{From: 10, To: 10},
		{From: 0, To: 1, Lookback: -time.Hour},
		{From: 0, To: 1, StepLookback: map[string]time.Duration{"x": 0}},
	} {
		if _, err := BuildPaths(nil, o); err == nil {
			t.Errorf("BuildPaths(%+v) = nil error; want one", o)
		}
	}
}
