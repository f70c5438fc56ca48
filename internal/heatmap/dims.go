package heatmap

import (
	"strings"
	"unicode/utf8"

	"github.com/pathlight/pathlight/internal/journey"
)

// MaxDims bounds the dimensions a batch is counted under beside all visitors: each is one
// more table to read and write.
const MaxDims = 16

// maxDim is the longest dimension kept, in bytes.
const maxDim = 200

// DimsOf returns the dimensions the visitor of st is counted under, in this order and at
// most MaxDims: the channel of the current session (channel:<name>), the segments the visitor
// was in at the last decision (segment:<id>), the experiment arms assigned
// (arm:<experiment>:<variant>) and the steps reached (step:<id>). Each is bounded by the GA4
// channel groups or by the rules, so the tables stay bounded per page, day and band.
func DimsOf(st *journey.State) []string {
	var out []string
	add := func(kind, v string) {
		if v != "" && len(out) < MaxDims {
			out = append(out, kind+":"+v)
		}
	}
	if s := st.Session(); s != nil {
		add("channel", s.Channel)
	}
	for _, sg := range st.Segments {
		add("segment", sg)
	}
	for _, a := range st.Experiments {
		add("arm", a.Experiment+":"+a.Variant)
	}
	for _, c := range st.Steps {
		if c.N > 0 {
			add("step", c.Key)
		}
	}
	return out
}

// Dim returns the dimension of a report's filter: kind channel, segment, step or arm, and
// its value.
func Dim(kind, value string) string { return kind + ":" + value }

// validDim reports whether d can be part of a key: not too long, valid UTF-8, no 0 byte.
func validDim(d string) bool {
	return d != "" && len(d) <= maxDim && utf8.ValidString(d) && !strings.ContainsRune(d, 0)
}
