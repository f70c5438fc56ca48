package analytics

import (
	"testing"

	"github.com/pathlight/pathlight/internal/report"
)

func TestDimensionOf(t *testing.T) {
	tests := []struct {
		in   string
		want report.Dimension
		ok   bool
	}{
		{"", report.DimNone, true},
		{"none", report.DimNone, true},
		{"channel", report.DimChannel, true},
		{"session.channel", report.DimChannel, true},
		{"device.type", report.DimDevice, true},
		{"geo.country", report.DimCountry, true},
		{"segment", report.DimSegment, true},
		{"visitor.segments", report.DimSegment, true},
		{"arm:hero", report.ArmDimension("hero"), true},
		{"experiments.hero", report.ArmDimension("hero"), true},
		{"experiments.", report.DimNone, false},
		{"browser", report.DimNone, false},
	}
	for _, tt := range tests {
		if got, ok := dimensionOf(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("dimensionOf(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
