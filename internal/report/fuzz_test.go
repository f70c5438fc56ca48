package report

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadPaths checks that any input either fails cleanly or reads into a table that
// writes and reads back the same, and that the models accept what was read.
func FuzzReadPaths(f *testing.F) {
	f.Add("path;total_conversions;total_conversion_value;total_null\neta > iota > alpha > eta;1;0.244;3\nbeta > eta;1;2.402;3\n")
	f.Add("total_null;path;total_conversions\n2;\"a>b\";1\n")
	f.Add("path;total_conversions\n;1\n")
	f.Add("path;total_conversions\n\"a;b\" > c;1e300\n")
	f.Fuzz(func(t *testing.T, in string) {
		tab, err := ReadPaths(strings.NewReader(in))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WritePaths(&buf, tab); err != nil {
			return // channel names WritePaths cannot represent
		}
		back, err := ReadPaths(&buf)
		if err != nil {
			t.Fatalf("ReadPaths(WritePaths(%q)) = %v", in, err)
		}
		if !rowsEqual(back.Rows, tab.Rows) {
			t.Fatalf("round trip of %q: %v, then %v", in, tab.Rows, back.Rows)
		}
		if len(tab.Rows) > 200 {
			return
		}
		for _, ao := range []AttributionOptions{{Model: Linear}, {Model: MarkovChain, Order: 2}, {Model: Shapley}} {
			if _, err := AttributePaths(tab, ao); err != nil {
				t.Fatalf("AttributePaths(%q, %s) = %v", in, ao.Model, err)
			}
		}
	})
}

// FuzzReadSpendCSV checks that any input fails cleanly or yields valid rows.
func FuzzReadSpendCSV(f *testing.F) {
	f.Add("date,channel,campaign,amount,currency\n2025-03-01,Paid Search,brand,120.50,EUR\n")
	f.Add("amount;channel;date\n1;x;2025-01-01\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ReadSpendCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Channel == "" || r.Amount < 0 {
				t.Fatalf("ReadSpendCSV(%q) row %+v: want a channel and an amount of at least 0", in, r)
			}
		}
	})
}

// FuzzDecodeRollup: any bytes read as a kept rollup decode or are refused, never a panic;
// what decodes encodes to bytes that decode to the same figures (compared by their
// encoding, so that a NaN read from the bytes compares too).
func FuzzDecodeRollup(f *testing.F) {
	tb, _ := rollupTable(20).AppendBinary(nil)
	ab, _ := rollupAttribution().AppendBinary(nil)
	f.Add(tb)
	f.Add(ab)
	f.Add([]byte{tagPathTable, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var tab, tab2 PathTable
		if tab.UnmarshalBinary(b) == nil {
			again, err := tab.AppendBinary(nil)
			if err != nil || tab2.UnmarshalBinary(again) != nil {
				t.Fatalf("a decoded path table does not encode and decode again: %v", err)
			}
			if twice, _ := tab2.AppendBinary(nil); !bytes.Equal(twice, again) {
				t.Fatalf("a decoded path table reads back as another")
			}
		}
		var a, a2 Attribution
		if a.UnmarshalBinary(b) == nil {
			again, err := a.AppendBinary(nil)
			if err != nil || a2.UnmarshalBinary(again) != nil {
				t.Fatalf("a decoded attribution does not encode and decode again: %v", err)
			}
			if twice, _ := a2.AppendBinary(nil); !bytes.Equal(twice, again) {
				t.Fatalf("a decoded attribution reads back as another")
			}
		}
	})
}
