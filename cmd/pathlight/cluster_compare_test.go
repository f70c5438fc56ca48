package main

// Comparisons of the cluster test: JSON documents of the fleet against the single server's,
// reported by the paths where they differ.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// adminJSON GETs an admin path and decodes its JSON reply; a status other than 200 is an
// error naming it.
func adminJSON(client *http.Client, url, path string) (any, error) {
	req, err := http.NewRequest(http.MethodGet, url+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+crashToken)
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s = %d %s", path, resp.StatusCode, b)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return v, nil
}

// skipSet is a set of member paths a comparison leaves out, such as ".generated_at" or
// ".experiments.*.at": "*" stands for any one member name or list index.
type skipSet []string

// has reports whether the path (".a.b", list indexes as ".3") is in the set.
func (s skipSet) has(path string) bool {
	segs := strings.Split(path, ".")
	for _, p := range s {
		ps := strings.Split(p, ".")
		if len(ps) != len(segs) {
			continue
		}
		match := true
		for i := range ps {
			if ps[i] != "*" && ps[i] != segs[i] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// jsonDiff returns the paths where a and b differ, at most limit of them, leaving out those
// in skip.
func jsonDiff(a, b any, skip skipSet, limit int) []string {
	var out []string
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		if len(out) >= limit {
			return
		}
		switch av := a.(type) {
		case map[string]any:
			bv, ok := b.(map[string]any)
			if !ok {
				out = append(out, fmt.Sprintf("%s: %s ≠ %s", path, short(a), short(b)))
				return
			}
			keys := map[string]bool{}
			for k := range av {
				keys[k] = true
			}
			for k := range bv {
				keys[k] = true
			}
			sorted := make([]string, 0, len(keys))
			for k := range keys {
				if !skip.has(path + "." + k) {
					sorted = append(sorted, k)
				}
			}
			sort.Strings(sorted)
			for _, k := range sorted {
				walk(path+"."+k, av[k], bv[k])
			}
		case []any:
			bv, ok := b.([]any)
			if !ok || len(av) != len(bv) {
				out = append(out, fmt.Sprintf("%s: %s ≠ %s", path, short(a), short(b)))
				return
			}
			for i := range av {
				walk(fmt.Sprintf("%s.%d", path, i), av[i], bv[i])
			}
		default:
			if !reflect.DeepEqual(a, b) {
				out = append(out, fmt.Sprintf("%s: %s ≠ %s", path, short(a), short(b)))
			}
		}
	}
	walk("", a, b)
	return out
}

// short is a value's JSON, cut to 200 bytes.
func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// rawDiff is jsonDiff of two raw JSON documents.
func rawDiff(a, b json.RawMessage, skip skipSet) []string {
	var av, bv any
	if err := json.Unmarshal(a, &av); err != nil {
		return []string{"fleet: " + err.Error()}
	}
	if err := json.Unmarshal(b, &bv); err != nil {
		return []string{"single: " + err.Error()}
	}
	return jsonDiff(av, bv, skip, 5)
}

// reportPaths are the reports the test compares, over a period that holds the script.
func reportPaths(from, to string) []string {
	q := "?from=" + from + "&to=" + to
	return []string{
		"/api/v1/reports/overview" + q,
		"/api/v1/reports/journey" + q,
		"/api/v1/reports/funnel" + q + "&funnel=purchase&breakdown=channel",
		"/api/v1/reports/funnel" + q + "&funnel=signup",
		"/api/v1/reports/paths" + q,
		"/api/v1/reports/attribution" + q + "&model=all",
		"/api/v1/reports/ttc" + q,
		"/api/v1/reports/experiments" + q,
		"/api/v1/reports/surveys" + q,
		"/api/v1/reports/micro" + q,
	}
}

// reportSkip is what legitimately differs between two servers' replies of one report: the
// time each was made.
var reportSkip = skipSet{".generated_at"}

// compareReports waits up to d for every report of every node to equal the single server's
// (reports follow commits within about two seconds), once the single server's overview (the
// first path) counts visitors, and fails the test with the differences left at the deadline.
func compareReports(t *testing.T, client *http.Client, nodes []*serverProc, names []string, single *serverProc, paths []string, visitors int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var diffs []string
		ov, err := adminJSON(client, single.url, paths[0])
		if err != nil {
			t.Fatalf("single server: %v", err)
		}
		if n, _ := ov.(map[string]any)["data"].(map[string]any)["visitors"].(float64); int(n) != visitors {
			diffs = append(diffs, fmt.Sprintf("the single server's overview counts %v visitors, not yet %d", n, visitors))
		}
		for _, p := range paths {
			want, err := adminJSON(client, single.url, p) // the single server's reports follow too
			if err != nil {
				t.Fatalf("single server: %v", err)
			}
			for i, n := range nodes {
				got, err := adminJSON(client, n.url, p)
				if err != nil {
					diffs = append(diffs, fmt.Sprintf("%s: %v", names[i], err))
					continue
				}
				for _, d := range jsonDiff(got, want, reportSkip, 5) {
					diffs = append(diffs, fmt.Sprintf("%s %s%s", names[i], p, d))
				}
			}
		}
		if len(diffs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			if len(diffs) > 40 {
				diffs = append(diffs[:40], fmt.Sprintf("… and %d more", len(diffs)-40))
			}
			t.Errorf("global reports differ from the single server's after %s (node report.path: fleet ≠ single):\n%s", d, strings.Join(diffs, "\n"))
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}
