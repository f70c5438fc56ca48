package server

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"testing"
)

// TestRefusalLogIsBounded: hits from ever new origins log at most maxRefusalsLogged lines,
// then one saying that more are only counted, and remember no more pairs than that.
func TestRefusalLogIsBounded(t *testing.T) {
	var buf bytes.Buffer
	r := newRefusals(slog.New(slog.NewTextHandler(&buf, nil)), map[string][]string{"shop": {"https://shop.example"}}, false)
	for i := range maxRefusalsLogged + 500 {
		origin := []byte("https://x" + strconv.Itoa(i) + ".example")
		r.origin("shop", origin)
		r.origin("shop", origin)
		r.unknownSite("s"+strconv.Itoa(i), nil)
	}
	lines := strings.Count(buf.String(), "\n")
	if lines != maxRefusalsLogged+1 || !strings.Contains(buf.String(), "pathlight_requests_rejected_total") {
		t.Fatalf("%d log lines; want %d and one about the rest", lines, maxRefusalsLogged+1)
	}
	if len(r.seen) != maxRefusalsLogged {
		t.Fatalf("%d pairs remembered; want at most %d", len(r.seen), maxRefusalsLogged)
	}
	// What a client sent is logged short and printable.
	buf.Reset()
	r = newRefusals(slog.New(slog.NewTextHandler(&buf, nil)), map[string][]string{"shop": {"https://shop.example"}}, false)
	r.origin("shop", []byte("https://evil.example\n"+strings.Repeat("x", 4096)))
	if out := buf.String(); strings.Count(out, "\n") != 1 || len(out) > 1200 || strings.Contains(out, strings.Repeat("x", 200)) {
		t.Fatalf("log of a long origin with a newline: %q", out)
	}
}

// TestUnknownSiteHintNeverSuggestsOriginNull: a hit for an unknown site from Origin null (a
// sandboxed iframe, a file:// page) is not told to allow the origin null, which any sandboxed
// page of any site may send.
func TestUnknownSiteHintNeverSuggestsOriginNull(t *testing.T) {
	var buf bytes.Buffer
	r := newRefusals(slog.New(slog.NewTextHandler(&buf, nil)), map[string][]string{"shop": {"https://shop.example"}}, false)
	r.unknownSite("blog", []byte("null"))
	out := buf.String()
	if strings.Contains(out, "blog=null") || !strings.Contains(out, "blog=https://your.site") || !strings.Contains(out, "Origin null") {
		t.Fatalf("hint for an unknown site from Origin null: %q; want the placeholder origin and why null is no origin to allow", out)
	}
}
