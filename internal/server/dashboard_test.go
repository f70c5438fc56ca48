package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// noRedirect is a client that shows redirects instead of following them. It keeps no idle
// connection: fasthttp's shutdown closes idle per-IP connections racily with their reader.
var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{DisableKeepAlives: true},
}

// dash sends a request without following redirects. headers are name, value pairs.
func (ts *testServer) dash(t *testing.T, method, path, body string, headers ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b), resp.Cookies()}
}

const form = "application/x-www-form-urlencoded"

// signIn signs in with the admin token and returns the session cookie.
func (ts *testServer) signIn(t *testing.T) *http.Cookie {
	t.Helper()
	r := ts.dash(t, "POST", "/dashboard/login", "token="+url.QueryEscape(token), "Content-Type", form, "Origin", ts.url)
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d body %s; want 303", r.status, r.body)
	}
	for _, c := range r.cookies {
		if c.Name == "pl_dash" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("sign-in set no pl_dash cookie: %v", r.cookies)
	return nil
}

func TestDashboardNeedsSignIn(t *testing.T) {
	ts := start(t)
	tests := []struct {
		path     string
		status   int
		location string
	}{
		{"/dashboard", http.StatusPermanentRedirect, "/dashboard/"},
		{"/dashboard/", http.StatusSeeOther, "/dashboard/login"},
		{"/dashboard/index.html", http.StatusSeeOther, "/dashboard/login"},
		{"/dashboard/funnels/anything", http.StatusSeeOther, "/dashboard/login"},
		{"/dashboard/app.js", http.StatusUnauthorized, ""},
		{"/dashboard/licenses.txt", http.StatusUnauthorized, ""},
		{"/dashboard/login", http.StatusOK, ""},
		{"/dashboard/app.css", http.StatusOK, ""},
		{"/dashboard/login.js", http.StatusOK, ""},
		{"/dashboard/favicon.svg", http.StatusOK, ""},
		{"/api/v1/visitors/0123456789abcdef0123456789abcdef", http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		r := ts.dash(t, "GET", tt.path, "")
		if r.status != tt.status || r.header.Get("Location") != tt.location {
			t.Errorf("GET %s = %d Location %q; want %d %q", tt.path, r.status, r.header.Get("Location"), tt.status, tt.location)
		}
		if strings.HasPrefix(tt.path, "/dashboard") {
			if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self';") {
				t.Errorf("GET %s: Content-Security-Policy %q; want default-src 'self' and script-src 'self' alone", tt.path, csp)
			}
		}
	}
	login := ts.dash(t, "GET", "/dashboard/login", "")
	if !strings.Contains(login.body, `<form method="post" action="/dashboard/login"`) || !strings.Contains(login.body, "hidden data-login-error") {
		t.Errorf("GET /dashboard/login: the sign-in form with its error hidden; got %.300s", login.body)
	}
}

func TestDashboardRefusesWrongToken(t *testing.T) {
	ts := start(t)
	tests := []struct {
		name    string
		body    string
		headers []string
		status  int
	}{
		{"wrong token", "token=nope", []string{"Content-Type", form}, http.StatusUnauthorized},
		{"empty token", "token=", []string{"Content-Type", form}, http.StatusUnauthorized},
		{"token prefix", "token=" + token[:len(token)-1], []string{"Content-Type", form}, http.StatusUnauthorized},
		{"wrong token as JSON", `{"token":"nope"}`, []string{"Content-Type", "application/json"}, http.StatusUnauthorized},
		{"bad JSON", `{"token":`, []string{"Content-Type", "application/json"}, http.StatusBadRequest},
		{"right token from another origin", "token=" + token, []string{"Content-Type", form, "Origin", "https://evil.example"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		r := ts.dash(t, "POST", "/dashboard/login", tt.body, tt.headers...)
		if r.status != tt.status {
			t.Errorf("%s: POST /dashboard/login = %d %s; want %d", tt.name, r.status, r.body, tt.status)
		}
		if len(r.cookies) != 0 {
			t.Errorf("%s: cookies %v; want none", tt.name, r.cookies)
		}
	}
	r := ts.dash(t, "POST", "/dashboard/login", "token=nope", "Content-Type", form)
	if strings.Contains(r.body, "hidden data-login-error") || !strings.Contains(r.body, "data-login-error") {
		t.Errorf("a refused sign-in shows the page with its error visible; got %.300s", r.body)
	}
}

func TestDashboardSessionCookie(t *testing.T) {
	tests := []struct {
		name    string
		flags   []string
		headers []string
		secure  bool
	}{
		{"plain HTTP", nil, nil, false},
		{"HTTPS behind a trusted proxy", []string{"--trusted-proxies", "127.0.0.1/32"}, []string{"X-Forwarded-Proto", "https"}, true},
		{"an untrusted X-Forwarded-Proto", nil, []string{"X-Forwarded-Proto", "https"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := start(t, tt.flags...)
			h := append([]string{"Content-Type", form}, tt.headers...)
			r := ts.dash(t, "POST", "/dashboard/login", "token="+url.QueryEscape(token)+"&next="+url.QueryEscape("#/funnels?range=7d"), h...)
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard/#/funnels?range=7d" {
				t.Fatalf("sign-in = %d Location %q; want 303 to the view asked for", r.status, r.header.Get("Location"))
			}
			if len(r.cookies) != 1 {
				t.Fatalf("cookies = %v; want one", r.cookies)
			}
			c := r.cookies[0]
			if c.Name != "pl_dash" || len(c.Value) < 40 || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 12*3600 || c.Secure != tt.secure {
				t.Errorf("cookie = %+v; want pl_dash, 43 random characters, HttpOnly, SameSite=Strict, Path=/, 12 hours, Secure %v", c, tt.secure)
			}
		})
	}
	ts := start(t)
	a, b := ts.signIn(t), ts.signIn(t)
	if a.Value == b.Value {
		t.Errorf("two sign-ins gave the same session id %q", a.Value)
	}
	r := ts.dash(t, "POST", "/dashboard/login", "token=x&next="+url.QueryEscape("https://evil.example/"), "Content-Type", form)
	if r.status != http.StatusUnauthorized {
		t.Errorf("wrong token with next = %d", r.status)
	}
	r = ts.dash(t, "POST", "/dashboard/login", "token="+url.QueryEscape(token)+"&next="+url.QueryEscape("//evil.example/"), "Content-Type", form)
	if loc := r.header.Get("Location"); loc != "/dashboard/" {
		t.Errorf("sign-in with next=//evil.example/ redirects to %q; want /dashboard/", loc)
	}
	r = ts.dash(t, "POST", "/dashboard/login", `{"token":"`+token+`"}`, "Content-Type", "application/json")
	if r.status != http.StatusOK || len(r.cookies) != 1 || !strings.Contains(r.body, `"signed_in":true`) {
		t.Errorf("JSON sign-in = %d %s cookies %v; want 200 and a cookie", r.status, r.body, r.cookies)
	}
}

func TestDashboardSessionAuthorisesAPI(t *testing.T) {
	ts := start(t)
	c := ts.signIn(t)
	cookie := "pl_dash=" + c.Value
	const vid = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		method, path string
		headers      []string
		status       int
	}{
		// An unknown visitor is a 404 only for an authorised caller.
		{"GET", "/api/v1/visitors/" + vid, []string{"Cookie", cookie}, http.StatusNotFound},
		{"GET", "/api/v1/visitors/" + vid, []string{"Cookie", "pl_dash=" + strings.Repeat("A", 43)}, http.StatusUnauthorized},
		{"GET", "/api/v1/visitors/" + vid, []string{"Cookie", "pl_dash="}, http.StatusUnauthorized},
		{"DELETE", "/api/v1/visitors/" + vid, []string{"Cookie", cookie, "Origin", ts.url}, http.StatusNotFound},
		{"DELETE", "/api/v1/visitors/" + vid, []string{"Cookie", cookie}, http.StatusNotFound},
		{"DELETE", "/api/v1/visitors/" + vid, []string{"Cookie", cookie, "Origin", "https://evil.example"}, http.StatusUnauthorized},
		{"DELETE", "/api/v1/visitors/" + vid, []string{"Cookie", cookie, "Origin", "null"}, http.StatusUnauthorized},
		{"DELETE", "/api/v1/visitors/" + vid, []string{"Authorization", "Bearer " + token, "Origin", "https://evil.example"}, http.StatusNotFound},
		{"GET", "/dashboard/", []string{"Cookie", cookie}, http.StatusOK},
		{"GET", "/dashboard/funnels/deep", []string{"Cookie", cookie}, http.StatusOK},
		{"GET", "/dashboard/app.js", []string{"Cookie", cookie}, http.StatusOK},
		{"GET", "/dashboard/login", []string{"Cookie", cookie}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		r := ts.dash(t, tt.method, tt.path, "", tt.headers...)
		if r.status != tt.status {
			t.Errorf("%s %s with %q = %d %s; want %d", tt.method, tt.path, tt.headers, r.status, r.body, tt.status)
		}
	}
	index := ts.dash(t, "GET", "/dashboard/whatever", "", "Cookie", cookie)
	if !strings.Contains(index.body, `src="/dashboard/app.js"`) || index.header.Get("Cache-Control") != "private, no-cache" {
		t.Errorf("unknown dashboard path: %s Cache-Control %q; want the app's index, private", index.body, index.header.Get("Cache-Control"))
	}
	js := ts.dash(t, "GET", "/dashboard/app.js", "", "Cookie", cookie)
	etag := js.header.Get("ETag")
	if etag == "" || !strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript") && !strings.HasPrefix(js.header.Get("Content-Type"), "application/javascript") {
		t.Fatalf("app.js: ETag %q Content-Type %q", etag, js.header.Get("Content-Type"))
	}
	if r := ts.dash(t, "GET", "/dashboard/app.js", "", "Cookie", cookie, "If-None-Match", etag); r.status != http.StatusNotModified {
		t.Errorf("app.js with If-None-Match = %d; want 304", r.status)
	}
}

func TestDashboardLogout(t *testing.T) {
	ts := start(t)
	c := ts.signIn(t)
	cookie := "pl_dash=" + c.Value
	const path = "/api/v1/visitors/0123456789abcdef0123456789abcdef"
	if r := ts.dash(t, "POST", "/dashboard/logout", "", "Cookie", cookie, "Origin", "https://evil.example"); r.status != http.StatusForbidden {
		t.Errorf("sign-out from another origin = %d; want 403", r.status)
	}
	if r := ts.dash(t, "GET", path, "", "Cookie", cookie); r.status != http.StatusNotFound {
		t.Fatalf("before sign-out: %d; want the session to authorise (404 unknown visitor)", r.status)
	}
	if r := ts.dash(t, "GET", "/dashboard/logout", "", "Cookie", cookie); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /dashboard/logout = %d; want 405", r.status)
	}
	r := ts.dash(t, "POST", "/dashboard/logout", "{}", "Cookie", cookie, "Origin", ts.url, "Content-Type", "application/json")
	if r.status != http.StatusNoContent {
		t.Errorf("sign-out = %d; want 204", r.status)
	}
	if len(r.cookies) != 1 || r.cookies[0].Name != "pl_dash" || r.cookies[0].Value != "" || r.cookies[0].MaxAge >= 0 {
		t.Errorf("sign-out cookies = %+v; want pl_dash cleared", r.cookies)
	}
	if r := ts.dash(t, "GET", path, "", "Cookie", cookie); r.status != http.StatusUnauthorized {
		t.Errorf("after sign-out: %d; want 401", r.status)
	}
	if r := ts.dash(t, "GET", "/dashboard/", "", "Cookie", cookie); r.status != http.StatusSeeOther {
		t.Errorf("the app after sign-out: %d; want 303 to the sign-in page", r.status)
	}
	r = ts.dash(t, "POST", "/dashboard/logout", "", "Content-Type", form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/dashboard/login" {
		t.Errorf("form sign-out without a session = %d %q; want 303 to the sign-in page", r.status, r.header.Get("Location"))
	}
	var e struct{ Reason string }
	r = ts.dash(t, "GET", path, "")
	if err := json.Unmarshal([]byte(r.body), &e); err != nil || e.Reason != "unauthorised" {
		t.Errorf("anonymous API call: %s; want reason unauthorised", r.body)
	}
}
