package report

import (
	"slices"
	"testing"
)

func TestPathTableAddMerge(t *testing.T) {
	a := &PathTable{Rows: []PathRow{{Path: p("x > y"), Conversions: 1, Value: 2, Nulls: 3}}}
	a.Add(p("x > y"), 1, 1, 1)
	a.Add(p("y"), 0, 0, 5)
	b := &PathTable{}
	b.Add(p("y"), 2, 4, 0)
	b.Add(p("z"), 1, 1, 0)
	b.AddCampaign("y", "spring", 2, 4)
	a.Merge(b)
	a.AddCampaign("y", "spring", 1, 1)
	a.Sort()
	want := []PathRow{
		{Path: p("y"), Conversions: 2, Value: 4, Nulls: 5},
		{Path: p("x > y"), Conversions: 2, Value: 3, Nulls: 4},
		{Path: p("z"), Conversions: 1, Value: 1},
	}
	if !rowsEqual(a.Rows, want) {
		t.Errorf("merged rows = %v; want %v", a.Rows, want)
	}
	if len(a.Campaigns) != 1 || a.Campaigns[0] != (CampaignWeight{"y", "spring", 3, 5}) {
		t.Errorf("merged campaigns = %v; want [{y spring 3 5}]", a.Campaigns)
	}
	c, v, n := a.Totals()
	if c != 5 || v != 8 || n != 9 {
		t.Errorf("Totals() = %v, %v, %v; want 5, 8, 9", c, v, n)
	}
	// Adding after Sort still finds existing rows.
	a.Add(p("z"), 1, 0, 0)
	if len(a.Rows) != 3 || a.Rows[2].Conversions != 2 {
		t.Errorf("Add after Sort: rows = %v; want z with 2 conversions", a.Rows)
	}
}

// rowsEqual compares path rows exactly.
func rowsEqual(a, b []PathRow) bool {
	return slices.EqualFunc(a, b, func(x, y PathRow) bool {
		return slices.Equal(x.Path, y.Path) && x.Conversions == y.Conversions && x.Value == y.Value && x.Nulls == y.Nulls
	})
}
