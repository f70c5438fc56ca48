package analytics_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/report"
)

// TestSpendFiles reads spend from a data and a rules directory, and the documented example.
func TestSpendFiles(t *testing.T) {
	data, rulesDir := t.TempDir(), t.TempDir()
	write := func(dir, name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(data, "spend.yaml", "spend:\n  - {date: 2026-03-02, channel: Paid Social, campaign: spring, amount: 40, currency: EUR}\n")
	write(rulesDir, "spend.csv", "date,channel,amount,currency\n2026-03-03,Email,10,EUR\n")
	rows, err := analytics.SpendFiles(data, rulesDir)()
	if err != nil || len(rows) != 2 || rows[0].Amount != 40 || rows[1].Channel != "Email" {
		t.Fatalf("SpendFiles = %+v, %v; want the YAML row, then the CSV row", rows, err)
	}
	if rows, err := analytics.SpendFiles(t.TempDir())(); err != nil || len(rows) != 0 {
		t.Errorf("SpendFiles of an empty directory = %v, %v; want none", rows, err)
	}
	write(data, "spend.csv", "date,channel,amount\nyesterday,Email,10\n")
	if _, err := analytics.SpendFiles(data)(); err == nil {
		t.Error("SpendFiles with a bad date succeeded; want an error naming the file")
	}

	f, err := os.Open(filepath.Join("..", "..", "docs", "spend.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if rows, err := report.ReadSpendYAML(f); err != nil || len(rows) == 0 {
		t.Errorf("docs/spend.example.yaml = %d rows, %v; want a valid example", len(rows), err)
	}
}

// TestCACWithSpend checks CAC and ROAS of the hand-computed traffic: Paid Social spent 40 on
// Mar 2 and, by last non-direct touch, won visitor 1's first purchase (worth 100).
func TestCACWithSpend(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "spend.csv"), []byte("date,channel,campaign,amount,currency\n2026-03-02,Paid Social,spring,40,EUR\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, at(20, 12, 0), func(o *analytics.Options) { o.Spend = analytics.SpendFiles(dir) })
	shop(t, e)
	c := run[*analytics.CACReport](t, e, "cac", day(1), day(11))
	if c.Model != report.LastNonDirect || c.Currency != "EUR" || c.Spend != 40 || c.SpendRows != 1 {
		t.Fatalf("cac = %+v; want last_non_direct, 40 EUR from 1 row", c.CACReport)
	}
	for _, ch := range c.Channels {
		switch ch.Channel {
		case "Paid Social":
			if ch.NewCustomers != 1 || ch.CAC.Value != 40 || ch.Value != 100 || ch.ROAS.Value != 2.5 {
				t.Errorf("Paid Social = %+v; want 1 new customer, CAC 40, value 100, ROAS 2.5", ch.CACRow)
			}
		case "Organic Search":
			if ch.NewCustomers != 1 || ch.CAC.Valid || ch.ROAS.Valid {
				t.Errorf("Organic Search = %+v; want 1 new customer, CAC and ROAS null (no spend)", ch.CACRow)
			}
		}
	}
	// The overview shows values in the spend's currency.
	if o := run[*analytics.Overview](t, e, "overview", day(1), day(11)); o.Currency != "EUR" {
		t.Errorf("overview currency = %q; want the spend's EUR", o.Currency)
	}
	// A spend file that cannot be read fails CAC, not the overview, which then has no currency.
	if err := os.WriteFile(filepath.Join(dir, "spend.csv"), []byte("date,channel,amount\nyesterday,Email,10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if o := run[*analytics.Overview](t, e, "overview", day(1), day(11)); o.Currency != "" || o.Visitors == 0 {
		t.Errorf("overview with a bad spend file = %d visitors, currency %q; want the figures and no currency", o.Visitors, o.Currency)
	}
}
