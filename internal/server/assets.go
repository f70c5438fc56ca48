package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/valyala/fasthttp"

	sdkjs "github.com/pathlight/pathlight/sdk-js"
)

// asset is one embedded file with its precomputed ETag and, for the scripts, a gzipped copy
// made once at start-up: the snippet's size budget is a gzipped budget.
type asset struct {
	body        []byte
	gz          []byte // nil: served uncompressed only
	etag        string
	contentType string
}

func newAsset(body []byte, contentType string) asset {
	sum := sha256.Sum256(body)
	return asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, contentType: contentType}
}

func newCompressedAsset(body []byte, contentType string) asset {
	a := newAsset(body, contentType)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(body)
	if zw.Close() == nil {
		a.gz = buf.Bytes()
	}
	return a
}

// assets are the embedded snippet, its lazily loaded UI, and the demo shop.
type assets struct {
	snippet asset
	ui      asset
	heatmap asset // the heatmap capture chunk
	replay  asset // the session replay chunk
	demo    fs.FS // nil when demo mode is off
}

func newAssets(demo bool) *assets {
	a := &assets{
		snippet: newCompressedAsset(sdkjs.Snippet(), "application/javascript; charset=utf-8"),
		ui:      newCompressedAsset(sdkjs.UI(), "application/javascript; charset=utf-8"),
		heatmap: newCompressedAsset(sdkjs.Heatmap(), "application/javascript; charset=utf-8"),
		replay:  newCompressedAsset(sdkjs.Replay(), "application/javascript; charset=utf-8"),
	}
	if demo {
		a.demo = sdkjs.Demo()
	}
	return a
}

// serveScript serves /pl.js, /pl-ui.js, /pl-hm.js and /pl-rr.js. They are cached for an hour and revalidated with
// their ETag, so a new release reaches every site within the hour.
func (s *Server) serveScript(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() && !ctx.IsHead() {
		s.methodNotAllowed(ctx, "GET, HEAD")
		return
	}
	a := &s.assets.snippet
	switch string(ctx.Path()) {
	case "/pl-ui.js":
		a = &s.assets.ui
	case "/pl-hm.js":
		a = &s.assets.heatmap
	case "/pl-rr.js":
		a = &s.assets.replay
	}
	s.serveAsset(ctx, a, "public, max-age=3600")
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
}

func (s *Server) serveAsset(ctx *fasthttp.RequestCtx, a *asset, cache string) {
	h := &ctx.Response.Header
	body, etag := a.body, a.etag
	if a.gz != nil {
		h.Set("Vary", "Accept-Encoding")
		if ctx.Request.Header.HasAcceptEncoding("gzip") {
			// A representation of its own needs an ETag of its own.
			body, etag = a.gz, strings.TrimSuffix(a.etag, `"`)+`-gz"`
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	h.Set("Cache-Control", cache)
	h.Set("X-Content-Type-Options", "nosniff")
	if etagMatches(ctx.Request.Header.Peek("If-None-Match"), etag) {
		h.Del("Content-Encoding")
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	ctx.SetContentType(a.contentType)
	ctx.SetBody(body)
}

// etagMatches reports whether an If-None-Match header matches etag by the weak comparison
// of RFC 9110: "*", or any entity tag of the list equal to etag once W/ is set aside (a CDN
// that compresses often weakens the tags it passes on).
func etagMatches(header []byte, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for tag := range strings.SplitSeq(string(header), ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == want {
			return true
		}
	}
	return false
}

// serveDemo serves the demo shop's pages: /x is x/index.html (or x itself for a file).
func (s *Server) serveDemo(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() && !ctx.IsHead() {
		s.methodNotAllowed(ctx, "GET, HEAD")
		return
	}
	p := strings.Trim(path.Clean("/"+string(ctx.Path())), "/")
	candidates := []string{path.Join(p, "index.html"), p}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		body, err := fs.ReadFile(s.assets.demo, c)
		if err != nil {
			continue
		}
		ct := mime.TypeByExtension(path.Ext(c))
		if ct == "" {
			ct = "application/octet-stream"
		}
		a := newAsset(body, ct)
		s.serveAsset(ctx, &a, "no-cache")
		return
	}
	s.fail(ctx, fasthttp.StatusNotFound, "not_found", "no such page: "+string(ctx.Path()))
}
