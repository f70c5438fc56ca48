package rules

import (
	"strconv"
	"strings"
)

// PosError is one mistake in a rules or rule-test file, at a 1-based line and column. Line
// is 0 when the mistake concerns the whole file (it cannot be read) or the directory.
type PosError struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
	Msg  string `json:"message"`
}

// Error returns "file:line:col: message", or "file: message" without a position.
func (e PosError) Error() string {
	if e.Line <= 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Col) + ": " + e.Msg
}

// LoadError collects every mistake found while loading a rule set, in file and position
// order, so that a marketer can fix them all in one pass.
type LoadError struct {
	Errs []PosError
}

// Error joins the mistakes, one "file:line:col: message" per line.
func (e *LoadError) Error() string {
	var b strings.Builder
	for i, pe := range e.Errs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(pe.Error())
	}
	return b.String()
}
