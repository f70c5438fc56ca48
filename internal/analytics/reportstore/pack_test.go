package reportstore

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// dump returns what Each hands over of every record from day 0, in order, encoded.
func dump(t *testing.T, s *Store, site string, r Range) []string {
	t.Helper()
	var out []string
	if err := s.Each(site, []Range{r}, NewInterner(), func(vs []*Visitor) error {
		for _, v := range vs {
			out = append(out, v.J.VID+":"+string(appendVisitor(nil, v)))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// countKeys returns how many single records and packs the store keeps.
func countKeys(t *testing.T, m *Memory) (singles, packs int) {
	t.Helper()
	for k := range m.m {
		switch {
		case k[0] == pRecord && len(k) == 5+vidBytes:
			singles++
		case isPackKey([]byte(k)):
			packs++
		}
	}
	return singles, packs
}

// TestPacksReadAsSingleRecords changes random visitors (new, returning on a later day,
// backdated, erased) in three stores: one keeps its records one to a key, one packs its
// closed days between changes, and one packs them too but then keeps its packs where the
// releases before kept them (under L), and packs one day of them again (under D) before it
// is read. All three hand over the same records, Get the same, and count the same reach;
// in the same order once every closed day is packed. (A day first filed to after the days
// around it were packed is handed over after the packs until it is packed in turn.)
func TestPacksReadAsSingleRecords(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	plainKV, packedKV, legacyKV := NewMemory(), NewMemory(), NewMemory()
	plain, packed, legacy := New(plainKV, 0), New(packedKV, 0), New(legacyKV, 0)
	stores := map[string]*Store{"packed": packed, "legacy": legacy}
	live := map[int]*Visitor{}
	sites := [][]string{{"shop"}, {"blog"}, {"shop", "blog"}}
	sawLegacy, sawMixed := false, false
	var today int64
	for round := range 30 {
		today = int64(10 + round)
		var ids []int
		for range 1 + r.IntN(160) {
			ids = append(ids, r.IntN(1500))
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		vids := make([]string, len(ids))
		news := make([]*Visitor, len(ids))
		for i, n := range ids {
			vids[i] = vid(n)
			switch x := r.IntN(10); {
			case x == 0: // erased
			case x <= 2 && live[n] != nil: // backdated: an earlier day, also a packed one
				news[i] = visitor(n, sites[r.IntN(3)], today-1-int64(r.IntN(9)))
			default:
				news[i] = visitor(n, sites[r.IntN(3)], today-int64(r.IntN(3)), today)
			}
		}
		for _, s := range []*Store{plain, packed, legacy} {
			olds, err := s.Get(vids, NewInterner())
			if err != nil {
				t.Fatal(err)
			}
			for i, n := range ids {
				if (olds[i] == nil) != (live[n] == nil) {
					t.Fatalf("round %d: Get(%d) = %v; want a record: %v", round, n, olds[i], live[n] != nil)
				}
				if olds[i] != nil && string(appendVisitor(nil, olds[i])) != string(appendVisitor(nil, live[n])) {
					t.Fatalf("round %d: Get(%d) reads another record than was put", round, n)
				}
			}
			if _, err := s.Put(olds, news); err != nil {
				t.Fatal(err)
			}
		}
		for i, n := range ids {
			live[n] = news[i]
		}
		if round%3 == 0 {
			packAll(t, packed, today-1)
			packAll(t, legacy, today-1)
			toLegacy(t, legacyKV)
			if _, _, err := legacy.Pack(0, today-1); err != nil { // one day under D again
				t.Fatal(err)
			}
		}
		under := map[byte]int{}
		for k := range legacyKV.m {
			if len(k) == packLen {
				under[k[0]]++
			}
		}
		sawLegacy = sawLegacy || under[pRecord] > 0
		sawMixed = sawMixed || under[pRecord] > 0 && under[pPack] > 0
		for _, site := range []string{"", "shop"} {
			for _, rg := range []Range{{From: 0, To: 100, Flags: FlagActive}, {From: today - 5, To: today - 2, Flags: FlagConversion}} {
				if round%3 != 1 && (site != "" || rg.From == 0) {
					continue // every check every third round, the cheapest in the others
				}
				want := slices.Sorted(slices.Values(dump(t, plain, site, rg)))
				for name, s := range stores {
					if got := slices.Sorted(slices.Values(dump(t, s, site, rg))); !slices.Equal(got, want) {
						t.Fatalf("round %d, site %q, %+v: the %s store hands over %d records, the plain one %d; or they differ", round, site, rg, name, len(got), len(want))
					}
				}
			}
		}
	}
	if !sawLegacy || !sawMixed {
		t.Fatalf("the legacy store never held packs under L (%v), or never under both prefixes (%v)", sawLegacy, sawMixed)
	}
	singles, packs := countKeys(t, packedKV)
	if packs == 0 || singles == 0 {
		t.Errorf("the packed store keeps %d single records and %d packs; want both (closed days packed, the last two days not)", singles, packs)
	}
	// Every closed day packed: the same order, and no pack left under L.
	packAll(t, packed, today-1)
	packAll(t, legacy, today-1)
	for k, v := range legacyKV.m {
		if k[0] == pRecord && len(k) == packLen || k[0] == pWhere && len(v) == whereLegacyLen {
			t.Fatalf("after packing every closed day, key %x (value of %d bytes) is still where a release before kept it", k, len(v))
		}
	}
	all := Range{From: 0, To: 100, Flags: FlagActive}
	want := dump(t, plain, "", all)
	for name, s := range stores {
		if got := dump(t, s, "", all); !reflect.DeepEqual(got, want) {
			t.Errorf("every closed day packed: the %s store hands over %d records, the plain one %d; or in another order", name, len(got), len(want))
		}
	}
	for _, s := range []*Store{plain, packed, legacy} {
		if err := s.Recount(nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, site := range []string{"", "shop", "blog"} {
		n1, s1, _ := plain.Reach(site)
		for name, s := range stores {
			n2, s2, _ := s.Reach(site)
			if n1 != n2 || !reflect.DeepEqual(s1, s2) {
				t.Errorf("%q reach after a recount: %s %d %v, plain %d %v", site, name, n2, s2, n1, s1)
			}
		}
	}
}

// TestPackCorrupt: a pack that does not decode is an error of the scan, not a crash.
func TestPackCorrupt(t *testing.T) {
	kv := NewMemory()
	s := New(kv, 0)
	if _, err := s.Put([]*Visitor{nil, nil}, []*Visitor{visitor(1, nil, 3), visitor(2, nil, 3)}); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Pack(0, 10); !ok || err != nil {
		t.Fatalf("Pack = %v, %v; want day 3 packed", ok, err)
	}
	k := string(packKey(3, 0))
	kv.m[k] = kv.m[k][:len(kv.m[k])-5]
	err := s.Each("", []Range{{From: 0, To: 10, Flags: FlagActive}}, NewInterner(), func([]*Visitor) error { return nil })
	if err == nil {
		t.Error("Each over a cut pack: no error")
	}
}

// TestPackCodec: a pack gives back its records as Put writes them, and a cut or damaged
// pack is an error (or fewer records), never a crash.
func TestPackCodec(t *testing.T) {
	var entries []packEntry
	for n := range 5 {
		v := visitor(n, [][]string{{"shop"}, {"blog", "shop"}, nil}[n%3], int64(3+n), int64(9+n))
		v.Prompts = []Prompt{{Site: "shop", ID: vid(n), Prompt: "nps", Action: "answered", Answer: "9", At: 77, Segments: []string{}}}
		var e packEntry
		k, _ := vidKey(nil, v.J.VID)
		copy(e.id[:], k)
		e.rec = appendVisitor(nil, v)
		entries = append(entries, e)
	}
	b, err := appendPack(nil, entries)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodePack(b)
	if err != nil || !reflect.DeepEqual(got, entries) {
		t.Fatalf("decodePack(appendPack(entries)) = %d entries, %v; want the %d entries as they were", len(got), err, len(entries))
	}
	for i := range len(b) {
		if got, err := decodePack(b[:i]); err == nil && len(got) == len(entries) {
			t.Fatalf("a pack cut at %d of %d bytes decodes whole", i, len(b))
		}
		bad := slices.Clone(b)
		bad[i] ^= 0xff
		_, _ = decodePack(bad) // must not panic
		_ = eachPacked(bad, NewInterner(), func(_, rec []byte, tab []string) error {
			headMatches(rec, tab, "shop", []Range{{From: 0, To: 100, Flags: FlagActive}})
			return nil
		})
	}
}

// TestStalePackPlanIsRefused: a pack prepared before a Put changed its day is not written
// (it would bring back the records as they were), and one prepared after is.
func TestStalePackPlanIsRefused(t *testing.T) {
	kv := NewMemory()
	s := New(kv, 0)
	a, b := visitor(1, []string{"shop"}, 3), visitor(2, []string{"shop"}, 3)
	if _, err := s.Put([]*Visitor{nil, nil}, []*Visitor{a, b}); err != nil {
		t.Fatal(err)
	}
	plan, err := s.PreparePack(0, 10)
	if err != nil || plan == nil || plan.Day != 3 {
		t.Fatalf("PreparePack = %+v, %v; want day 3", plan, err)
	}
	olds, err := s.Get([]string{vid(2)}, NewInterner())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(olds, []*Visitor{nil}); err != nil { // visitor 2 erased
		t.Fatal(err)
	}
	if ok, err := s.CommitPack(plan); ok || err != nil {
		t.Fatalf("CommitPack of a stale plan = %v, %v; want it refused", ok, err)
	}
	if got := each(t, s, "", Range{From: 0, To: 10, Flags: FlagActive}); !reflect.DeepEqual(got, []string{vid(1)}) {
		t.Errorf("after the refused plan the store holds %v; want visitor 1 only", got)
	}
	if plan, err = s.PreparePack(0, 10); err != nil || plan == nil {
		t.Fatalf("PreparePack again = %v, %v", plan, err)
	}
	if ok, err := s.CommitPack(plan); !ok || err != nil {
		t.Fatalf("CommitPack of a fresh plan = %v, %v; want it written", ok, err)
	}
	if singles, packs := countKeys(t, kv); singles != 0 || packs != 1 {
		t.Errorf("after packing: %d single records, %d packs; want one pack", singles, packs)
	}
	if got := each(t, s, "", Range{From: 0, To: 10, Flags: FlagActive}); !reflect.DeepEqual(got, []string{vid(1)}) {
		t.Errorf("the packed store holds %v; want visitor 1 only", got)
	}
}

// TestPackTablesDecodedForMatchingRecordsOnly: a scan for the records of one day reads the
// heads of the packs filed after it too, and decodes (interns) the table of strings of a
// pack only when one of its records is handed over; the records handed over are those a
// scan decoding every table hands over.
func TestPackTablesDecodedForMatchingRecordsOnly(t *testing.T) {
	s := New(NewMemory(), 0)
	var news []*Visitor
	for n := range 300 {
		d := int64(5 + n%10) // one day each, days 5–14
		v := visitor(n, []string{"shop"}, d)
		v.J.Touches[0].Channel = fmt.Sprint("channel of day ", d)
		news = append(news, v)
	}
	if _, err := s.Put(make([]*Visitor, len(news)), news); err != nil {
		t.Fatal(err)
	}
	for from := int64(0); ; {
		d, ok, err := s.Pack(from, 20)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		from = d + 1
	}
	if _, packs := countKeys(t, s.kv.(*Memory)); packs == 0 {
		t.Fatal("no day was packed")
	}
	in := NewInterner()
	var got []string
	err := s.Each("shop", []Range{{From: 7, To: 7, Flags: FlagActive}}, in, func(vs []*Visitor) error {
		for _, v := range vs {
			got = append(got, v.J.VID+" "+v.J.Touches[0].Channel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 30 {
		t.Fatalf("handed over %d records; want the 30 of day 7", len(got))
	}
	for _, g := range got {
		if !strings.HasSuffix(g, "channel of day 7") {
			t.Errorf("handed over %s; want only day 7's", g)
		}
	}
	for _, str := range in.slots {
		if strings.HasPrefix(str, "channel of day ") && str != "channel of day 7" {
			t.Errorf("the scan of day 7 interned %q: a table of a pack with no record of day 7 was decoded", str)
		}
	}
}
