package deliver

import (
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/pathlight/pathlight/internal/automate"
	"github.com/pathlight/pathlight/internal/track"
)

// maxFiredScan bounds the firing log one Stats call reads.
const maxFiredScan = 1_000_000

// Stats is the state of the automations over a period and of the outbox now: what the
// dashboard's Automations view shows.
type Stats struct {
	From, To int64 `json:"-"`
	// Fired counts firings per UTC day (YYYY-MM-DD) and automation in [From, To).
	Fired map[string]map[string]int `json:"fired"`
	// Truncated is set when the period held more firings than one call reads.
	Truncated    bool         `json:"truncated,omitempty"`
	Destinations []DestStats  `json:"destinations"`
	Errors       []ErrorEntry `json:"errors"` // the newest failures, pending or dead, at most 20
}

// DestStats is one destination's outbox now, and its deliveries since the server started.
type DestStats struct {
	Destination string `json:"destination"`
	Pending     int    `json:"pending"`  // waiting for their first attempt or a retry
	Retrying    int    `json:"retrying"` // pending after at least one failed attempt
	Dead        int    `json:"dead"`
	OldestAge   int64  `json:"oldest_age_ms"` // of the oldest pending delivery
	Delivered   int64  `json:"delivered_since_start"`
}

// ErrorEntry is a delivery whose last attempt failed.
type ErrorEntry struct {
	ID          string `json:"id"`
	Destination string `json:"destination"`
	Automation  string `json:"automation"`
	VID         string `json:"vid"`
	State       string `json:"state"` // pending or dead
	Attempts    int    `json:"attempts"`
	LastStatus  int    `json:"last_status,omitempty"`
	LastError   string `json:"last_error"`
	Next        int64  `json:"next,omitempty"` // Unix ms of the next attempt, when pending
	At          int64  `json:"at"`             // Unix ms of the last failure (dead) or the firing
}

// Stats reads the firing log over [from, to) and the outbox now; dests lists the declared
// destinations, shown even when they hold nothing.
func (d *Deliverer) Stats(from, to int64, dests []string) (*Stats, error) {
	st := &Stats{From: from, To: to, Fired: map[string]map[string]int{}, Errors: []ErrorEntry{}}
	start, end := automate.FiredRange(from, to)
	n := 0
	err := d.cfg.Store.Scan(start, end, func(k, v []byte) error {
		if n++; n > maxFiredScan {
			st.Truncated = true
			return track.ErrStop
		}
		var f automate.Fired
		if json.Unmarshal(v, &f) != nil {
			return nil
		}
		day := time.UnixMilli(automate.FiredAt(k)).UTC().Format("2006-01-02")
		if st.Fired[day] == nil {
			st.Fired[day] = map[string]int{}
		}
		st.Fired[day][f.Automation]++
		return nil
	})
	if err != nil && !errors.Is(err, track.ErrStop) {
		return nil, err
	}
	byDest := map[string]*DestStats{}
	dest := func(id string) *DestStats {
		if byDest[id] == nil {
			byDest[id] = &DestStats{Destination: id}
		}
		return byDest[id]
	}
	for _, id := range dests {
		dest(id)
	}
	now := d.cfg.Now().UnixMilli()
	for _, p := range []byte{automate.PrefixQueue, automate.PrefixDead} {
		start, end := automate.Range(p, "")
		n := 0
		err := d.cfg.Store.Scan(start, end, func(_, v []byte) error {
			if n++; n > maxScan {
				return track.ErrStop
			}
			var del automate.Delivery
			if automate.UnmarshalRecord(v, &del) != nil {
				return nil
			}
			ds := dest(del.Destination)
			e := ErrorEntry{ID: del.ID, Destination: del.Destination, Automation: del.Automation, VID: del.VID,
				Attempts: del.Attempts, LastStatus: del.LastStatus, LastError: del.LastError, At: del.FiredAt}
			if p == automate.PrefixDead {
				ds.Dead++
				e.State, e.At = StateDead, del.DeadAt
			} else {
				ds.Pending++
				if age := now - del.Created; age > ds.OldestAge {
					ds.OldestAge = age
				}
				if del.Attempts == 0 {
					return nil
				}
				ds.Retrying++
				e.State, e.Next = StatePending, del.Next
			}
			st.Errors = append(st.Errors, e)
			return nil
		})
		if err != nil && !errors.Is(err, track.ErrStop) {
			return nil, err
		}
	}
	d.mu.Lock()
	for id, n := range d.delivered {
		dest(id).Delivered = n
	}
	d.mu.Unlock()
	for _, id := range sortedKeys(byDest) {
		st.Destinations = append(st.Destinations, *byDest[id])
	}
	slices.SortStableFunc(st.Errors, func(a, b ErrorEntry) int { return int(min(max(b.At-a.At, -1), 1)) })
	if len(st.Errors) > 20 {
		st.Errors = st.Errors[:20]
	}
	return st, nil
}

func sortedKeys(m map[string]*DestStats) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
