package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"mime"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/config"

	"github.com/pathlight/pathlight/internal/dashboard"
)

// The dashboard's sign-in session.
const (
	dashCookie      = "pl_dash"
	dashSessionTTL  = 12 * time.Hour // a working day; then the token is asked for again
	dashMaxSessions = 1024           // the oldest session is ended to make room beyond this
	dashTokenField  = "token"
	dashNextField   = "next"
	dashIDLen       = 43 // base64url of 32 random bytes
)

// dashCSP returns the dashboard's Content-Security-Policy: its own scripts and data only, no
// inline script, no framing of the dashboard. Inline styles are allowed because the chart
// library positions its tooltips with style attributes; they cannot run code. The sites'
// origins (dashSiteSources) may be framed, for the Heatmaps view's live preview of a page in
// a sandboxed iframe (no scripts), and may serve images, fonts, styles and media, for the
// pages that the replay player and the Heatmaps view rebuild from their recordings in
// iframes sandboxed to allow-same-origin: those iframes inherit this policy, and a recorded
// page refers to its images, fonts and stylesheets on its own site. frame-src comes last.
func dashCSP(cfg *config.Config) string {
	src := dashSiteSources(cfg)
	return "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'" + src + "; img-src 'self' data:" + src +
		"; font-src 'self' data:" + src + "; media-src 'self'" + src + "; connect-src 'self'; object-src 'none'; base-uri 'none'" +
		"; frame-ancestors 'none'; form-action 'self'; frame-src 'self'" + src
}

// dashSiteSources returns the origins of the sites the server serves as CSP sources, each
// after a space: any http or https origin without --sites, or when a site accepts any
// origin.
func dashSiteSources(cfg *config.Config) string {
	if cfg.AnyOrigin {
		return " http: https:"
	}
	src := ""
	for _, s := range cfg.Sites {
		for _, o := range s.Origins {
			if o == "*" {
				return " http: https:"
			}
			if !strings.ContainsAny(o, " ;,'") {
				src += " " + o
			}
		}
	}
	return src
}

// dashboardSite is the embedded dashboard and its sign-in sessions.
type dashboardSite struct {
	files    map[string]asset // by path under /dashboard/: index.html, app.js …
	login    asset            // the sign-in page
	loginBad asset            // the sign-in page saying the token was wrong
	public   map[string]bool  // files the sign-in page needs, served without a session
	sessions *dashSessions
}

func newDashboardSite(now func() time.Time) *dashboardSite {
	d := &dashboardSite{
		files:    map[string]asset{},
		public:   map[string]bool{"app.css": true, "login.js": true, "favicon.svg": true},
		sessions: newDashSessions(dashSessionTTL, dashMaxSessions, now),
	}
	// The files are embedded in the binary: walking and reading them cannot fail at run time,
	// and a file that somehow could not be read is simply not served.
	dist := dashboard.FS()
	_ = fs.WalkDir(dist, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		body, err := fs.ReadFile(dist, p)
		if err != nil {
			return nil
		}
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		d.files[p] = newAsset(body, ct)
		return nil
	})
	if a, ok := d.files["login.html"]; ok {
		d.login = a
		// The page carries its error message hidden; the failed variant shows it.
		d.loginBad = newAsset(bytes.Replace(a.body, []byte(` hidden data-login-error`), []byte(` data-login-error`), 1), a.contentType)
	}
	return d
}

// serveDashboard serves the marketers' dashboard under /dashboard/: the sign-in page and its
// assets to anyone, everything else only with a session. Unknown paths under /dashboard/ get
// the app's index, which routes on the client.
func (s *Server) serveDashboard(ctx *fasthttp.RequestCtx) {
	d := s.dash
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", s.dashCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	p := string(ctx.Path())
	if p == "/dashboard" {
		ctx.Response.Header.Set("Location", "/dashboard/")
		ctx.SetStatusCode(fasthttp.StatusPermanentRedirect)
		return
	}
	rest, ok := strings.CutPrefix(p, "/dashboard/")
	if !ok {
		s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no such route: "+p)
		return
	}
	switch rest {
	case "login":
		s.dashboardLogin(ctx)
		return
	case "logout":
		s.dashboardLogout(ctx)
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		s.methodNotAllowed(ctx, "GET, HEAD")
		return
	}
	rest = strings.Trim(path.Clean("/"+rest), "/")
	a, file := d.files[rest]
	if file && d.public[rest] {
		s.serveAsset(ctx, &a, "no-cache")
		return
	}
	if !s.dashboardSession(ctx) {
		if file && path.Ext(rest) != ".html" {
			s.fail(ctx, fasthttp.StatusUnauthorized, "unauthorised", "sign in to the dashboard first")
			return
		}
		seeOther(ctx, "/dashboard/login")
		return
	}
	if !file {
		a = d.files["index.html"]
	}
	// Private: the app is only for signed-in people, and no shared cache should keep it.
	s.serveAsset(ctx, &a, "private, no-cache")
}

// dashboardLogin serves the sign-in page (GET) and signs in (POST): the admin token, sent as
// the form field "token" or as JSON {"token": "…"}, is compared in constant time; a match
// starts a session and sets its cookie.
func (s *Server) dashboardLogin(ctx *fasthttp.RequestCtx) {
	d := s.dash
	switch {
	case ctx.IsGet() || ctx.IsHead():
		if s.dashboardSession(ctx) {
			seeOther(ctx, "/dashboard/")
			return
		}
		s.serveAsset(ctx, &d.login, "no-cache")
		return
	case !ctx.IsPost():
		s.methodNotAllowed(ctx, "GET, HEAD, POST")
		return
	}
	if !sameOrigin(ctx) {
		s.fail(ctx, fasthttp.StatusForbidden, "origin", "sign-in from another origin is not allowed")
		return
	}
	ip, _ := s.clientIP(ctx)
	if wait, ok := s.limits.allowIP(ip, time.Now()); !ok {
		s.tooMany(ctx, "rate_limit_ip", wait)
		return
	}
	asJSON := isJSON(ctx.Request.Header.ContentType())
	var token, next string
	if asJSON {
		var body struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal(ctx.PostBody(), &body); err != nil {
			s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "sign-in body: want JSON {\"token\": \"…\"}")
			return
		}
		token = body.Token
	} else {
		token = string(ctx.PostArgs().Peek(dashTokenField))
		next = string(ctx.PostArgs().Peek(dashNextField))
	}
	if !s.adminToken(token) {
		if asJSON {
			s.fail(ctx, fasthttp.StatusUnauthorized, "bad_token", "the admin token is not right")
			return
		}
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.SetStatusCode(fasthttp.StatusUnauthorized)
		ctx.SetContentType(d.loginBad.contentType)
		ctx.SetBody(d.loginBad.body)
		return
	}
	id, err := d.sessions.start()
	if err != nil {
		s.log.Error("dashboard session", "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "session", "a session could not be started")
		return
	}
	s.setDashCookie(ctx, id, int(dashSessionTTL/time.Second))
	ctx.Response.Header.Set("Cache-Control", "no-store")
	if asJSON {
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"signed_in":true}`)
		return
	}
	seeOther(ctx, "/dashboard/"+safeFragment(next))
}

// dashboardLogout ends the session of the request and clears its cookie.
func (s *Server) dashboardLogout(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		s.methodNotAllowed(ctx, "POST")
		return
	}
	if !sameOrigin(ctx) {
		s.fail(ctx, fasthttp.StatusForbidden, "origin", "sign-out from another origin is not allowed")
		return
	}
	if c := ctx.Request.Header.Cookie(dashCookie); len(c) > 0 {
		s.dash.sessions.end(string(c))
	}
	s.setDashCookie(ctx, "", -1)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	if isJSON(ctx.Request.Header.ContentType()) {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	seeOther(ctx, "/dashboard/login")
}

// dashboardSession reports whether the request carries a valid dashboard session cookie. A
// request that changes state (not GET or HEAD) must also come from the server's own origin
// when it says where it comes from: SameSite=Strict already keeps the cookie off cross-site
// requests, and this guards against a same-site page on another origin.
func (s *Server) dashboardSession(ctx *fasthttp.RequestCtx) bool {
	c := ctx.Request.Header.Cookie(dashCookie)
	if len(c) == 0 || !s.dash.sessions.valid(string(c)) {
		return false
	}
	return ctx.IsGet() || ctx.IsHead() || sameOrigin(ctx)
}

// adminToken compares tok with the admin token in constant time. An empty admin token
// matches nothing.
func (s *Server) adminToken(tok string) bool {
	want := s.cfg.AdminToken
	tok = strings.TrimSpace(tok)
	return want != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(want)) == 1
}

func (s *Server) setDashCookie(ctx *fasthttp.RequestCtx, value string, maxAge int) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(dashCookie)
	c.SetValue(value)
	c.SetPath("/")
	c.SetMaxAge(maxAge)
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	if _, viaProxy := s.clientIP(ctx); secure(ctx, viaProxy) {
		c.SetSecure(true)
	}
	ctx.Response.Header.SetCookie(c)
}

// sameOrigin reports whether the request's Origin, when it has one, is this server: its host
// equals the Host the request was sent to. Browsers send Origin on every cross-origin
// request and on same-origin ones that change state.
func sameOrigin(ctx *fasthttp.RequestCtx) bool {
	o := ctx.Request.Header.Peek("Origin")
	if len(o) == 0 {
		return true
	}
	_, host, ok := bytes.Cut(o, []byte("://"))
	return ok && len(host) > 0 && bytes.EqualFold(host, ctx.Host())
}

// seeOther redirects to a path of this server; the Location stays relative, so it works
// behind a proxy that rewrites the host.
func seeOther(ctx *fasthttp.RequestCtx, to string) {
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Location", to)
	ctx.SetStatusCode(fasthttp.StatusSeeOther)
}

// safeFragment returns next when it is a dashboard view's fragment (#/view?state), so that
// a shared link survives signing in, and "" for anything else.
func safeFragment(next string) string {
	if len(next) > 2000 || !strings.HasPrefix(next, "#/") {
		return ""
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= 0x20 || c >= 0x7f || c == '\\' {
			return ""
		}
	}
	return next
}

func isJSON(ct []byte) bool {
	if i := bytes.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return bytes.EqualFold(bytes.TrimSpace(ct), []byte("application/json"))
}

// dashSessions are the dashboard's sign-in sessions, in memory: a restart signs everyone
// out, which is the safe failure. Sessions are kept by the SHA-256 of their id, so the map's
// lookup time says nothing about the ids it holds.
type dashSessions struct {
	mu  sync.Mutex
	m   map[[32]byte]time.Time // session id hash → expiry
	ttl time.Duration
	max int
	now func() time.Time
}

func newDashSessions(ttl time.Duration, max int, now func() time.Time) *dashSessions {
	if now == nil {
		now = time.Now
	}
	return &dashSessions{m: make(map[[32]byte]time.Time), ttl: ttl, max: max, now: now}
}

// start creates a session and returns its id: 32 random bytes, base64url.
func (d *dashSessions) start() (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.m) >= d.max {
		d.pruneLocked(now)
	}
	for len(d.m) >= d.max {
		// Still full: end the session closest to its expiry, the oldest.
		var oldest [32]byte
		first := true
		var at time.Time
		for k, exp := range d.m {
			if first || exp.Before(at) {
				oldest, at, first = k, exp, false
			}
		}
		delete(d.m, oldest)
	}
	d.m[sha256.Sum256([]byte(id))] = now.Add(d.ttl)
	return id, nil
}

// valid reports whether id is a live session; an expired one is forgotten.
func (d *dashSessions) valid(id string) bool {
	var raw [dashIDLen]byte
	if len(id) != dashIDLen {
		return false
	}
	copy(raw[:], id) // hashing from an array keeps the id off the heap
	k := sha256.Sum256(raw[:])
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	exp, ok := d.m[k]
	if ok && !now.Before(exp) {
		delete(d.m, k)
		return false
	}
	return ok
}

// end forgets the session id.
func (d *dashSessions) end(id string) {
	k := sha256.Sum256([]byte(id))
	d.mu.Lock()
	delete(d.m, k)
	d.mu.Unlock()
}

// len returns the number of sessions held, expired ones included until they are pruned.
func (d *dashSessions) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.m)
}

func (d *dashSessions) pruneLocked(now time.Time) {
	for k, exp := range d.m {
		if !now.Before(exp) {
			delete(d.m, k)
		}
	}
}
