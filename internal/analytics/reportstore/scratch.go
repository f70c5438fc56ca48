package reportstore

import "unsafe"

// Scratch is the memory Each decodes a chunk of records into, kept by a caller that runs
// its scans one after another (the report worker) from one scan to the next: without it,
// each scan takes the chunk memory of an earlier one from a pool that every collection
// empties, and while reports run the collector runs about once a second, so most reports
// grew a chunk's memory afresh (about twice a chunk's worth, in blocks that double). It
// holds one chunk's lists (touches, step arrivals, conversions, counts, prompts, the
// Visitor structs): about a megabyte for chunks of typical records, and never more than
// scratchMax after a scan (a chunk of unusually long records is let go). Not safe for
// concurrent use; a scan that starts while another holds it (one nested in the other's
// callback) uses pooled memory instead.
type Scratch struct {
	a    *arena
	busy bool
}

// scratchMax is the most memory a Scratch keeps from one scan to the next.
const scratchMax = 16 << 20

// NewScratch returns an empty Scratch.
func NewScratch() *Scratch { return &Scratch{} }

// Using makes Each decode into sc's memory (nil: pooled memory) and returns in.
func (in *Interner) Using(sc *Scratch) *Interner {
	in.scratch = sc
	return in
}

// takeArena returns the arena a scan with in decodes into, and the function that gives
// it back.
func (in *Interner) takeArena() (*arena, func()) {
	var sc *Scratch
	if in != nil {
		sc = in.scratch
	}
	if sc == nil || sc.busy {
		a := arenas.Get().(*arena)
		return a, func() {
			a.reset()
			arenas.Put(a)
		}
	}
	if sc.a == nil {
		sc.a = newArena()
	}
	sc.busy = true
	return sc.a, func() {
		sc.a.reset()
		if sc.a.bytes() > scratchMax {
			sc.a = nil
		}
		sc.busy = false
	}
}

// bytes returns the memory the arena's blocks take.
func (a *arena) bytes() int {
	return poolBytes(&a.touches) + poolBytes(&a.marks) + poolBytes(&a.convs) + poolBytes(&a.counts) +
		poolBytes(&a.strs) + poolBytes(&a.arms) + poolBytes(&a.visits) + poolBytes(&a.prompts)
}

func poolBytes[T any](p *pool[T]) int {
	var zero T
	return cap(p.block) * int(unsafe.Sizeof(zero))
}
