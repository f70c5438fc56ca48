package analytics

import (
	"sync"
	"time"

	"github.com/pathlight/pathlight/internal/report"
)

// dayMS is one UTC day in milliseconds: rollups, by-day figures and spend use UTC days.
const dayMS = 24 * 60 * 60 * 1000

// dayOf returns the UTC day of t, in days since 1970-01-01.
func dayOf(t int64) int64 {
	d := t / dayMS
	if t%dayMS < 0 {
		d--
	}
	return d
}

// snapshot is an immutable copy of the index at one generation: reports read it without any
// lock on the index, which keeps changing under them.
type snapshot struct {
	gen     uint64
	epoch   uint64    // of the rollups when the snapshot was made: see rollupStore.put
	built   time.Time // by the service's clock
	entries []*entry
	prompts []promptRec

	mu    sync.Mutex
	views map[string]*view
}

func newSnapshot(ix *index, epoch uint64, now time.Time) *snapshot {
	return &snapshot{
		gen:     ix.gen,
		epoch:   epoch,
		built:   now,
		entries: append([]*entry(nil), ix.entries...),
		prompts: ix.prompts[:len(ix.prompts):len(ix.prompts)],
		views:   map[string]*view{},
	}
}

// view returns the journeys of one site ("" for every site), built on first use.
func (s *snapshot) view(site string) *view {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.views[site]; v != nil {
		return v
	}
	v := &view{site: site}
	for _, e := range s.entries {
		if e.inSite(site) {
			v.entries = append(v.entries, e)
		}
	}
	v.js = make([]report.Journey, len(v.entries))
	for i, e := range v.entries {
		v.js[i] = e.j
	}
	for _, pr := range s.prompts {
		if site == "" || pr.site == site {
			v.prompts = append(v.prompts, pr)
		}
	}
	s.views[site] = v
	return v
}

// view is the journeys of one site in a snapshot, with indexes built on first use.
type view struct {
	site    string
	entries []*entry
	js      []report.Journey // js[i] is entries[i].j
	prompts []promptRec

	vidOnce sync.Once
	byVID   map[string]int

	dayOnce sync.Once
	convDay map[int64][]int32 // UTC day → journeys with a conversion that day
	tchDay  map[int64][]int32 // UTC day → journeys with a touch that started that day
	stepDay map[int64][]int32 // UTC day → journeys with a step arrival that day
}

// active returns the journeys with a touch, step or conversion in [lo, hi]: the only ones a
// report over that range can count. It returns all of them without copying when all match.
func (v *view) active(lo, hi int64) []report.Journey {
	n := 0
	for _, e := range v.entries {
		if e.hi >= lo && e.lo <= hi {
			n++
		}
	}
	if n == len(v.entries) {
		return v.js
	}
	out := make([]report.Journey, 0, n)
	for i, e := range v.entries {
		if e.hi >= lo && e.lo <= hi {
			out = append(out, v.js[i])
		}
	}
	return out
}

// entry returns the entry of vid, nil when the view has none.
func (v *view) entry(vid string) *entry {
	v.vidOnce.Do(func() {
		v.byVID = make(map[string]int, len(v.entries))
		for i, e := range v.entries {
			v.byVID[e.j.VID] = i
		}
	})
	if i, ok := v.byVID[vid]; ok {
		return v.entries[i]
	}
	return nil
}

// buckets builds the per-day indexes.
func (v *view) buckets() {
	v.dayOnce.Do(func() {
		v.convDay, v.tchDay, v.stepDay = map[int64][]int32{}, map[int64][]int32{}, map[int64][]int32{}
		for i, e := range v.entries {
			last := int64(-1 << 62)
			for _, m := range e.j.Steps {
				if d := dayOf(m.At); d != last {
					v.stepDay[d] = appendOnce(v.stepDay[d], int32(i))
					last = d
				}
			}
			last = -1 << 62
			for _, c := range e.j.Conversions {
				if d := dayOf(c.At); d != last {
					v.convDay[d] = appendOnce(v.convDay[d], int32(i))
					last = d
				}
			}
			last = -1 << 62
			for _, t := range e.j.Touches {
				if d := dayOf(t.StartedAt); d != last {
					v.tchDay[d] = appendOnce(v.tchDay[d], int32(i))
					last = d
				}
			}
		}
	})
}

// appendOnce appends i unless it is already the last element: journeys are added in order,
// so a journey's repeats are adjacent.
func appendOnce(s []int32, i int32) []int32 {
	if len(s) > 0 && s[len(s)-1] == i {
		return s
	}
	return append(s, i)
}

// attributable returns the journeys that can contribute to a path table or an attribution
// over [from, to) with lookback l (ms): those with a conversion in the period, and those
// with a touch whose lookback expires in it (a possible non-converting journey).
func (v *view) attributable(from, to, l int64) []report.Journey {
	v.buckets()
	return v.pick(func(add func(m map[int64][]int32, d0, d1 int64)) {
		add(v.convDay, dayOf(from), dayOf(to-1))
		add(v.tchDay, dayOf(from-l), dayOf(to-1-l))
	})
}

// stepping returns the journeys with a step arrival in [from, to): the only ones with a
// funnel attempt or a journey-map sequence in the period.
func (v *view) stepping(from, to int64) []report.Journey {
	v.buckets()
	return v.pick(func(add func(m map[int64][]int32, d0, d1 int64)) {
		add(v.stepDay, dayOf(from), dayOf(to-1))
	})
}

// pick returns the journeys of the buckets that choose adds, each once, in the view's order
// (so that results never depend on a map's order). All of them are returned without copying
// when every journey is picked.
func (v *view) pick(choose func(add func(m map[int64][]int32, d0, d1 int64))) []report.Journey {
	mark := make([]bool, len(v.js))
	n := 0
	choose(func(m map[int64][]int32, d0, d1 int64) {
		if d1-d0 > int64(len(m)) {
			// A long range: walk the buckets there are instead of the days.
			for d, is := range m {
				if d >= d0 && d <= d1 {
					n += markAll(mark, is)
				}
			}
			return
		}
		for d := d0; d <= d1; d++ {
			n += markAll(mark, m[d])
		}
	})
	if n == len(v.js) {
		return v.js
	}
	out := make([]report.Journey, 0, n)
	for i, ok := range mark {
		if ok {
			out = append(out, v.js[i])
		}
	}
	return out
}

// markAll marks the journeys of a bucket and returns how many were new.
func markAll(mark []bool, is []int32) int {
	n := 0
	for _, i := range is {
		if !mark[i] {
			mark[i] = true
			n++
		}
	}
	return n
}
