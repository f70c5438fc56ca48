package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The columns of the ChannelAttribution path format.
const (
	colPath        = "path"
	colConversions = "total_conversions"
	colValue       = "total_conversion_value"
	colNulls       = "total_null"
)

// pathSep separates channels in a path, as in ChannelAttribution's data sets.
const pathSep = " > "

// ReadPaths reads a path table in the ChannelAttribution format: ';'-separated columns with
// a header naming path and total_conversions, and optionally total_conversion_value and
// total_null, in any order (other columns are ignored); channels in a path are separated by
// '>' with optional spaces around it. Rows with the same path add up.
func ReadPaths(r io.Reader) (*PathTable, error) {
	cr := csv.NewReader(r)
	cr.Comma = ';'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("read paths: empty input, want a header line")
	}
	if err != nil {
		return nil, fmt.Errorf("read paths: header: %w", err)
	}
	cols := map[string]int{colPath: -1, colConversions: -1, colValue: -1, colNulls: -1}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if _, ok := cols[h]; ok {
			cols[h] = i
		}
	}
	if cols[colPath] < 0 || cols[colConversions] < 0 {
		return nil, fmt.Errorf("read paths: header %q: want columns %s and %s", strings.Join(head, ";"), colPath, colConversions)
	}
	t := &PathTable{}
	var path []string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read paths: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		path = splitPath(field(rec, cols[colPath]), path)
		if len(path) == 0 {
			return nil, fmt.Errorf("read paths: line %d: empty path", line)
		}
		var v [3]float64
		for k, c := range [3]string{colConversions, colValue, colNulls} {
			s := strings.TrimSpace(field(rec, cols[c]))
			if s == "" {
				continue
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("read paths: line %d: %s %q: %w", line, c, s, err)
			}
			check := checkCount
			if c == colValue {
				check = checkFinite
			}
			if err := check(c, f); err != nil {
				return nil, fmt.Errorf("read paths: line %d: %w", line, err)
			}
			v[k] = f
		}
		t.Add(path, v[0], v[1], v[2])
	}
	return t, nil
}

// field returns rec[i], or "" when the row is short or the column absent.
func field(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return rec[i]
}

// splitPath splits "a > b > c" into channels, trimming spaces and skipping empty names.
func splitPath(s string, dst []string) []string {
	dst = dst[:0]
	for part := range strings.SplitSeq(s, ">") {
		if part = strings.TrimSpace(part); part != "" {
			dst = append(dst, part)
		}
	}
	return dst
}

// WritePaths writes t in the ChannelAttribution format that ReadPaths reads, with a header
// and numbers in their shortest exact form. A channel name containing '>' cannot be written
// unambiguously and is an error.
func WritePaths(w io.Writer, t *PathTable) error {
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	if err := cw.Write([]string{colPath, colConversions, colValue, colNulls}); err != nil {
		return fmt.Errorf("write paths: %w", err)
	}
	rec := make([]string, 4)
	for _, r := range t.Rows {
		for _, ch := range r.Path {
			if strings.Contains(ch, ">") || strings.TrimSpace(ch) != ch || ch == "" {
				return fmt.Errorf("write paths: channel %q: a name must be non-empty, without '>' or surrounding spaces", ch)
			}
		}
		rec[0] = strings.Join(r.Path, pathSep)
		rec[1] = formatNum(r.Conversions)
		rec[2] = formatNum(r.Value)
		rec[3] = formatNum(r.Nulls)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write paths: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write paths: %w", err)
	}
	return nil
}

// formatNum formats v in its shortest exact decimal form: 3, 0.244.
func formatNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
