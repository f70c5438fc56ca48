package replay

import (
	"errors"
	"sync"
	"time"

	"github.com/pathlight/pathlight/internal/heatmap"
	"github.com/pathlight/pathlight/internal/track"
)

// AskWindow is how long an ask for a page's snapshot stays outstanding: while it does, no
// other visitor is asked for that page and band, so that a burst of pageviews makes one
// visitor, not every one, load the recorder. An ask that brought no snapshot (the visitor
// left, or has another band) is made again once it passes.
const AskWindow = 5 * time.Minute

// maxAsks bounds the pages and bands remembered (asked, or known to have today's snapshot);
// past it, expired asks are forgotten first, and when none has expired nothing more is asked
// until some do.
const maxAsks = 100_000

// asks is what a server remembers of snapshots between pageviews: which page bands hold
// today's snapshot (so that most pageviews read nothing from the store) and which were asked
// for and until when. It is per process; several servers behind one balancer each ask once
// per window.
type asks struct {
	mu    sync.Mutex
	day   int64            // the UTC day the maps are of
	have  map[string]bool  // snapshot key → it holds a snapshot stored today
	until map[string]int64 // snapshot key → the ask's end, Unix ms
}

func (a *asks) reset(day int64) {
	if a.day != day || a.have == nil {
		a.day, a.have, a.until = day, map[string]bool{}, map[string]int64{}
	}
}

// room makes room for one more entry, forgetting expired asks; false when there is none.
func (a *asks) room(now int64) bool {
	if len(a.have)+len(a.until) < maxAsks {
		return true
	}
	for k, end := range a.until {
		if end <= now {
			delete(a.until, k)
		}
	}
	return len(a.have)+len(a.until) < maxAsks
}

// stored notes a snapshot of key stored at at (Unix ms).
func (a *asks) stored(key []byte, at int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reset(at / dayMs)
	if at/dayMs == a.day {
		delete(a.until, string(key))
		if a.room(at) {
			a.have[string(key)] = true
		}
	}
}

// WantSnapshot returns the viewport bands (of heatmap.Bands, in their order) of which the
// server asks a visitor's browser for a DOM snapshot of the page at path on site, appended to
// dst: those with no snapshot stored today (UTC) and no ask outstanding. Each band returned
// counts as asked for AskWindow. The browser sends a snapshot only when its own band is one of
// them.
func (r *Recordings) WantSnapshot(site, path string, dst []string) ([]string, error) {
	if path == "" || path[0] != '/' {
		return dst, nil
	}
	path = track.RedactPath(path)
	now := r.now().UnixMilli()
	a := &r.asks
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reset(now / dayMs)
	for band, name := range heatmap.Bands {
		key := snapshotKey(site, band, path)
		if a.have[string(key)] || a.until[string(key)] > now {
			continue
		}
		v, err := r.st.Get(key, nil)
		switch {
		case errors.Is(err, track.ErrNotFound):
		case err != nil:
			return dst, err
		default:
			if at, _ := splitSnapshot(v); at/dayMs == a.day {
				if a.room(now) {
					a.have[string(key)] = true
				}
				continue
			}
		}
		if !a.room(now) {
			continue
		}
		a.until[string(key)] = now + AskWindow.Milliseconds()
		dst = append(dst, name)
	}
	return dst, nil
}

func (r *Recordings) now() time.Time {
	if r.cfg.Now != nil {
		return r.cfg.Now()
	}
	return time.Now()
}
