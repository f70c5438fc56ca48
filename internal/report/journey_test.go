package report

import (
	"slices"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

func TestFromState(t *testing.T) {
	s := &journey.State{
		VID:            "v1",
		Touchpoints:    []journey.Touchpoint{tp(d(1), "Email", "news")},
		StepHistory:    []journey.StepMark{mark(d(1), "view")},
		Conversions:    3,
		ConversionList: []journey.Conversion{conv(d(2), "purchase", 5)},
		Device:         event.Device{Type: event.DeviceMobile},
		Geo:            event.Geo{Country: "GB"},
		Segments:       []string{"vip"},
		Experiments:    []journey.Assignment{{Experiment: "hero", Variant: "b"}},
	}
	j := FromState(s)
	if j.VID != "v1" || len(j.Touches) != 1 || len(j.Steps) != 1 || len(j.Conversions) != 1 || j.EarlierConversions != 2 ||
		j.Device != event.DeviceMobile || j.Country != "GB" || !slices.Equal(j.Segments, []string{"vip"}) || j.Arms[0].Variant != "b" {
		t.Errorf("FromState(%+v) = %+v", s, j)
	}
	if j := FromState(&journey.State{}); j.EarlierConversions != 0 {
		t.Errorf("FromState(empty).EarlierConversions = %d; want 0", j.EarlierConversions)
	}
}
