package report

import (
	"fmt"
	"math"
	"reflect"
	"testing"
)

// rollupTable is a path table as a day's rollup holds one: many rows over a few channels.
func rollupTable(rows int) *PathTable {
	chans := []string{"Direct", "Email", "Paid Search", "Organic Search", "Social"}
	t := &PathTable{}
	for i := range rows {
		path := []string{chans[i%5], chans[(i/5)%5], chans[(i/25)%5], fmt.Sprint("c", i)}[:1+i%4]
		t.Add(path, float64(i%3), float64(i)*1.25+0.1, float64(i%2))
	}
	t.Add(nil, 0, 0, 3) // a journey without a touch
	for i := range 40 {
		t.AddCampaign(chans[i%5], fmt.Sprint("camp", i%7), 1.0/3, math.Pi*float64(i))
	}
	return t
}

func rollupAttribution() *Attribution {
	a := &Attribution{Model: Linear, Conversions: 12, Value: 345.5, Nulls: 1.0 / 3}
	for i := range 6 {
		c := ChannelCredit{Channel: fmt.Sprint("ch", i), Conversions: float64(i) / 7, Value: float64(i) * 10.1, Share: 0.1}
		for j := range i {
			c.Campaigns = append(c.Campaigns, CampaignCredit{Campaign: fmt.Sprint("camp", j), Conversions: 0.5, Value: float64(j), Share: 0.25})
		}
		a.Channels = append(a.Channels, c)
	}
	return a
}

// TestRollupsReadBackExactly: a path table and a heuristic model's credits read back from
// their encoding as they were, every figure to the bit, empty lists as nil.
func TestRollupsReadBackExactly(t *testing.T) {
	for _, tab := range []*PathTable{rollupTable(300), {}, {Rows: []PathRow{{Path: []string{}, Nulls: 1}}}} {
		b, err := tab.AppendBinary([]byte("head"))
		if err != nil {
			t.Fatal(err)
		}
		if string(b[:4]) != "head" {
			t.Fatalf("AppendBinary overwrote what b held: %q", b[:4])
		}
		var got PathTable
		if err := got.UnmarshalBinary(b[4:]); err != nil {
			t.Fatal(err)
		}
		want := PathTable{Rows: tab.Rows, Campaigns: tab.Campaigns}
		for i := range want.Rows {
			if len(want.Rows[i].Path) == 0 {
				want.Rows[i].Path = nil
			}
		}
		if !reflect.DeepEqual(got.Rows, want.Rows) || !reflect.DeepEqual(got.Campaigns, want.Campaigns) {
			t.Errorf("path table read back as %+v; want %+v", got, want)
		}
	}
	for _, a := range []*Attribution{rollupAttribution(), {Model: TimeDecay}} {
		b, err := a.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		var got Attribution
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(&got, a) {
			t.Errorf("attribution read back as %+v; want %+v", got, *a)
		}
	}
	if _, err := (&Attribution{Model: MarkovChain, Markov: &MarkovDetail{}}).AppendBinary(nil); err == nil {
		t.Error("an attribution with the Markov chain's details encoded; want an error (never kept per day)")
	}
}

// TestRollupDecodingAllocatesPerStringNotPerRow: a year's report decodes hundreds of daily
// rollups while hits are served, so decoding one allocates its few lists and its distinct
// strings, never once per row (gob allocated several times per row, and compiled the type
// again for every value).
func TestRollupDecodingAllocatesPerStringNotPerRow(t *testing.T) {
	tab := rollupTable(2000)
	b, _ := tab.AppendBinary(nil)
	strs := 5 + 7 + 2000/4 + 1 // channels, campaigns, the rows' own "c<i>" channels, the string table
	var got PathTable
	if n := testing.AllocsPerRun(20, func() {
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
	}); n > float64(strs+5) {
		t.Errorf("decoding a path table of %d rows allocated %.0f times; want at most %d (its strings and lists)", len(tab.Rows), n, strs+5)
	}
	a := rollupAttribution()
	ab, _ := a.AppendBinary(nil)
	var ga Attribution
	if n := testing.AllocsPerRun(20, func() {
		if err := ga.UnmarshalBinary(ab); err != nil {
			t.Fatal(err)
		}
	}); n > 4+6+5+1 {
		t.Errorf("decoding an attribution allocated %.0f times; want at most %d", n, 4+6+5+1)
	}
}

// TestPathTablesDecodedIntoAnArena: tables decoded into one arena read back as
// UnmarshalBinary reads them, each apart from the others until the arena's Reset; after it,
// the next report's decoding allocates nothing (the rows, paths and strings of the tables
// before are reused).
func TestPathTablesDecodedIntoAnArena(t *testing.T) {
	var encoded [][]byte
	for _, rows := range []int{300, 0, 5000, 1, 2000} {
		b, err := rollupTable(rows).AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		encoded = append(encoded, b)
	}
	a := &PathArena{}
	decodeAll := func() []*PathTable {
		a.Reset()
		out := make([]*PathTable, 0, len(encoded))
		for _, b := range encoded {
			tab := &PathTable{}
			if err := tab.UnmarshalBinaryIn(b, a); err != nil {
				t.Fatal(err)
			}
			out = append(out, tab)
		}
		return out
	}
	for round := range 3 {
		got := decodeAll()
		for i, b := range encoded { // every table checked once all are decoded
			var want PathTable
			if err := want.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got[i].Rows, want.Rows) || !reflect.DeepEqual(got[i].Campaigns, want.Campaigns) {
				t.Fatalf("round %d: table %d decoded into the arena reads %d rows, apart %d; or they differ", round, i, len(got[i].Rows), len(want.Rows))
			}
		}
	}
	tables := 0
	n := testing.AllocsPerRun(10, func() { tables = len(decodeAll()) })
	// Per table: the table, its reader and its campaigns' list; and the list of tables.
	if n > float64(3*tables+1) {
		t.Errorf("decoding %d tables into a used arena allocated %.0f times; want at most %d", tables, n, 3*tables+1)
	}
	// A nil arena is memory of the table's own.
	var own PathTable
	if err := own.UnmarshalBinaryIn(encoded[0], nil); err != nil || len(own.Rows) == 0 {
		t.Fatalf("UnmarshalBinaryIn with no arena: %d rows, %v", len(own.Rows), err)
	}
}

// TestDamagedRollupsAreRefused: a value cut short, grown, or of another kind is refused with
// an error (the report store then computes the day again), never a panic or a huge
// allocation.
func TestDamagedRollupsAreRefused(t *testing.T) {
	tb, _ := rollupTable(50).AppendBinary(nil)
	ab, _ := rollupAttribution().AppendBinary(nil)
	for _, c := range []struct {
		name string
		b    []byte
		dec  func([]byte) error
	}{
		{"path table", tb, func(b []byte) error { return new(PathTable).UnmarshalBinary(b) }},
		{"attribution", ab, func(b []byte) error { return new(Attribution).UnmarshalBinary(b) }},
	} {
		for n := range len(c.b) {
			if err := c.dec(c.b[:n]); err == nil {
				t.Errorf("%s cut to %d of %d bytes decoded without an error", c.name, n, len(c.b))
			}
		}
		if err := c.dec(append(c.b[:len(c.b):len(c.b)], 0)); err == nil {
			t.Errorf("%s with a byte too many decoded without an error", c.name)
		}
		for i := range c.b {
			d := append([]byte(nil), c.b...)
			d[i] ^= 0xff
			_ = c.dec(d) // may decode to other figures; must not panic
		}
	}
	if err := new(PathTable).UnmarshalBinary(ab); err == nil {
		t.Error("an attribution decoded as a path table")
	}
	huge := []byte{tagPathTable, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}
	if err := new(PathTable).UnmarshalBinary(huge); err == nil {
		t.Error("a path table claiming 4 billion rows in 7 bytes decoded")
	}
}
