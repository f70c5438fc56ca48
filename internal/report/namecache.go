package report

// nameCache remembers a value for each of the few names a builder looks up once per step
// arrival (step ids, breakdown keys), in front of a map: a slot picked by the name's length
// and end bytes holds the last name seen there, and a lookup of an equal name takes its
// value without hashing. The records a report reads share one copy of each repeated string,
// so the comparison mostly meets the very same bytes and stops at once. A miss costs one
// comparison more than the map alone; a name is never confused with another, since the
// slot's name must equal it. The empty name is never cached.
type nameCache[V any] struct {
	slots [nameSlots]nameSlot[V]
}

// nameSlots is the number of slots of a nameCache: a power of two, above the steps and
// keys a funnel or a journey map counts.
const nameSlots = 64

type nameSlot[V any] struct {
	name string
	v    V
}

// slot returns the slot of a non-empty name.
func (c *nameCache[V]) slot(name string) *nameSlot[V] {
	h := len(name)*31 + int(name[0])*7 + int(name[len(name)-1])
	return &c.slots[h&(nameSlots-1)]
}

// get returns the value cached for name, if any.
func (c *nameCache[V]) get(name string) (V, bool) {
	if name != "" {
		if s := c.slot(name); s.name == name {
			return s.v, true
		}
	}
	var zero V
	return zero, false
}

// put caches v for name (nothing for the empty name).
func (c *nameCache[V]) put(name string, v V) {
	if name != "" {
		*c.slot(name) = nameSlot[V]{name, v}
	}
}
