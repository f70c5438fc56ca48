// Package reportstore keeps what Pathlight's reports read, in the same byte-level store as
// the journeys (the track.Store API: Get, GetMany, Write, Scan), so that reports need no
// index of every visitor in memory and a restarted server has it at once. It is the only
// code that knows the layout of its keys:
//
//	L <day, 4 bytes BE> <vid, 16 bytes>   the visitor's record (Visitor, encoded), under the
//	                                      last UTC day the visitor did something on
//	D <day, 4 bytes BE> <part, 2 bytes>   a day pack: the records of a closed day, 64 to a
//	                                      key (see Pack)
//	J <vid, 16 bytes>                     that day (and part, when packed): where the
//	                                      visitor's record is
//	R <day, 4 bytes BE> <site> 0 <what>   a daily rollup (its own binary encoding), see PutRollup
//	K <name>                              metadata: the build state, segment reach
//
// Records are written per commit, by Put, from the changed visitors. A record begins with
// the visitor's sites and the days it did something on, with what it did on each (a
// session, a step, a conversion, an exposure, a prompt event); reports read a period
// through Each, which scans the records filed under the period's first day and later (the
// packed days' packs, then the single records), reads only the head of those that did
// nothing in the period, and hands the others over in chunks. A scan in key order reads
// the disk sequentially, where looking each visitor up would seek once per visitor.
// Everything a report adds up over days is kept as daily rollups, dropped by Put from the
// first day a change touches. Records expire with the retention, as the journeys do.
//
// Mergeable: a record is a function of one visitor's journey and events, and a daily
// rollup the sum over the visitors that convert or expire that day, so the records of
// disjoint sets of visitors (two servers) together are the records of all, and their daily
// rollups add up to the rollups of all.
package reportstore

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pathlight/pathlight/internal/track"
)

// Key prefixes: none of them is one of the tracker's.
const (
	pRecord = 'L'
	pPack   = 'D'
	pWhere  = 'J'
	pRollup = 'R'
	pMeta   = 'K'
)

// vidBytes is the length of a visitor id in keys: its 128 bits.
const vidBytes = 16

// Store is the report store over a byte-level store. It is safe for concurrent use; Put
// calls must not run concurrently with each other (one writer: the report service's fold).
type Store struct {
	kv        track.Store
	retention time.Duration
	// scanned and handed count the records Each read and handed over, since New.
	scanned, handed atomic.Uint64
	// gens counts Put's changes to the records filed under each day, for CommitPack.
	genMu sync.Mutex
	gens  map[int64]uint64
}

// Reads returns how many records Each has scanned (read the head of) and handed over
// (decoded) since New: a report's cost is about proportional to them.
func (s *Store) Reads() (scanned, handed uint64) {
	return s.scanned.Load(), s.handed.Load()
}

// New returns the report store over kv. Records expire after retention (0: never),
// counted from their last write.
func New(kv track.Store, retention time.Duration) *Store {
	return &Store{kv: kv, retention: retention}
}

// vidKey appends the 16 bytes of a visitor id to dst; false when vid is not 32 hex digits.
func vidKey(dst []byte, vid string) ([]byte, bool) {
	if !track.ValidVID(vid) {
		return dst, false
	}
	var b [vidBytes]byte
	if _, err := hex.Decode(b[:], []byte(vid)); err != nil {
		return dst, false
	}
	return append(dst, b[:]...), true
}

// dayBytes encodes a day so that byte order is day order.
func dayBytes(dst []byte, day int64) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(int32(day))^0x80000000)
}

func dayOfKey(b []byte) int64 {
	return int64(int32(binary.BigEndian.Uint32(b) ^ 0x80000000))
}

func recordKey(day int64, vid16 []byte) []byte {
	return append(dayBytes([]byte{pRecord}, day), vid16...)
}

// Get returns the records of vids, nil for those without one.
func (s *Store) Get(vids []string, in *Interner) ([]*Visitor, error) {
	out := make([]*Visitor, len(vids))
	where := make([][]byte, 0, len(vids))
	idx := make([]int, 0, len(vids))
	for i, vid := range vids {
		if k, ok := vidKey([]byte{pWhere}, vid); ok {
			where = append(where, k)
			idx = append(idx, i)
		}
	}
	keys := make([][]byte, 0, len(where))
	at := make([][]int, 0, len(where)) // the vids (of idx) each key holds
	ids := make([][]byte, 0, len(where))
	packs := map[string]int{} // pack key → its index in keys
	err := s.kv.GetMany(where, func(i int, val []byte) error {
		k, ok := whereKey(val, where[i][1:])
		switch {
		case !ok:
		case len(k) != packLen:
			keys = append(keys, k)
			at = append(at, []int{idx[i]})
			ids = append(ids, where[i][1:])
		default:
			j, ok := packs[string(k)]
			if !ok {
				j = len(keys)
				packs[string(k)] = j
				keys = append(keys, k)
				at = append(at, nil)
				ids = append(ids, nil)
			}
			at[j] = append(at[j], idx[i])
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read visitor records: %w", err)
	}
	var derr error
	decode := func(key []byte, i int, rec []byte, tab []string) {
		vid := vids[i]
		v, err := decodeVisitorIn(vid, rec, in, nil, tab)
		if err != nil {
			derr = fmt.Errorf("visitor %s: %w", vid, err)
			return
		}
		v.filed, v.filedOK, v.packed = dayOfKey(key[1:]), true, isPackKey(key)
		out[i] = v
	}
	err = s.kv.GetMany(keys, func(i int, val []byte) error {
		if ids[i] != nil {
			decode(keys[i], at[i][0], val, nil)
			return nil
		}
		want := map[string]int{}
		for _, j := range at[i] {
			k, _ := vidKey(nil, vids[j])
			want[string(k)] = j
		}
		err := eachPacked(val, in, func(id, rec []byte, tab []string) error {
			if j, ok := want[string(id)]; ok {
				decode(keys[i], j, rec, tab)
			}
			return nil
		})
		if err != nil {
			derr = fmt.Errorf("day pack %x: %w", keys[i][1:], err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read visitor records: %w", err)
	}
	return out, derr
}

// Put writes the new records of visitors (nil: the visitor is gone) given their old ones
// as Get returned them (nil: none), with the segment reach, and drops the daily rollups
// from the first day a change touches. It returns the earliest time a change touches,
// MaxInt64 when none touches what rollups read. olds[i] and news[i] are the same visitor.
// A record filed under a packed day goes into (or leaves) the day's packs.
func (s *Store) Put(olds, news []*Visitor) (int64, error) {
	changedAt := int64(math.MaxInt64)
	var ops []track.Op
	reach := map[string]map[string]int{}
	days := map[int64]*dayPacks{} // the days Put looked at; nil: not packed
	touched := map[int64]bool{}   // the days whose records Put changes
	packsOf := func(day int64) (*dayPacks, error) {
		dp, ok := days[day]
		if !ok {
			var err error
			if dp, err = s.loadDay(day); err != nil {
				return nil, err
			}
			days[day] = dp
		}
		return dp, nil
	}
	now := time.Now()
	for i := range news {
		o, n := olds[i], news[i]
		v := n
		if v == nil {
			v = o
		}
		if v == nil {
			continue
		}
		wk, ok := vidKey([]byte{pWhere}, v.J.VID)
		if !ok {
			continue // not an id the tracker gives: never stored
		}
		id := wk[1:]
		changedAt = min(changedAt, FirstDiff(o, n))
		if o != nil {
			touched[o.filedDay()] = true
		}
		var (
			newDay int64
			dp     *dayPacks // newDay's packs, nil when it is not packed
		)
		if n != nil {
			newDay = n.lastDay()
			touched[newDay] = true
			var err error
			if dp, err = packsOf(newDay); err != nil {
				return changedAt, err
			}
		}
		switch {
		case o == nil:
		case o.packed:
			odp, err := packsOf(o.filedDay())
			if err != nil {
				return changedAt, err
			}
			if odp != nil {
				odp.remove(id)
			}
		case n == nil || dp != nil || newDay != o.filedDay():
			ops = append(ops, track.Op{Key: recordKey(o.filedDay(), id), Delete: true})
		}
		switch {
		case n == nil:
			ops = append(ops, track.Op{Key: wk, Delete: true})
		case dp != nil:
			part := dp.put(id, appendVisitor(nil, n))
			ops = append(ops, track.Op{Key: wk, Value: dp.where(part), TTL: s.packTTL(newDay, now)})
		default:
			ops = append(ops, track.Op{Key: recordKey(newDay, id), Value: appendVisitor(nil, n), TTL: s.retention})
			if o == nil || o.packed || o.filedDay() != newDay || s.retention > 0 {
				ops = append(ops, track.Op{Key: wk, Value: whereSingle(newDay), TTL: s.retention})
			}
		}
		countReach(reach, o, -1)
		countReach(reach, n, +1)
	}
	for day, dp := range days {
		if dp != nil {
			var err error
			if ops, err = dp.ops(ops, s.packTTL(day, now)); err != nil {
				return changedAt, err
			}
		}
	}
	if changedAt != math.MaxInt64 {
		var err error
		if ops, err = s.dropRollups(ops, changedAt); err != nil {
			return changedAt, err
		}
	}
	var err error
	if ops, err = s.reachOps(ops, reach); err != nil {
		return changedAt, err
	}
	if len(ops) == 0 {
		return changedAt, nil
	}
	// Counted even when the write fails: it may have been applied in part, or not at all;
	// either way a pack prepared before is refused, which costs only its work.
	defer s.changed(touched)
	if err := s.kv.Write(ops); err != nil {
		return changedAt, fmt.Errorf("write visitor records: %w", err)
	}
	return changedAt, nil
}

// Range is a run of days [From, To] (UTC days, both included) and the flags a visitor must
// have on one of them.
type Range struct {
	From, To int64
	Flags    byte
}

// arenas keeps the chunk memory of finished scans for the next, for the scans without a
// Scratch of their own: a collection empties it.
var arenas = sync.Pool{New: func() any { return newArena() }}

// ChunkSize is how many records Each hands over at a time.
const ChunkSize = 2048

// Each calls fn with the records of the visitors of site ("" for every site) that have one
// of a range's flags on one of its days, each visitor once, in chunks of at most ChunkSize
// in the store's order: the records of the days packed under D (by last day, then id), then
// the others (the same), which is the order of last day then id whenever the packed days
// are the earlier ones, as the background packing keeps them. The records' memory is
// reused by the next chunk: fn must copy what it keeps of them (strings may be kept as
// they are). Memory: one chunk of records.
func (s *Store) Each(site string, ranges []Range, in *Interner, fn func([]*Visitor) error) error {
	lo := int64(math.MaxInt64)
	for _, r := range ranges {
		if r.To >= r.From {
			lo = min(lo, r.From)
		}
	}
	if lo == math.MaxInt64 {
		return nil
	}
	a, release := in.takeArena()
	defer release()
	var (
		chunk   = make([]*Visitor, 0, ChunkSize)
		ferr    error
		scanned uint64
	)
	flush := func() error {
		s.scanned.Add(scanned)
		scanned = 0
		if len(chunk) == 0 {
			return nil
		}
		s.handed.Add(uint64(len(chunk)))
		err := fn(chunk)
		clear(chunk)
		chunk = chunk[:0]
		a.reset()
		return err
	}
	take := func(id, val []byte, t *packTable) error {
		scanned++
		if !headMatchesIn(val, t, site, ranges) {
			return nil
		}
		var tab []string
		if t != nil {
			tab = t.strings()
		}
		v, err := decodeVisitorIn(in.visitorID(id), val, in, a, tab)
		if err != nil {
			ferr = fmt.Errorf("visitor %x: %w", id, err)
			return nil
		}
		copy(v.id[:], id)
		v.hasID = true
		chunk = append(chunk, v)
		if len(chunk) == ChunkSize {
			return flush()
		}
		return nil
	}
	err := s.scanRecords(lo, func(key, val []byte) error {
		switch len(key) {
		case 5 + vidBytes:
			return take(key[5:], val, nil)
		case packLen:
			if err := eachPackedLazy(val, in, take); err != nil {
				if errors.Is(err, errCorruptPack) {
					ferr = fmt.Errorf("day pack %x: %w", key[1:], err)
					return nil
				}
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("read visitor records: %w", err)
	}
	return nil
}

// ErrNotBuilt is returned by State when the store was never filled.
var ErrNotBuilt = errors.New("reportstore: not built")

// Build states, kept under K state.
const (
	// StateClean: every commit up to the last clean stop is in the store.
	StateClean = "clean"
	// StateOpen: a server is (or was, when it crashed) writing the store: commits of its
	// last seconds may be missing until a rebuild.
	StateOpen = "open"
)

func metaKey(name string) []byte { return append([]byte{pMeta}, name...) }

// State returns the build state: StateClean, StateOpen, or ErrNotBuilt.
func (s *Store) State() (string, error) {
	v, err := s.kv.Get(metaKey("state"), nil)
	if errors.Is(err, track.ErrNotFound) {
		return "", ErrNotBuilt
	}
	if err != nil {
		return "", fmt.Errorf("read report store state: %w", err)
	}
	return string(v), nil
}

// SetState records the build state.
func (s *Store) SetState(state string) error {
	return s.kv.Write([]track.Op{{Key: metaKey("state"), Value: []byte(state)}})
}

// IDs returns the ids of the records in (after, upTo], in order.
func (s *Store) IDs(after, upTo string) ([]string, error) {
	start := []byte{pWhere}
	if after != "" {
		k, ok := vidKey([]byte{pWhere}, after)
		if !ok {
			return nil, fmt.Errorf("reportstore: %q is not a visitor id", after)
		}
		start = append(k, 0)
	}
	end, ok := vidKey([]byte{pWhere}, upTo)
	if !ok {
		return nil, fmt.Errorf("reportstore: %q is not a visitor id", upTo)
	}
	end = append(end, 0)
	var out []string
	err := s.kv.Scan(start, end, func(key, _ []byte) error {
		if len(key) == 1+vidBytes {
			out = append(out, hex.EncodeToString(key[1:]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan visitor records: %w", err)
	}
	return out, nil
}
