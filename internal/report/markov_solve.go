package report

import "math"

// denseLimit is the largest strongly connected component solved by Gaussian elimination;
// larger ones are solved by Gauss–Seidel iteration to machine precision, which on marketing
// paths (walks rarely loop) is much faster than elimination and as exact.
const denseLimit = 48

// Gauss–Seidel stops when the estimated remaining error, δ·r/(1−r) for a sweep's largest
// change δ and the ratio r of the last two such changes, is below relTol of the largest
// value; it gives up after maxSweeps sweeps.
const (
	relTol    = 1e-15
	maxSweeps = 1_000_000
)

// solver computes absorption probabilities of a chain with some states removed. It owns its
// scratch space; one solver serves one goroutine.
type solver struct {
	c       *chain
	removed []bool    // states sent to (null)
	h, g    []float64 // P(conversion) and expected conversion value from each state

	index, low []int32
	onStack    []bool
	stack      []int32
	frames     []frame
	local      []int32 // position of a state in the component being solved, or -1
	dense      []float64
	cur, next  []float64
}

// frame is one level of the iterative depth-first search.
type frame struct {
	v int32
	e int32 // next edge to follow
}

func newSolver(c *chain) *solver {
	n := c.nStates
	s := &solver{
		c:       c,
		removed: make([]bool, n),
		h:       make([]float64, n),
		g:       make([]float64, n),
		index:   make([]int32, n),
		low:     make([]int32, n),
		onStack: make([]bool, n),
		local:   make([]int32, n),
	}
	for i := range s.local {
		s.local[i] = -1
	}
	return s
}

// absorb returns the probability that a walk from (start) converts and the expected
// conversion value it brings, with the removed states sent to (null). With maxSteps > 0 only
// conversions from the first maxSteps states of a walk count, as in the package's simulation
// with max_step; otherwise the chain is solved exactly.
func (s *solver) absorb(maxSteps int) (p, v float64, err error) {
	if maxSteps > 0 {
		p, v = s.truncated(maxSteps)
		return p, v, nil
	}
	if err := s.solve(); err != nil {
		return 0, 0, err
	}
	for _, e := range s.c.start {
		if !s.removed[e.to] {
			p += e.p * s.h[e.to]
			v += e.p * s.g[e.to]
		}
	}
	return p, v, nil
}

// truncated propagates the walk's distribution state by state: after the j-th state
// (j ≤ maxSteps) it collects the conversions that leave from there.
func (s *solver) truncated(maxSteps int) (p, v float64) {
	c := s.c
	n := c.nStates
	s.cur = resize(s.cur, n)
	s.next = resize(s.next, n)
	for _, e := range c.start {
		if !s.removed[e.to] {
			s.cur[e.to] += e.p
		}
	}
	for range maxSteps {
		any := false
		for st, m := range s.cur {
			if m == 0 {
				continue
			}
			any = true
			p += m * c.conv[st]
			v += m * c.value[st]
			for _, e := range c.edges[c.rows[st]:c.rows[st+1]] {
				if !s.removed[e.to] {
					s.next[e.to] += m * e.p
				}
			}
		}
		if !any {
			break
		}
		s.cur, s.next = s.next, s.cur
		clear(s.next)
	}
	return p, v
}

// resize returns a zeroed slice of length n, reusing buf.
func resize(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	buf = buf[:n]
	clear(buf)
	return buf
}

// solve computes h and g for every state that is not removed. It finds the strongly
// connected components of the transition graph (Tarjan's algorithm, iteratively) and solves
// them successors first, so that each component's equations only involve values already
// known outside it.
func (s *solver) solve() error {
	c := s.c
	for i := range s.index {
		s.index[i] = -1
		s.onStack[i] = false
	}
	next := int32(0)
	for root := range int32(c.nStates) {
		if s.removed[root] || s.index[root] >= 0 {
			continue
		}
		s.visit(root, &next)
		for len(s.frames) > 0 {
			f := &s.frames[len(s.frames)-1]
			v := f.v
			if f.e < c.rows[v+1] {
				w := c.edges[f.e].to
				f.e++
				if s.removed[w] {
					continue
				}
				if s.index[w] < 0 {
					s.visit(w, &next)
				} else if s.onStack[w] {
					s.low[v] = min(s.low[v], s.index[w])
				}
				continue
			}
			s.frames = s.frames[:len(s.frames)-1]
			if len(s.frames) > 0 {
				u := s.frames[len(s.frames)-1].v
				s.low[u] = min(s.low[u], s.low[v])
			}
			if s.low[v] != s.index[v] {
				continue
			}
			i := len(s.stack) - 1
			for s.stack[i] != v {
				i--
			}
			comp := s.stack[i:]
			for _, x := range comp {
				s.onStack[x] = false
			}
			if err := s.component(comp); err != nil {
				return err
			}
			s.stack = s.stack[:i]
		}
	}
	return nil
}

// visit numbers state v and pushes it on the search and component stacks.
func (s *solver) visit(v int32, next *int32) {
	s.index[v], s.low[v] = *next, *next
	*next++
	s.stack = append(s.stack, v)
	s.onStack[v] = true
	s.frames = append(s.frames, frame{v: v, e: s.c.rows[v]})
}

// component solves the states of one strongly connected component.
func (s *solver) component(comp []int32) error {
	if len(comp) == 1 {
		s.single(comp[0])
		return nil
	}
	if len(comp) <= denseLimit {
		s.direct(comp)
		return nil
	}
	return s.iterate(comp)
}

// single solves a component of one state: h = (P(conv) + Σ P(t) h(t)) / (1 − P(self)).
func (s *solver) single(v int32) {
	c := s.c
	h, g, self := c.conv[v], c.value[v], 0.0
	for _, e := range c.edges[c.rows[v]:c.rows[v+1]] {
		switch {
		case s.removed[e.to]:
		case e.to == v:
			self += e.p
		default:
			h += e.p * s.h[e.to]
			g += e.p * s.g[e.to]
		}
	}
	if self >= 1 {
		s.h[v], s.g[v] = 0, 0
		return
	}
	s.h[v], s.g[v] = h/(1-self), g/(1-self)
}

// direct solves (I − Q) x = b for a component by Gaussian elimination with partial
// pivoting, with two right-hand sides: conversion probability and value.
func (s *solver) direct(comp []int32) {
	c := s.c
	n := len(comp)
	w := n + 2
	if cap(s.dense) < n*w {
		s.dense = make([]float64, n*w)
	}
	a := s.dense[:n*w]
	clear(a)
	for i, v := range comp {
		s.local[v] = int32(i)
	}
	for i, v := range comp {
		row := a[i*w : (i+1)*w]
		row[i] = 1
		row[n], row[n+1] = c.conv[v], c.value[v]
		for _, e := range c.edges[c.rows[v]:c.rows[v+1]] {
			if s.removed[e.to] {
				continue
			}
			if j := s.local[e.to]; j >= 0 {
				row[j] -= e.p
			} else {
				row[n] += e.p * s.h[e.to]
				row[n+1] += e.p * s.g[e.to]
			}
		}
	}
	for _, v := range comp {
		s.local[v] = -1
	}
	for k := range n {
		piv := k
		for i := k + 1; i < n; i++ {
			if math.Abs(a[i*w+k]) > math.Abs(a[piv*w+k]) {
				piv = i
			}
		}
		if piv != k {
			for j := k; j < w; j++ {
				a[k*w+j], a[piv*w+j] = a[piv*w+j], a[k*w+j]
			}
		}
		d := a[k*w+k]
		if d == 0 {
			continue // a closed class without exit: it never converts
		}
		rk := a[k*w : (k+1)*w]
		for i := k + 1; i < n; i++ {
			ri := a[i*w : (i+1)*w]
			f := ri[k] / d
			if f == 0 {
				continue
			}
			for j := k; j < w; j++ {
				ri[j] -= f * rk[j]
			}
		}
	}
	for i := n - 1; i >= 0; i-- {
		ri := a[i*w : (i+1)*w]
		x0, x1 := ri[n], ri[n+1]
		for j := i + 1; j < n; j++ {
			x0 -= ri[j] * s.h[comp[j]]
			x1 -= ri[j] * s.g[comp[j]]
		}
		if ri[i] == 0 {
			s.h[comp[i]], s.g[comp[i]] = 0, 0
			continue
		}
		s.h[comp[i]], s.g[comp[i]] = x0/ri[i], x1/ri[i]
	}
}

// iterate solves a large component by Gauss–Seidel sweeps until they stop changing it.
func (s *solver) iterate(comp []int32) error {
	c := s.c
	for _, v := range comp {
		s.h[v], s.g[v] = 0, 0
	}
	prevH, prevG := math.Inf(1), math.Inf(1)
	for range maxSweeps {
		var dh, dg, mh, mg float64
		for _, v := range comp {
			h, g, self := c.conv[v], c.value[v], 0.0
			for _, e := range c.edges[c.rows[v]:c.rows[v+1]] {
				switch {
				case s.removed[e.to]:
				case e.to == v:
					self += e.p
				default:
					h += e.p * s.h[e.to]
					g += e.p * s.g[e.to]
				}
			}
			if self < 1 {
				h, g = h/(1-self), g/(1-self)
			} else {
				h, g = 0, 0
			}
			dh = max(dh, math.Abs(h-s.h[v]))
			dg = max(dg, math.Abs(g-s.g[v]))
			mh, mg = max(mh, h), max(mg, math.Abs(g))
			s.h[v], s.g[v] = h, g
		}
		if settled(dh, prevH, relTol*mh) && settled(dg, prevG, relTol*mg) {
			return nil
		}
		prevH, prevG = dh, dg
	}
	return errNoConvergence
}

// settled reports whether an iteration whose last two largest changes were d and prev has
// converged to within tol: the geometric tail d·r/(1−r), r = d/prev, bounds what is left.
func settled(d, prev, tol float64) bool {
	if d == 0 {
		return true
	}
	if math.IsInf(prev, 1) {
		return false
	}
	r := d / prev
	if r >= 1 {
		return false
	}
	return d*r/(1-r) <= tol
}
