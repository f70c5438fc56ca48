package report

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pathlight/pathlight/internal/journey"
)

// Dimension is what a report breaks its visitors down by.
type Dimension string

// The dimensions. An experiment arm is "arm:<experiment id>".
const (
	DimNone    Dimension = ""
	DimChannel Dimension = "channel" // the channel of the session in which the visitor started
	DimDevice  Dimension = "device"  // desktop, mobile, tablet, bot, unknown
	DimCountry Dimension = "country" // ISO 3166-1 alpha-2; "(unknown)" when not located
	DimSegment Dimension = "segment" // each segment the visitor is in: groups may overlap
	dimArm               = "arm:"
)

// Keys of visitors a dimension has no value for.
const (
	UnknownKey = "(unknown)"
	NoneKey    = "(none)"
)

// ArmDimension returns the dimension of the arms of an experiment.
func ArmDimension(experiment string) Dimension { return Dimension(dimArm + experiment) }

// ParseDimension returns the dimension named s: channel, device, country, segment or
// arm:<experiment id>.
func ParseDimension(s string) (Dimension, error) {
	switch d := Dimension(s); d {
	case DimNone, DimChannel, DimDevice, DimCountry, DimSegment:
		return d, nil
	}
	if exp, ok := strings.CutPrefix(s, dimArm); ok && exp != "" {
		return Dimension(s), nil
	}
	return "", fmt.Errorf("breakdown %q: want channel, device, country, segment or arm:<experiment>", s)
}

// keys appends the visitor's keys in dimension d to dst. at is the time the visitor's
// channel is read at: the channel of the latest session started by then.
func (d Dimension) keys(j *Journey, ts []journey.Touchpoint, at int64, dst []string) []string {
	switch d {
	case DimNone:
		return dst
	case DimChannel:
		i := sort.Search(len(ts), func(i int) bool { return ts[i].StartedAt > at })
		if i == 0 {
			return append(dst, Unassigned)
		}
		return append(dst, channelOf(&ts[i-1]))
	case DimDevice:
		return append(dst, j.Device.String())
	case DimCountry:
		if j.Country == "" {
			return append(dst, UnknownKey)
		}
		return append(dst, j.Country)
	case DimSegment:
		if len(j.Segments) == 0 {
			return append(dst, NoneKey)
		}
		return append(dst, j.Segments...)
	}
	exp := strings.TrimPrefix(string(d), dimArm)
	for _, a := range j.Arms {
		if a.Experiment == exp {
			return append(dst, a.Variant)
		}
	}
	return append(dst, NoneKey)
}
