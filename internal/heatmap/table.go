package heatmap

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
)

// Bounds of a table.
const (
	TopClicks = 100 // elements kept by clicks
	TopIssues = 25  // elements kept by rage clicks, and by dead clicks
	GridCols  = 16  // columns of the page grid, over the viewport width
	GridRowPx = 40  // height of a row of the page grid, CSS pixels
	GridRows  = 250 // rows of the page grid: 10,000 px; clicks further down go to the last
	InCells   = 16  // a 4×4 grid of positions within an element
	// ScrollSteps is the number of steps of the scroll histogram: 0%, 5%, …, 100%.
	ScrollSteps = 21
	// MaxSelector is the longest selector kept, in bytes.
	MaxSelector = 256
)

// Entry is one element of a top list: its selector, its count, and the most by which the
// count may exceed the truth (a space-saving summary's error: what the element it replaced
// had counted).
type Entry struct {
	Sel   string
	Count uint64
	Err   uint64
	In    [InCells]uint32 // clicks by position within the element (the clicks list only)
}

// Table is the aggregate of one site, page, day and band.
type Table struct {
	Clicks uint64              // clicks in all
	Rage   uint64              // rage-click bursts
	Dead   uint64              // dead clicks
	Views  uint64              // pageviews whose scroll depth was reported
	Scroll [ScrollSteps]uint64 // pageviews by deepest scroll, in steps of 5 %
	Grid   map[uint16]uint64   // clicks by page cell: row × GridCols + column
	Top    []Entry             // the most clicked elements, at most TopClicks
	Rages  []Entry             // the most rage-clicked elements, at most TopIssues
	Deads  []Entry             // the most dead-clicked elements, at most TopIssues
}

// Click is one click as the table counts it.
type Click struct {
	Sel  string  // the element's selector
	X, Y float64 // position within the element, fractions of its width and height
	Col  int     // page grid column
	Row  int     // page grid row
	Rage bool    // the click completed a rage burst
	Dead bool    // the click changed nothing within a second
}

// AddClick counts one click.
func (t *Table) AddClick(c Click) {
	t.Clicks++
	if t.Grid == nil {
		t.Grid = map[uint16]uint64{}
	}
	t.Grid[uint16(c.Row*GridCols+c.Col)]++
	e := bump(&t.Top, c.Sel, 1, TopClicks)
	ix := min(3, int(c.Y*4))*4 + min(3, int(c.X*4)) // row by row from the top left
	e.In[ix]++
	if c.Rage {
		t.Rage++
		bump(&t.Rages, c.Sel, 1, TopIssues)
	}
	if c.Dead {
		t.Dead++
		bump(&t.Deads, c.Sel, 1, TopIssues)
	}
}

// AddScroll counts one pageview that scrolled to depth percent at most.
func (t *Table) AddScroll(depth int) {
	t.Views++
	t.Scroll[min(100, max(0, depth))/5]++
}

// bump adds n to sel's count in the space-saving summary l of at most k entries and returns
// its entry: a new selector in a full list takes the place of the least counted one, with
// that count (and as much error) added.
func bump(l *[]Entry, sel string, n uint64, k int) *Entry {
	for i := range *l {
		if (*l)[i].Sel == sel {
			(*l)[i].Count += n
			return &(*l)[i]
		}
	}
	if len(*l) < k {
		*l = append(*l, Entry{Sel: sel, Count: n})
		return &(*l)[len(*l)-1]
	}
	m := 0
	for i := range *l {
		if (*l)[i].Count < (*l)[m].Count {
			m = i
		}
	}
	old := (*l)[m].Count
	(*l)[m] = Entry{Sel: sel, Count: old + n, Err: old}
	return &(*l)[m]
}

// Merge adds o into t. Top lists are merged as mergeable summaries: counts and errors of a
// selector in both add up, and the k largest are kept; the error bound of the result is the
// sum of the two bounds (Agarwal et al., "Mergeable summaries").
func (t *Table) Merge(o *Table) {
	t.Clicks += o.Clicks
	t.Rage += o.Rage
	t.Dead += o.Dead
	t.Views += o.Views
	for i := range t.Scroll {
		t.Scroll[i] += o.Scroll[i]
	}
	if len(o.Grid) > 0 && t.Grid == nil {
		t.Grid = make(map[uint16]uint64, len(o.Grid))
	}
	for c, n := range o.Grid {
		t.Grid[c] += n
	}
	t.Top = mergeTop(t.Top, o.Top, TopClicks)
	t.Rages = mergeTop(t.Rages, o.Rages, TopIssues)
	t.Deads = mergeTop(t.Deads, o.Deads, TopIssues)
}

func mergeTop(a, b []Entry, k int) []Entry {
	out := slices.Clone(a)
	for _, e := range b {
		found := false
		for i := range out {
			if out[i].Sel == e.Sel {
				out[i].Count += e.Count
				out[i].Err += e.Err
				for j := range e.In {
					out[i].In[j] += e.In[j]
				}
				found = true
				break
			}
		}
		if !found {
			out = append(out, e)
		}
	}
	Sort(out)
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// Sort orders a top list by count, most first, then by selector.
func Sort(l []Entry) {
	slices.SortFunc(l, func(x, y Entry) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return cmp.Compare(x.Sel, y.Sel)
	})
}

// version is the first byte of an encoded table.
const version = 1

// Encode appends t's binary form to b: a version byte, then unsigned varints (the totals,
// the scroll histogram, the grid cells in order with their counts, and each top list with
// its entries' selectors, counts, errors and, for the clicks list, their 16 cells).
func (t *Table) Encode(b []byte) []byte {
	b = append(b, version)
	for _, v := range []uint64{t.Clicks, t.Rage, t.Dead, t.Views} {
		b = binary.AppendUvarint(b, v)
	}
	for _, v := range t.Scroll {
		b = binary.AppendUvarint(b, v)
	}
	cells := make([]uint16, 0, len(t.Grid))
	for c := range t.Grid {
		cells = append(cells, c)
	}
	slices.Sort(cells)
	b = binary.AppendUvarint(b, uint64(len(cells)))
	for _, c := range cells {
		b = binary.AppendUvarint(b, uint64(c))
		b = binary.AppendUvarint(b, t.Grid[c])
	}
	for li, l := range [][]Entry{t.Top, t.Rages, t.Deads} {
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, e := range l {
			b = binary.AppendUvarint(b, uint64(len(e.Sel)))
			b = append(b, e.Sel...)
			b = binary.AppendUvarint(b, e.Count)
			b = binary.AppendUvarint(b, e.Err)
			if li == 0 {
				for _, v := range e.In {
					b = binary.AppendUvarint(b, uint64(v))
				}
			}
		}
	}
	return b
}

// ErrCorrupt is returned by Decode for bytes that are not a table.
var ErrCorrupt = errors.New("heatmap: corrupt table")

// Decode reads a table that Encode wrote.
func Decode(b []byte) (*Table, error) {
	if len(b) == 0 || b[0] != version {
		return nil, ErrCorrupt
	}
	r := reader{b: b[1:]}
	t := &Table{}
	t.Clicks, t.Rage, t.Dead, t.Views = r.uv(), r.uv(), r.uv(), r.uv()
	for i := range t.Scroll {
		t.Scroll[i] = r.uv()
	}
	n := r.n(GridCols * GridRows)
	if n > 0 {
		t.Grid = make(map[uint16]uint64, n)
	}
	for range n {
		c := r.uv()
		if c >= GridCols*GridRows {
			r.bad = true
		}
		t.Grid[uint16(c)] = r.uv()
	}
	for li, k := range []int{TopClicks, TopIssues, TopIssues} {
		n := r.n(k)
		l := make([]Entry, 0, n)
		for range n {
			e := Entry{Sel: string(r.bytes(MaxSelector))}
			e.Count, e.Err = r.uv(), r.uv()
			if li == 0 {
				for j := range e.In {
					e.In[j] = uint32(r.uv())
				}
			}
			l = append(l, e)
		}
		switch li {
		case 0:
			t.Top = l
		case 1:
			t.Rages = l
		default:
			t.Deads = l
		}
	}
	if r.bad || len(r.b) != 0 {
		return nil, ErrCorrupt
	}
	return t, nil
}

type reader struct {
	b   []byte
	bad bool
}

func (r *reader) uv() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// n reads a count of at most limit.
func (r *reader) n(limit int) int {
	v := r.uv()
	if v > uint64(limit) {
		r.bad = true
		return 0
	}
	return int(v)
}

func (r *reader) bytes(limit int) []byte {
	n := r.n(limit)
	if n > len(r.b) {
		r.bad = true
		r.b = nil
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}
