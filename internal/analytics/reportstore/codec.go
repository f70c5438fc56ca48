package reportstore

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/maphash"
	"math"
	"slices"
	"unsafe"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

// recordVersion is the first byte of an encoded Visitor; recordVersionTable that of one
// whose strings are numbers into its pack's table of strings (see appendPack). Their parts
// after the head come each with its length (see Parts). Records of the versions before
// (recordVersionUnsectioned, recordVersionUnsectionedTable) have the same fields without
// lengths: they are read as they are, stepping over a part by parsing it, and written
// again in the new versions when their visitor changes or their day is packed.
const (
	recordVersionUnsectioned      = 2
	recordVersionUnsectionedTable = 3
	recordVersion                 = 4
	recordVersionTable            = 5
)

// strTable numbers the distinct strings of a pack's records.
type strTable struct {
	idx  map[string]uint64
	strs []string
}

func newStrTable() *strTable { return &strTable{idx: map[string]uint64{}} }

// ref returns the number of s, adding it when new.
func (t *strTable) ref(s string) uint64 {
	i, ok := t.idx[s]
	if !ok {
		i = uint64(len(t.strs))
		t.idx[s] = i
		t.strs = append(t.strs, s)
	}
	return i
}

// errCorrupt is a record that does not decode.
var errCorrupt = errors.New("reportstore: corrupt visitor record")

// appendVisitor appends the encoding of v (without its id, which is the key's) to dst.
func appendVisitor(dst []byte, v *Visitor) []byte { return appendVisitorIn(dst, v, nil) }

// appendVisitorIn appends the encoding of v to dst, its strings as numbers into tab when
// tab is not nil.
func appendVisitorIn(dst []byte, v *Visitor, tab *strTable) []byte {
	var flags byte
	if v.HasState {
		flags = 1
	}
	version := byte(recordVersion)
	if tab != nil {
		version = recordVersionTable
	}
	dst = append(dst, version, flags)
	appendStr := func(dst []byte, s string) []byte {
		if tab != nil {
			return binary.AppendUvarint(dst, tab.ref(s))
		}
		return appendStr(dst, s)
	}
	appendStrs := func(dst []byte, ss []string) []byte {
		dst = binary.AppendUvarint(dst, uint64(len(ss)))
		for _, s := range ss {
			dst = appendStr(dst, s)
		}
		return dst
	}
	// The head: sites and days, all a scan reads of a record outside the period.
	dst = appendStrs(dst, v.Sites)
	days := v.days()
	ds := make([]int64, 0, len(days))
	for d := range days {
		ds = append(ds, d)
	}
	slices.Sort(ds)
	dst = binary.AppendUvarint(dst, uint64(len(ds)))
	prev := int64(0)
	for _, d := range ds {
		dst = binary.AppendVarint(dst, d-prev)
		dst = append(dst, days[d])
		prev = d
	}
	// The parts, each after its length, so that a reader skips those it does not read.
	j := &v.J
	sec := len(dst)
	dst = binary.AppendUvarint(dst, uint64(len(j.Touches)))
	for i := range j.Touches {
		t := &j.Touches[i]
		dst = binary.AppendVarint(dst, t.StartedAt)
		dst = binary.AppendVarint(dst, t.LastAt-t.StartedAt)
		dst = appendStr(dst, t.Channel)
		dst = appendStr(dst, t.Source)
		dst = appendStr(dst, t.Medium)
		dst = appendStr(dst, t.Campaign)
	}
	dst = sectionLength(dst, sec)
	sec = len(dst)
	dst = binary.AppendUvarint(dst, uint64(len(j.Steps)))
	for _, m := range j.Steps {
		dst = appendStr(dst, m.Step)
		dst = binary.AppendVarint(dst, m.At)
	}
	dst = sectionLength(dst, sec)
	sec = len(dst)
	dst = binary.AppendUvarint(dst, uint64(len(j.Conversions)))
	for _, c := range j.Conversions {
		dst = appendStr(dst, c.Step)
		dst = binary.AppendVarint(dst, c.At)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(c.Value))
	}
	dst = binary.AppendUvarint(dst, uint64(j.EarlierConversions))
	dst = sectionLength(dst, sec)
	sec = len(dst)
	dst = append(dst, byte(j.Device))
	dst = appendStr(dst, j.Country)
	dst = appendStrs(dst, j.Segments)
	dst = sectionLength(dst, sec)
	sec = len(dst)
	dst = binary.AppendUvarint(dst, uint64(len(j.Arms)))
	for _, a := range j.Arms {
		dst = appendStr(dst, a.Experiment)
		dst = appendStr(dst, a.Variant)
		dst = binary.AppendVarint(dst, a.At)
		dst = appendBool(dst, a.Exposed)
	}
	dst = sectionLength(dst, sec)
	sec = len(dst)
	dst = binary.AppendUvarint(dst, uint64(len(v.Steps)))
	for _, c := range v.Steps {
		dst = appendStr(dst, c.Key)
		dst = binary.AppendUvarint(dst, uint64(c.N))
		dst = binary.AppendVarint(dst, c.FirstAt)
		dst = binary.AppendVarint(dst, c.LastAt)
	}
	dst = sectionLength(dst, sec)
	sec = len(dst)
	dst = binary.AppendUvarint(dst, uint64(len(v.Prompts)))
	for i := range v.Prompts {
		p := &v.Prompts[i]
		dst = appendStr(dst, p.Site)
		dst = appendStr(dst, p.ID)
		dst = appendStr(dst, p.Prompt)
		dst = appendStr(dst, p.Action)
		dst = appendStr(dst, p.Answer)
		dst = binary.AppendVarint(dst, p.At)
		if p.Segments == nil {
			dst = append(dst, 0)
		} else {
			dst = append(dst, 1)
			dst = appendStrs(dst, p.Segments)
		}
	}
	return sectionLength(dst, sec)
}

// sectionLength puts the length of dst[from:] before it.
func sectionLength(dst []byte, from int) []byte {
	var l [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(l[:], uint64(len(dst)-from))
	return slices.Insert(dst, from, l[:n]...)
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// Interner shares one copy of each repeated string (channels, steps, countries) among the
// visitors decoded with it, and copies the others into large blocks of its own, so that
// decoding a record allocates no string of its own. The zero value is not ready: use
// NewInterner. It is not safe for concurrent use.
//
// Repeated strings are found in a small table indexed by a hash of their bytes: one hash and
// one comparison per string, where a map costs a lookup with its probing. A string whose slot
// holds another is copied (no allocation: it goes into the current block) and takes the
// slot, so the table follows what the records at hand repeat. Blocks are never reused: a
// string handed out stays valid as long as the caller keeps it.
type Interner struct {
	slots [internSlots]string
	block []byte    // free space of the current block
	tab   []string  // the table of the pack being read (see eachPacked)
	pack  packTable // the pack being read (see eachPackedLazy)
	noIDs bool      // Each leaves visitor ids out (see NoIDs)
	// scratch is the memory Each decodes chunks into (see Using); nil: pooled.
	scratch *Scratch
	parts   Parts // the parts of a record decoded (see Only)
}

// internSlots is the size of the Interner's table: a power of two, well above the distinct
// values a report's records repeat (channels, steps, countries, segments, arms).
const internSlots = 1024

// internBlock is the size of the blocks strings are copied into.
const internBlock = 64 << 10

// NewInterner returns an empty Interner.
func NewInterner() *Interner { return &Interner{parts: AllParts} }

// NoIDs makes Each leave the visitor id out of the records it decodes with in (their J.VID
// is ""), and returns in. An id is the one string of a record that no other record shares:
// made for every record, ids were a fifth of what a year's reports allocated, and only the
// surveys' open answers name visitors, which Visitor.ID makes on demand.
func (in *Interner) NoIDs() *Interner {
	in.noIDs = true
	return in
}

// visitorID returns the id of a record Each decodes: its 32 hex digits, or "" under NoIDs.
func (in *Interner) visitorID(id []byte) string {
	if in.noIDs {
		return ""
	}
	return in.hexID(id)
}

// internSeed is the hash seed of every Interner.
var internSeed = maphash.MakeSeed()

// get returns the shared copy of b.
func (in *Interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	slot := &in.slots[maphash.Bytes(internSeed, b)&(internSlots-1)]
	if *slot == string(b) {
		return *slot
	}
	s := in.copy(b)
	*slot = s
	return s
}

// copy returns a string of b's bytes from the current block.
func (in *Interner) copy(b []byte) string {
	if len(b) > len(in.block) {
		if len(b) > internBlock/8 {
			return string(b)
		}
		in.block = make([]byte, internBlock)
	}
	n := copy(in.block, b)
	s := unsafe.String(&in.block[0], n)
	in.block = in.block[n:]
	return s
}

// hexID returns the 32 hex digits of a 16-byte id, from the current block.
func (in *Interner) hexID(id []byte) string {
	var buf [2 * vidBytes]byte
	n := hex.Encode(buf[:], id)
	return in.copy(buf[:n])
}

// decoder reads an encoded Visitor; the first error sticks.
type decoder struct {
	b   []byte
	err error
	in  *Interner
	a   *arena
	tab []string // the pack's strings, for a record of recordVersionTable
	// sections: the record's parts come with their lengths; rest is what follows the
	// part being decoded (see open).
	sections bool
	rest     []byte
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	// Most of a record's numbers (counts, table indexes, lengths) fit in one byte.
	if len(d.b) > 0 && d.b[0] < 0x80 {
		v := d.b[0]
		d.b = d.b[1:]
		return uint64(v)
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) > 0 && d.b[0] < 0x80 { // zigzag, as binary.Varint reads it
		u := int64(d.b[0])
		d.b = d.b[1:]
		return u>>1 ^ -(u & 1)
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a list length, refusing one the rest of the record cannot hold.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return 0
	}
	return int(n)
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errCorrupt
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) str() string {
	if d.tab != nil {
		i := d.uvarint()
		if i >= uint64(len(d.tab)) {
			if d.err == nil {
				d.err = errCorrupt
			}
			return ""
		}
		return d.tab[i]
	}
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := d.in.get(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strs() []string {
	n := d.count()
	if n == 0 || d.err != nil {
		return nil
	}
	var out []string
	if d.a != nil {
		out = take(&d.a.strs, n)
	} else {
		out = make([]string, n)
	}
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *decoder) float() float64 {
	if d.err != nil || len(d.b) < 8 {
		d.err = errCorrupt
		return 0
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return f
}

// headMatches reports whether a record is of site ("" for every site) and has one of a
// range's flags on one of its days, reading only its head.
// A record of recordVersionTable reads its strings from tab.
func headMatches(b []byte, tab []string, site string, ranges []Range) bool {
	if tab == nil {
		return headMatchesIn(b, nil, site, ranges)
	}
	return headMatchesIn(b, &packTable{n: len(tab), tab: tab, done: true}, site, ranges)
}

// headMatchesIn is headMatches for a record of a pack whose table is t (nil for a record
// of its own key): it never decodes the table.
func headMatchesIn(b []byte, t *packTable, site string, ranges []Range) bool {
	if len(b) < 2 {
		return true // let the decoder report it
	}
	if _, ok := recordKind(b[0], t != nil); !ok {
		return true
	}
	d := &decoder{b: b[2:]}
	n := d.count()
	found := site == ""
	for range n {
		if t != nil {
			i := d.uvarint()
			if d.err != nil || i >= uint64(t.n) {
				return true
			}
			if !found && t.isSite(i, site) {
				found = true
			}
			continue
		}
		l := d.count()
		if d.err != nil {
			return true
		}
		if !found && string(d.b[:l]) == site {
			found = true
		}
		d.b = d.b[l:]
	}
	if !found {
		return false
	}
	day := int64(0)
	for range d.count() {
		day += d.varint()
		f := d.byte()
		if d.err != nil {
			return true
		}
		for _, r := range ranges {
			if day >= r.From && day <= r.To && f&r.Flags != 0 {
				return true
			}
		}
	}
	return false
}

// arena hands out the slices of the records of one chunk from a few large blocks: a
// chunk's records are read together and dropped together, and the next chunk reuses the
// blocks (reset), so a scan of a million records allocates about one chunk's worth.
type arena struct {
	touches pool[journey.Touchpoint]
	marks   pool[journey.StepMark]
	convs   pool[journey.Conversion]
	counts  pool[journey.Count]
	strs    pool[string]
	arms    pool[journey.Assignment]
	visits  pool[Visitor]
	prompts pool[Prompt]
}

func newArena() *arena { return &arena{} }

// oneArena returns an arena for a single record: each list gets just the entries it holds,
// not the block of newArena's pools, which only chunks of many records fill.
func oneArena() *arena {
	a := &arena{}
	a.touches.exact, a.marks.exact, a.convs.exact, a.counts.exact = true, true, true, true
	a.strs.exact, a.arms.exact, a.visits.exact, a.prompts.exact = true, true, true, true
	return a
}

// reset makes the arena's memory free for the next chunk: everything handed out before is
// overwritten.
func (a *arena) reset() {
	a.touches.reset()
	a.marks.reset()
	a.convs.reset()
	a.counts.reset()
	a.strs.reset()
	a.arms.reset()
	a.visits.reset()
	a.prompts.reset()
}

// pool is a block of Ts handed out in slices.
type pool[T any] struct {
	block []T
	used  int  // of block
	total int  // handed out since the last reset, also from blocks given up
	exact bool // each take allocates n entries (oneArena), not a block to share
}

// take returns n zeroed elements.
func take[T any](p *pool[T], n int) []T {
	if n == 0 {
		return nil
	}
	if p.exact {
		p.total += n
		return make([]T, n)
	}
	if p.used+n > len(p.block) {
		p.block, p.used = make([]T, max(2*len(p.block), n, 1024)), 0
	}
	out := p.block[p.used : p.used+n : p.used+n]
	p.used += n
	p.total += n
	return out
}

// reset zeroes what was handed out and keeps one block large enough for as much again.
func (p *pool[T]) reset() {
	if p.total > len(p.block) {
		p.block = make([]T, p.total)
	} else {
		clear(p.block[:p.used])
	}
	p.used, p.total = 0, 0
}

// recordKind checks the version byte of a record, packed when it reads its strings from its
// pack's table, and reports whether its parts come with their lengths.
func recordKind(version byte, packed bool) (sections, ok bool) {
	switch {
	case packed && version == recordVersionTable, !packed && version == recordVersion:
		return true, true
	case packed && version == recordVersionUnsectionedTable, !packed && version == recordVersionUnsectioned:
		return false, true
	}
	return false, false
}

// decodeVisitor decodes a record of vid into memory of its own.
func decodeVisitor(vid string, b []byte, in *Interner) (*Visitor, error) {
	return decodeVisitorIn(vid, b, in, nil, nil)
}

// decodeVisitorIn decodes a record of vid, its slices from a when not nil, its strings
// from tab for a record of a pack (recordVersionTable; tab is nil for any other). Its
// strings are the interner's, tab's or its own: it shares nothing with b.
func decodeVisitorIn(vid string, b []byte, in *Interner, a *arena, tab []string) (*Visitor, error) {
	if a == nil {
		a = oneArena()
	}
	if len(b) < 2 {
		return nil, errCorrupt
	}
	sections, ok := recordKind(b[0], tab != nil)
	if !ok {
		return nil, errCorrupt
	}
	v := &take(&a.visits, 1)[0]
	v.HasState = b[1]&1 != 0
	v.J.VID = vid
	d := &decoder{b: b[2:], in: in, a: a, tab: tab, sections: sections}
	// Each part is decoded when in keeps it, and stepped over, building nothing, when not.
	if in.has(PartSites) {
		v.Sites = d.strs()
	} else {
		d.skipStrs()
	}
	for range d.count() { // the days: the rest holds them in full
		d.varint()
		d.byte()
	}
	j := &v.J
	switch d.open(in.has(PartTouches)) {
	case partDecode:
		if n := d.count(); n > 0 {
			j.Touches = take(&a.touches, n)
			for i := range j.Touches {
				t := &j.Touches[i]
				t.StartedAt = d.varint()
				t.LastAt = t.StartedAt + d.varint()
				t.Channel, t.Source, t.Medium, t.Campaign = d.str(), d.str(), d.str(), d.str()
			}
		}
		d.close()
	case partParse:
		for range d.count() {
			d.varint()
			d.varint()
			d.skipStr()
			d.skipStr()
			d.skipStr()
			d.skipStr()
		}
	}
	switch d.open(in.has(PartMarks)) {
	case partDecode:
		if n := d.count(); n > 0 {
			j.Steps = take(&a.marks, n)
			for i := range j.Steps {
				j.Steps[i] = journey.StepMark{Step: d.str(), At: d.varint()}
			}
		}
		d.close()
	case partParse:
		for range d.count() {
			d.skipStr()
			d.varint()
		}
	}
	switch d.open(in.has(PartConversions)) {
	case partDecode:
		if n := d.count(); n > 0 {
			j.Conversions = take(&a.convs, n)
			for i := range j.Conversions {
				c := &j.Conversions[i]
				c.Step, c.At = d.str(), d.varint()
				c.Value = d.float()
			}
		}
		j.EarlierConversions = int(d.uvarint())
		d.close()
	case partParse:
		for range d.count() {
			d.skipStr()
			d.varint()
			d.float()
		}
		d.uvarint()
	}
	// Device, country and segments are one part on disk: small, and read together.
	switch d.open(in.has(PartDevice | PartCountry | PartSegments)) {
	case partDecode:
		if device := event.DeviceType(d.byte()); in.has(PartDevice) {
			j.Device = device
		}
		if in.has(PartCountry) {
			j.Country = d.str()
		} else {
			d.skipStr()
		}
		if in.has(PartSegments) {
			j.Segments = d.strs()
		} else {
			d.skipStrs()
		}
		d.close()
	case partParse:
		d.byte()
		d.skipStr()
		d.skipStrs()
	}
	switch d.open(in.has(PartArms)) {
	case partDecode:
		if n := d.count(); n > 0 {
			j.Arms = take(&a.arms, n)
			for i := range j.Arms {
				x := &j.Arms[i]
				x.Experiment, x.Variant, x.At = d.str(), d.str(), d.varint()
				x.Exposed = d.byte() != 0
			}
		}
		d.close()
	case partParse:
		for range d.count() {
			d.skipStr()
			d.skipStr()
			d.varint()
			d.byte()
		}
	}
	switch d.open(in.has(PartCounts)) {
	case partDecode:
		if n := d.count(); n > 0 {
			v.Steps = take(&a.counts, n)
			for i := range v.Steps {
				c := &v.Steps[i]
				c.Key = d.str()
				c.N = uint32(d.uvarint())
				c.FirstAt, c.LastAt = d.varint(), d.varint()
			}
		}
		d.close()
	case partParse:
		for range d.count() {
			d.skipStr()
			d.uvarint()
			d.varint()
			d.varint()
		}
	}
	switch d.open(in.has(PartPrompts)) {
	case partDecode:
		if n := d.count(); n > 0 {
			v.Prompts = take(&a.prompts, n)
			for i := range v.Prompts {
				p := &v.Prompts[i]
				p.Site, p.ID, p.Prompt, p.Action, p.Answer = d.str(), d.str(), d.str(), d.str(), d.str()
				p.At = d.varint()
				if d.byte() == 1 {
					p.Segments = d.strs()
					if p.Segments == nil {
						p.Segments = []string{}
					}
				}
			}
		}
		d.close()
	case partParse:
		for range d.count() {
			for range 5 {
				d.skipStr()
			}
			d.varint()
			if d.byte() == 1 {
				d.skipStrs()
			}
		}
	}
	if d.err == nil && d.sections && len(d.b) != 0 {
		d.err = errCorrupt // bytes after the last part
	}
	if d.err != nil {
		return nil, d.err
	}
	return v, nil
}
