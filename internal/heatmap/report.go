package heatmap

import (
	"cmp"
	"fmt"
	"slices"
)

// Params are the query parameters of the heatmap report, beside the period and site.
var Params = []string{"from", "to", "site", "page", "band", "channel", "segment", "step", "arm"}

// Report is the data of GET /api/v1/reports/heatmap.
type Report struct {
	Page   string      `json:"page"`   // the page shown: the one asked for, else the most clicked
	Filter string      `json:"filter"` // the visitors counted: "" for all, else a dimension such as channel:Paid Social
	Band   string      `json:"band"`   // the band shown: the one asked for, else the busiest of the page
	Pages  []PageCount `json:"pages"`  // every page with data in the period, busiest first (at most 200)
	Bands  []BandCount `json:"bands"`  // the page's bands

	Clicks uint64 `json:"clicks"`
	Rage   uint64 `json:"rage_clicks"`
	Dead   uint64 `json:"dead_clicks"`
	Views  uint64 `json:"pageviews"` // sampled pageviews that reported a scroll depth

	Grid     Grid          `json:"grid"`
	Elements []Element     `json:"elements"`    // the most clicked elements
	Scroll   []ScrollDepth `json:"scroll"`      // share of pageviews reaching each depth
	RageTop  []Issue       `json:"rage_top"`    // the most rage-clicked elements
	DeadTop  []Issue       `json:"dead_top"`    // the most dead-clicked elements
	Days     int           `json:"days"`        // UTC days the period touches
	Sampled  bool          `json:"sampled"`     // always true: only sampled pageviews are captured
	Approx   uint64        `json:"count_error"` // the most any element's count may be over
}

// PageCount is a page and its clicks and pageviews in the period.
type PageCount struct {
	Page   string `json:"page"`
	Clicks uint64 `json:"clicks"`
	Views  uint64 `json:"pageviews"`
}

// BandCount is a band of the page and its clicks and pageviews.
type BandCount struct {
	Band   string `json:"band"`
	Clicks uint64 `json:"clicks"`
	Views  uint64 `json:"pageviews"`
}

// Grid is the page's click grid: Cols columns over the viewport width, rows of RowPx CSS
// pixels from the top of the page; Cells lists [row, column, clicks] of every cell clicked.
type Grid struct {
	Cols  int         `json:"cols"`
	RowPx int         `json:"row_px"`
	Cells [][3]uint64 `json:"cells"`
}

// Element is a clicked element: its selector, clicks, the most its count may be over, and
// its clicks by position within it (4 × 4, row by row from the top left).
type Element struct {
	Selector string          `json:"selector"`
	Clicks   uint64          `json:"clicks"`
	Error    uint64          `json:"error"`
	Within   [InCells]uint32 `json:"within"`
}

// Issue is an element and its rage bursts or dead clicks.
type Issue struct {
	Selector string `json:"selector"`
	Count    uint64 `json:"count"`
}

// ScrollDepth is the share of pageviews that scrolled to Depth percent or further.
type ScrollDepth struct {
	Depth int     `json:"depth"`
	Share float64 `json:"share"`
}

// QueryError is a parameter the report cannot take.
type QueryError struct{ Param, Msg string }

func (e *QueryError) Error() string { return e.Param + ": " + e.Msg }

// Report answers the heatmap report of site ("" for every site) over [from, to) (Unix ms),
// for page and band ("" for the busiest), of the visitors of dim ("" for all; see DimsOf).
// A band that is not a band is a *QueryError.
func (r *Recorder) Report(site, page, band, dim string, from, to int64) (*Report, error) {
	if band != "" && !slices.Contains(Bands, band) {
		return nil, &QueryError{"band", fmt.Sprintf("%q is not a band; use phone, tablet or desktop", band)}
	}
	if page != "" && page[0] != '/' {
		return nil, &QueryError{"page", fmt.Sprintf("%q is not a page path; give the path, starting with /", page)}
	}
	d0, d1 := dayOf(from), dayOf(to-1)
	pages := map[string]*PageCount{}
	type pb struct {
		page string
		band int
	}
	tables := map[pb]*Table{}
	err := r.scanDays(site, dim, d0, d1, func(_ string, b int, path string, t *Table) error {
		pc := pages[path]
		if pc == nil {
			pc = &PageCount{Page: path}
			pages[path] = pc
		}
		pc.Clicks += t.Clicks
		pc.Views += t.Views
		k := pb{path, b}
		if m := tables[k]; m != nil {
			m.Merge(t)
		} else {
			tables[k] = t
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep := &Report{Page: page, Band: band, Filter: dim, Days: int(d1-d0) + 1, Sampled: true, Grid: Grid{Cols: GridCols, RowPx: GridRowPx, Cells: [][3]uint64{}},
		Pages: []PageCount{}, Bands: []BandCount{}, Elements: []Element{}, Scroll: []ScrollDepth{}, RageTop: []Issue{}, DeadTop: []Issue{}}
	for _, pc := range pages {
		rep.Pages = append(rep.Pages, *pc)
	}
	slices.SortFunc(rep.Pages, func(a, b PageCount) int {
		if c := cmp.Compare(b.Clicks+b.Views, a.Clicks+a.Views); c != 0 {
			return c
		}
		return cmp.Compare(a.Page, b.Page)
	})
	if len(rep.Pages) > 200 {
		rep.Pages = rep.Pages[:200]
	}
	if rep.Page == "" && len(rep.Pages) > 0 {
		rep.Page = rep.Pages[0].Page
	}
	best := -1
	for i, name := range Bands {
		if t := tables[pb{rep.Page, i}]; t != nil {
			rep.Bands = append(rep.Bands, BandCount{name, t.Clicks, t.Views})
			if best < 0 || t.Clicks+t.Views > tables[pb{rep.Page, best}].Clicks+tables[pb{rep.Page, best}].Views {
				best = i
			}
		}
	}
	if rep.Band == "" && best >= 0 {
		rep.Band = Bands[best]
	}
	t := tables[pb{rep.Page, slices.Index(Bands, rep.Band)}]
	if t == nil {
		return rep, nil
	}
	rep.Clicks, rep.Rage, rep.Dead, rep.Views = t.Clicks, t.Rage, t.Dead, t.Views
	cells := make([]uint16, 0, len(t.Grid))
	for c := range t.Grid {
		cells = append(cells, c)
	}
	slices.Sort(cells)
	for _, c := range cells {
		rep.Grid.Cells = append(rep.Grid.Cells, [3]uint64{uint64(c / GridCols), uint64(c % GridCols), t.Grid[c]})
	}
	Sort(t.Top)
	for _, e := range t.Top {
		rep.Elements = append(rep.Elements, Element{e.Sel, e.Count, e.Err, e.In})
		rep.Approx = max(rep.Approx, e.Err)
	}
	for _, l := range []struct {
		from []Entry
		to   *[]Issue
	}{{t.Rages, &rep.RageTop}, {t.Deads, &rep.DeadTop}} {
		Sort(l.from)
		for _, e := range l.from {
			*l.to = append(*l.to, Issue{e.Sel, e.Count})
		}
	}
	if t.Views > 0 {
		var reached uint64
		for i := ScrollSteps - 1; i >= 0; i-- {
			reached += t.Scroll[i]
			rep.Scroll = append(rep.Scroll, ScrollDepth{Depth: i * 5, Share: float64(reached) / float64(t.Views)})
		}
		slices.Reverse(rep.Scroll)
	}
	return rep, nil
}
