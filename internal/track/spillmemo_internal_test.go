package track

import (
	"fmt"
	"testing"
	"unsafe"
)

// TestSpillMemoBudget: the memo never holds more than its budget; a visitor it had to forget
// answers "maybe" (read storage) rather than a wrong "no", and a remembered id is found
// before and after the memo switches from exact ids to its Bloom filter.
func TestSpillMemoBudget(t *testing.T) {
	s := newSpillMemo(cacheShards * (64 << 10)) // the smallest budget: 64 KiB a shard
	const wall, until = 1000, 1000 + 3600
	for v := range 20000 {
		vid := fmt.Sprintf("%032x", v)
		s.begin(vid)
		for i := range 40 {
			s.add(vid, uint64(v*1000+i), until, wall)
		}
	}
	for i := range s.shards {
		if sh := &s.shards[i]; sh.bytes > sh.limit {
			t.Fatalf("shard %d holds %d bytes; limit %d", i, sh.bytes, sh.limit)
		}
	}
	forgotten, kept := 0, 0
	for v := range 20000 {
		vid := fmt.Sprintf("%032x", v)
		if !s.known(vid) {
			forgotten++
			if !s.mayHave(vid, 12345, wall) {
				t.Fatalf("forgotten visitor %s answered a certain no", vid)
			}
			continue
		}
		kept++
		for i := range 40 {
			if !s.mayHave(vid, uint64(v*1000+i), wall) {
				t.Fatalf("visitor %s lost id %d", vid, i)
			}
		}
		if s.mayHave(vid, uint64(v*1000+40), until) {
			t.Fatalf("visitor %s still holds ids at the end of their window", vid)
		}
	}
	if forgotten == 0 || kept == 0 {
		t.Fatalf("%d visitors kept, %d forgotten; want the budget to keep some and forget some", kept, forgotten)
	}
}

// The memo keeps its own copy of the visitor id, not the request's text it came in, and
// mayHaveAny answers as known and mayHave do one by one.
func TestSpillMemoKeyAndMayHaveAny(t *testing.T) {
	s := newSpillMemo(cacheShards * (64 << 10))
	text := `{"vid":"0123456789abcdef0123456789abcdef","site":"demo"}`
	vid := text[8:40]
	s.begin(vid)
	for k := range s.shard(vid).m {
		if unsafe.StringData(k) == unsafe.StringData(vid) {
			t.Error("the memo's map keeps the request's text through its key")
		}
	}
	for i := range 40 { // past the exact ids, into the Bloom filter
		s.add(vid, uint64(i)*0x9e3779b97f4a7c15, 2000, 1000)
	}
	hashes := []uint64{0, 0x9e3779b97f4a7c15, 12345, 0xdeadbeefcafe}
	may := make([]bool, len(hashes))
	if !s.mayHaveAny(vid, hashes, 1500, may) {
		t.Fatal("mayHaveAny: no memo; want one")
	}
	for i, h := range hashes {
		if may[i] != s.mayHave(vid, h, 1500) {
			t.Errorf("mayHaveAny says %v for hash %d; mayHave says %v", may[i], i, !may[i])
		}
	}
	if !may[0] || !may[1] {
		t.Errorf("mayHaveAny = %v; want the added ids found", may)
	}
	if s.mayHaveAny("ffffffffffffffffffffffffffffffff", hashes, 1500, may) {
		t.Error("mayHaveAny found a memo for a visitor without one")
	}
}
