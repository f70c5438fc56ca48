package rules

import (
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// rawCapture is one entry of the `capture:` section as written.
type rawCapture struct {
	scope    rawScope
	at       pos
	id       string
	desc     string
	pages    []string
	segments []string
	segsAt   []pos
	share    float64
	heatmap  bool
	replay   bool
}

var captureKeys = []string{"pages", "segments", "share", "heatmap", "replay", "description", "sites"}

// Bounds of a capture rule's page patterns.
const (
	maxCapturePages   = 50
	maxCapturePattern = 256
)

// capture decodes one capture rule: `<id>: {pages, segments, share, heatmap, replay}`.
func (d *dec) capture(e entry) *rawCapture {
	if !d.keyIdent(e, "capture id") {
		return nil
	}
	cp := &rawCapture{at: d.at(e.k), id: e.key}
	what := "capture " + quote(e.key)
	have := map[string]bool{}
	badKind := false // a bad heatmap or replay value is reported already
	if !d.object(e.v, what, captureKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "pages":
			items, isList := d.list(f.v, what+" pages")
			if isList && len(items) == 0 {
				d.errorf(f.k, "%s pages must list at least one page pattern (leave the key out for every page)", what)
			}
			if len(items) > maxCapturePages {
				d.errorf(f.k, "%s lists %d page patterns; at most %d", what, len(items), maxCapturePages)
			}
			for _, it := range items {
				if p, ok := d.pagePattern(it); ok {
					cp.pages = append(cp.pages, p)
				}
			}
		case "segments":
			items, _ := d.list(f.v, what+" segments")
			for _, it := range items {
				if s, ok := d.ident(it, "segment"); ok {
					cp.segments = append(cp.segments, s)
					cp.segsAt = append(cp.segsAt, d.at(it))
				}
			}
		case "share":
			cp.share, _ = d.fraction(f.v, what+" share")
		case "heatmap":
			var ok bool
			cp.heatmap, ok = d.boolean(f.v, "heatmap")
			badKind = badKind || !ok
		case "replay":
			var ok bool
			cp.replay, ok = d.boolean(f.v, "replay")
			badKind = badKind || !ok
		case "description":
			cp.desc, _ = d.text(f.v, "description")
		case "sites":
			cp.scope = d.scope(f)
		}
	}) {
		return nil
	}
	d.require(e.k, what, have, "share")
	if !cp.heatmap && !cp.replay && !badKind {
		d.errorf(e.k, "%s captures nothing: set heatmap: true, replay: true or both", what)
	}
	return cp
}

// pagePattern decodes a page path pattern: a path starting with '/', where '*' stands for
// any run of characters ("/products/*", "/blog/*/comments").
func (d *dec) pagePattern(n ast.Node) (string, bool) {
	s, ok := d.str(n, "page pattern")
	if !ok {
		return "", false
	}
	switch {
	case !strings.HasPrefix(s, "/"):
		d.errorf(n, "page pattern %q must be a path starting with '/' (such as /pricing or /products/*)", s)
	case len(s) > maxCapturePattern:
		d.errorf(n, "page pattern is longer than %d bytes", maxCapturePattern)
	case strings.ContainsAny(s, "?# \t"):
		d.errorf(n, "page pattern %q must be a path only: no query, fragment or space", s)
	default:
		return s, true
	}
	return "", false
}
