package server

import (
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
)

// maxRefusalsLogged bounds the site and origin pairs whose first refusal is logged: past it,
// refusals are only counted (pathlight_requests_rejected_total), so that hits naming ever new
// sites or origins cannot grow memory or flood the log.
const maxRefusalsLogged = 1000

// refusals logs the first hit refused for each site id and origin (unknown_site or origin),
// with what the site's owner can change. The refusal itself cannot tell a foreign page
// anything, and a page of the owner's may not show it: the log is where it is explained.
type refusals struct {
	log     *slog.Logger
	sites   []string            // the configured site ids, sorted
	allowed map[string][]string // each site's allowed origins
	anyOK   bool                // no --sites: one site, any origin
	mu      sync.Mutex          // guards seen and full
	seen    map[string]struct{} // site "\x00" origin
	full    bool                // the bound was reached and said so
}

func newRefusals(log *slog.Logger, sites map[string][]string, anyOrigin bool) *refusals {
	return &refusals{
		log: log, sites: slices.Sorted(maps.Keys(sites)), allowed: sites, anyOK: anyOrigin,
		seen: make(map[string]struct{}),
	}
}

// first reports whether site and origin were not refused before, remembering them.
func (r *refusals) first(site, origin string) bool {
	key := site + "\x00" + origin
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[key]; ok {
		return false
	}
	if len(r.seen) >= maxRefusalsLogged {
		if !r.full {
			r.full = true
			r.log.Warn("hits refused from more sites and origins than are logged one by one; pathlight_requests_rejected_total counts them all",
				"logged", maxRefusalsLogged)
		}
		return false
	}
	r.seen[key] = struct{}{}
	return true
}

// unknownSite logs the first hit refused for naming a site id the server does not serve.
func (r *refusals) unknownSite(site string, originHeader []byte) {
	site, origin := logSafe(site), logSafe(string(originHeader))
	if !r.first(site, origin) {
		return
	}
	from := origin
	if from == "" || from == "null" {
		// a hit without Origin (a back end's, or same-origin), or from a page that has no
		// origin to allow: the null origin would let any sandboxed page in
		from = "https://your.site"
	}
	hint := "the page's snippet says data-site=" + quote(site) + "; this server serves only " + r.siteList() +
		": set data-site to one of those, or serve the site with --sites '" + site + "=" + from + "'"
	if origin == "null" {
		hint += "; Origin null is sent by sandboxed iframes, file:// pages and redirects across origins: serve the page over http(s)"
	}
	if r.anyOK {
		hint += " (which replaces the default sites " + r.siteList() + "; list them too to keep them)"
	}
	r.log.Warn("hit refused: unknown site", "site", site, "origin", origin, "hint", hint)
}

// origin logs the first hit refused for coming from an origin its site does not allow.
func (r *refusals) origin(site string, originHeader []byte) {
	origin := logSafe(string(originHeader))
	if !r.first(site, origin) {
		return
	}
	allowed := r.allowed[site]
	var hint string
	if origin == "null" {
		hint = "Origin null is sent by sandboxed iframes, file:// pages and redirects across origins: serve the page over http(s) from one of " + strings.Join(allowed, ", ")
	} else {
		hint = "site " + quote(site) + " allows only " + strings.Join(allowed, ", ") +
			"; if the page is yours, add its origin: --sites '" + site + "=" + strings.Join(append(slices.Clone(allowed), origin), ",") + "'"
		if len(r.sites) > 1 {
			hint += " (beside the other sites, separated by ';')"
		}
	}
	r.log.Warn("hit refused: origin not allowed for the site", "site", site, "origin", origin, "hint", hint)
}

func (r *refusals) siteList() string {
	if len(r.sites) == 0 {
		return "no site"
	}
	return strings.Join(r.sites, ", ")
}

// logSafe keeps what a client sent to a short line of printable ASCII for the log.
func logSafe(s string) string {
	if len(s) > 128 {
		s = s[:128]
	}
	return headerSafe(s)
}
