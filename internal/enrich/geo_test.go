package enrich

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pathlight/pathlight/internal/enrich/geotest"
	"github.com/pathlight/pathlight/internal/event"
)

var testGeoRecords = []geotest.Record{
	{CIDR: "81.2.69.0/24", Country: "GB", Subdivision: "ENG", City: "London", TimeZone: "Europe/London"},
	{CIDR: "89.160.20.128/25", Country: "SE", Subdivision: "E", City: "Linköping", TimeZone: "Europe/Stockholm"},
	{CIDR: "2a02:c7f::/32", Country: "GB", Subdivision: "SCT", City: "Edinburgh", TimeZone: "Europe/London"},
	{CIDR: "2001:db8::/32", Country: "DE", Subdivision: "BE", City: "Berlin", TimeZone: "Europe/Berlin"},
	{CIDR: "192.0.2.0/24", Country: "US"}, // a country without a city
}

// openTestGeo writes testGeoRecords as a City (or Country) database in a temporary directory
// and opens it.
func openTestGeo(t testing.TB, country bool) *GeoDB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.mmdb")
	write := geotest.WriteCityDB
	if country {
		write = geotest.WriteCountryDB
	}
	if err := write(path, testGeoRecords); err != nil {
		t.Fatal(err)
	}
	g, err := OpenGeo(path)
	if err != nil {
		t.Fatalf("OpenGeo(%q) = %v", path, err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func TestGeoLookupCity(t *testing.T) {
	g := openTestGeo(t, false)
	if !g.HasCity() || g.DatabaseType() != geotest.CityType {
		t.Errorf("HasCity(), DatabaseType() = %v, %q; want true, %q", g.HasCity(), g.DatabaseType(), geotest.CityType)
	}
	london := event.Geo{Country: "GB", Region: "ENG", City: "London", TimeZone: "Europe/London"}
	tests := []struct {
		ip   string
		want event.Geo
	}{
		{"81.2.69.142", london},
		{"81.2.69.0", london},
		{"81.2.69.255", london},
		{"::ffff:81.2.69.142", london},
		{"89.160.20.200", event.Geo{Country: "SE", Region: "E", City: "Linköping", TimeZone: "Europe/Stockholm"}},
		{"2a02:c7f:1234::1", event.Geo{Country: "GB", Region: "SCT", City: "Edinburgh", TimeZone: "Europe/London"}},
		{"2001:db8::1", event.Geo{Country: "DE", Region: "BE", City: "Berlin", TimeZone: "Europe/Berlin"}},
		{"192.0.2.7", event.Geo{Country: "US"}},
		{"81.2.70.1", event.Geo{}},
		{"10.1.2.3", event.Geo{}},
		{"127.0.0.1", event.Geo{}},
		{"::1", event.Geo{}},
		{"2001:db9::1", event.Geo{}},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := g.Lookup(ip); got != tt.want {
			t.Errorf("Lookup(%s) = %+v; want %+v", tt.ip, got, tt.want)
		}
		// Again, from the record cache.
		if got := g.Lookup(ip); got != tt.want {
			t.Errorf("Lookup(%s) again = %+v; want %+v", tt.ip, got, tt.want)
		}
	}
	if got := g.Lookup(netip.Addr{}); got != (event.Geo{}) {
		t.Errorf("Lookup(invalid) = %+v; want empty", got)
	}
}

func TestGeoLookupCountry(t *testing.T) {
	g := openTestGeo(t, true)
	if g.HasCity() {
		t.Errorf("HasCity() = true for a Country database; want false")
	}
	tests := []struct {
		ip   string
		want event.Geo
	}{
		{"81.2.69.142", event.Geo{Country: "GB"}},
		{"2001:db8::1", event.Geo{Country: "DE"}},
		{"10.0.0.1", event.Geo{}},
	}
	for _, tt := range tests {
		if got := g.Lookup(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Lookup(%s) = %+v; want %+v", tt.ip, got, tt.want)
		}
	}
}

func TestGeoNilAndClosed(t *testing.T) {
	var g *GeoDB
	ip := netip.MustParseAddr("81.2.69.142")
	if got := g.Lookup(ip); got != (event.Geo{}) {
		t.Errorf("nil.Lookup(%s) = %+v; want empty", ip, got)
	}
	if err := g.Close(); err != nil {
		t.Errorf("nil.Close() = %v; want nil", err)
	}
	if g.HasCity() || g.DatabaseType() != "" {
		t.Errorf("nil.HasCity(), DatabaseType() = %v, %q; want false, \"\"", g.HasCity(), g.DatabaseType())
	}

	g = openTestGeo(t, false)
	if got := g.Lookup(ip); got.City != "London" {
		t.Fatalf("Lookup(%s) = %+v; want London", ip, got)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if got := g.Lookup(ip); got != (event.Geo{}) {
		t.Errorf("Lookup(%s) after Close = %+v; want empty", ip, got)
	}
	if err := g.Close(); err != nil {
		t.Errorf("second Close() = %v; want nil", err)
	}
}

func TestGeoCloseWhileLookingUp(t *testing.T) {
	g := openTestGeo(t, false)
	ip := netip.MustParseAddr("81.2.69.142")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				if got := g.Lookup(ip); got.City != "London" && got != (event.Geo{}) {
					t.Errorf("Lookup(%s) = %+v; want London or empty", ip, got)
					return
				}
			}
		}()
	}
	g.Close()
	wg.Wait()
}

func TestOpenGeoErrors(t *testing.T) {
	dir := t.TempDir()
	asn := filepath.Join(dir, "asn.mmdb")
	if err := geotest.WriteDB(asn, "GeoLite2-ASN", testGeoRecords[:1]); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.mmdb")
	if err := os.WriteFile(garbage, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want string // a substring of the error
	}{
		{filepath.Join(dir, "missing.mmdb"), "no such file"},
		{garbage, "invalid MaxMind DB"},
		{asn, `"GeoLite2-ASN" is neither a City nor a Country database`},
	}
	for _, tt := range tests {
		g, err := OpenGeo(tt.path)
		if err == nil {
			g.Close()
			t.Errorf("OpenGeo(%q) = nil error; want one containing %q", tt.path, tt.want)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("OpenGeo(%q) = %v; want an error containing %q", tt.path, err, tt.want)
		}
	}
}

func TestCountryFromHeaders(t *testing.T) {
	tests := []struct {
		headers map[string]string
		want    string
	}{
		{map[string]string{"CF-IPCountry": "GB"}, "GB"},
		{map[string]string{"CF-IPCountry": "gb"}, "GB"},
		{map[string]string{"CF-IPCountry": " de "}, "DE"},
		{map[string]string{"CloudFront-Viewer-Country": "FR"}, "FR"},
		{map[string]string{"X-Vercel-IP-Country": "JP"}, "JP"},
		{map[string]string{"CF-IPCountry": "XX", "CloudFront-Viewer-Country": "NL"}, "NL"},
		{map[string]string{"CF-IPCountry": "T1"}, ""},
		{map[string]string{"CF-IPCountry": "XX"}, ""},
		{map[string]string{"CF-IPCountry": "A1"}, ""},
		{map[string]string{"CF-IPCountry": "GBR"}, ""},
		{map[string]string{"CF-IPCountry": "G"}, ""},
		{map[string]string{"CF-IPCountry": "é"}, ""},
		{map[string]string{"CF-IPCountry": "US", "X-Vercel-IP-Country": "CA"}, "US"},
		{map[string]string{}, ""},
	}
	for _, tt := range tests {
		get := func(name string) string { return tt.headers[name] }
		if got := CountryFromHeaders(get); got != tt.want {
			t.Errorf("CountryFromHeaders(%v) = %q; want %q", tt.headers, got, tt.want)
		}
	}
}

func BenchmarkGeoLookup(b *testing.B) {
	g := openTestGeo(b, false)
	ips := []netip.Addr{
		netip.MustParseAddr("81.2.69.142"),
		netip.MustParseAddr("89.160.20.200"),
		netip.MustParseAddr("2a02:c7f:1234::1"),
		netip.MustParseAddr("10.0.0.1"),
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		g.Lookup(ips[i%len(ips)])
	}
}
