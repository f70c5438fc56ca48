package enrich

import (
	_ "embed"
	"fmt"
	"strings"
)

// category is GA4's source category of a traffic source: which default channel groups it can
// fall into.
type category uint8

const (
	catNone     category = iota // not a known source
	catSearch                   // SOURCE_CATEGORY_SEARCH
	catSocial                   // SOURCE_CATEGORY_SOCIAL
	catVideo                    // SOURCE_CATEGORY_VIDEO
	catShopping                 // SOURCE_CATEGORY_SHOPPING
	catOther                    // known, and in no category: a carve-out of a categorised domain
)

var categoryNames = map[string]category{
	"search": catSearch, "social": catSocial, "video": catVideo, "shopping": catShopping, "other": catOther,
}

// sourceInfo is what the source table knows about a source.
type sourceInfo struct {
	cat  category
	name string // the bare name: "google" for www.google.co.uk
}

// sourceTable finds the category of a source by bare name, by domain and subdomain, and by
// domain under any top-level domain. It is built once and only read afterwards.
type sourceTable struct {
	names   map[string]sourceInfo // bare names and aliases: "google", "fb"
	domains map[string]sourceInfo // domains, matched with their subdomains: "facebook.com"
	wild    map[string]sourceInfo // domains declared with ".*", without it: "google"
}

//go:embed sources.txt
var sourcesTxt string

// defaultSources is the table of sources.txt. The file is part of the binary and a test
// parses it, so an error here is a build defect, reported at start-up.
var defaultSources = mustParseSources(sourcesTxt)

func mustParseSources(data string) *sourceTable {
	t, err := parseSources(data)
	if err != nil {
		panic(err)
	}
	return t
}

// parseSources reads a table in the format sources.txt describes. It reports every bad line,
// and a name or domain listed twice.
func parseSources(data string) (*sourceTable, error) {
	t := &sourceTable{names: map[string]sourceInfo{}, domains: map[string]sourceInfo{}, wild: map[string]sourceInfo{}}
	var errs []string
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Sprintf("sources.txt:%d: %s", line, fmt.Sprintf(format, args...)))
	}
	for n, line := range strings.Split(data, "\n") {
		n++
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) < 2 || len(fields) > 3 {
			bad(n, "want category<TAB>name<TAB>aliases, got %d tab-separated fields", len(fields))
			continue
		}
		cat, ok := categoryNames[fields[0]]
		if !ok {
			bad(n, "unknown category %q", fields[0])
			continue
		}
		name := fields[1]
		if !validSourceWord(name) || strings.Contains(name, ".") {
			bad(n, "bad name %q", name)
			continue
		}
		info := sourceInfo{cat: cat, name: name}
		words := []string{name}
		if len(fields) == 3 {
			words = append(words, strings.Fields(fields[2])...)
		}
		add := func(m map[string]sourceInfo, key, w string) {
			if prev, dup := m[key]; dup {
				bad(n, "%q listed twice (also for %s)", w, prev.name)
				return
			}
			m[key] = info
		}
		for _, w := range words {
			if !validSourceWord(w) {
				bad(n, "bad name or domain %q", w)
				continue
			}
			switch {
			case strings.HasSuffix(w, ".*"):
				add(t.wild, strings.TrimSuffix(w, ".*"), w)
			case strings.Contains(w, "."):
				add(t.domains, w, w)
			default:
				add(t.names, w, w)
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("parse source categories:\n%s", strings.Join(errs, "\n"))
	}
	return t, nil
}

// validSourceWord reports whether w is a lower-case name or domain: letters, digits, "-",
// "_" and ".", with an optional ".*" suffix, no empty label.
func validSourceWord(w string) bool {
	w = strings.TrimSuffix(w, ".*")
	if w == "" || w[0] == '.' || w[len(w)-1] == '.' || strings.Contains(w, "..") {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// lookup returns what the table knows about the lower-case source s: a bare name ("google"),
// or a host ("m.facebook.com") matched by its most specific listed domain.
func (t *sourceTable) lookup(s string) (sourceInfo, bool) {
	if info, ok := t.names[s]; ok {
		return info, true
	}
	if strings.IndexByte(s, '.') < 0 {
		return sourceInfo{}, false
	}
	return t.lookupHost(s)
}

// lookupHost walks the lower-case host from the full name to its parent domains, and returns
// the first one listed, as a domain or as a domain under any top-level domain.
func (t *sourceTable) lookupHost(host string) (sourceInfo, bool) {
	tl := tldLen(host)
	for c := host; ; {
		if info, ok := t.domains[c]; ok {
			return info, true
		}
		if len(c) > tl+1 {
			if info, ok := t.wild[c[:len(c)-tl-1]]; ok {
				return info, true
			}
		}
		i := strings.IndexByte(c, '.')
		if i < 0 || len(c)-i-1 <= tl {
			return sourceInfo{}, false
		}
		c = c[i+1:]
	}
}

// tldLen returns the length of the public suffix of host as Pathlight approximates it: the
// last label, or the last two when they read as a country's second-level domain (co.uk,
// com.br, ne.jp). The approximation only has to be right for the domains in sources.txt and
// for telling a site's own subdomains apart, not for every registry in the world.
func tldLen(host string) int {
	i := strings.LastIndexByte(host, '.')
	if i < 0 {
		return len(host)
	}
	last := host[i+1:]
	if len(last) != 2 {
		return len(last)
	}
	j := strings.LastIndexByte(host[:i], '.')
	switch host[j+1 : i] {
	case "co", "com", "org", "net", "ac", "gov", "edu", "ne", "or", "go", "gob", "nic", "ltd", "plc", "sch", "gen", "biz":
		return len(host) - j - 1
	}
	return len(last)
}

// sharedSuffixes are domains under which unrelated parties each get a subdomain: two hosts
// under one of them are different sites.
var sharedSuffixes = map[string]bool{
	"github.io": true, "gitlab.io": true, "herokuapp.com": true, "blogspot.com": true, "wordpress.com": true,
	"netlify.app": true, "vercel.app": true, "pages.dev": true, "workers.dev": true, "web.app": true,
	"firebaseapp.com": true, "appspot.com": true, "azurewebsites.net": true, "cloudfront.net": true,
	"myshopify.com": true, "wixsite.com": true, "squarespace.com": true, "webflow.io": true,
	"substack.com": true, "tumblr.com": true, "onrender.com": true, "fly.dev": true, "glitch.me": true,
	"ngrok.io": true, "ngrok-free.app": true, "s3.amazonaws.com": true, "framer.website": true,
	"carrd.co": true,
}

// registrableDomain approximates the domain a host's owner registered: "example.co.uk" for
// shop.example.co.uk, "me.github.io" for me.github.io. IP literals and bare names are
// returned as they are.
func registrableDomain(host string) string {
	if host == "" || host[0] == '[' || isIPv4(host) {
		return host
	}
	// Is the host under a shared suffix of two or three labels? Then the label before it is
	// the site.
	for i, dots := len(host)-1, 0; i > 0; i-- {
		if host[i] != '.' {
			continue
		}
		if dots++; dots > 1 && sharedSuffixes[host[i+1:]] {
			return lastLabels(host[:i], host)
		}
		if dots == 3 {
			break
		}
	}
	tl := tldLen(host)
	if len(host) <= tl+1 {
		return host
	}
	return lastLabels(host[:len(host)-tl-1], host)
}

// lastLabels returns host from the last label of its prefix rest on.
func lastLabels(rest, host string) string {
	return host[strings.LastIndexByte(rest, '.')+1:]
}

func isIPv4(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
