//go:build !race

package enrich

import (
	"net/netip"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
)

// The request path must not allocate in the common cases: a known user agent, a page URL
// without escapes into a pooled Page, and the source of a direct, organic or UTM-tagged
// visit. The race detector allocates on its own, hence the build tag.

func TestUAParseCachedAllocs(t *testing.T) {
	p := NewUAParser(0)
	p.Parse(uaChromeWindows)
	if n := testing.AllocsPerRun(100, func() { p.Parse(uaChromeWindows) }); n != 0 {
		t.Errorf("Parse(cached) allocates %v times; want 0", n)
	}
}

func TestParsePageAllocs(t *testing.T) {
	const url = "https://www.example.com/landing/?utm_source=facebook&utm_medium=paid_social&fbclid=IwAR"
	var p event.Page
	ParsePage(url, &p) // grow p.Query once
	if n := testing.AllocsPerRun(100, func() { ParsePage(url, &p) }); n != 0 {
		t.Errorf("ParsePage(%q) into a used Page allocates %v times; want 0", url, n)
	}
}

func TestClassifyAllocs(t *testing.T) {
	c := NewClassifier([]string{"example.com"})
	tests := []struct{ url, ref string }{
		{"https://example.com/", ""},
		{"https://example.com/", "https://www.google.co.uk/"},
		{"https://example.com/", "https://l.facebook.com/"},
		{"https://example.com/", "https://example.com/other"},
		{"https://example.com/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring&fbclid=x", "https://l.facebook.com/"},
	}
	for _, tt := range tests {
		var p event.Page
		ParsePage(tt.url, &p)
		var s event.Source
		c.Classify(&p, tt.ref, &s) // grow s.ClickIDs once
		if n := testing.AllocsPerRun(100, func() { c.Classify(&p, tt.ref, &s) }); n != 0 {
			t.Errorf("Classify(%q, %q) allocates %v times; want 0", tt.url, tt.ref, n)
		}
	}
}

func TestCountryFromHeadersAllocs(t *testing.T) {
	get := func(string) string { return "gb" }
	if n := testing.AllocsPerRun(100, func() { CountryFromHeaders(get) }); n != 0 {
		t.Errorf("CountryFromHeaders allocates %v times; want 0", n)
	}
}

func TestGeoLookupCachedAllocs(t *testing.T) {
	g := openTestGeo(t, false)
	ip := netip.MustParseAddr("81.2.69.142")
	g.Lookup(ip)
	if n := testing.AllocsPerRun(100, func() { g.Lookup(ip) }); n != 0 {
		t.Errorf("Lookup(cached %s) allocates %v times; want 0", ip, n)
	}
}
