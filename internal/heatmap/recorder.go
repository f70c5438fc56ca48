package heatmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"time"

	"github.com/pathlight/pathlight/internal/track"
)

// Key kinds, beside the tracker's (docs/architecture.md lists them all).
const (
	kindTable = 'h' // h site 0 day(4, BE) band(1) dim 0 path → Table
	kindMark  = 'c' // c site 0 batch id → empty: the batch is counted
)

// markTTL is how long a batch id is remembered: the snippet retries for at most a day.
const markTTL = 48 * time.Hour

// dayMs is a UTC day in milliseconds.
const dayMs = 24 * 60 * 60 * 1000

// Recorder folds capture batches into the tables and reads them back for reports.
type Recorder struct {
	st    track.Store
	ttl   time.Duration // the tables' retention
	seed  maphash.Seed
	locks [256]sync.Mutex
}

// New returns a Recorder storing in st; tables expire retention after their last write
// (0: never).
func New(st track.Store, retention time.Duration) *Recorder {
	return &Recorder{st: st, ttl: retention, seed: maphash.MakeSeed()}
}

// Result says what Record did with a batch.
type Result int

// Results of Record.
const (
	Counted   Result = iota // folded into its table
	Duplicate               // a retry of a batch already counted: nothing changed
)

// Record folds b, received at, into the table of its site, page, day and band, and into the
// table of each of dims (at most MaxDims, see DimsOf), and marks its id, in one atomic write.
// A batch whose id is marked already changes nothing.
func (r *Recorder) Record(site string, b *Batch, dims []string, at time.Time) (Result, error) {
	path, err := PagePath(b.URL)
	if err != nil {
		return 0, err
	}
	path = track.RedactPath(path)
	band := slices.Index(Bands, BandOf(b.Width))
	day := dayOf(at.UnixMilli())
	keys := [][]byte{tableKey(site, day, band, "", path)}
	for _, d := range dims[:min(len(dims), MaxDims)] {
		if validDim(d) {
			keys = append(keys, tableKey(site, day, band, d, path))
		}
	}
	mark := append([]byte{kindMark}, site...)
	mark = append(append(mark, 0), b.ID...)

	// The stripes of every key, in order, so that two batches never wait for each other
	// crosswise.
	stripes := make([]int, 0, len(keys))
	for _, k := range keys {
		stripes = append(stripes, int(maphash.Bytes(r.seed, k)%uint64(len(r.locks))))
	}
	slices.Sort(stripes)
	stripes = slices.Compact(stripes)
	for _, i := range stripes {
		r.locks[i].Lock()
		defer r.locks[i].Unlock()
	}
	if _, err := r.st.Get(mark, nil); err == nil {
		return Duplicate, nil
	} else if !errors.Is(err, track.ErrNotFound) {
		return 0, err
	}
	ops := make([]track.Op, 0, len(keys)+1)
	for _, key := range keys {
		t := &Table{}
		v, err := r.st.Get(key, nil)
		switch {
		case err == nil:
			if t, err = Decode(v); err != nil {
				return 0, fmt.Errorf("heatmap table %q: %w", key, err)
			}
		case !errors.Is(err, track.ErrNotFound):
			return 0, err
		}
		for _, c := range b.Clicks {
			t.AddClick(clickOf(c, b.Width))
		}
		if b.Scroll != nil {
			t.AddScroll(int(*b.Scroll + 0.5))
		}
		ops = append(ops, track.Op{Key: key, Value: t.Encode(nil), TTL: r.ttl})
	}
	ops = append(ops, track.Op{Key: mark, Value: []byte{}, TTL: markTTL})
	return Counted, r.st.Write(ops)
}

func dayOf(ms int64) uint32 {
	if ms < 0 {
		return 0
	}
	return uint32(ms / dayMs)
}

func tableKey(site string, day uint32, band int, dim, path string) []byte {
	k := make([]byte, 0, 9+len(site)+len(dim)+len(path))
	k = append(k, kindTable)
	k = append(k, site...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint32(k, day)
	k = append(k, byte(band))
	k = append(k, dim...)
	k = append(k, 0)
	return append(k, path...)
}

// scanDays calls fn for every table of site (every site when empty) of the days
// [from, to] and of dimension dim ("" for all visitors), with its band index and page path.
func (r *Recorder) scanDays(site, dim string, from, to uint32, fn func(site string, band int, path string, t *Table) error) error {
	start, end := []byte{kindTable}, []byte{kindTable + 1}
	if site != "" {
		start = append(append(start, site...), 0)
		end = binary.BigEndian.AppendUint32(slices.Clone(start), to+1)
		start = binary.BigEndian.AppendUint32(start, from)
	}
	return r.st.Scan(start, end, func(key, val []byte) error {
		k := key[1:]
		i := slices.Index(k, 0)
		if i < 0 || len(k) < i+6 {
			return nil
		}
		s, day, band, rest := string(k[:i]), binary.BigEndian.Uint32(k[i+1:]), int(k[i+5]), k[i+6:]
		j := slices.Index(rest, 0)
		if j < 0 || day < from || day > to || band >= len(Bands) || string(rest[:j]) != dim {
			return nil
		}
		path := string(rest[j+1:])
		t, err := Decode(val)
		if err != nil {
			return fmt.Errorf("heatmap table %q: %w", key, err)
		}
		return fn(s, band, path, t)
	})
}
