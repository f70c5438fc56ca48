package heatmap

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"unicode/utf8"
)

// Batch is the body of POST /v1/capture: what the capture chunk recorded on one sampled
// pageview since its last batch.
type Batch struct {
	Site    string      `json:"site"`
	Consent string      `json:"consent"`
	VID     string      `json:"vid"` // accepted for symmetry with hits, never stored
	ID      string      `json:"id"`  // a random id per batch: a retry is counted once
	TS      int64       `json:"ts"`  // when the chunk made the batch (Unix ms); the server dates it by arrival
	URL     string      `json:"url"`
	Width   float64     `json:"w"` // the viewport's width, CSS pixels
	Clicks  []WireClick `json:"clicks"`
	// Scroll is the deepest scroll of the pageview in percent, in its last batch only (sent
	// at page hide); nil in the others.
	Scroll *float64 `json:"scroll"`
}

// WireClick is one click on the wire.
type WireClick struct {
	Sel  string  `json:"s"`  // a stable selector of the element
	X    float64 `json:"x"`  // position within the element: fraction of its width
	Y    float64 `json:"y"`  // fraction of its height
	PX   float64 `json:"px"` // position on the page, CSS pixels
	PY   float64 `json:"py"`
	Rage bool    `json:"r"` // completes a rage burst
	Dead bool    `json:"d"` // changed nothing within a second
}

// Limits of a batch.
const (
	MaxClicks = 200 // clicks in one batch
	maxURL    = 2048
	maxID     = 64
	maxWidth  = 16384
	maxPage   = 1 << 20
)

// Bands are the viewport width bands, narrowest first: phone under 768 px, tablet under
// 1200 px, desktop from 1200 px.
var Bands = []string{"phone", "tablet", "desktop"}

// BandOf returns the band of a viewport width.
func BandOf(width float64) string {
	switch {
	case width < 768:
		return Bands[0]
	case width < 1200:
		return Bands[1]
	}
	return Bands[2]
}

// ParseBatch decodes and checks a batch: unknown members, a bad value or too many clicks
// are an error naming what is wrong.
func ParseBatch(body []byte) (*Batch, error) {
	var b Batch
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("capture batch: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("capture batch: data after the JSON object")
	}
	switch {
	case b.ID == "" || len(b.ID) > maxID:
		return nil, fmt.Errorf(`capture batch: "id" must be 1 to %d bytes`, maxID)
	case b.URL == "" || len(b.URL) > maxURL:
		return nil, fmt.Errorf(`capture batch: "url" must be 1 to %d bytes`, maxURL)
	case !(b.Width >= 1 && b.Width <= maxWidth):
		return nil, fmt.Errorf(`capture batch: "w" (the viewport width) must be 1 to %d`, maxWidth)
	case len(b.Clicks) > MaxClicks:
		return nil, fmt.Errorf("capture batch: %d clicks; at most %d", len(b.Clicks), MaxClicks)
	case b.Scroll != nil && !(*b.Scroll >= 0 && *b.Scroll <= 100):
		return nil, fmt.Errorf(`capture batch: "scroll" must be a percentage from 0 to 100`)
	}
	if _, err := PagePath(b.URL); err != nil {
		return nil, err
	}
	for i, c := range b.Clicks {
		switch {
		case c.Sel == "" || len(c.Sel) > MaxSelector || !utf8.ValidString(c.Sel):
			return nil, fmt.Errorf("capture batch: click %d: \"s\" must be a selector of 1 to %d bytes", i, MaxSelector)
		case !unit(c.X) || !unit(c.Y):
			return nil, fmt.Errorf("capture batch: click %d: \"x\" and \"y\" must be fractions from 0 to 1", i)
		case !(c.PX >= 0 && c.PX <= maxPage) || !(c.PY >= 0 && c.PY <= maxPage):
			return nil, fmt.Errorf("capture batch: click %d: \"px\" and \"py\" must be page positions from 0 to %d", i, maxPage)
		}
	}
	return &b, nil
}

func unit(f float64) bool { return f >= 0 && f <= 1 && !math.IsNaN(f) }

// PagePath returns the path of a page URL, the key of its tables.
func PagePath(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf(`capture batch: "url" must be an absolute http or https URL`)
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return p, nil
}

// clickOf places a wire click of a viewport of width w on the table's grids.
func clickOf(c WireClick, w float64) Click {
	col := int(c.PX / w * GridCols)
	row := int(c.PY / GridRowPx)
	return Click{Sel: c.Sel, X: c.X, Y: c.Y, Col: min(GridCols-1, max(0, col)), Row: min(GridRows-1, max(0, row)), Rage: c.Rage, Dead: c.Dead}
}
