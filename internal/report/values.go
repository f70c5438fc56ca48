package report

import (
	"math"
	"slices"
	"sync"
)

// valueList keeps the whole numbers a report's exact means and quantiles are computed from
// (a funnel's milliseconds between steps, a conversion's milliseconds and touches), in
// blocks that are never copied: a slice that doubles as it grows allocates about twice its
// final size, half of it garbage at once, and a year of funnel times at 1,000,000 visitors
// was the largest of a report's allocations. Values from 0 to 2³²−1 take four bytes; the
// first value outside them turns the list into eight-byte values (a funnel window or a
// lookback past 49 days). The zero value is an empty list.
type valueList struct {
	narrow blocks[uint32]
	wide   blocks[int64]
}

// add appends v.
func (l *valueList) add(v int64) {
	if l.wide.n == 0 && v >= 0 && v <= math.MaxUint32 {
		l.narrow.add(uint32(v))
		return
	}
	if l.narrow.n > 0 {
		for _, b := range l.narrow.bs {
			for _, x := range b {
				l.wide.add(int64(x))
			}
		}
		l.narrow.release()
	}
	l.wide.add(v)
}

// release hands the list's memory to the lists made after it, and empties it.
func (l *valueList) release() {
	l.narrow.release()
	l.wide.release()
}

// len returns how many values l holds.
func (l *valueList) len() int { return l.narrow.n + l.wide.n }

// each calls fn with every value, in the order they were added (until sorted reorders them).
func (l *valueList) each(fn func(v int64)) {
	for _, b := range l.narrow.bs {
		for _, x := range b {
			fn(int64(x))
		}
	}
	for _, b := range l.wide.bs {
		for _, x := range b {
			fn(x)
		}
	}
}

// sorted calls fn with every value in ascending order, without a copy of the list: it
// sorts each block in place and merges them. The order the values were added is lost.
func (l *valueList) sorted(fn func(v int64)) {
	if l.narrow.n > 0 {
		mergeSorted(l.narrow.bs, fn)
	} else {
		mergeSorted(l.wide.bs, fn)
	}
}

// blocks is a list of values in blocks of growing size, up to maxBlock each.
type blocks[T uint32 | int64] struct {
	bs [][]T
	n  int
}

// The sizes of a list's blocks: the first holds minBlock values, each next one twice as
// many as the one before, up to maxBlock. A list wastes less than one block.
const (
	minBlock = 64
	maxBlock = 8192
)

func (b *blocks[T]) add(v T) {
	k := len(b.bs)
	if k == 0 || len(b.bs[k-1]) == cap(b.bs[k-1]) {
		var blk []T
		if k < 7 { // 64 << 7 = maxBlock
			blk = make([]T, 0, minBlock<<k)
		} else if p, ok := blockPool[T]().Get().(*[]T); ok {
			blk = (*p)[:0]
		} else {
			blk = make([]T, 0, maxBlock)
		}
		b.bs = append(b.bs, blk)
		k++
	}
	b.bs[k-1] = append(b.bs[k-1], v)
	b.n++
}

// Blocks of maxBlock values, of each type, that lists released for the lists made after
// them: a year's funnel at 1,000,000 visitors fills a few hundred of them, which the next
// report would otherwise allocate again. A collection empties the pools.
var blockPools [2]sync.Pool

// blockPool returns the pool of blocks of Ts.
func blockPool[T uint32 | int64]() *sync.Pool {
	var zero T
	if _, ok := any(zero).(uint32); ok {
		return &blockPools[0]
	}
	return &blockPools[1]
}

// release puts b's full-size blocks in the pool, and empties b: the values in them are
// no longer b's.
func (b *blocks[T]) release() {
	for _, blk := range b.bs {
		if cap(blk) == maxBlock {
			blk = blk[:0]
			blockPool[T]().Put(&blk)
		}
	}
	*b = blocks[T]{}
}

// mergeSorted sorts each of bs in place and calls fn with all their values in ascending
// order (a k-way merge over a heap of the blocks' heads).
func mergeSorted[T uint32 | int64](bs [][]T, fn func(v int64)) {
	for _, b := range bs {
		slices.Sort(b)
	}
	if len(bs) == 1 {
		for _, x := range bs[0] {
			fn(int64(x))
		}
		return
	}
	// h holds the blocks not yet used up, as indexes into bs, the least head first; pos
	// is each block's next value.
	pos := make([]int, len(bs))
	h := make([]int, 0, len(bs))
	less := func(i, j int) bool { return bs[h[i]][pos[h[i]]] < bs[h[j]][pos[h[j]]] }
	down := func(i int) {
		for {
			c := 2*i + 1
			if c >= len(h) {
				return
			}
			if c+1 < len(h) && less(c+1, c) {
				c++
			}
			if !less(c, i) {
				return
			}
			h[i], h[c] = h[c], h[i]
			i = c
		}
	}
	for i, b := range bs {
		if len(b) > 0 {
			h = append(h, i)
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(h) > 0 {
		i := h[0]
		fn(int64(bs[i][pos[i]]))
		pos[i]++
		if pos[i] == len(bs[i]) {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		down(0)
	}
}

// meanOf returns mean of the values of l, each as float64(v)/div, summed in the order
// they were added: to the bit what mean returns for that slice.
func meanOf(l *valueList, div float64) NullFloat {
	n := l.len()
	if n == 0 {
		return NullFloat{}
	}
	var s float64
	l.each(func(v int64) { s += float64(v) / div })
	return Some(s / float64(n))
}

// quantilesOf returns the mean of the values of l, each as float64(v)/div, summed in
// ascending order, and their qs-quantiles: to the bit what mean and Quantile return for
// that slice sorted. Division by div keeps the order of whole numbers (it rounds
// monotonically), so the order statistics of the values are those of the quotients. It
// sorts l (see sorted).
func quantilesOf(l *valueList, div float64, qs ...float64) (NullFloat, []NullFloat) {
	n := l.len()
	out := make([]NullFloat, len(qs))
	if n == 0 {
		return NullFloat{}, out
	}
	// The ranks each quantile reads: ⌊h⌋ and the one after, or the last.
	type want struct {
		h  float64
		lo int
	}
	ws := make([]want, len(qs))
	at := map[int]float64{}
	for i, q := range qs {
		if math.IsNaN(q) || q < 0 || q > 1 {
			ws[i].lo = -1
			continue
		}
		h := float64(n-1) * q
		lo := int(math.Floor(h))
		ws[i] = want{h: h, lo: lo}
		at[min(lo, n-1)] = 0
		if lo+1 < n {
			at[lo+1] = 0
		}
	}
	var s float64
	rank := 0
	l.sorted(func(v int64) {
		x := float64(v) / div
		s += x
		if _, ok := at[rank]; ok {
			at[rank] = x
		}
		rank++
	})
	for i, w := range ws {
		switch {
		case w.lo < 0:
		case w.lo+1 >= n:
			out[i] = Some(at[n-1])
		default:
			lo := at[w.lo]
			out[i] = Some(lo + (w.h-float64(w.lo))*(at[w.lo+1]-lo))
		}
	}
	return Some(s / float64(n)), out
}

// medianOf returns the median of the values of l, each as float64(v)/div: to the bit what
// Quantile(xs, 0.5) gives for them, as quantilesOf does, but without ordering them: when
// every value takes four bytes it finds the two middle ones by their bits (a radix select,
// a byte a pass over the blocks, and one more pass when they differ), in time linear in
// the values and without a copy. The funnel's median times use it: a sort of each step's
// year of times cost more than the selection it replaced.
func medianOf(l *valueList, div float64) NullFloat {
	n := l.len()
	if n == 0 {
		return NullFloat{}
	}
	if l.wide.n > 0 {
		_, q := quantilesOf(l, div, 0.5)
		return q[0]
	}
	h := float64(n-1) * 0.5
	lo := int(math.Floor(h))
	v, atMost := selectRank(l.narrow.bs, lo)
	x := float64(v) / div
	if lo+1 >= n {
		return Some(x)
	}
	next := v
	if lo+1 >= atMost {
		next = leastAbove(l.narrow.bs, v)
	}
	return Some(x + (h-float64(lo))*(float64(next)/div-x))
}

// selectRank returns the value of rank r (from 0) among the values of bs, and how many
// of them are at most that value: four passes, each fixing one byte, from the highest.
func selectRank(bs [][]uint32, r int) (v uint32, atMost int) {
	var prefix, mask uint32
	below := 0 // values less than every value with the bytes fixed so far
	for shift := 24; shift >= 0; shift -= 8 {
		var hist [256]int
		for _, b := range bs {
			for _, x := range b {
				if x&mask == prefix {
					hist[(x>>shift)&0xff]++
				}
			}
		}
		d := 0
		for ; below+hist[d] <= r; d++ {
			below += hist[d]
		}
		prefix |= uint32(d) << shift
		mask |= 0xff << shift
		atMost = below + hist[d]
	}
	return prefix, atMost
}

// leastAbove returns the least value of bs greater than v; there must be one.
func leastAbove(bs [][]uint32, v uint32) uint32 {
	least := uint32(math.MaxUint32)
	for _, b := range bs {
		for _, x := range b {
			if x > v && x < least {
				least = x
			}
		}
	}
	return least
}
