package analytics

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pathlight/pathlight/internal/report"
)

// SpendFiles returns a loader of the spend files found in dirs: spend.csv, spend.yaml or
// spend.yml (see docs/analytics.md), read afresh on each call so that a marketer can drop in
// a new file without a restart. Rows of every file found add up. A YAML file in the rules
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
