package server

import (
	"testing"
	"time"
	"unsafe"
)

// TestVisitorLimiterKeepsItsOwnKeys checks that a visitor's bucket is filed under a copy of
// its id: the id handed in is cut from a request, and a map key sharing its memory would keep
// the whole request alive until the bucket is swept.
func TestVisitorLimiterKeepsItsOwnKeys(t *testing.T) {
	l := newLimiters(10, 10, 10, 10)
	body := []byte(`{"vid":"v-0123456789abcdef","events":[]}`)
	vid := string(body)[8:26]
	if _, ok := l.allowVisitor(vid, time.Now()); !ok {
		t.Fatal("the first request of a visitor was refused")
	}
	sh := &l.visitor.shards[l.visitor.hash(vid)%limiterShards]
	n := 0
	for k := range sh.m {
		if k != vid {
			continue
		}
		n++
		if unsafe.StringData(k) == unsafe.StringData(vid) {
			t.Error("the limiter's key shares memory with the request's visitor id")
		}
	}
	if n != 1 {
		t.Fatalf("want one bucket for %q, found %d", vid, n)
	}
	// A second request finds the same bucket: the copy is made once, on insertion.
	for range 9 {
		l.allowVisitor(vid, time.Now())
	}
	if _, ok := l.allowVisitor(vid, time.Now()); ok {
		t.Error("the 11th request within the burst of 10 was allowed: the copy is not the bucket's key")
	}
}
