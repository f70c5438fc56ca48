package report

import (
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/journey"
)

func TestCAC(t *testing.T) {
	ms := func(s string) int64 { tm, _ := time.Parse(time.DateOnly, s); return tm.UnixMilli() }
	date := func(s string) time.Time { tm, _ := time.Parse(time.DateOnly, s); return tm }
	from, to := ms("2025-03-01"), ms("2025-04-01")
	nc := &Attribution{Model: Linear, Channels: []ChannelCredit{
		{Channel: "Paid Search", Conversions: 2, Campaigns: []CampaignCredit{{Campaign: "brand", Conversions: 1.5}, {Campaign: "generic", Conversions: .5}}},
		{Channel: "Email", Conversions: 1, Campaigns: []CampaignCredit{{Campaign: "news", Conversions: 1}}},
	}}
	val := &Attribution{Model: Linear, Channels: []ChannelCredit{
		{Channel: "Paid Search", Value: 300, Campaigns: []CampaignCredit{{Campaign: "brand", Value: 200}, {Campaign: "generic", Value: 100}}},
		{Channel: "Email", Value: 50, Campaigns: []CampaignCredit{{Campaign: "news", Value: 50}}},
		{Channel: "Organic Search", Value: 80},
	}}
	spend := []Spend{
		{Date: date("2025-03-01"), Channel: "Paid Search", Campaign: "brand", Amount: 100, Currency: "EUR"},
		{Date: date("2025-03-02"), Channel: "paid search", Campaign: "GENERIC", Amount: 60, Currency: "EUR"},
		{Date: date("2025-03-02"), Channel: "Paid Social", Amount: 40, Currency: "EUR"},
		{Date: date("2025-04-01"), Channel: "Paid Search", Campaign: "brand", Amount: 999, Currency: "USD"},
	}
	res, err := CAC(spend, nc, val, from, to)
	if err != nil {
		t.Fatalf("CAC() = %v", err)
	}
	if res.Currency != "EUR" || res.Spend != 200 {
		t.Errorf("CAC() currency %q, spend %v; want EUR, 200", res.Currency, res.Spend)
	}
	want := map[string]CACRow{
		"Paid Search":         {Channel: "Paid Search", Spend: 160, NewCustomers: 2, CAC: Some(80), Value: 300, ROAS: Some(1.875)},
		"Paid Search/brand":   {Channel: "Paid Search", Campaign: "brand", Spend: 100, NewCustomers: 1.5, CAC: Some(100 / 1.5), Value: 200, ROAS: Some(2)},
		"Paid Search/generic": {Channel: "Paid Search", Campaign: "generic", Spend: 60, NewCustomers: .5, CAC: Some(120), Value: 100, ROAS: Some(100.0 / 60)},
		// No spend known for Email: its CAC is undefined, not 0.
		"Email":                 {Channel: "Email", NewCustomers: 1, Value: 50},
		"Email/news":            {Channel: "Email", Campaign: "news", NewCustomers: 1, Value: 50},
		"Paid Social":           {Channel: "Paid Social", Spend: 40, ROAS: Some(0)},
		"Paid Social/" + NotSet: {Channel: "Paid Social", Campaign: NotSet, Spend: 40, ROAS: Some(0)},
		"Organic Search":        {Channel: "Organic Search", Value: 80},
	}
	got := make(map[string]CACRow)
	for _, c := range res.Channels {
		got[c.Channel] = c.CACRow
		for _, k := range c.Campaigns {
			got[c.Channel+"/"+k.Campaign] = k
		}
	}
	if len(got) != len(want) {
		t.Errorf("CAC() rows = %+v; want %+v", got, want)
	}
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("CAC() row %s = %+v; want %+v", k, g, w)
		}
	}
	if res.Channels[0].Channel != "Paid Search" {
		t.Errorf("CAC() first channel = %s; want the largest spender, Paid Search", res.Channels[0].Channel)
	}
	spend[3].Date = date("2025-03-03")
	if _, err := CAC(spend, nc, val, from, to); err == nil || !strings.Contains(err.Error(), "currency") {
		t.Errorf("CAC(mixed currencies) error = %v; want one about currency", err)
	}
}

func TestBuildCAC(t *testing.T) {
	js := []Journey{{
		Touches:     []journey.Touchpoint{tp(d(1), "Paid Search", "brand")},
		Conversions: []journey.Conversion{conv(d(2), "purchase", 10), conv(d(3), "purchase", 20)},
	}}
	spend := []Spend{{Date: time.UnixMilli(d(0)).UTC(), Channel: "Paid Search", Campaign: "brand", Amount: 15}}
	res, err := BuildCAC(js, spend, PathOptions{From: d(-1), To: d(10)}, AttributionOptions{Model: LastTouch})
	if err != nil {
		t.Fatalf("BuildCAC() = %v", err)
	}
	c := res.Channels[0]
	// One new customer (the second purchase is a repeat), 30 of value, 15 spent.
	if c.NewCustomers != 1 || c.CAC != Some(15) || c.Value != 30 || c.ROAS != Some(2) {
		t.Errorf("BuildCAC() = %+v; want 1 new customer, CAC 15, value 30, ROAS 2", c)
	}
}
