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

// stepSlot is one address seen: the string's data (nil: the slot is free) and length, and
// its index in Steps (-1: not there).
type stepSlot struct {
	p   *byte
	n   int
	idx int
}

func (x *stepIndex) init(steps []Count) { x.steps = steps }

// find returns countIndex(x.steps, step).
func (x *stepIndex) find(step string) int {
	p := unsafe.StringData(step)
	if len(step) == 0 || p == nil {
		return countIndex(x.steps, step)
	}
	h := int((uintptr(unsafe.Pointer(p))*0x9e3779b97f4a7c15)>>59) ^ len(step)
	for probe := range stepSlots {
		sl := &x.slots[(h+probe)&(stepSlots-1)]
		switch {
		case sl.p == p && sl.n == len(step):
			return sl.idx
		case sl.p == nil:
			i := countIndex(x.steps, step)
			if x.used < stepSlots*3/4 {
				x.used++
				*sl = stepSlot{p: p, n: len(step), idx: i}
			}
			return i
		}
	}
	return countIndex(x.steps, step)
}
