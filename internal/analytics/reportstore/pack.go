package reportstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pathlight/pathlight/internal/track"
)

// Day packs. A closed day's records are kept together, PackSize of them to a key, instead
// of one key each:
//
//	D <day, 4 bytes BE> <part, 2 bytes BE>   a pack: the records of the visitors filed under
//	                                         the day, in id order (part 0 holds the lowest ids)
//
// A scan pays the key-value store's cost per key (finding the key, checking its expiry,
// copying it out), about as much as decoding a whole record; a pack pays it once for
// PackSize records. A pack's records decode to exactly what their single records did (they
// are encoded the same way, with their strings as numbers into the pack's table of strings,
// see appendPack), in the same order (day, then id) as single keys would give them. A day
// is either packed or not: records filed under a packed day later (a backdated import, a
// rebuild) go into its packs, and part 0 stays (possibly empty) for as long as the day is
// packed, to say so. Days are packed in the background, the day before yesterday and
// earlier, so the days live traffic moves records out of are rarely packed (a returning
// visitor's record leaves its pack, which is then written again without it).
//
// The packs have a prefix of their own, apart from the single records (L), so that the
// packs of one day follow those of the day before with nothing between them: packing
// deletes a day's single records, and a store keeps such deletes for a while, which a scan
// of the single records' prefix steps over one by one. A period's packs are read by one
// scan of their prefix (see scanRecords).
//
// Releases before kept the packs under L (L day part, beside the day's single records,
// with J values of 6 bytes): such a day is read, and changed by Put, as it is kept, until
// packing moves it to D (see PreparePack).

// packLen is the length of a pack's key, under either prefix.
const packLen = 5 + 2

// PackSize is how many records a pack holds when it is written by Pack; packs written again
// by Put may hold a few more or fewer.
const PackSize = 64

// packVersion is the first byte of an encoded pack.
const packVersion = 1

// packEntry is one record of a pack.
type packEntry struct {
	id  [vidBytes]byte
	rec []byte // the encoded Visitor
}

// packKey returns the key of part of day's pack.
func packKey(day int64, part int) []byte { return packKeyIn(pPack, day, part) }

// packKeyIn returns the key of part of day's pack under prefix: pPack, or pRecord for a
// day packed by a release before (see above).
func packKeyIn(prefix byte, day int64, part int) []byte {
	return binary.BigEndian.AppendUint16(dayBytes([]byte{prefix}, day), uint16(part))
}

// isPackKey reports whether key is a pack's, under either prefix.
func isPackKey(key []byte) bool {
	return len(key) == packLen && (key[0] == pPack || key[0] == pRecord)
}

// The values of a J key: where the visitor's record is.
const (
	whereSingleLen = 4     // day: a single record, L day vid
	whereLegacyLen = 4 + 2 // day, part: a pack under L (a release before)
	wherePackLen   = 4 + 3 // day, part, pPack: a pack under D
)

// whereSingle is what the J key of a visitor whose record is single says: its day.
func whereSingle(day int64) []byte { return dayBytes(nil, day) }

// wherePack is what the J key of a visitor in part of a pack under prefix says.
func wherePack(prefix byte, day int64, part int) []byte {
	b := binary.BigEndian.AppendUint16(dayBytes(nil, day), uint16(part))
	if prefix == pPack {
		b = append(b, pPack)
	}
	return b
}

// whereKey returns the key a J value points to, given the visitor's 16-byte id; false for
// a value that is none of the three.
func whereKey(val, vid16 []byte) ([]byte, bool) {
	switch {
	case len(val) == whereSingleLen:
		return recordKey(dayOfKey(val), vid16), true
	case len(val) == whereLegacyLen:
		return packKeyIn(pRecord, dayOfKey(val), int(binary.BigEndian.Uint16(val[4:]))), true
	case len(val) == wherePackLen && val[6] == pPack:
		return packKey(dayOfKey(val), int(binary.BigEndian.Uint16(val[4:]))), true
	}
	return nil, false
}

// appendPack appends the encoding of entries (records as Put writes them one to a key) to
// dst: the pack's table of strings (each distinct string of its records once), then each
// record with its strings as numbers into the table. A scan then decodes a string of a
// record with one number, and shares each string of the table among the pack's records.
func appendPack(dst []byte, entries []packEntry) ([]byte, error) {
	tab := newStrTable()
	var body []byte
	in := NewInterner()
	for i := range entries {
		v, err := decodeVisitor("", entries[i].rec, in)
		if err != nil {
			return dst, fmt.Errorf("visitor %x: %w", entries[i].id, err)
		}
		body = append(body, entries[i].id[:]...)
		l := len(body)
		body = appendVisitorIn(body, v, tab)
		body = slices.Insert(body, l, binary.AppendUvarint(nil, uint64(len(body)-l))...)
	}
	dst = append(dst, packVersion)
	dst = binary.AppendUvarint(dst, uint64(len(tab.strs)))
	for _, s := range tab.strs {
		dst = appendStr(dst, s)
	}
	dst = binary.AppendUvarint(dst, uint64(len(entries)))
	return append(dst, body...), nil
}

// errCorruptPack is a pack that does not decode.
var errCorruptPack = errors.New("reportstore: corrupt day pack")

// eachPacked calls fn with each record of an encoded pack, in order, and the pack's
// strings, shared through in; id and rec point into b.
func eachPacked(b []byte, in *Interner, fn func(id, rec []byte, tab []string) error) error {
	return eachPackedLazy(b, in, func(id, rec []byte, t *packTable) error {
		return fn(id, rec, t.strings())
	})
}

// packTable is the table of strings of a pack being read, decoded (its strings looked up
// in the interner, or copied) only when a record of the pack is: a scan that reads the
// heads of many packs for the few records of a partial day decodes the tables of the packs
// that hold those alone.
type packTable struct {
	raw  []byte // the encoded strings
	n    int    // how many
	in   *Interner
	tab  []string // the strings, once done
	done bool
	// the position of a site's name in the table (-1: none), found once per pack
	site     string
	siteAt   int
	siteDone bool
}

// strings returns the table's strings, in the interner's slice, reused pack after pack
// (the strings in it are shared, the slice itself is not kept); never nil, so that the
// records of a pack of no strings still read as packed.
func (t *packTable) strings() []string {
	if t.done {
		return t.tab
	}
	d := &decoder{b: t.raw, in: t.in}
	tab := t.in.tab[:0]
	if tab == nil {
		tab = make([]string, 0, t.n)
	}
	for range t.n {
		tab = append(tab, d.str())
	}
	t.in.tab, t.tab, t.done = tab, tab, true
	return tab
}

// isSite reports whether string i of the table is site, comparing bytes: finding a site
// in the table does not decode it.
func (t *packTable) isSite(i uint64, site string) bool {
	if !t.siteDone || t.site != site {
		t.site, t.siteDone, t.siteAt = site, true, -1
		d := &decoder{b: t.raw}
		for k := range t.n {
			l := d.count()
			if d.err != nil {
				break
			}
			if string(d.b[:l]) == site {
				t.siteAt = k
				break
			}
			d.b = d.b[l:]
		}
		if t.done && t.siteAt < 0 { // a table made of strings (see headMatches)
			t.siteAt = slices.Index(t.tab, site)
		}
	}
	return t.siteAt >= 0 && i == uint64(t.siteAt)
}

// eachPackedLazy is eachPacked with the table decoded when fn asks for it.
func eachPackedLazy(b []byte, in *Interner, fn func(id, rec []byte, t *packTable) error) error {
	if len(b) < 1 || b[0] != packVersion {
		return errCorruptPack
	}
	d := &decoder{b: b[1:], in: in}
	// The interner's, reused pack after pack: a scan allocates nothing per pack.
	t := &in.pack
	*t = packTable{in: in, n: d.count()}
	if d.err != nil {
		return errCorruptPack
	}
	// Step over the strings by their lengths (a scan that reads every record steps over
	// each table once more than it did: keep it tight).
	raw, at := d.b, 0
	for range t.n {
		l, k := binary.Uvarint(raw[at:])
		if k <= 0 || l > uint64(len(raw)-at-k) {
			return errCorruptPack
		}
		at += k + int(l)
	}
	t.raw, d.b = raw[:at], raw[at:]
	n := d.count()
	if d.err != nil {
		return errCorruptPack
	}
	b = d.b
	for range n {
		if len(b) < vidBytes {
			return errCorruptPack
		}
		id := b[:vidBytes]
		b = b[vidBytes:]
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return errCorruptPack
		}
		rec := b[k : k+int(l)]
		b = b[k+int(l):]
		if err := fn(id, rec, t); err != nil {
			return err
		}
	}
	return nil
}

// decodePack returns the entries of an encoded pack, as Put writes records one to a key.
func decodePack(b []byte) ([]packEntry, error) {
	var out []packEntry
	in := NewInterner()
	err := eachPacked(b, in, func(id, rec []byte, tab []string) error {
		v, err := decodeVisitorIn("", rec, in, nil, tab)
		if err != nil {
			return fmt.Errorf("%w: visitor %x: %w", errCorruptPack, id, err)
		}
		var e packEntry
		copy(e.id[:], id)
		e.rec = appendVisitor(nil, v)
		out = append(out, e)
		return nil
	})
	return out, err
}

// dayPacks is a packed day's packs while Put or Pack change them.
type dayPacks struct {
	day    int64
	prefix byte // pPack, or pRecord for a day packed by a release before
	parts  [][]packEntry
	dirty  []bool
}

// find returns where id is: its part and index, or -1, -1.
func (dp *dayPacks) find(id []byte) (int, int) {
	for p, es := range dp.parts {
		i, ok := slices.BinarySearchFunc(es, id, func(e packEntry, id []byte) int { return bytes.Compare(e.id[:], id) })
		if ok {
			return p, i
		}
	}
	return -1, -1
}

// remove takes id's record out of the day's packs.
func (dp *dayPacks) remove(id []byte) {
	if p, i := dp.find(id); p >= 0 {
		dp.parts[p] = slices.Delete(dp.parts[p], i, i+1)
		dp.dirty[p] = true
	}
}

// put sets id's record, in the part whose ids it falls among, and returns the part.
func (dp *dayPacks) put(id []byte, rec []byte) int {
	if p, i := dp.find(id); p >= 0 {
		dp.parts[p][i].rec = rec
		dp.dirty[p] = true
		return p
	}
	part := 0
	for p, es := range dp.parts {
		if len(es) > 0 && bytes.Compare(es[0].id[:], id) <= 0 {
			part = p
		}
	}
	es := dp.parts[part]
	i, _ := slices.BinarySearchFunc(es, id, func(e packEntry, id []byte) int { return bytes.Compare(e.id[:], id) })
	var e packEntry
	copy(e.id[:], id)
	e.rec = rec
	dp.parts[part] = slices.Insert(es, i, e)
	dp.dirty[part] = true
	return part
}

// packTTL returns how long the records filed under day are kept from now: retention after
// the end of the day, the last day they did something on. A pack and the J keys of its
// visitors get the same expiry, so that neither outlives the other. Zero keeps them.
func (s *Store) packTTL(day int64, now time.Time) time.Duration {
	if s.retention <= 0 {
		return 0
	}
	end := time.UnixMilli((day + 1) * DayMS)
	return max(end.Add(s.retention).Sub(now), time.Second)
}

// loadDay returns the packs of day, nil when the day is not packed.
func (s *Store) loadDay(day int64) (*dayPacks, error) {
	prefix := byte(0)
	for _, p := range []byte{pPack, pRecord} {
		if _, err := s.kv.Get(packKeyIn(p, day, 0), nil); err == nil {
			prefix = p
			break
		} else if !errors.Is(err, track.ErrNotFound) {
			return nil, fmt.Errorf("read day pack: %w", err)
		}
	}
	if prefix == 0 {
		return nil, nil
	}
	dp := &dayPacks{day: day, prefix: prefix}
	err := s.kv.Scan(dayBytes([]byte{prefix}, day), dayBytes([]byte{prefix}, day+1), func(key, val []byte) error {
		if len(key) != packLen {
			return nil
		}
		part := int(binary.BigEndian.Uint16(key[5:]))
		es, err := decodePack(val)
		if err != nil {
			return fmt.Errorf("day %d part %d: %w", day, part, err)
		}
		for len(dp.parts) <= part {
			dp.parts = append(dp.parts, nil)
			dp.dirty = append(dp.dirty, false)
		}
		dp.parts[part] = es
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read day packs: %w", err)
	}
	return dp, nil
}

// where returns what the J key of a visitor in part of the day's packs says.
func (dp *dayPacks) where(part int) []byte { return wherePack(dp.prefix, dp.day, part) }

// ops appends the writes of the day's changed packs to ops.
func (dp *dayPacks) ops(ops []track.Op, ttl time.Duration) ([]track.Op, error) {
	for p, es := range dp.parts {
		if dp.dirty[p] {
			b, err := appendPack(nil, es)
			if err != nil {
				return ops, err
			}
			ops = append(ops, track.Op{Key: packKeyIn(dp.prefix, dp.day, p), Value: b, TTL: ttl})
		}
	}
	return ops, nil
}

// Pack packs the first day in [from, before) that has records filed under it one to a key,
// with the packs it may have already, in one atomic write. It returns that day, and false
// when there is none. Calls must not run concurrently with Put (one writer).
func (s *Store) Pack(from, before int64) (int64, bool, error) {
	plan, err := s.PreparePack(from, before)
	if err != nil || plan == nil {
		return 0, false, err
	}
	if _, err := s.CommitPack(plan); err != nil {
		return plan.Day, true, err
	}
	return plan.Day, true, nil
}

// PackPlan is the packing of one day, read and encoded by PreparePack and written by
// CommitPack.
type PackPlan struct {
	// Day is the day packed.
	Day int64
	gen uint64 // the day's change count when PreparePack began
	ops []track.Op
}

// dayGen returns how many times Put has changed the records filed under day since New.
func (s *Store) dayGen(day int64) uint64 {
	s.genMu.Lock()
	defer s.genMu.Unlock()
	return s.gens[day]
}

// changed counts a change by Put of the records filed under each of days, once written.
func (s *Store) changed(days map[int64]bool) {
	s.genMu.Lock()
	defer s.genMu.Unlock()
	if s.gens == nil {
		s.gens = map[int64]uint64{}
	}
	for d := range days {
		s.gens[d]++
	}
}

// CommitPack writes a plan of PreparePack, unless Put changed the day's records since the
// plan began: then it writes nothing and returns false (the day is packed by a later
// plan). Calls must not run concurrently with Put (one writer).
func (s *Store) CommitPack(plan *PackPlan) (bool, error) {
	if s.dayGen(plan.Day) != plan.gen {
		return false, nil
	}
	if err := s.kv.Write(plan.ops); err != nil {
		return false, fmt.Errorf("pack day %d: %w", plan.Day, err)
	}
	return true, nil
}

// PreparePack reads and encodes the packing of the first day in [from, before) that has
// records filed under it one to a key, or packs of a release before (under L, or of the
// older record encoding), with the packs it may have already; nil when there is none. It
// writes nothing, and may run while Put runs: the reading and encoding, most of the work,
// need not hold up the writer, and CommitPack refuses a plan that a Put made stale.
func (s *Store) PreparePack(from, before int64) (*PackPlan, error) {
	day, found, err := s.firstUnpacked(from, before)
	if err != nil || !found {
		return nil, err
	}
	gen := s.dayGen(day)
	var (
		entries, packed []packEntry
		ops             []track.Op
		seen            = map[[vidBytes]byte]bool{}
	)
	read := func(key, val []byte) error {
		switch {
		case len(key) == 5+vidBytes && key[0] == pRecord:
			var e packEntry
			copy(e.id[:], key[5:])
			e.rec = bytes.Clone(val)
			entries = append(entries, e)
			seen[e.id] = true
			ops = append(ops, track.Op{Key: bytes.Clone(key), Delete: true})
		case isPackKey(key):
			ops = append(ops, track.Op{Key: bytes.Clone(key), Delete: true}) // written again below, or gone
			es, err := decodePack(val)
			packed = append(packed, es...)
			return err
		}
		return nil
	}
	for _, prefix := range []byte{pPack, pRecord} {
		if err := s.kv.Scan(dayBytes([]byte{prefix}, day), dayBytes([]byte{prefix}, day+1), read); err != nil {
			return nil, fmt.Errorf("read day %d: %w", day, err)
		}
	}
	// A record both single and packed cannot be (a day is one or the other); should it be,
	// the single one is the newer.
	for _, e := range packed {
		if !seen[e.id] {
			entries = append(entries, e)
		}
	}
	slices.SortFunc(entries, func(a, b packEntry) int { return bytes.Compare(a.id[:], b.id[:]) })
	ttl := s.packTTL(day, time.Now())
	written := map[string]bool{}
	for part := 0; part == 0 || part*PackSize < len(entries); part++ {
		es := entries[min(part*PackSize, len(entries)):min((part+1)*PackSize, len(entries))]
		k := packKey(day, part)
		written[string(k)] = true
		b, err := appendPack(nil, es)
		if err != nil {
			return nil, fmt.Errorf("pack day %d: %w", day, err)
		}
		ops = append(ops, track.Op{Key: k, Value: b, TTL: ttl})
		for _, e := range es {
			ops = append(ops, track.Op{Key: append([]byte{pWhere}, e.id[:]...), Value: wherePack(pPack, day, part), TTL: ttl})
		}
	}
	// The deletes of the parts written again give way to their writes.
	ops = slices.DeleteFunc(ops, func(op track.Op) bool { return op.Delete && written[string(op.Key)] })
	return &PackPlan{Day: day, gen: gen, ops: ops}, nil
}

// firstUnpacked returns the first day in [from, before) with records filed under it one to
// a key, or packed by a release before: under L, or in records of the older encoding
// (whose parts have no lengths: see recordVersion). Packing writes those again, under D,
// in the new encoding. A day packed under D has no single record (Put files a record under
// a packed day into its packs), so its L keys are not read: they are the deletes packing
// left behind. It reads no pack but part 0 of each day packed under D (point reads).
func (s *Store) firstUnpacked(from, before int64) (int64, bool, error) {
	if from >= before {
		return 0, false, nil
	}
	// first returns the day of the first key under prefix in [lo, hi) that is a single
	// record or a pack, and whether there is one.
	first := func(prefix byte, lo, hi int64) (int64, bool, error) {
		var (
			day   int64
			found bool
		)
		err := s.kv.Scan(dayBytes([]byte{prefix}, lo), dayBytes([]byte{prefix}, hi), func(k, _ []byte) error {
			if len(k) == 5+vidBytes || len(k) == packLen {
				day, found = dayOfKey(k[1:]), true
				return track.ErrStop
			}
			return nil
		})
		return day, found, err
	}
	// The days before the first packed under D: any key under L.
	lowest, found, err := first(pPack, from, before)
	if err != nil {
		return 0, false, err
	}
	if !found {
		lowest = before
	}
	if d, found, err := first(pRecord, from, lowest); err != nil || found {
		return d, found, err
	}
	// From there on, a day at a time: packed under D (and in the new encoding), or any key
	// under L.
	keys := make([][]byte, 0, before-lowest)
	for d := lowest; d < before; d++ {
		keys = append(keys, packKey(d, 0))
	}
	packedAt := make([]bool, len(keys))
	older := make([]bool, len(keys)) // packed in the older encoding
	err = s.kv.GetMany(keys, func(i int, val []byte) error {
		packedAt[i], older[i] = true, unsectioned(val)
		return nil
	})
	if err != nil {
		return 0, false, fmt.Errorf("read day pack: %w", err)
	}
	for i, packed := range packedAt {
		d := lowest + int64(i)
		if older[i] {
			return d, true, nil // packed in the older encoding: packed again
		}
		if packed {
			continue
		}
		if _, found, err := first(pRecord, d, d+1); err != nil || found {
			return d, found, err
		}
	}
	return 0, false, nil
}

// unsectioned reports whether the first record of a pack is of the older encoding, whose
// parts have no lengths. A pack that does not decode is left to the scans to report.
func unsectioned(b []byte) bool {
	if len(b) < 1 || b[0] != packVersion {
		return false
	}
	d := &decoder{b: b[1:]}
	for range d.count() {
		d.b = d.b[min(int(d.uvarint()), len(d.b)):]
	}
	if d.count() == 0 || d.err != nil || len(d.b) < vidBytes {
		return false
	}
	d.b = d.b[vidBytes:]
	if d.uvarint() == 0 || d.err != nil || len(d.b) == 0 {
		return false
	}
	return d.b[0] == recordVersionUnsectionedTable
}
