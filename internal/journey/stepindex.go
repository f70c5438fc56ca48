package journey

import "unsafe"

// stepSlots is the size of a stepIndex's table: more distinct step-name strings than a rule
// set has steps, each usually held at two addresses (the rule set's and a decoded record's).
const stepSlots = 32

// stepIndex answers, for the encoder, where a step name stands in Steps: the index
// countIndex gives, found by the string's address. Step marks and conversions share their
// name's string with Steps or with the rule set that named the step, so a record of 200 marks
// holds a handful of distinct addresses: each is searched once in Steps (countIndex, string
// compares) and then answered from the table. Two strings with the same address and length
// are the same text, so the answer is always countIndex's; a string the table has no room for
// is searched as before. The zero value is not ready: see init.
type stepIndex struct {
	steps []Count
	used  int
	slots [stepSlots]stepSlot
}

// stepSlot is one string seen: its data, its length plus one (0: the slot is free, so that
// no string, not even an empty one without data, matches a free slot), and its index in
// Steps (-1: not there).
type stepSlot struct {
	p   *byte
	n   int
	idx int
}

func (x *stepIndex) init(steps []Count) { x.steps = steps }

// find returns countIndex(x.steps, step).
func (x *stepIndex) find(step string) int {
	if i, ok := x.cached(step); ok {
		return i
	}
	return x.probe(step)
}

// cached returns find(step) when the string's first slot holds it, and false otherwise. It
// calls nothing, so that it is inlined into the encoder's loops.
func (x *stepIndex) cached(step string) (int, bool) {
	p := unsafe.StringData(step)
	sl := &x.slots[slotOf(p, len(step))]
	return sl.idx, sl.p == p && sl.n == len(step)+1
}

// slotOf is the first slot of a string with data p and length n.
func slotOf(p *byte, n int) uint {
	return (uint(uintptr(unsafe.Pointer(p))*0x9e3779b97f4a7c15>>59) ^ uint(n)) % stepSlots
}

// probe is find past the first slot: the next slots, and the search of Steps for a string
// not in the table, which it then enters while there is room.
func (x *stepIndex) probe(step string) int {
	p := unsafe.StringData(step)
	h := slotOf(p, len(step))
	if len(step) == 0 || p == nil {
		return countIndex(x.steps, step)
	}
	for i := range stepSlots {
		sl := &x.slots[(h+uint(i))%stepSlots]
		switch {
		case sl.p == p && sl.n == len(step)+1:
			return sl.idx
		case sl.n == 0:
			i := countIndex(x.steps, step)
			if x.used < stepSlots*3/4 {
				x.used++
				*sl = stepSlot{p: p, n: len(step) + 1, idx: i}
			}
			return i
		}
	}
	return countIndex(x.steps, step)
}
