package analytics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultPeriod is the length of the period of a report that names none: the last 30
// days, today (UTC) and the 29 whole UTC days before it, as the dashboard's "Last 30 days".
const DefaultPeriod = 30 * 24 * time.Hour

// Query is a report request: the period [From, To) in Unix ms, the site ("" for every site)
// and the report's options, by name (model, order, lookback, funnel, breakdown …).
type Query struct {
	From, To int64
	Site     string
	Options  map[string]string
}

// QueryError is a request the reports cannot answer: a bad period or option. Its message
// names the parameter and what it accepts.
type QueryError struct {
	Param string
	Msg   string
}

// Error returns "param: message".
func (e *QueryError) Error() string { return e.Param + ": " + e.Msg }

// ErrUnknownReport is returned for a report name the service does not know.
var ErrUnknownReport = errors.New("unknown report")

// NewQuery reads a query from named values, as the admin API's query string or the CLI's
// flags give them: from and to (RFC 3339, a date YYYY-MM-DD, or Unix ms), site, and every
// other value as an option. Without to, the period ends at the end of today, UTC (the start
// of tomorrow), so that it is made of whole UTC days, as the overview's days are; without
// from, it starts DefaultPeriod before its end.
func NewQuery(values map[string]string, now time.Time) (Query, error) {
	q := Query{Site: values["site"], Options: map[string]string{}}
	to := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour).UnixMilli()
	if v := values["to"]; v != "" {
		t, err := ParseTime(v)
		if err != nil {
			return q, &QueryError{"to", err.Error()}
		}
		to = t
	}
	from := to - DefaultPeriod.Milliseconds()
	if v := values["from"]; v != "" {
		t, err := ParseTime(v)
		if err != nil {
			return q, &QueryError{"from", err.Error()}
		}
		from = t
	}
	if from >= to {
		return q, &QueryError{"from", "must be before to"}
	}
	q.From, q.To = from, to
	for k, v := range values {
		switch k {
		case "from", "to", "site":
		default:
			if v != "" {
				q.Options[k] = v
			}
		}
	}
	return q, nil
}

// ParseTime reads a time as Unix milliseconds, RFC 3339 or a UTC date (YYYY-MM-DD).
func ParseTime(v string) (int64, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return ms, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UnixMilli(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.UnixMilli(), nil
	}
	return 0, fmt.Errorf("%q: want RFC 3339 (2026-01-02T15:04:05Z), a date (2026-01-02) or Unix milliseconds", v)
}

// key returns a canonical form of the query, for the result cache.
func (q *Query) key(report string) string {
	keys := make([]string, 0, len(q.Options))
	for k := range q.Options {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%d\x00%d\x00%s", report, q.From, q.To, q.Site)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + q.Options[k])
	}
	return b.String()
}

// opts reads report options, keeping the first error.
type opts struct {
	m   map[string]string
	err error
	// asked lists every option name a report asked for, given or not, so that a test can
	// hold reportParams to what the reports read.
	asked []string
}

// get returns the option called name and whether it was given.
func (o *opts) get(name string) (string, bool) {
	o.asked = append(o.asked, name)
	v, ok := o.m[name]
	return v, ok
}

func (o *opts) fail(name, format string, args ...any) {
	if o.err == nil {
		o.err = &QueryError{name, fmt.Sprintf(format, args...)}
	}
}

func (o *opts) str(name, def string) string {
	if v, ok := o.get(name); ok && v != "" {
		return v
	}
	return def
}

func (o *opts) list(name string) []string {
	var out []string
	v, _ := o.get(name)
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (o *opts) int(name string, def, lo, hi int) int {
	v, ok := o.get(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		o.fail(name, "%q: want a whole number from %d to %d", v, lo, hi)
		return def
	}
	return n
}

func (o *opts) float(name string, def, lo, hi float64) float64 {
	v, ok := o.get(name)
	if !ok || v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < lo || f > hi {
		o.fail(name, "%q: want a number from %v to %v", v, lo, hi)
		return def
	}
	return f
}

func (o *opts) bool(name string) bool {
	v, _ := o.get(name)
	switch v {
	case "", "0", "false", "no":
		return false
	case "1", "true", "yes":
		return true
	default:
		o.fail(name, "%q: want 1 or 0", v)
		return false
	}
}

// duration reads a duration: Go syntax (36h, 90m) or a number of days (30d, 7d).
func (o *opts) duration(name string, def time.Duration) time.Duration {
	v, ok := o.get(name)
	if !ok || v == "" {
		return def
	}
	d, err := ParseDuration(v)
	if err != nil {
		o.fail(name, "%v", err)
		return def
	}
	return d
}

// ParseDuration reads a positive duration: a number of days (30d) or Go syntax (36h, 90m).
func ParseDuration(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(v, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err == nil && days > 0 && days <= 3660 {
			return time.Duration(days * float64(24*time.Hour)), nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%q: want a positive duration such as 30d, 36h or 90m", v)
}
