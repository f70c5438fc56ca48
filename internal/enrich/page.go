package enrich

import (
	"net/url"
	"strings"

	"github.com/pathlight/pathlight/internal/event"
)

// maxQueryParams bounds the query parameters ParsePage keeps: a landing URL carries a handful,
// and the bound keeps a hostile URL from costing more than a normal one.
const maxQueryParams = 64

// ParsePage fills p from the page URL rawURL: p.URL is rawURL as sent; p.Host its host,
// lower-cased, without port or user info ("www." is kept); p.Path its path without query or
// fragment, runs of "/" collapsed, a trailing "/" removed, and "/" for an empty path
// (percent-escapes are left as sent, so a path reads in reports as the browser sent it);
// p.Query its query parameters in order, decoded, tracking parameters included (at most
// maxQueryParams; a parameter without a name is dropped).
//
// ParsePage accepts anything: absolute URLs, scheme-relative ones ("//host/path"), bare paths,
// garbage. It never fails and makes the best of what it gets. p.Query keeps its capacity, so a
// pooled Page parses without allocating; strings in p are substrings of rawURL unless
// decoding or normalising had to build new ones.
func ParsePage(rawURL string, p *event.Page) {
	q := p.Query[:cap(p.Query)]
	clear(q) // drop the strings of the previous URL, which the pool would otherwise keep alive
	*p = event.Page{URL: rawURL, Query: q[:0]}

	s := strings.TrimSpace(rawURL)
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	var query string
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s, query = s[:i], s[i+1:]
	}
	var host string
	host, s = splitAuthority(s)
	p.Host = normaliseHost(host)
	p.Path = normalisePath(s)
	p.Query = parseQuery(query, p.Query)
}

// splitAuthority splits what precedes the query into the authority (user info, host and port)
// and the path. A URL without a scheme and without "//" is a path.
func splitAuthority(s string) (authority, path string) {
	rest, ok := cutScheme(s)
	if !ok {
		if !strings.HasPrefix(s, "//") {
			return "", s
		}
		rest = s
	}
	rest = strings.TrimPrefix(rest, "//")
	// Browsers read a backslash as a slash in http URLs.
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' || rest[i] == '\\' {
			return rest[:i], rest[i:]
		}
	}
	return rest, ""
}

// cutScheme returns s without its "scheme:" prefix when it has one that is followed by "//".
func cutScheme(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case c == ':' && i > 0:
			if strings.HasPrefix(s[i+1:], "//") {
				return s[i+1:], true
			}
			return s, false
		default:
			return s, false
		}
	}
	return s, false
}

// normaliseHost strips user info and port from an authority and lower-cases it. An IPv6
// literal keeps its brackets.
func normaliseHost(a string) string {
	if i := strings.LastIndexByte(a, '@'); i >= 0 {
		a = a[i+1:]
	}
	if strings.HasPrefix(a, "[") {
		if i := strings.IndexByte(a, ']'); i >= 0 {
			a = a[:i+1]
		}
	} else if i := strings.IndexByte(a, ':'); i >= 0 {
		a = a[:i]
	}
	a = strings.TrimSuffix(a, ".")
	return lowerASCII(a)
}

// normalisePath collapses runs of "/" (and reads "\" as "/", as browsers do), drops a
// trailing "/" and makes an empty path "/". A path without those needs no copy.
func normalisePath(s string) string {
	if s == "" {
		return "/"
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' || s[i] == '/' && i+1 < len(s) && s[i+1] == '/' {
			clean = false
			break
		}
	}
	if !clean {
		var b strings.Builder
		b.Grow(len(s))
		prevSlash := false
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '\\' {
				c = '/'
			}
			if c == '/' && prevSlash {
				continue
			}
			prevSlash = c == '/'
			b.WriteByte(c)
		}
		s = b.String()
	}
	if s[0] != '/' {
		// A relative path ("page.html") reads as rooted: there is no base to resolve it to.
		s = "/" + s
	}
	if len(s) > 1 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// parseQuery appends the parameters of query to props. Names and values are decoded as forms
// encode them; a part that does not decode is kept as sent.
func parseQuery(query string, props event.Props) event.Props {
	for query != "" && len(props) < maxQueryParams {
		var part string
		part, query, _ = strings.Cut(query, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k = unescape(k)
		if k == "" {
			continue
		}
		props = append(props, event.Prop{Key: k, Val: event.StringValue(unescape(v))})
	}
	return props
}

// unescape decodes a query component, or returns it as sent when it does not decode. A
// component without escapes is returned without a copy.
func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// lowerASCII lower-cases the ASCII letters of s, copying only when s has an upper-case one.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// trackingParams are the query parameters ad platforms, email tools and analytics scripts add
// to links to attribute a visit. Names are lower case; utm_* is matched by prefix.
var trackingParams = map[string]bool{
	// Click ids.
	"gclid": true, "gclsrc": true, "gbraid": true, "wbraid": true, "dclid": true, "gad_source": true,
	"gad_campaignid": true, "srsltid": true, "msclkid": true, "fbclid": true, "ttclid": true,
	"li_fat_id": true, "twclid": true, "epik": true, "rdt_cid": true, "sccid": true, "scclid": true,
	"yclid": true, "ymclid": true, "igshid": true, "igsh": true, "irclickid": true, "wickedid": true,
	"s_kwcid": true, "ef_id": true, "qclid": true, "mscklid": true, "obclid": true, "tblci": true,
	"vmcid": true, "cjevent": true, "dm_i": true,
	// Analytics and cross-domain linking.
	"_ga": true, "_gl": true, "_gac": true, "_kx": true, "_ke": true, "_bta_tid": true, "_bta_c": true,
	"pk_campaign": true, "pk_kwd": true, "pk_source": true, "pk_medium": true, "pk_content": true,
	"mtm_campaign": true, "mtm_source": true, "mtm_medium": true, "mtm_content": true,
	"mtm_keyword": true, "piwik_campaign": true, "piwik_kwd": true, "ref_src": true, "ref_url": true,
	// Email and marketing automation.
	"mc_cid": true, "mc_eid": true, "mkt_tok": true, "_hsenc": true, "_hsmi": true, "__hstc": true,
	"__hssc": true, "__hsfp": true, "hsctatracking": true, "oly_anon_id": true, "oly_enc_id": true,
	"vero_id": true, "vero_conv": true, "ss_source": true, "ss_campaign_id": true,
	"rb_clickid": true, "spm": true, "sc_cid": true, "trk_contact": true, "trk_msg": true,
	"trk_module": true, "trk_sid": true,
}

// IsTrackingParam reports whether the query parameter name only attributes the visit (utm_*,
// ad click ids, analytics linker and email tool parameters) rather than selecting content.
// Names are compared without regard to case.
func IsTrackingParam(name string) bool {
	if len(name) > 4 && strings.EqualFold(name[:4], "utm_") {
		return true
	}
	if len(name) > 16 {
		return false
	}
	var buf [16]byte
	for i := 0; i < len(name); i++ {
		buf[i] = lowerByte(name[i])
	}
	return trackingParams[string(buf[:len(name)])]
}

func lowerByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
