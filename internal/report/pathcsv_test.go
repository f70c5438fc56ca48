package report

import (
	"bytes"
	"strings"
	"testing"
)

func TestReadPaths(t *testing.T) {
	tests := []struct {
		name, in string
		want     []PathRow
		wantErr  string
	}{
		{
			name: "package format",
			in:   "path;total_conversions;total_conversion_value;total_null\neta > iota > alpha > eta;1;0.244;3\nbeta > eta;1;2.402;3\n",
			want: []PathRow{
				{Path: p("eta > iota > alpha > eta"), Conversions: 1, Value: 0.244, Nulls: 3},
				{Path: p("beta > eta"), Conversions: 1, Value: 2.402, Nulls: 3},
			},
		},
		{
			name: "columns in any order, quotes, BOM, spaces, duplicates add up",
			in:   "\ufefftotal_null;Path;extra;total_conversions\n2;\"a>b\";x;1\n0; a >  b ;y;3\n\n1;c;z;0\n",
			want: []PathRow{{Path: p("a > b"), Conversions: 4, Nulls: 2}, {Path: p("c"), Nulls: 1}},
		},
		{
			name: "optional columns absent",
			in:   "path;total_conversions\na;2\n",
			want: []PathRow{{Path: p("a"), Conversions: 2}},
		},
		{name: "empty", in: "", wantErr: "empty input"},
		{name: "no conversions column", in: "path;total_null\na;1\n", wantErr: "want columns path and total_conversions"},
		{name: "bad number", in: "path;total_conversions\na;two\n", wantErr: `line 2: total_conversions "two"`},
		{name: "negative", in: "path;total_conversions;total_null\na;1;-1\n", wantErr: "line 2: total_null -1"},
		{name: "empty path", in: "path;total_conversions\n > ;1\n", wantErr: "line 2: empty path"},
	}
	for _, tt := range tests {
		got, err := ReadPaths(strings.NewReader(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: ReadPaths(%q) error = %v; want it to contain %q", tt.name, tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !rowsEqual(got.Rows, tt.want) {
			t.Errorf("%s: ReadPaths(%q) = %v, %v; want %v", tt.name, tt.in, got, err, tt.want)
		}
	}
}

func TestWritePathsRoundTrip(t *testing.T) {
	in := &PathTable{Rows: []PathRow{
		{Path: p("Paid Search > Email"), Conversions: 2, Value: 10.5, Nulls: 1},
		{Path: p("Organic; Social"), Conversions: 0.25, Value: 0, Nulls: 7},
	}}
	var buf bytes.Buffer
	if err := WritePaths(&buf, in); err != nil {
		t.Fatalf("WritePaths() = %v", err)
	}
	want := "path;total_conversions;total_conversion_value;total_null\nPaid Search > Email;2;10.5;1\n\"Organic; Social\";0.25;0;7\n"
	if buf.String() != want {
		t.Errorf("WritePaths() wrote %q; want %q", buf.String(), want)
	}
	back, err := ReadPaths(&buf)
	if err != nil || !rowsEqual(back.Rows, in.Rows) {
		t.Errorf("ReadPaths(WritePaths(%v)) = %v, %v", in.Rows, back.Rows, err)
	}
	for _, bad := range []string{"a>b", " a", ""} {
		err := WritePaths(&buf, &PathTable{Rows: []PathRow{{Path: []string{bad}, Conversions: 1}}})
		if err == nil {
			t.Errorf("WritePaths(channel %q) = nil; want an error", bad)
		}
	}
}

func TestReadPathsDataSet(t *testing.T) {
	tab := loadPaths(t)
	// 10,000 lines, 5,408 distinct paths: lines with the same path add up.
	if len(tab.Rows) != 5408 {
		t.Errorf("data set distinct paths = %d; want 5408", len(tab.Rows))
	}
	c, v, n := tab.Totals()
	if c != 19785 || n != 68602 || !near(v, 74802.971587, 1e-10) {
		t.Errorf("data set totals = %v conversions, %v value, %v nulls; want 19785, 74802.971587, 68602", c, v, n)
	}
}
