package journey

// add counts n occurrences between first and last into c.
func (c *Count) add(n uint32, first, last int64) {
	if c.N == 0 {
		c.FirstAt, c.LastAt = first, last
	} else {
		c.FirstAt = min(c.FirstAt, first)
		c.LastAt = max(c.LastAt, last)
	}
	c.N = satAdd32(c.N, n)
}

func countIndex(cs []Count, key string) int {
	for i := range cs {
		if cs[i].Key == key {
			return i
		}
	}
	return -1
}

// bump counts one occurrence of key at time at in *list, which keeps at most max named keys
// plus the overflow bucket other. A new key is added while there is room; after that, and for
// an empty key, the occurrence is counted under other, so the sum of N stays exact while the
// long tail loses its names. bump reports whether the occurrence went to the bucket.
func bump(list *[]Count, key string, max int, other string, at int64, own func(string) string) bool {
	if key == "" {
		key = other
	}
	cs := *list
	bucket := -1
	for i := range cs {
		if cs[i].Key == key {
			cs[i].add(1, at, at)
			return key == other
		}
		if cs[i].Key == other {
			bucket = i
		}
	}
	named := len(cs)
	if bucket >= 0 {
		named--
	}
	switch {
	case key != other && named < max:
		*list = append(cs, Count{Key: own(key), N: 1, FirstAt: at, LastAt: at})
		return false
	case bucket < 0:
		*list = append(cs, Count{Key: other, N: 1, FirstAt: at, LastAt: at})
	default:
		cs[bucket].add(1, at, at)
	}
	return true
}

// leastRecent returns the index of the count last seen longest ago.
func leastRecent(cs []Count) int {
	j := 0
	for i := range cs {
		if cs[i].LastAt < cs[j].LastAt {
			j = i
		}
	}
	return j
}

// insertByTime inserts v into list, which is ordered by at, after the entries at the same
// time, and keeps only the newest max entries: an entry older than all of a full list is
// dropped at once.
func insertByTime[T any](list []T, v T, max int, at func(*T) int64) []T {
	t := at(&v)
	if len(list) >= max {
		if max <= 0 || t < at(&list[len(list)-max]) {
			return list
		}
		drop := len(list) - max + 1
		list = list[:copy(list, list[drop:])]
	}
	i := len(list)
	for i > 0 && at(&list[i-1]) > t {
		i--
	}
	list = append(list, v)
	copy(list[i+1:], list[i:len(list)-1])
	list[i] = v
	return list
}

// mergeByTime returns a new slice holding the newest max entries of a and b, each ordered by
// at, in time order; at equal times a's entries come first.
func mergeByTime[T any](a, b []T, max int, at func(*T) int64) []T {
	n := min(len(a)+len(b), max)
	if n <= 0 {
		return nil
	}
	out := make([]T, n)
	i, j := len(a)-1, len(b)-1
	for k := n - 1; k >= 0; k-- {
		if j < 0 || (i >= 0 && at(&a[i]) > at(&b[j])) {
			out[k] = a[i]
			i--
		} else {
			out[k] = b[j]
			j--
		}
	}
	return out
}

func markAt(m *StepMark) int64         { return m.At }
func conversionAt(c *Conversion) int64 { return c.At }
func touchpointAt(t *Touchpoint) int64 { return t.StartedAt }

// ReachStep records that the visitor reached step id at time at: its Count in Steps and a
// mark in StepHistory. Steps keeps MaxSteps ids; past that, the step reached longest ago
// makes room (a rule set has fewer steps, so this only forgets steps of retired rules).
// StepHistory stays in time order and keeps the newest MaxStepHistory marks. An empty id is
// ignored.
func (s *State) ReachStep(id string, at int64) {
	if id == "" {
		return
	}
	switch i := countIndex(s.Steps, id); {
	case i >= 0:
		s.Steps[i].add(1, at, at)
	case len(s.Steps) < MaxSteps:
		s.Steps = append(s.Steps, Count{Key: id, N: 1, FirstAt: at, LastAt: at})
	default:
		s.Steps[leastRecent(s.Steps)] = Count{Key: id, N: 1, FirstAt: at, LastAt: at}
	}
	s.StepHistory = insertByTime(s.StepHistory, StepMark{Step: id, At: at}, MaxStepHistory, markAt)
}

// AddConversion records a conversion at step (DefaultConversionEvent for the default one) at
// time at, worth value. Conversions and Value keep the true totals; ConversionList stays in
// time order and keeps the newest MaxConversions. A NaN or infinite value counts as 0.
func (s *State) AddConversion(step string, at int64, value float64) {
	value = finite(value)
	s.Conversions = inc(s.Conversions)
	s.Value += value
	c := Conversion{Step: step, At: at, Value: value}
	s.ConversionList = insertByTime(s.ConversionList, c, MaxConversions, conversionAt)
}

// SetAssignment assigns the visitor to variant of experiment exp at time at and returns the
// assignment, which stays valid until Experiments next changes. Assigning the variant the
// visitor already has changes nothing; another variant replaces the assignment and clears
// Exposed. When MaxExperiments are kept, the oldest assignment makes room (long-finished
// experiments go first).
func (s *State) SetAssignment(exp, variant string, at int64) *Assignment {
	if a := s.Assignment(exp); a != nil {
		if a.Variant != variant {
			*a = Assignment{Experiment: exp, Variant: variant, At: at}
		}
		return a
	}
	a := Assignment{Experiment: exp, Variant: variant, At: at}
	if len(s.Experiments) >= MaxExperiments {
		j := 0
		for i := range s.Experiments {
			if s.Experiments[i].At < s.Experiments[j].At {
				j = i
			}
		}
		s.Experiments[j] = a
		return &s.Experiments[j]
	}
	s.Experiments = append(s.Experiments, a)
	return &s.Experiments[len(s.Experiments)-1]
}
