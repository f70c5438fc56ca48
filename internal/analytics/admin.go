package analytics

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// Reach is how many visitors each segment of the rules holds now.
type Reach struct {
	// Visitors is every visitor of the site with a journey: the denominator of the shares.
	Visitors int            `json:"visitors"`
	Segments []SegmentReach `json:"segments"`
}

// SegmentReach is one segment's visitors: those whose last decision found them in it.
type SegmentReach struct {
	ID       string `json:"id"`
	Visitors int    `json:"visitors"`
	// Share is Visitors over all the site's visitors; nil (null) when there are none.
	Share *float64 `json:"share"`
}

// Reach counts the visitors of site ("" for every site) in each segment of the rules, as
// their latest decision placed them.
func (s *Service) Reach(site string) (*Reach, error) {
	if err := s.fold(false); err != nil {
		s.log.Warn("refresh the report store", "err", err) // read as it is, as reports do
	}
	s.mu.RLock()
	visitors, counts, err := s.rs.Reach(site)
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	ids := s.rules().Segments()
	r := &Reach{Visitors: visitors, Segments: make([]SegmentReach, 0, len(ids))}
	for _, id := range ids {
		sr := SegmentReach{ID: id, Visitors: counts[id]}
		if r.Visitors > 0 {
			share := float64(sr.Visitors) / float64(r.Visitors)
			sr.Share = &share
		}
		r.Segments = append(r.Segments, sr)
	}
	return r, nil
}

// Live is the live view: hits per second over the last minute as they arrived, oldest
// first; imported events per second apart (an import is history, not what is happening now,
// so its events are counted here and nowhere else in the live view); and the newest hits'
// events (bots and imports left out), oldest first, each as the event export writes it with
// "received", the time it arrived in Unix ms.
type Live struct {
	HitsPerSecond     []HitsPerSecond `json:"hits_per_second"`
	ImportedPerSecond []HitsPerSecond `json:"imported_per_second"`
	Recent            []RawJSON       `json:"recent"`
}

// RawJSON is an encoded JSON value, written as it is.
type RawJSON []byte

// MarshalJSON returns r.
func (r RawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}

// UnmarshalJSON keeps a copy of b.
func (r *RawJSON) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// Live returns the live view.
func (s *Service) Live() *Live {
	hits, imported, recs := s.feed.liveView()
	l := &Live{HitsPerSecond: hits, ImportedPerSecond: imported, Recent: make([]RawJSON, 0, len(recs))}
	var (
		h event.Hit
		e event.Event
	)
	for _, r := range recs {
		if event.DecodeRecord(r.rec, &h, &e) != nil {
			continue
		}
		j := event.AppendRecordJSON(nil, &h)
		if len(j) < 2 || j[0] != '{' {
			continue
		}
		b := strconv.AppendInt(append(make([]byte, 0, len(j)+24), `{"received":`...), r.at, 10)
		if len(j) > 2 {
			b = append(b, ',')
		}
		l.Recent = append(l.Recent, append(b, j[1:]...))
	}
	return l
}

// ImportResult counts what an import did.
type ImportResult struct {
	Lines     int `json:"lines"`
	Accepted  int `json:"accepted"`
	Duplicate int `json:"duplicate"`
	Rejected  int `json:"rejected"`
	// BadLines counts the lines that could not be used, all of them; Errors lists the first.
	BadLines int           `json:"bad_lines"`
	Errors   []ImportError `json:"errors"`
}

// ImportError is a line an import could not use.
type ImportError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

// maxImportErrors bounds the errors an import lists; later ones are only counted, in BadLines.
const maxImportErrors = 100

// Importer tracks NDJSON imports (see track.ImportLine) through a tracker.
type Importer struct {
	tr   *track.Tracker
	site func(id string) (string, bool)
}

// NewImporter returns an Importer; site resolves and checks each line's site id.
func NewImporter(tr *track.Tracker, site func(id string) (string, bool)) *Importer {
	return &Importer{tr: tr, site: site}
}

// Import tracks each non-empty line of body in order, as a request made at the line's time.
// Bad lines are listed in the result and skipped; a storage error stops the import and is
// returned with the counts so far.
func (im *Importer) Import(body []byte) (*ImportResult, error) {
	res := &ImportResult{Errors: []ImportError{}}
	var sc track.ImportScratch
	n := 0
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		n++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		res.Lines++
		c, err := im.tr.Import(line, &sc, im.site)
		if errors.Is(err, track.ErrImportLine) {
			res.BadLines++
			if len(res.Errors) < maxImportErrors {
				res.Errors = append(res.Errors, ImportError{Line: n, Error: err.Error()})
			}
			continue
		}
		if err != nil {
			return res, fmt.Errorf("import line %d: %w", n, err)
		}
		res.Accepted += c.Accepted
		res.Duplicate += c.Duplicate
		res.Rejected += c.Rejected
	}
	return res, nil
}
