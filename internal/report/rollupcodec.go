package report

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// The binary encoding of the figures kept as daily rollups: a path table and a heuristic
// model's credits. A year's report reads hundreds of them, so decoding one allocates a few
// slices and its distinct strings, nothing per row: every string is written once, in a
// table at the head, and rows name them by number. Numbers are uvarints; figures are the
// eight bytes of their float64, so a rollup reads back exactly as it was kept.

// errRollup is a value that is not a rollup of this encoding (an older one, or damaged).
var errRollup = errors.New("not a rollup of this encoding")

// Encoding tags: the first byte of each kind of value.
const (
	tagPathTable   = 'P'
	tagAttribution = 'A'
)

// strTable numbers the distinct strings of a value as it is encoded.
type strTable struct {
	ids  map[string]uint64
	list []string
}

func (s *strTable) id(v string) uint64 {
	if s.ids == nil {
		s.ids = map[string]uint64{}
	}
	n, ok := s.ids[v]
	if !ok {
		n = uint64(len(s.list))
		s.ids[v] = n
		s.list = append(s.list, v)
	}
	return n
}

// appendStrings appends the table of strings, then body.
func (s *strTable) appendWith(b []byte, tag byte, body []byte) []byte {
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(s.list)))
	for _, v := range s.list {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return append(b, body...)
}

func appendFloat(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

// AppendBinary appends the table's rows and campaign weights to b in the encoding of daily
// rollups; UnmarshalBinary reads it back.
func (t *PathTable) AppendBinary(b []byte) ([]byte, error) {
	var st strTable
	var body []byte
	body = binary.AppendUvarint(body, uint64(len(t.Rows)))
	steps := 0
	for i := range t.Rows {
		steps += len(t.Rows[i].Path)
	}
	body = binary.AppendUvarint(body, uint64(steps))
	for i := range t.Rows {
		r := &t.Rows[i]
		body = binary.AppendUvarint(body, uint64(len(r.Path)))
		for _, ch := range r.Path {
			body = binary.AppendUvarint(body, st.id(ch))
		}
		body = appendFloat(appendFloat(appendFloat(body, r.Conversions), r.Value), r.Nulls)
	}
	body = binary.AppendUvarint(body, uint64(len(t.Campaigns)))
	for i := range t.Campaigns {
		c := &t.Campaigns[i]
		body = binary.AppendUvarint(body, st.id(c.Channel))
		body = binary.AppendUvarint(body, st.id(c.Campaign))
		body = appendFloat(appendFloat(body, c.Conversions), c.Value)
	}
	return st.appendWith(b, tagPathTable, body), nil
}

// UnmarshalBinary replaces the table with the one AppendBinary encoded in b. It keeps
// nothing of b. An empty list reads back as nil.
func (t *PathTable) UnmarshalBinary(b []byte) error { return t.UnmarshalBinaryIn(b, nil) }

// UnmarshalBinaryIn is UnmarshalBinary with the table's rows, paths and strings in a's
// memory (nil: memory of its own), which a's next Reset hands to the tables decoded after
// it: the table is valid until then. A report that adds up a year of daily tables into one
// of its own decodes them all into one arena, reused by the next report.
func (t *PathTable) UnmarshalBinaryIn(b []byte, a *PathArena) error {
	d, err := newRollupReaderIn(b, tagPathTable, a)
	if err != nil {
		return err
	}
	*t = PathTable{}
	n, steps := d.count(1+24), d.count(1)
	if n > 0 {
		t.Rows = a.rowsOf(n)
		// One array holds every row's path: a row's path is a part of it.
		paths := a.stringsOf(steps)[:0]
		for i := range t.Rows {
			r := &t.Rows[i]
			if k := d.count(1); k > 0 {
				if cap(paths)-len(paths) < k {
					d.err = errRollup
					break
				}
				start := len(paths)
				for range k {
					paths = append(paths, d.str())
				}
				r.Path = paths[start:len(paths):len(paths)]
			}
			r.Conversions, r.Value, r.Nulls = d.float(), d.float(), d.float()
		}
	}
	if n := d.count(2 + 16); n > 0 {
		t.Campaigns = make([]CampaignWeight, n)
		for i := range t.Campaigns {
			c := &t.Campaigns[i]
			c.Channel, c.Campaign = d.str(), d.str()
			c.Conversions, c.Value = d.float(), d.float()
		}
	}
	return d.done()
}

// PathArena is memory for the path tables decoded by UnmarshalBinaryIn: their rows, their
// paths and the strings of their tables, the strings shared among the tables (the same
// channel names come back day after day). Not safe for concurrent use.
type PathArena struct {
	rows  arenaOf[PathRow]
	strs  arenaOf[string]
	names map[string]string
}

// Reset hands the arena's memory to the tables decoded next: the tables decoded into it
// before are no longer valid.
func (a *PathArena) Reset() {
	if a == nil {
		return
	}
	a.rows.reset()
	a.strs.reset()
	if len(a.names) > 1<<14 { // strings of a few reports' tables at most
		a.names = nil
	}
}

// rowsOf returns n zeroed rows of the arena (new ones for a nil arena).
func (a *PathArena) rowsOf(n int) []PathRow {
	if a == nil {
		return make([]PathRow, n)
	}
	return a.rows.take(n)
}

// stringsOf returns n strings' room of the arena (new for a nil arena).
func (a *PathArena) stringsOf(n int) []string {
	if a == nil {
		return make([]string, n)
	}
	return a.strs.take(n)
}

// name returns the string of b, shared with the tables decoded before when the arena has
// it (a copy for a nil arena).
func (a *PathArena) name(b []byte) string {
	if a == nil {
		return string(b)
	}
	if s, ok := a.names[string(b)]; ok {
		return s
	}
	if a.names == nil {
		a.names = map[string]string{}
	}
	s := string(b)
	a.names[s] = s
	return s
}

// arenaOf hands out runs of Ts from chunks kept from one reset to the next.
type arenaOf[T any] struct {
	chunks [][]T
	at     int // the chunk being handed out
	used   int // how much of it
}

// arenaChunk is how many Ts a chunk holds at least.
const arenaChunk = 4096

// take returns n zeroed Ts, contiguous.
func (a *arenaOf[T]) take(n int) []T {
	for ; a.at < len(a.chunks); a.at, a.used = a.at+1, 0 {
		if c := a.chunks[a.at]; len(c)-a.used >= n {
			out := c[a.used : a.used+n : a.used+n]
			a.used += n
			clear(out)
			return out
		}
	}
	a.chunks = append(a.chunks, make([]T, max(n, arenaChunk)))
	a.at, a.used = len(a.chunks)-1, n
	return a.chunks[a.at][:n:n]
}

func (a *arenaOf[T]) reset() { a.at, a.used = 0, 0 }

// AppendBinary appends a heuristic model's credits to b in the encoding of daily rollups;
// UnmarshalBinary reads them back. The Markov chain's details are never kept per day (the
// chain runs on the period's path table): an attribution holding them is refused.
func (a *Attribution) AppendBinary(b []byte) ([]byte, error) {
	if a.Markov != nil {
		return b, fmt.Errorf("encode attribution: the Markov chain's details are not kept as a rollup")
	}
	var st strTable
	var body []byte
	body = binary.AppendUvarint(body, st.id(string(a.Model)))
	body = binary.AppendUvarint(body, st.id(string(a.Game)))
	body = appendFloat(appendFloat(appendFloat(body, a.Conversions), a.Value), a.Nulls)
	body = binary.AppendUvarint(body, uint64(len(a.Channels)))
	camps := 0
	for i := range a.Channels {
		camps += len(a.Channels[i].Campaigns)
	}
	body = binary.AppendUvarint(body, uint64(camps))
	for i := range a.Channels {
		c := &a.Channels[i]
		body = binary.AppendUvarint(body, st.id(c.Channel))
		body = appendFloat(appendFloat(appendFloat(body, c.Conversions), c.Value), c.Share)
		body = binary.AppendUvarint(body, uint64(len(c.Campaigns)))
		for j := range c.Campaigns {
			k := &c.Campaigns[j]
			body = binary.AppendUvarint(body, st.id(k.Campaign))
			body = appendFloat(appendFloat(appendFloat(body, k.Conversions), k.Value), k.Share)
		}
	}
	return st.appendWith(b, tagAttribution, body), nil
}

// UnmarshalBinary replaces a with the credits AppendBinary encoded in b. It keeps nothing of
// b. An empty list reads back as nil.
func (a *Attribution) UnmarshalBinary(b []byte) error {
	d, err := newRollupReader(b, tagAttribution)
	if err != nil {
		return err
	}
	*a = Attribution{}
	a.Model, a.Game = Model(d.str()), Game(d.str())
	a.Conversions, a.Value, a.Nulls = d.float(), d.float(), d.float()
	n, ncamps := d.count(1+24+1), d.count(1+24)
	if n > 0 {
		a.Channels = make([]ChannelCredit, n)
		camps := make([]CampaignCredit, 0, ncamps) // every channel's campaigns, in one array
		for i := range a.Channels {
			c := &a.Channels[i]
			c.Channel = d.str()
			c.Conversions, c.Value, c.Share = d.float(), d.float(), d.float()
			if k := d.count(1 + 24); k > 0 {
				if cap(camps)-len(camps) < k {
					d.err = errRollup
					break
				}
				start := len(camps)
				for range k {
					camps = append(camps, CampaignCredit{Campaign: d.str(), Conversions: d.float(), Value: d.float(), Share: d.float()})
				}
				c.Campaigns = camps[start:len(camps):len(camps)]
			}
		}
	}
	return d.done()
}

// rollupReader reads a value of the rollup encoding; the first error sticks, and reads
// after it return zero values.
type rollupReader struct {
	b    []byte
	strs []string
	err  error
}

func newRollupReader(b []byte, tag byte) (*rollupReader, error) {
	return newRollupReaderIn(b, tag, nil)
}

// newRollupReaderIn is newRollupReader with the table of strings in a (nil: memory of its
// own).
func newRollupReaderIn(b []byte, tag byte, a *PathArena) (*rollupReader, error) {
	if len(b) == 0 || b[0] != tag {
		return nil, errRollup
	}
	d := &rollupReader{b: b[1:]}
	n := d.count(1)
	d.strs = a.stringsOf(n)
	for i := range d.strs {
		k := d.count(1)
		if d.err != nil {
			break
		}
		d.strs[i] = a.name(d.b[:k])
		d.b = d.b[k:]
	}
	if d.err != nil {
		return nil, d.err
	}
	return d, nil
}

func (d *rollupReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errRollup
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a number of items of at least minSize bytes each, refusing one the rest of
// the value cannot hold (so that a damaged value never makes a huge allocation).
func (d *rollupReader) count(minSize int) int {
	v := d.uvarint()
	if v > uint64(len(d.b)/minSize) {
		d.err = errRollup
		return 0
	}
	return int(v)
}

func (d *rollupReader) str() string {
	v := d.uvarint()
	if v >= uint64(len(d.strs)) {
		d.err = errRollup
		return ""
	}
	return d.strs[v]
}

func (d *rollupReader) float() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.err = errRollup
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return f
}

// done returns the first error, or an error when bytes are left over.
func (d *rollupReader) done() error {
	if d.err == nil && len(d.b) > 0 {
		d.err = errRollup
	}
	return d.err
}
