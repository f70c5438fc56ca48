package replay

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/pathlight/pathlight/internal/heatmap"
	"github.com/pathlight/pathlight/internal/track"
)

// kindSnapshot keys a page's latest DOM snapshot, for the heatmap view:
// g site 0 band(1) path → when it was stored (Unix ms, 8 bytes BE), then the rrweb
// full-snapshot event, gzip. A value that starts with gzip's magic bytes was stored before
// the time was kept: its day is unknown, so it counts as not today's.
const kindSnapshot = 'g'

// snapshotValue returns the stored form of a snapshot event taken at at (Unix ms).
func snapshotValue(ev []byte, at int64) []byte {
	buf := bytes.NewBuffer(binary.BigEndian.AppendUint64(nil, uint64(max(at, 0))))
	zw, _ := gzip.NewWriterLevel(buf, gzip.BestSpeed)
	_, _ = zw.Write(ev)
	_ = zw.Close()
	return buf.Bytes()
}

// splitSnapshot returns the time (Unix ms, 0 when unknown) and the gzip stream of a stored
// snapshot.
func splitSnapshot(v []byte) (int64, []byte) {
	if bytes.HasPrefix(v, gzipMagic) || len(v) < 8 {
		return 0, v
	}
	return int64(binary.BigEndian.Uint64(v)), v[8:]
}

func snapshotKey(site string, band int, path string) []byte {
	k := make([]byte, 0, len(site)+len(path)+3)
	k = append(append(append(k, kindSnapshot), site...), 0, byte(band))
	return append(k, path...)
}

// snapshotOf returns the first full snapshot (type 2) among evs and the viewport width of the
// meta event (type 4) before it; false when there is none.
func snapshotOf(evs []json.RawMessage) (json.RawMessage, float64, bool) {
	width := 0.0
	for _, raw := range evs {
		var e struct {
			Type int `json:"type"`
			Data struct {
				Width float64         `json:"width"`
				Node  json.RawMessage `json:"node"`
			} `json:"data"`
		}
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		switch {
		case e.Type == 4:
			width = e.Data.Width
		case e.Type == 2 && len(e.Data.Node) > 0:
			return raw, width, true
		}
	}
	return nil, 0, false
}

// snapshotOp returns the write of b's full snapshot as the page's latest, stored at at (Unix
// ms), for a chunk that says it carries one ("snapshot": true), and the band it is of: the
// meta event's viewport width's.
func snapshotOp(site, path string, b *Batch, at int64) (track.Op, int, error) {
	ev, width, ok := snapshotOf(b.Events)
	if !ok {
		return track.Op{}, 0, bad(`"snapshot" is true but the chunk has no full snapshot (an event of type 2 with data.node)`)
	}
	band := slices.Index(heatmap.Bands, heatmap.BandOf(width))
	return track.Op{Key: snapshotKey(site, band, path), Value: snapshotValue(ev, at)}, band, nil
}

// Snapshot returns the latest DOM snapshot of a page (its path, as the heatmap report names
// pages) in a viewport band (phone, tablet or desktop): an rrweb full-snapshot event. False
// when none was sent within the replay retention.
func (r *Recordings) Snapshot(site, path, band string) (json.RawMessage, bool, error) {
	bi := slices.Index(heatmap.Bands, band)
	if bi < 0 {
		return nil, false, bad("band %q is not a band; use phone, tablet or desktop", band)
	}
	if path == "" || path[0] != '/' {
		return nil, false, bad("page %q is not a page path; give the path, starting with /", path)
	}
	v, err := r.st.Get(snapshotKey(site, bi, path), nil)
	if errors.Is(err, track.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	_, z := splitSnapshot(v)
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, false, fmt.Errorf("snapshot of %s: %w", path, err)
	}
	ev, err := io.ReadAll(io.LimitReader(zr, MaxRaw))
	if err != nil {
		return nil, false, fmt.Errorf("snapshot of %s: %w", path, err)
	}
	return ev, true, nil
}
