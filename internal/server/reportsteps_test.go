package server_test

import (
	"strings"
	"testing"
)

// TestUnknownStepsAndExperimentsAreBadRequests: a step, exclusion or experiment the rules do
// not define answers 400 naming the option and listing what the rules define, not a report
// of plausible zeros.
func TestUnknownStepsAndExperimentsAreBadRequests(t *testing.T) {
	base := startReports(t)
	cases := []struct{ path, option, lists string }{
		{"/api/v1/reports/funnel?steps=landed,nosuch", "steps", "landed, viewed_product"},
		{"/api/v1/reports/funnel?steps=landed,purchased&exclude=nosuch", "exclude", "landed, viewed_product"},
		{"/api/v1/reports/funnel?breakdown=arm:nosuch", "breakdown", "checkout_trust"},
		{"/api/v1/reports/health?breakdown=arm:nosuch", "breakdown", "checkout_trust"},
		{"/api/v1/reports/micro?steps=nosuch", "steps", "landed, viewed_product"},
		{"/api/v1/reports/paths?steps=nosuch", "steps", "purchased"},
		{"/api/v1/reports/ttc?steps=nosuch", "steps", "purchased"},
		{"/api/v1/reports/cac?steps=nosuch", "steps", "purchased"},
		{"/api/v1/reports/attribution?steps=landed", "steps", "purchased"},
	}
	for _, c := range cases {
		status, reason, body := call(t, "GET", base+c.path, "")
		if status != 400 || !strings.HasPrefix(reason, "bad_request") || !strings.Contains(body, `"error":"`+c.option+`: `) || !strings.Contains(body, c.lists) {
			t.Errorf("GET %s = %d %q %s; want 400 bad_request naming %s and listing %q", c.path, status, reason, body, c.option, c.lists)
		}
	}
	for _, ok := range []string{
		"/api/v1/reports/funnel?steps=landed,purchased&exclude=signed_up",
		"/api/v1/reports/funnel?breakdown=arm:checkout_trust",
		"/api/v1/reports/micro?steps=landed",
		"/api/v1/reports/paths?steps=purchased",
	} {
		if status, reason, body := call(t, "GET", base+ok, ""); status != 200 {
			t.Errorf("GET %s = %d %q %s; want 200", ok, status, reason, body)
		}
	}
}
