package reportstore

// Parts names the parts of a record that a reader uses: a report states what it reads
// (Interner.Only), and Each decodes those parts only. The others are stepped over without
// being built (no string looked up or copied, no slice taken) and are left zero in the
// Visitors handed over; a damaged record is refused all the same, whatever the parts.
type Parts uint16

// The parts of a record. HasState is always read.
const (
	// PartSites is Visitor.Sites (Each picks a record's site from its head either way).
	PartSites Parts = 1 << iota
	// PartTouches is J.Touches.
	PartTouches
	// PartMarks is J.Steps, the step arrivals.
	PartMarks
	// PartConversions is J.Conversions and J.EarlierConversions.
	PartConversions
	// PartDevice is J.Device.
	PartDevice
	// PartCountry is J.Country.
	PartCountry
	// PartSegments is J.Segments.
	PartSegments
	// PartArms is J.Arms, the experiment assignments.
	PartArms
	// PartCounts is Visitor.Steps, the per-step counts.
	PartCounts
	// PartPrompts is Visitor.Prompts.
	PartPrompts

	// AllParts is every part: what NewInterner decodes.
	AllParts = PartSites | PartTouches | PartMarks | PartConversions | PartDevice | PartCountry |
		PartSegments | PartArms | PartCounts | PartPrompts
)

// Only makes Each decode only the parts p of the records it reads with in (the others are
// left zero), and returns in.
func (in *Interner) Only(p Parts) *Interner {
	in.parts = p
	return in
}

// has reports whether the records decoded with in keep part p.
func (in *Interner) has(p Parts) bool { return in == nil || in.parts&p != 0 }

// skipStr steps over a string without looking it up.
func (d *decoder) skipStr() {
	if d.tab != nil {
		if i := d.uvarint(); i >= uint64(len(d.tab)) && d.err == nil {
			d.err = errCorrupt
		}
		return
	}
	n := d.count()
	if d.err == nil {
		d.b = d.b[n:]
	}
}

// skipStrs steps over a list of strings.
func (d *decoder) skipStrs() {
	for range d.count() {
		d.skipStr()
		if d.err != nil {
			return
		}
	}
}

// How the decoder takes a part of a record (see open).
const (
	partSkipped = iota // stepped over by its length: nothing to do
	partDecode         // decode it, then close
	partParse          // not wanted, in a record without lengths: parse it without building
)

// open begins a part the reader keeps or not. In a record whose parts have lengths, a part
// not kept is stepped over at once, and one kept is decoded within its length (close
// checks that it filled it exactly); in an older record, a part not kept is parsed.
func (d *decoder) open(keep bool) int {
	if !d.sections {
		if keep {
			return partDecode
		}
		return partParse
	}
	n := d.count()
	if d.err != nil {
		return partSkipped
	}
	if !keep {
		d.b = d.b[n:]
		return partSkipped
	}
	d.rest = d.b[n:]
	d.b = d.b[:n]
	return partDecode
}

// close ends a part open decoded.
func (d *decoder) close() {
	if !d.sections || d.err != nil {
		return
	}
	if len(d.b) != 0 {
		d.err = errCorrupt
		return
	}
	d.b = d.rest
}
