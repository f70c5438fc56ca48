// Package geotest writes small MaxMind DB files for tests: a City or Country database with the
// networks a test names, in the layout of MaxMind's GeoIP2 databases, so that tests of GeoIP
// lookups need neither MaxMind's licensed files nor a download.
package geotest

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Database types the writers declare; readers accept them as a City and a Country database.
const (
	CityType    = "GeoLite2-City"
	CountryType = "GeoLite2-Country"
)

// Record is one network of a test database and where it is. Empty fields are left out of the
// record, as MaxMind leaves out what it does not know.
type Record struct {
	CIDR        string // "81.2.69.0/24", "2a02:c7f::/32"
	Country     string // ISO 3166-1 alpha-2, "GB"
	Subdivision string // ISO 3166-2 subdivision code without the country, "ENG"
	City        string // English name, "London"
	TimeZone    string // IANA name, "Europe/London"
}

// WriteCityDB writes a City database holding records to path.
func WriteCityDB(path string, records []Record) error {
	return WriteDB(path, CityType, records)
}

// WriteCountryDB writes a Country database holding records to path: only the countries of
// records are kept.
func WriteCountryDB(path string, records []Record) error {
	country := make([]Record, len(records))
	for i, r := range records {
		country[i] = Record{CIDR: r.CIDR, Country: r.Country}
	}
	return WriteDB(path, CountryType, country)
}

// WriteDB writes a database of type databaseType holding records to path. Any type may be
// named, which lets a test build a database a reader must refuse ("GeoLite2-ASN"). Reserved
// and documentation ranges (192.0.2.0/24, 2001:db8::/32) are allowed, so tests can use them.
func WriteDB(path, databaseType string, records []Record) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            databaseType,
		Description:             map[string]string{"en": "Pathlight test database"},
		Languages:               []string{"en"},
		IncludeReservedNetworks: true,
		RecordSize:              24,
	})
	if err != nil {
		return fmt.Errorf("write test geoip database %s: %w", path, err)
	}
	for _, r := range records {
		_, network, err := net.ParseCIDR(r.CIDR)
		if err != nil {
			return fmt.Errorf("write test geoip database %s: record %q: %w", path, r.CIDR, err)
		}
		if err := tree.Insert(network, r.value()); err != nil {
			return fmt.Errorf("write test geoip database %s: insert %s: %w", path, r.CIDR, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write test geoip database: %w", err)
	}
	_, err = tree.WriteTo(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return errors.Join(fmt.Errorf("write test geoip database %s: %w", path, err), os.Remove(path))
	}
	return nil
}

// value returns r as a GeoIP2-shaped record.
func (r Record) value() mmdbtype.Map {
	m := mmdbtype.Map{}
	if r.Country != "" {
		c := mmdbtype.Map{"iso_code": mmdbtype.String(r.Country)}
		m["country"] = c
		m["registered_country"] = c
	}
	if r.Subdivision != "" {
		m["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String(r.Subdivision)}}
	}
	if r.City != "" {
		m["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(r.City)}}
	}
	if r.TimeZone != "" {
		m["location"] = mmdbtype.Map{"time_zone": mmdbtype.String(r.TimeZone)}
	}
	return m
}
