package analytics

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pathlight/pathlight/internal/report"
)

// SpendFiles returns a loader of the spend files found in dirs: spend.csv, spend.yaml or
// spend.yml (see docs/analytics.md), and the CSV files of spend.d (the spend sent through the
// admin API, see SpendSources), read afresh on each call so that a marketer can drop in a new
// file without a restart. Rows of every file found add up. A YAML file in the rules
// directory is read as rules, so there spend must be CSV.
func SpendFiles(dirs ...string) func() ([]report.Spend, error) {
	spendFileNames := [...]string{"spend.csv", "spend.yaml", "spend.yml"}
	return func() ([]report.Spend, error) {
		var all []report.Spend
		for _, dir := range dirs {
			if dir == "" {
				continue
			}
			for _, name := range spendFileNames {
				rows, err := readSpend(filepath.Join(dir, name))
				if err != nil {
					return nil, err
				}
				all = append(all, rows...)
			}
			files, err := sourceFiles(dir)
			if err != nil {
				return nil, err
			}
			for _, path := range files {
				rows, err := readSpend(path)
				if err != nil {
					return nil, err
				}
				all = append(all, rows...)
			}
		}
		return all, nil
	}
}

// readSpend reads one spend file; a missing file has no rows.
func readSpend(path string) ([]report.Spend, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("spend file: %w", err)
	}
	defer f.Close()
	var rows []report.Spend
	if filepath.Ext(path) == ".csv" {
		rows, err = report.ReadSpendCSV(f)
	} else {
		rows, err = report.ReadSpendYAML(f)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

// SpendError is a spend file that cannot be read: a fault of the file, not of the server, so
// a report that needs it fails until the file is fixed. Its message names the file and the
// line.
type SpendError struct{ Err error }

// Error returns "spend: " and the cause.
func (e *SpendError) Error() string { return "spend: " + e.Err.Error() }

// Unwrap returns the cause.
func (e *SpendError) Unwrap() error { return e.Err }

// loadSpend reads the spend through Options.Spend; none without it.
func (s *Service) loadSpend() ([]report.Spend, error) {
	if s.o.Spend == nil {
		return nil, nil
	}
	rows, err := s.o.Spend()
	if err != nil {
		return nil, &SpendError{err}
	}
	return rows, nil
}

// spendDigest identifies spend rows by their content, for the result cache: a file written
// again with other figures changes it even when its size and time stay the same.
func spendDigest(rows []report.Spend) string {
	h := sha256.New()
	for _, r := range rows {
		fmt.Fprintf(h, "%d\x00%s\x00%s\x00%v\x00%s\n", r.Date.UnixMilli(), r.Channel, r.Campaign, r.Amount, r.Currency)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// spendCurrency is the currency money is shown in: that of the spend rows (the first that
// names one; CAC refuses a period whose spend mixes currencies), "" when none does.
// Conversion values are taken to be in it too, as ROAS divides one by the other.
func spendCurrency(rows []report.Spend) string {
	for _, r := range rows {
		if r.Currency != "" {
			return r.Currency
		}
	}
	return ""
}
