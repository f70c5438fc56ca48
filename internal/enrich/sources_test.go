package enrich

import (
	"strings"
	"testing"
)

func TestSourcesFileParses(t *testing.T) {
	tab, err := parseSources(sourcesTxt)
	if err != nil {
		t.Fatalf("parseSources(sources.txt) = %v", err)
	}
	entries := 0
	for i, line := range strings.Split(sourcesTxt, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		entries++
		// Each line must parse on its own, and its name must then be known.
		one, err := parseSources(line)
		if err != nil {
			t.Errorf("sources.txt:%d: parseSources(%q) = %v", i+1, line, err)
			continue
		}
		name := strings.Split(line, "\t")[1]
		if _, ok := one.lookup(name); !ok {
			t.Errorf("sources.txt:%d: lookup(%q) found nothing", i+1, name)
		}
	}
	words := len(tab.names) + len(tab.domains) + len(tab.wild)
	if entries < 150 || words < 300 {
		t.Errorf("sources.txt has %d sources and %d names and domains; want at least 150 and 300", entries, words)
	}
}

func TestParseSourcesErrors(t *testing.T) {
	tests := []struct {
		data string
		want string
	}{
		{"search\tgoogle\tgoogle.*\nsearch\tbing\tgoogle.*", `sources.txt:2: "google.*" listed twice`},
		{"search\tgoogle\nsocial\tgoogle", `sources.txt:2: "google" listed twice`},
		{"news\tgoogle", `sources.txt:1: unknown category "news"`},
		{"search", "sources.txt:1: want category<TAB>name<TAB>aliases, got 1"},
		{"search\tgoogle\ta\tb", "sources.txt:1: want category<TAB>name<TAB>aliases, got 4"},
		{"search\tGoogle", `sources.txt:1: bad name "Google"`},
		{"search\tgoogle.com", `sources.txt:1: bad name "google.com"`},
		{"search\tgoogle\tgoo..gle", `sources.txt:1: bad name or domain "goo..gle"`},
		{"search\tgoogle\t.google.com", `sources.txt:1: bad name or domain ".google.com"`},
		{"# ok\n\nsearch\tx\nsocial\ty\tY.com", `sources.txt:4: bad name or domain "Y.com"`},
	}
	for _, tt := range tests {
		_, err := parseSources(tt.data)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseSources(%q) = %v; want an error containing %q", tt.data, err, tt.want)
		}
	}
}

func TestSourceLookup(t *testing.T) {
	tests := []struct {
		source string
		cat    category
		name   string
	}{
		{"google", catSearch, "google"},
		{"www.google.com", catSearch, "google"},
		{"google.co.uk", catSearch, "google"},
		{"www.google.com.au", catSearch, "google"},
		{"news.google.com", catSearch, "google"},
		{"mail.google.com", catOther, "gmail"},
		{"mail.google.co.jp", catOther, "gmail"},
		{"shopping.google.com", catShopping, "google-shopping"},
		{"search.yahoo.co.jp", catSearch, "yahoo"},
		{"mail.yahoo.com", catOther, "yahoo-mail"},
		{"yandex.com.tr", catSearch, "yandex"},
		{"fb", catSocial, "facebook"},
		{"facebook", catSocial, "facebook"},
		{"lm.facebook.com", catSocial, "facebook"},
		{"l.instagram.com", catSocial, "instagram"},
		{"t.co", catSocial, "twitter"},
		{"x.com", catSocial, "twitter"},
		{"uk.pinterest.com", catSocial, "pinterest"},
		{"pinterest.co.uk", catSocial, "pinterest"},
		{"m.youtube.com", catVideo, "youtube"},
		{"youtu.be", catVideo, "youtube"},
		{"player.vimeo.com", catVideo, "vimeo"},
		{"www.amazon.co.uk", catShopping, "amazon"},
		{"smile.amazon.com", catShopping, "amazon"},
		{"aws.amazon.com", catOther, "aws"},
		{"ebay.de", catShopping, "ebay"},
		{"checkout.stripe.com", catShopping, "stripe"},
		{"example.com", catNone, ""},
		{"notgoogle.com", catNone, ""},
		{"google.example.com", catNone, ""},
		{"com", catNone, ""},
		{"co.uk", catNone, ""},
		{"", catNone, ""},
	}
	for _, tt := range tests {
		info, _ := defaultSources.lookup(tt.source)
		if info.cat != tt.cat || info.name != tt.name {
			t.Errorf("lookup(%q) = {%d %q}; want {%d %q}", tt.source, info.cat, info.name, tt.cat, tt.name)
		}
	}
}

func TestRegistrableDomain(t *testing.T) {
	tests := []struct{ host, want string }{
		{"example.com", "example.com"},
		{"www.example.com", "example.com"},
		{"a.b.example.com", "example.com"},
		{"shop.example.co.uk", "example.co.uk"},
		{"example.co.uk", "example.co.uk"},
		{"www.example.com.br", "example.com.br"},
		{"blog.example.de", "example.de"},
		{"me.github.io", "me.github.io"},
		{"x.me.github.io", "me.github.io"},
		{"github.io", "github.io"},
		{"localhost", "localhost"},
		{"127.0.0.1", "127.0.0.1"},
		{"[2001:db8::1]", "[2001:db8::1]"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := registrableDomain(tt.host); got != tt.want {
			t.Errorf("registrableDomain(%q) = %q; want %q", tt.host, got, tt.want)
		}
	}
}
