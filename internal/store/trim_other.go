//go:build !linux

package store

// scanTables measures nothing outside Linux (see trim.go).
func scanTables([]string) (resident int64, err error) { return 0, nil }

// dropTables trims nothing outside Linux (see trim.go).
func dropTables([]string, map[string]map[string]bool) (dropped int64, err error) { return 0, nil }

// fileResident is not known outside Linux.
func fileResident() (int64, bool) { return 0, false }
