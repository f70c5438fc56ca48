package enrich

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
)

// query formats props as k=v pairs joined by "&", for compact test tables.
func query(props event.Props) string {
	var b strings.Builder
	for i, p := range props {
		if i > 0 {
			b.WriteByte('&')
		}
		fmt.Fprintf(&b, "%s=%s", p.Key, p.Val.Str)
	}
	return b.String()
}

func TestParsePage(t *testing.T) {
	tests := []struct {
		url   string
		host  string
		path  string
		query string
	}{
		{"https://example.com/", "example.com", "/", ""},
		{"https://example.com", "example.com", "/", ""},
		{"https://Example.COM:8443/Pricing/", "example.com", "/Pricing", ""},
		{"https://www.example.com/blog/post-1/", "www.example.com", "/blog/post-1", ""},
		{"https://example.com/a//b///c/", "example.com", "/a/b/c", ""},
		{"https://example.com//", "example.com", "/", ""},
		{"https://example.com/caf%C3%A9?x=1#top", "example.com", "/caf%C3%A9", "x=1"},
		{"https://example.com/p?utm_source=news&utm_medium=email&gclid=abc", "example.com", "/p", "utm_source=news&utm_medium=email&gclid=abc"},
		{"https://example.com/s?q=hello+world&tag=a%26b", "example.com", "/s", "q=hello world&tag=a&b"},
		{"https://example.com/s?bad=%zz&ok=1", "example.com", "/s", "bad=%zz&ok=1"},
		{"https://example.com/s?flag&=nokey&&k=", "example.com", "/s", "flag=&k="},
		{"https://example.com/s?a=1;b=2", "example.com", "/s", "a=1;b=2"},
		{"https://example.com/#/app/route?x=1", "example.com", "/", ""},
		{"https://user:pw@example.com:80/x", "example.com", "/x", ""},
		{"http://[2001:db8::1]:8080/x", "[2001:db8::1]", "/x", ""},
		{"https://example.com./x", "example.com", "/x", ""},
		{"https://example.com\\foo\\bar", "example.com", "/foo/bar", ""},
		{"//cdn.example.com/x?y=z", "cdn.example.com", "/x", "y=z"},
		{"/relative/path/?a=b", "", "/relative/path", "a=b"},
		{"page.html", "", "/page.html", ""},
		{"?only=query", "", "/", "only=query"},
		{"", "", "/", ""},
		{"   ", "", "/", ""},
		{"https://", "", "/", ""},
		{"javascript:alert(1)", "", "/javascript:alert(1)", ""},
		{"mailto:someone@example.com", "", "/mailto:someone@example.com", ""},
		{"1http://x", "", "/1http:/x", ""},
		{"https://例え.jp/パス", "例え.jp", "/パス", ""},
	}
	for _, tt := range tests {
		var p event.Page
		ParsePage(tt.url, &p)
		if p.URL != tt.url || p.Host != tt.host || p.Path != tt.path || query(p.Query) != tt.query {
			t.Errorf("ParsePage(%q) = {Host:%q Path:%q Query:%q}; want {Host:%q Path:%q Query:%q}",
				tt.url, p.Host, p.Path, query(p.Query), tt.host, tt.path, tt.query)
		}
	}
}

func TestParsePageReuse(t *testing.T) {
	var p event.Page
	ParsePage("https://a.example/x?one=1&two=2&three=3", &p)
	ParsePage("https://b.example/y?four=4", &p)
	if p.Host != "b.example" || p.Path != "/y" || query(p.Query) != "four=4" {
		t.Errorf("ParsePage into a used Page = {Host:%q Path:%q Query:%q}; want b.example /y four=4", p.Host, p.Path, query(p.Query))
	}
	if got := p.Query[:3][1]; got != (event.Prop{}) {
		t.Errorf("stale prop %+v past the new length; want it cleared", got)
	}
}

func TestParsePageQueryBound(t *testing.T) {
	var b strings.Builder
	b.WriteString("https://example.com/?")
	for i := range 1000 {
		fmt.Fprintf(&b, "p%d=%d&", i, i)
	}
	var p event.Page
	ParsePage(b.String(), &p)
	if len(p.Query) != maxQueryParams {
		t.Errorf("ParsePage(1000 params) kept %d; want %d", len(p.Query), maxQueryParams)
	}
}

func TestIsTrackingParam(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"utm_source", true},
		{"utm_medium", true},
		{"UTM_Campaign", true},
		{"utm_whatever", true},
		{"utm_", false},
		{"gclid", true},
		{"GCLID", true},
		{"gbraid", true},
		{"wbraid", true},
		{"dclid", true},
		{"msclkid", true},
		{"fbclid", true},
		{"ttclid", true},
		{"li_fat_id", true},
		{"twclid", true},
		{"epik", true},
		{"rdt_cid", true},
		{"sccid", true},
		{"_ga", true},
		{"_gl", true},
		{"mc_cid", true},
		{"mc_eid", true},
		{"_hsenc", true},
		{"mkt_tok", true},
		{"q", false},
		{"page", false},
		{"id", false},
		{"product_id", false},
		{"", false},
		{"a_very_long_parameter_name_indeed", false},
	}
	for _, tt := range tests {
		if got := IsTrackingParam(tt.name); got != tt.want {
			t.Errorf("IsTrackingParam(%q) = %v; want %v", tt.name, got, tt.want)
		}
	}
}

func FuzzParsePage(f *testing.F) {
	for _, s := range []string{"https://example.com/a//b/?x=1#f", "//h/p", "/p?q", "http://[::1]:80/", "%", "?&=&", "a:b//c", "https://u@h:1\\x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var p event.Page
		ParsePage(raw, &p)
		if p.URL != raw {
			t.Errorf("ParsePage(%q).URL = %q; want the URL as sent", raw, p.URL)
		}
		if p.Path == "" || p.Path[0] != '/' || len(p.Path) > 1 && strings.HasSuffix(p.Path, "/") || strings.Contains(p.Path, "//") {
			t.Errorf("ParsePage(%q).Path = %q; want a normalised path", raw, p.Path)
		}
		if strings.ContainsAny(p.Path, "?#") && !strings.ContainsAny(raw, "?#") {
			t.Errorf("ParsePage(%q).Path = %q has a query or fragment", raw, p.Path)
		}
		if len(p.Query) > maxQueryParams {
			t.Errorf("ParsePage(%q) kept %d params; want at most %d", raw, len(p.Query), maxQueryParams)
		}
	})
}

func BenchmarkParsePage(b *testing.B) {
	urls := []string{
		"https://www.example.com/pricing/",
		"https://www.example.com/landing?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring_sale&fbclid=IwAR2xyz",
		"https://shop.example.com/products/blue-shirt?variant=42",
	}
	var p event.Page
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		ParsePage(urls[i%len(urls)], &p)
	}
}
