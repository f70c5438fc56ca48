package cond

import (
	"fmt"
	"testing"

	"github.com/goccy/go-yaml"
)

// visit is a typed context like the one the rules package builds: flat fields read by
// Getters that return scalars without allocating.
type visit struct {
	path, channel, userAgent, plan, version string
	pageviews                               float64
	lastSeen                                int64
	segments                                []Value
	now                                     int64
	history                                 []StepAt
}

func visitResolver(path string) (Getter[visit], error) {
	switch path {
	case "page.path":
		return func(v *visit) Value { return StringValue(v.path) }, nil
	case "session.channel":
		return func(v *visit) Value { return StringValue(v.channel) }, nil
	case "device.user_agent":
		return func(v *visit) Value { return StringValue(v.userAgent) }, nil
	case "app.version":
		return func(v *visit) Value { return StringValue(v.version) }, nil
	case "visitor.traits.plan":
		return func(v *visit) Value {
			if v.plan == "" {
				return Value{} // an absent trait is missing
			}
			return StringValue(v.plan)
		}, nil
	case "visitor.pageviews":
		return func(v *visit) Value { return NumberValue(v.pageviews) }, nil
	case "visitor.last_seen":
		return func(v *visit) Value { return NumberValue(float64(v.lastSeen)) }, nil
	case "visitor.segments":
		return func(v *visit) Value { return ArrayValue(v.segments) }, nil
	}
	return nil, fmt.Errorf("unknown field %q", path)
}

var visitOptions = Options[visit]{
	Now:     func(v *visit) int64 { return v.now },
	History: func(v *visit) []StepAt { return v.history },
}

// Times in the tests: now is 2025-06-01T00:00:00Z.
const (
	now    int64 = 1748736000000
	minute int64 = 60 * 1000
	hour         = 60 * minute
	day          = 24 * hour
)

// pricingVisit is a visitor on the pricing page from paid social.
func pricingVisit() *visit {
	return &visit{
		path:      "/pricing",
		channel:   "Paid Social",
		userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148",
		plan:      "Pro-Annual",
		version:   "2.10.1",
		pageviews: 4,
		lastSeen:  now - 3*day,
		segments:  []Value{StringValue("returning"), StringValue("High-Intent")},
		now:       now,
		history: []StepAt{
			{"landed", now - 10*day},
			{"viewed_pricing", now - 9*day},
			{"viewed_pricing", now - 2*day},
			{"started_trial", now - 2*day + hour},
			{"viewed_pricing", now - hour},
			{"invited_team", now - 30*minute},
		},
	}
}

// parse decodes a condition written in YAML, as rule files hold them.
func parse(t testing.TB, src string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(src), &m); err != nil {
		t.Fatalf("yaml.Unmarshal(%q): %v", src, err)
	}
	return m
}

func compileVisit(t testing.TB, src string) *Cond[visit] {
	t.Helper()
	c, err := Compile(parse(t, src), visitResolver, visitOptions)
	if err != nil {
		t.Fatalf("Compile(%q) error: %v", src, err)
	}
	return c
}
