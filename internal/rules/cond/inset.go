package cond

import "fmt"

// inSet is the compiled operand of $in, $nin, $ini, $nini and the saved groups: membership
// by JavaScript's strict equality, so "1" is not in [1]. Small sets are scanned, which beats
// hashing for the handful of values a marketer lists; larger ones are hashed.
type inSet struct {
	fold   bool // $ini, $nini: strings compare lowered
	strs   []string
	strMap map[string]struct{}
	nums   []float64
	numMap map[float64]struct{}
	null   bool
	t, f   bool
}

// smallSet is the size up to which a set is scanned rather than hashed.
const smallSet = 8

func newInSet(items []any, fold bool) (*inSet, error) {
	s := &inSet{fold: fold}
	for i, item := range items {
		v, err := fromAny(item)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %w: %w", i, ErrOperand, err)
		}
		switch v.Kind {
		case KindString:
			if fold {
				v.Str = toLowerJS(v.Str)
			}
			s.strs = append(s.strs, v.Str)
		case KindNumber:
			s.nums = append(s.nums, v.Num)
		case KindBool:
			if v.Bool {
				s.t = true
			} else {
				s.f = true
			}
		case KindNull:
			s.null = true
		}
		// Arrays and objects are left out: they never equal a decoded value.
	}
	if len(s.strs) > smallSet {
		s.strMap = make(map[string]struct{}, len(s.strs))
		for _, x := range s.strs {
			s.strMap[x] = struct{}{}
		}
		s.strs = nil
	}
	if len(s.nums) > smallSet {
		s.numMap = make(map[float64]struct{}, len(s.nums))
		for _, x := range s.nums {
			s.numMap[x] = struct{}{}
		}
		s.nums = nil
	}
	return s, nil
}

// match is GrowthBook's isIn: an array value matches when any element is in the set.
func (s *inSet) match(v Value) bool {
	if v.Kind == KindArray {
		for _, e := range v.Arr {
			if s.has(e) {
				return true
			}
		}
		return false
	}
	return s.has(v)
}

func (s *inSet) has(v Value) bool {
	switch v.Kind {
	case KindString:
		if s.fold {
			return s.hasLower(v.Str)
		}
		return s.hasString(v.Str)
	case KindNumber:
		if s.numMap != nil {
			_, ok := s.numMap[v.Num]
			return ok
		}
		for _, n := range s.nums {
			if n == v.Num {
				return true
			}
		}
		return false
	case KindBool:
		if v.Bool {
			return s.t
		}
		return s.f
	case KindMissing, KindNull:
		return s.null
	}
	return false
}

func (s *inSet) hasString(x string) bool {
	if s.strMap != nil {
		_, ok := s.strMap[x]
		return ok
	}
	for _, y := range s.strs {
		if x == y {
			return true
		}
	}
	return false
}

// hasLower looks x up lowered, lowering ASCII in a stack buffer so that nothing allocates.
func (s *inSet) hasLower(x string) bool {
	var buf [64]byte
	if len(x) > len(buf) || !isASCII(x) {
		return s.hasString(toLowerJS(x))
	}
	b := buf[:len(x)]
	for i := 0; i < len(x); i++ {
		b[i] = asciiLower(x[i])
	}
	if s.strMap != nil {
		_, ok := s.strMap[string(b)]
		return ok
	}
	for _, y := range s.strs {
		if string(b) == y {
			return true
		}
	}
	return false
}
