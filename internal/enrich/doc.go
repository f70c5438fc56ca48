// Package enrich turns the raw facts of a hit into the facts reports and rules reason about:
// the user agent into a device class, operating system, browser and bot flag; the client IP
// into a country, region, city and time zone; the page URL into host, path and query; and the
// landing URL and referrer into a GA4-style source / medium / campaign and default channel
// group.
//
// Everything here is pure computation over strings, safe for concurrent use, and built for
// the request path: results that are expensive to compute (user agents, GeoIP records) are
// kept in bounded caches, and the common cases allocate nothing. Strings the package returns
// never alias the caller's input buffers unless they are substrings of a string the caller
// already owns (a URL or referrer of an event).
package enrich
