package enrich

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"

	"github.com/oschwald/maxminddb-golang"

	"github.com/pathlight/pathlight/internal/event"
)

// geoCacheSize is the number of decoded GeoIP records a GeoDB keeps. A City database has a few
// hundred thousand records (one per city and per country), but traffic concentrates on far
// fewer.
const geoCacheSize = 1 << 16

// GeoDB looks up where an IP address is, in a MaxMind DB (GeoIP2 or GeoLite2 City or Country,
// or a compatible one such as DB-IP's). A GeoDB is safe for concurrent use; a nil *GeoDB
// answers every lookup with an empty Geo, so a server without a database needs no special
// case.
//
// The database is read into memory rather than mapped: Close can then run while lookups are
// in flight (a reload swaps databases without waiting for readers), and the bytes, which hold
// no pointers, cost the garbage collector nothing to scan.
type GeoDB struct {
	db     atomic.Pointer[maxminddb.Reader]
	dbType string
	city   bool
	cache  *cache[uintptr, event.Geo]
}

// geoRecord is the part of a City or Country record Pathlight reads. Decoding into it skips
// every other field (names in other languages, coordinates, postal codes), which keeps a cache
// miss cheap.
type geoRecord struct {
	City struct {
		Names struct {
			EN string `maxminddb:"en"`
		} `maxminddb:"names"`
	} `maxminddb:"city"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"subdivisions"`
	Location struct {
		TimeZone string `maxminddb:"time_zone"`
	} `maxminddb:"location"`
}

// OpenGeo reads the MaxMind DB file at path. The database must be a City or a Country
// database: an ASN, ISP or anonymous-IP database has no location in it, and opening one is an
// error that names its type.
func OpenGeo(path string) (*GeoDB, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open geoip database: %w", err)
	}
	r, err := maxminddb.FromBytes(b)
	if err != nil {
		return nil, fmt.Errorf("open geoip database %s: %w", path, err)
	}
	t := r.Metadata.DatabaseType
	city := strings.Contains(t, "City") || strings.Contains(t, "Enterprise") || strings.Contains(t, "Location")
	if !city && !strings.Contains(t, "Country") {
		return nil, fmt.Errorf("open geoip database %s: type %q is neither a City nor a Country database", path, t)
	}
	g := &GeoDB{dbType: t, city: city, cache: newCache[uintptr, event.Geo](geoCacheSize, hashOffset)}
	g.db.Store(r)
	return g, nil
}

// hashOffset spreads record offsets over cache shards. Offsets of neighbouring records differ
// in their low bits only by record sizes, so the bits are mixed first (a Fibonacci hash).
func hashOffset(off uintptr) uint64 {
	return (uint64(off) * 0x9e3779b97f4a7c15) >> 32
}

// DatabaseType returns the type the database's metadata declares, "GeoLite2-City" for one;
// "" for a nil GeoDB.
func (g *GeoDB) DatabaseType() string {
	if g == nil {
		return ""
	}
	return g.dbType
}

// HasCity reports whether the database has cities, regions and time zones, not only
// countries.
func (g *GeoDB) HasCity() bool { return g != nil && g.city }

// Lookup returns where ip is. The Geo is empty when g is nil or closed, ip is invalid or
// private, or the database does not know the address; a Country database fills only Country.
// An IPv4-mapped IPv6 address is looked up as IPv4.
func (g *GeoDB) Lookup(ip netip.Addr) event.Geo {
	if g == nil || !ip.IsValid() {
		return event.Geo{}
	}
	r := g.db.Load()
	if r == nil {
		return event.Geo{}
	}
	ip = ip.Unmap()
	a := ip.As16()
	nip := net.IP(a[:])
	if ip.Is4() {
		nip = nip[12:]
	}
	off, err := r.LookupOffset(nip)
	if err != nil || off == maxminddb.NotFound {
		return event.Geo{}
	}
	if geo, ok := g.cache.get(off); ok {
		return geo
	}
	var rec geoRecord
	if err := r.Decode(off, &rec); err != nil {
		return event.Geo{}
	}
	geo := event.Geo{Country: rec.Country.ISOCode, City: rec.City.Names.EN, TimeZone: rec.Location.TimeZone}
	if geo.Country == "" {
		// Anycast and satellite ranges carry only the country the network is registered in.
		geo.Country = rec.RegisteredCountry.ISOCode
	}
	if len(rec.Subdivisions) > 0 {
		geo.Region = rec.Subdivisions[0].ISOCode
	}
	g.cache.put(off, geo)
	return geo
}

// Close releases the database. Lookups running at the time finish normally; later ones
// return an empty Geo. Close on a nil or closed GeoDB does nothing.
func (g *GeoDB) Close() error {
	if g == nil {
		return nil
	}
	g.db.Store(nil)
	return nil
}

// countryHeaders are the headers CDNs set to the client's country, in the order they are
// trusted: Cloudflare, Amazon CloudFront, Vercel.
var countryHeaders = [...]string{"CF-IPCountry", "CloudFront-Viewer-Country", "X-Vercel-IP-Country"}

// countryCodes interns every two-letter code, so that CountryFromHeaders returns a constant
// string instead of a copy of (or an alias into) a request buffer.
var countryCodes = func() (t [26 * 26]string) {
	for i := range t {
		t[i] = string([]byte{'A' + byte(i/26), 'A' + byte(i%26)})
	}
	return t
}()

// CountryFromHeaders returns the client's country (ISO 3166-1 alpha-2, upper case) from the
// country header a CDN in front of Pathlight sets, or "" when there is none. Call it only for
// requests from a trusted proxy: anyone can send the header. "XX" (unknown), "T1" (Tor) and
// the legacy anonymous-proxy and satellite codes are ignored. get returns a request header's
// value; its result is not retained.
func CountryFromHeaders(get func(name string) string) string {
	for _, h := range countryHeaders {
		if c := countryCode(get(h)); c != "" {
			return c
		}
	}
	return ""
}

// countryCode returns the interned upper-case code for v, or "" when v is not a usable
// two-letter country code.
func countryCode(v string) string {
	v = strings.TrimSpace(v)
	if len(v) != 2 {
		return ""
	}
	a, b := upperASCII(v[0]), upperASCII(v[1])
	if a < 'A' || a > 'Z' || b < 'A' || b > 'Z' {
		return ""
	}
	// Codes with digits ("T1" for Tor, "A1" and "A2" for anonymous proxies and satellites)
	// fail the letter check above; these letter codes name no country either.
	c := countryCodes[int(a-'A')*26+int(b-'A')]
	switch c {
	case "XX", "ZZ", "EU", "AP":
		return ""
	}
	return c
}

func upperASCII(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
