package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/pathlight/pathlight/internal/yamlguard"
)

// Spend is one day of marketing spend on a channel (and campaign), from the CSV or YAML
// file a marketer drops into the data or rules directory.
type Spend struct {
	Date     time.Time `json:"date"` // the day, 00:00 UTC
	Channel  string    `json:"channel"`
	Campaign string    `json:"campaign,omitempty"`
	Amount   float64   `json:"amount"`
	Currency string    `json:"currency,omitempty"`
}

// dateLayout is the form of spend dates.
const dateLayout = time.DateOnly

// ReadSpendCSV reads spend rows from CSV with a header naming the columns date, channel and
// amount, and optionally campaign and currency, in any order. Fields are separated by commas,
// or by semicolons when the header line has no comma. Dates are YYYY-MM-DD; amounts are plain
// decimal numbers, not negative.
func ReadSpendCSV(r io.Reader) ([]Spend, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read spend: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	cr := csv.NewReader(bytes.NewReader(data))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if !bytes.Contains(first, []byte(",")) && bytes.Contains(first, []byte(";")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	head, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("read spend: empty input, want a header line")
	}
	if err != nil {
		return nil, fmt.Errorf("read spend: header: %w", err)
	}
	cols := map[string]int{"date": -1, "channel": -1, "campaign": -1, "amount": -1, "currency": -1}
	for i, h := range head {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, ok := cols[h]; ok {
			cols[h] = i
		}
	}
	for _, c := range []string{"date", "channel", "amount"} {
		if cols[c] < 0 {
			return nil, fmt.Errorf("read spend: header %q: want columns date, channel and amount (campaign and currency optional)", strings.Join(head, string(cr.Comma)))
		}
	}
	var out []Spend
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read spend: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		s, err := newSpend(field(rec, cols["date"]), field(rec, cols["channel"]), field(rec, cols["campaign"]),
			field(rec, cols["amount"]), field(rec, cols["currency"]))
		if err != nil {
			return nil, fmt.Errorf("read spend: line %d: %w", line, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// spendYAML is one spend row as YAML writes it.
type spendYAML struct {
	Date     string `yaml:"date"`
	Channel  string `yaml:"channel"`
	Campaign string `yaml:"campaign"`
	Amount   string `yaml:"amount"`
	Currency string `yaml:"currency"`
}

// spendLimits bound a YAML spend file: about 60,000 rows, each a few values.
var spendLimits = yamlguard.Limits{MaxBytes: 4 << 20, MaxDepth: 8, MaxNodes: 1_000_000, MaxScalarBytes: 16 << 20}

// ReadSpendYAML reads spend rows from YAML: a list of rows, or a mapping whose spend key
// holds the list. Each row has date, channel and amount, and optionally campaign and
// currency; unknown keys are errors.
//
//	spend:
//	  - {date: 2025-03-01, channel: Paid Search, campaign: brand, amount: 120.50, currency: EUR}
func ReadSpendYAML(r io.Reader) ([]Spend, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(spendLimits.MaxBytes)+1))
	if err != nil {
		return nil, fmt.Errorf("read spend: %w", err)
	}
	if len(data) > spendLimits.MaxBytes {
		return nil, fmt.Errorf("read spend: larger than %d MiB", spendLimits.MaxBytes>>20)
	}
	// The file is checked within bounds before it is decoded: nested brackets or aliases
	// would otherwise take the memory of the server that reads it for a report. Mistakes are
	// named by line, as in a CSV file, on one line of text.
	doc, err := yamlguard.Parse(data, spendLimits)
	if err != nil {
		var ge *yamlguard.Error
		if errors.As(err, &ge) && ge.Syntax {
			return nil, fmt.Errorf("read spend: %s", yamlMistake(ge.Err))
		}
		if ge != nil && ge.Line > 0 {
			return nil, fmt.Errorf("read spend: line %d, column %d: %s", ge.Line, ge.Col, ge.Msg)
		}
		return nil, fmt.Errorf("read spend: %w", err)
	}
	var rows []spendYAML
	if startsWithList(data) {
		err = yaml.UnmarshalWithOptions(data, &rows, yaml.Strict())
	} else {
		var doc struct {
			Spend []spendYAML `yaml:"spend"`
		}
		err = yaml.UnmarshalWithOptions(data, &doc, yaml.Strict())
		rows = doc.Spend
	}
	if err != nil {
		return nil, fmt.Errorf("read spend: %s", yamlMistake(err))
	}
	lines := rowLines(doc)
	out := make([]Spend, 0, len(rows))
	for i, row := range rows {
		s, err := newSpend(row.Date, row.Channel, row.Campaign, row.Amount, row.Currency)
		if err != nil {
			if i < len(lines) && lines[i] > 0 {
				return nil, fmt.Errorf("read spend: line %d: %w", lines[i], err)
			}
			return nil, fmt.Errorf("read spend: row %d: %w", i+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// yamlMistake renders a YAML parser's error as "line L, column C: message", without the
// excerpt of the file that the parser's own text spreads over several lines.
func yamlMistake(err error) string {
	var ye yaml.Error
	if errors.As(err, &ye) {
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			return fmt.Sprintf("line %d, column %d: %s", tk.Position.Line, tk.Position.Column, ye.GetMessage())
		}
		return ye.GetMessage()
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// rowLines returns the line of each row of a spend file's list (the document's own, or its
// spend key's), or nil when the rows are not where a plain file has them.
func rowLines(doc *yamlguard.Doc) []int {
	if doc == nil || doc.File == nil || len(doc.File.Docs) == 0 {
		return nil
	}
	body := doc.File.Docs[0].Body
	if m, ok := body.(*ast.MappingNode); ok {
		body = nil
		for _, kv := range m.Values {
			if kv.Key != nil && kv.Key.String() == "spend" {
				body = kv.Value
			}
		}
	}
	seq, ok := body.(*ast.SequenceNode)
	if !ok {
		return nil
	}
	lines := make([]int, len(seq.Values))
	for i, v := range seq.Values {
		if tk := v.GetToken(); tk != nil && tk.Position != nil {
			lines[i] = tk.Position.Line
		}
	}
	return lines
}

// startsWithList reports whether a YAML document's first content line is a list item.
func startsWithList(data []byte) bool {
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' || bytes.Equal(t, []byte("---")) {
			continue
		}
		return t[0] == '-'
	}
	return false
}

// newSpend validates and converts one row's fields.
func newSpend(date, channel, campaign, amount, currency string) (Spend, error) {
	d, err := time.Parse(dateLayout, strings.TrimSpace(date))
	if err != nil {
		return Spend{}, fmt.Errorf("date %q: want YYYY-MM-DD", date)
	}
	channel = strings.TrimSpace(channel)
	if channel == "" {
		return Spend{}, errors.New("channel: empty")
	}
	a, err := strconv.ParseFloat(strings.TrimSpace(amount), 64)
	if err != nil || a < 0 || math.IsInf(a, 0) || math.IsNaN(a) {
		return Spend{}, fmt.Errorf("amount %q: want a number of at least 0", amount)
	}
	return Spend{
		Date:     d,
		Channel:  channel,
		Campaign: strings.TrimSpace(campaign),
		Amount:   a,
		Currency: strings.ToUpper(strings.TrimSpace(currency)),
	}, nil
}
