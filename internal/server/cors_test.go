package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// corsHeaders are the response headers that let a page's script read a reply.
var corsHeaderNames = []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers", "Access-Control-Allow-Methods"}

func corsOf(h http.Header) map[string]string {
	out := map[string]string{}
	for _, name := range corsHeaderNames {
		if v := h.Get(name); v != "" {
			out[name] = v
		}
	}
	return out
}

// TestRefusedOriginGetsNoCORS: with --sites, a page from an origin no site allows (Origin:
// null among them) gets no CORS header on any reply, preflight included, so it can read
// nothing; in particular it cannot tell a site id the server serves from one it does not.
func TestRefusedOriginGetsNoCORS(t *testing.T) {
	ts := start(t)
	for _, origin := range []string{"https://evil.example", "null", "https://www.shop.example", "http://shop.example"} {
		known := ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[]}`, "Origin", origin)
		unknown := ts.do(t, "POST", "/v1/hit", `{"site":"nope","events":[]}`, "Origin", origin)
		beacon := ts.do(t, "POST", "/v1/beacon", `{"site":"shop","events":[]}`, "Origin", origin)
		decide := ts.do(t, "GET", "/v1/decide?site=shop&slots=hero", "", "Origin", origin)
		pre := ts.do(t, "OPTIONS", "/v1/hit", "", "Origin", origin, "Access-Control-Request-Method", "POST")
		for name, r := range map[string]reply{"known site": known, "unknown site": unknown, "beacon": beacon, "decide": decide, "preflight": pre} {
			if r.status != 403 || len(corsOf(r.header)) != 0 {
				t.Errorf("origin %s, %s: %d with CORS headers %v; want 403 and none", origin, name, r.status, corsOf(r.header))
			}
		}
		if known.status != unknown.status || len(corsOf(known.header)) != len(corsOf(unknown.header)) {
			t.Errorf("origin %s: a known site answers %d %v, an unknown one %d %v; a foreign page must see no difference",
				origin, known.status, corsOf(known.header), unknown.status, corsOf(unknown.header))
		}
	}
	// The allowed origin still reads its refusals, and is allowed with credentials.
	r := ts.do(t, "POST", "/v1/hit", `{"site":"nope","events":[]}`, "Origin", "https://shop.example")
	if r.status != 403 || r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" || r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("unknown site from the allowed origin: %d %v; want a readable 403", r.status, corsOf(r.header))
	}
}

// TestOwnPageReadsRefusal: a page whose origin a site allows reads why it was refused, with
// the reason code and message, whether it names an unknown site or another site's id; under
// the development default (no --sites: site demo, any origin) so does any page.
func TestOwnPageReadsRefusal(t *testing.T) {
	type refusal struct{ Error, Reason string }
	check := func(t *testing.T, ts *testServer, origin, body, reason, says string) {
		t.Helper()
		r := ts.do(t, "POST", "/v1/hit", body, "Origin", origin)
		e := decode[refusal](t, r.body)
		if r.status != 403 || e.Reason != reason || !strings.Contains(e.Error, says) {
			t.Fatalf("%s from %s: %d %s; want 403 %s saying %q", body, origin, r.status, r.body, reason, says)
		}
		c := corsOf(r.header)
		if c["Access-Control-Allow-Origin"] != origin || c["Access-Control-Allow-Credentials"] != "true" ||
			!strings.Contains(c["Access-Control-Expose-Headers"], "X-Pathlight-Reason") {
			t.Fatalf("%s from %s: CORS headers %v; want the origin allowed, with credentials, X-Pathlight-Reason exposed", body, origin, c)
		}
		if !strings.HasPrefix(r.header.Get("X-Pathlight-Reason"), reason+": ") {
			t.Fatalf("X-Pathlight-Reason = %q; want %s: …", r.header.Get("X-Pathlight-Reason"), reason)
		}
	}
	t.Run("two sites", func(t *testing.T) {
		ts := start(t, "--sites", "shop=https://shop.example;blog=https://blog.example")
		check(t, ts, "https://blog.example", `{"site":"shop","events":[]}`, "origin", `not allowed for site "shop"`)
		check(t, ts, "https://blog.example", `{"site":"nope","events":[]}`, "unknown_site", `unknown site "nope"`)
		if r := ts.do(t, "POST", "/v1/hit", `{"site":"nope","events":[]}`, "Origin", "https://blog.example"); strings.Contains(r.body, "blog") {
			t.Fatalf("unknown site under --sites: %s; want no site ids told", r.body)
		}
	})
	t.Run("any origin", func(t *testing.T) {
		ts := start(t, "--sites", "")
		check(t, ts, "http://localhost:3000", `{"site":"nosuch","events":[]}`, "unknown_site", `unknown site "nosuch": without --sites this server serves only demo, shop; set data-site to one of them`)
		r := ts.do(t, "OPTIONS", "/v1/hit", "", "Origin", "http://localhost:3000", "Access-Control-Request-Method", "POST")
		if r.status != 204 || r.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
			t.Fatalf("preflight under the default: %d %v; want 204 allowing the origin", r.status, corsOf(r.header))
		}
	})
}

// logBuffer collects a server's JSON log lines; the server writes from many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// lines returns the log lines with message msg.
func (l *logBuffer) lines(t *testing.T, msg string) []map[string]string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]string
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var m map[string]any
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			s := map[string]string{}
			for k, v := range m {
				if str, ok := v.(string); ok {
					s[k] = str
				}
			}
			out = append(out, s)
		}
	}
	return out
}

// TestFirstRefusalIsLoggedWithAHint: the first hit refused for each site and origin is
// logged once, with what the site's owner can do about it; repeats are not.
func TestFirstRefusalIsLoggedWithAHint(t *testing.T) {
	t.Run("sites", func(t *testing.T) {
		var logs logBuffer
		ts := startLogged(t, nil, &logs, "--sites", "shop=https://shop.example;blog=https://blog.example")
		for range 3 {
			ts.do(t, "POST", "/v1/hit", `{"site":"shpo","events":[]}`, "Origin", "https://shop.example")
			ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[]}`, "Origin", "https://www.shop.example")
			ts.do(t, "POST", "/v1/hit", `{"site":"shop","events":[]}`, "Origin", "null")
		}
		ts.do(t, "POST", "/v1/hit", `{"site":"shpo","events":[]}`, "Origin", "https://blog.example")
		unknown := logs.lines(t, "hit refused: unknown site")
		if len(unknown) != 2 {
			t.Fatalf("unknown-site log lines: %v; want one per origin, 2", unknown)
		}
		if u := unknown[0]; u["site"] != "shpo" || u["origin"] != "https://shop.example" ||
			!strings.Contains(u["hint"], "serves only blog, shop") || !strings.Contains(u["hint"], "--sites 'shpo=https://shop.example'") {
			t.Errorf("unknown-site log line %v; want the site, the origin, the sites served and the flag", u)
		}
		origin := logs.lines(t, "hit refused: origin not allowed for the site")
		if len(origin) != 2 {
			t.Fatalf("origin log lines: %v; want one for www.shop.example and one for null", origin)
		}
		if o := origin[0]; o["site"] != "shop" || o["origin"] != "https://www.shop.example" ||
			!strings.Contains(o["hint"], "--sites 'shop=https://shop.example,https://www.shop.example'") {
			t.Errorf("origin log line %v; want the flag that allows the origin", o)
		}
		if o := origin[1]; o["origin"] != "null" || !strings.Contains(o["hint"], "sandboxed") {
			t.Errorf("null origin log line %v; want what sends Origin null", o)
		}
	})
	t.Run("any origin", func(t *testing.T) {
		var logs logBuffer
		ts := startLogged(t, nil, &logs, "--sites", "")
		ts.do(t, "POST", "/v1/hit", `{"site":"nosuch","events":[]}`, "Origin", "http://localhost:3000")
		ts.do(t, "POST", "/v1/hit", `{"site":"nosuch","events":[]}`, "Origin", "http://localhost:3000")
		lines := logs.lines(t, "hit refused: unknown site")
		if len(lines) != 1 || !strings.Contains(lines[0]["hint"], "serves only demo, shop") || !strings.Contains(lines[0]["hint"], "data-site") ||
			!strings.Contains(lines[0]["hint"], "replaces the default sites demo, shop") {
			t.Fatalf("log lines %v; want one saying the server serves only demo and shop, to set data-site, and what --sites replaces", lines)
		}
	})
}
