package report

import (
	"math"
	"strings"

	"github.com/pathlight/pathlight/internal/journey"
)

// Times used by hand-computed cases: day d of a fixed epoch.
const (
	hour  = int64(3600 * 1000)
	day   = 24 * hour
	epoch = int64(1_700_000_000_000)
)

// d returns the Unix ms of day n (fractions allowed) after the epoch.
func d(n float64) int64 { return epoch + int64(n*float64(day)) }

// tp returns a touchpoint at t with a channel and campaign.
func tp(t int64, channel, campaign string) journey.Touchpoint {
	return journey.Touchpoint{StartedAt: t, LastAt: t, Channel: channel, Campaign: campaign}
}

// conv returns a conversion of step at t worth value.
func conv(t int64, step string, value float64) journey.Conversion {
	return journey.Conversion{Step: step, At: t, Value: value}
}

// mark returns a step arrival.
func mark(t int64, step string) journey.StepMark { return journey.StepMark{Step: step, At: t} }

// near reports whether a and b agree to within tol, absolutely or relatively.
func near(a, b, tol float64) bool {
	return math.Abs(a-b) <= tol*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// p splits "a > b > c" into a path.
func p(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " > ")
}
