package report

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReadSpend(t *testing.T) {
	day := func(s string) time.Time { tm, _ := time.Parse(time.DateOnly, s); return tm }
	want := []Spend{
		{Date: day("2025-03-01"), Channel: "Paid Search", Campaign: "brand", Amount: 120.5, Currency: "EUR"},
		{Date: day("2025-03-02"), Channel: "Paid Social", Amount: 40, Currency: "EUR"},
	}
	noCampaign := slices.Clone(want)
	noCampaign[0].Campaign = ""
	tests := []struct {
		name string
		read func(string) ([]Spend, error)
		in   string
		want []Spend
	}{
		{"csv", csvReader, "date,channel,campaign,amount,currency\n2025-03-01,Paid Search,brand,120.50,eur\n2025-03-02,Paid Social,,40,EUR\n", want},
		{"csv, semicolons, other order, no campaign column", csvReader, "\ufeffamount;Currency;Channel;date\n120.50;EUR;Paid Search;2025-03-01\n40;EUR;Paid Social;2025-03-02\n", noCampaign},
		{"yaml mapping", yamlReader, "# spend\nspend:\n  - {date: 2025-03-01, channel: Paid Search, campaign: brand, amount: 120.50, currency: EUR}\n  - date: \"2025-03-02\"\n    channel: Paid Social\n    amount: 40\n    currency: EUR\n", want},
		{"yaml list", yamlReader, "- {date: 2025-03-01, channel: Paid Search, campaign: brand, amount: 120.5, currency: EUR}\n- {date: 2025-03-02, channel: Paid Social, amount: 40, currency: eur}\n", want},
	}
	for _, tt := range tests {
		got, err := tt.read(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: read(%q) = %+v, %v; want %+v", tt.name, tt.in, got, err, tt.want)
		}
	}
	bad := []struct {
		name, in, wantErr string
		read              func(string) ([]Spend, error)
	}{
		{"csv no amount", "date,channel\n2025-03-01,x\n", "want columns date, channel and amount", csvReader},
		{"csv bad date", "date,channel,amount\n03/01/2025,x,1\n", "line 2: date", csvReader},
		{"csv negative", "date,channel,amount\n2025-03-01,x,-1\n", "line 2: amount", csvReader},
		{"csv no channel", "date,channel,amount\n2025-03-01,,1\n", "line 2: channel", csvReader},
		{"csv empty", "", "empty input", csvReader},
		// A YAML file's mistakes are named by line, as a CSV file's are, on one line of text.
		{"yaml unknown key", "spend:\n  - {date: 2025-03-01, channel: x, amount: 1, cost: 2}\n", "read spend: line 2, column 47: unknown field \"cost\"", yamlReader},
		{"yaml bad amount", "- {date: 2025-03-01, channel: x, amount: lots}\n", "read spend: line 1: amount", yamlReader},
		{"yaml bad amount in the third row", "# spend\nspend:\n  - {date: 2025-03-01, channel: x, amount: 1}\n  - date: 2025-03-02\n    channel: x\n    amount: 2\n\n  - {date: 2025-03-03, channel: x, amount: lots}\n", "read spend: line 8: amount", yamlReader},
		{"yaml syntax", "spend:\n  - {date: 2025-03-01, channel: [\n", "read spend: line 2", yamlReader},
		{"yaml nested too deep", "spend: " + strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000) + "\n", "read spend: line 1, column 15: nested more than 8 levels deep", yamlReader},
		{"yaml too large", "spend:\n" + strings.Repeat("  - {date: 2025-03-01, channel: Paid Search, amount: 1}\n", 80_000), "read spend: larger than 4 MiB", yamlReader},
	}
	for _, tt := range bad {
		_, err := tt.read(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: read(%q) error = %v; want one line containing %q", tt.name, tt.in, err, tt.wantErr)
		}
	}
}

func csvReader(s string) ([]Spend, error)  { return ReadSpendCSV(strings.NewReader(s)) }
func yamlReader(s string) ([]Spend, error) { return ReadSpendYAML(strings.NewReader(s)) }
