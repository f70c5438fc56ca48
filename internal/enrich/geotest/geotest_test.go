package geotest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteDBErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		path    string
		records []Record
		want    string
	}{
		{filepath.Join(dir, "a.mmdb"), []Record{{CIDR: "not a cidr", Country: "GB"}}, `record "not a cidr"`},
		{filepath.Join(dir, "missing", "b.mmdb"), []Record{{CIDR: "81.2.69.0/24", Country: "GB"}}, "no such file"},
	}
	for _, tt := range tests {
		err := WriteCityDB(tt.path, tt.records)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("WriteCityDB(%q, %v) = %v; want an error containing %q", tt.path, tt.records, err, tt.want)
		}
	}
}

func TestWriteCountryDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.mmdb")
	if err := WriteCountryDB(path, []Record{{CIDR: "81.2.69.0/24", Country: "GB", City: "London"}}); err != nil {
		t.Fatalf("WriteCountryDB(%q) = %v", path, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, CountryType) || strings.Contains(s, "London") {
		t.Errorf("WriteCountryDB wrote a database without type %q or with a city", CountryType)
	}
}
