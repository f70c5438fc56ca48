package analytics

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"github.com/pathlight/pathlight/internal/report"
)

// spendSourceDir is the directory, under the data directory, of the spend sent through the
// admin API: one CSV file per source.
const spendSourceDir = "spend.d"

// validSource is the form of a spend source name: it becomes a file name.
var validSource = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// ErrUnknownSpendSource is returned, wrapped, to delete a source that has no spend.
var ErrUnknownSpendSource = errors.New("unknown spend source")

// SpendSources keeps the spend sent through the admin API (PUT, POST and DELETE
// /api/v1/spend/{source}), so that a tool such as `pathlight simulate` can give the server
// the spend of its campaigns without access to its disk. Each source is one CSV file in
// the spend.d directory of the data directory, which SpendFiles reads with the spend files.
// It is safe for concurrent use.
type SpendSources struct {
	dir       string
	admit     func(size int) error
	replicate func(source string, csv []byte) error
	mu        sync.Mutex
}

// SetReplicate makes every change of a source go to fn before it is written here: in
// cluster mode, to the fleet's stream, so that every node keeps the same spend (csv is the
// source's whole new content, nil for a deletion). An error of fn refuses the change. The
// other nodes hand it to ApplyReplicated. Call it before the server starts.
func (s *SpendSources) SetReplicate(fn func(source string, csv []byte) error) { s.replicate = fn }

// ApplyReplicated writes a change another node made to a source (csv nil: deleted).
func (s *SpendSources) ApplyReplicated(source string, csv []byte) error {
	if !validSource.MatchString(source) {
		return fmt.Errorf("spend: replicated source %q is not a source name", source)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if csv == nil {
		err := os.Remove(filepath.Join(s.dir, source+".csv"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("spend: %w", err)
		}
		return nil
	}
	return s.writeFile(source, csv)
}

// NewSpendSources returns the spend sources kept under dataDir. admit, when not nil, is
// asked before each file is written, with its size: the store's disk gate, so that spend
// does not take the space the event log keeps in reserve. Its error is returned as it is.
func NewSpendSources(dataDir string, admit func(size int) error) *SpendSources {
	return &SpendSources{dir: filepath.Join(dataDir, spendSourceDir), admit: admit}
}

// SpendPut is what a source holds after a Put.
type SpendPut struct {
	Source string  `json:"source"`
	Rows   int     `json:"rows"`
	Amount float64 `json:"amount"`
	// Currency is the source's currency, "" when its rows name none.
	Currency string `json:"currency"`
}

// Put stores the spend rows of body (CSV in the spend file format) as source's, replacing
// what it held, or after it when appendRows is set. A bad source name is a *QueryError; a
// body that is not spend, or rows in another currency than the source's, a *SpendError.
func (s *SpendSources) Put(source string, body []byte, appendRows bool) (*SpendPut, error) {
	if !validSource.MatchString(source) {
		return nil, &QueryError{"source", fmt.Sprintf("%q: want 1 to 64 lower-case letters, digits, '-' or '_'", source)}
	}
	rows, err := report.ReadSpendCSV(bytes.NewReader(body))
	if err != nil {
		return nil, &SpendError{err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	path := filepath.Join(s.dir, source+".csv")
	if appendRows {
		old, err := readSpend(path)
		if err != nil {
			return nil, err
		}
		rows = append(old, rows...)
	}
	res := &SpendPut{Source: source, Rows: len(rows)}
	for i, r := range rows {
		if res.Currency == "" {
			res.Currency = r.Currency
		} else if r.Currency != "" && r.Currency != res.Currency {
			return nil, &SpendError{fmt.Errorf("row %d: currency %q differs from %q: send one currency per source", i+1, r.Currency, res.Currency)}
		}
		res.Amount += r.Amount
	}
	var b bytes.Buffer
	if err := writeSpendCSV(&b, rows); err != nil {
		return nil, fmt.Errorf("spend: %w", err)
	}
	if s.admit != nil {
		if err := s.admit(b.Len()); err != nil {
			return nil, err
		}
	}
	if s.replicate != nil {
		if err := s.replicate(source, b.Bytes()); err != nil {
			return nil, err
		}
	}
	if err := s.writeFile(source, b.Bytes()); err != nil {
		return nil, err
	}
	return res, nil
}

// writeFile replaces source's file with data, atomically; s.mu is held.
func (s *SpendSources) writeFile(source string, data []byte) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("spend: %w", err)
	}
	tmp, err := os.CreateTemp(s.dir, "."+source+"-*.tmp")
	if err != nil {
		return fmt.Errorf("spend: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("spend: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("spend: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.dir, source+".csv")); err != nil {
		return fmt.Errorf("spend: %w", err)
	}
	return nil
}

// Delete removes source's spend.
func (s *SpendSources) Delete(source string) error {
	if !validSource.MatchString(source) {
		return &QueryError{"source", fmt.Sprintf("%q: want 1 to 64 lower-case letters, digits, '-' or '_'", source)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	path := filepath.Join(s.dir, source+".csv")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w %q", ErrUnknownSpendSource, source)
	}
	if s.replicate != nil {
		if err := s.replicate(source, nil); err != nil {
			return err
		}
	}
	err := os.Remove(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w %q", ErrUnknownSpendSource, source)
	}
	if err != nil {
		return fmt.Errorf("spend: %w", err)
	}
	return nil
}

// writeSpendCSV writes rows in the spend file format.
func writeSpendCSV(f io.Writer, rows []report.Spend) error {
	w := csv.NewWriter(f)
	if err := w.Write([]string{"date", "channel", "campaign", "amount", "currency"}); err != nil {
		return err
	}
	for _, r := range rows {
		if err := w.Write([]string{r.Date.Format("2006-01-02"), r.Channel, r.Campaign, strconv.FormatFloat(r.Amount, 'f', -1, 64), r.Currency}); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// sourceFiles lists the spend source files under dir, in name order.
func sourceFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(dir, spendSourceDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("spend: %w", err)
	}
	var out []string
	for _, e := range ents {
		if n := e.Name(); !e.IsDir() && filepath.Ext(n) == ".csv" && validSource.MatchString(n[:len(n)-len(".csv")]) {
			out = append(out, filepath.Join(dir, spendSourceDir, n))
		}
	}
	slices.Sort(out)
	return out, nil
}
