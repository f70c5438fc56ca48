package report

import (
	"os"
	"path/filepath"
	"testing"
)

// dataFile returns the path of a third-party data set kept beside the repository, at
// <repo root>/../shared/data/name, skipping the test when it is absent.
func dataFile(tb testing.TB, name string) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Skipf("data set %s: no go.mod above the test directory", name)
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", name)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("data set %s absent (%v): put the ChannelAttribution example data there to run this test", name, err)
	}
	return p
}

// loadPaths reads the ChannelAttribution example data set.
func loadPaths(tb testing.TB) *PathTable {
	tb.Helper()
	f, err := os.Open(dataFile(tb, "channelattribution-Data.csv"))
	if err != nil {
		tb.Fatalf("open data set: %v", err)
	}
	defer f.Close()
	t, err := ReadPaths(f)
	if err != nil {
		tb.Fatalf("ReadPaths(data set) = %v", err)
	}
	return t
}
