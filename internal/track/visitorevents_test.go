package track_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/track"
)

func TestVisitorEventsOwnOnlyInTimeOrder(t *testing.T) {
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	now := base
	tr := newTracker(t, track.Config{Now: func() time.Time { return now }})
	c, other := &client{}, &client{}
	for i := 0; i < 4; i++ {
		now = base.Add(time.Duration(3-i) * time.Minute) // written newest first
		c.send(t, tr, pageview(fmt.Sprintf("https://shop.example/%d", i), ""))
		other.send(t, tr, pageview("https://shop.example/other", ""))
	}
	// An anonymous visitor merged into c's journey by identifying: its events follow.
	now = base.Add(10 * time.Minute)
	c.send(t, tr, identify("u-1"))
	anon := &client{}
	now = base.Add(11 * time.Minute)
	anon.send(t, tr, pageview("https://shop.example/anon", ""))
	now = base.Add(12 * time.Minute)
	anon.send(t, tr, identify("u-1"))

	tests := []struct {
		vid  string
		want string
	}{
		{c.cookie, "/3,/2,/1,/0,/account,/anon,/account"},
		{anon.cookie, "/3,/2,/1,/0,/account,/anon,/account"},
		{other.cookie, "/other,/other,/other,/other"},
	}
	for _, tt := range tests {
		var paths []string
		var last int64
		var h event.Hit
		var e event.Event
		err := tr.VisitorEvents(tt.vid, func(rec []byte) error {
			if err := event.DecodeRecord(rec, &h, &e); err != nil {
				return err
			}
			if h.Time < last {
				t.Errorf("VisitorEvents(%q): record at %d after %d; want time order", tt.vid, h.Time, last)
			}
			last = h.Time
			paths = append(paths, h.Page.Path)
			return nil
		})
		if got := strings.Join(paths, ","); err != nil || got != tt.want {
			t.Errorf("VisitorEvents(%q) = %q, %v; want %q", tt.vid, got, err, tt.want)
		}
	}
}

func TestVisitorEventsUnknown(t *testing.T) {
	tr := newTracker(t, track.Config{})
	for _, vid := range []string{strings.Repeat("a", track.VIDLen), "", "bad id\x00"} {
		err := tr.VisitorEvents(vid, func([]byte) error { return nil })
		if !errors.Is(err, track.ErrUnknownVisitor) {
			t.Errorf("VisitorEvents(%q) = %v; want ErrUnknownVisitor", vid, err)
		}
	}
}

func BenchmarkVisitorEvents(b *testing.B) {
	tr := newTracker(b, track.Config{})
	c := &client{}
	for i := 0; i < 50; i++ {
		c.send(b, tr, pageview(fmt.Sprintf("https://shop.example/%d", i), ""))
		(&client{}).send(b, tr, pageview("https://shop.example/other", ""))
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := tr.VisitorEvents(c.cookie, func([]byte) error { n++; return nil }); err != nil || n != 50 {
			b.Fatalf("VisitorEvents = %d, %v; want 50", n, err)
		}
	}
}

// TestEventIndexInPacks: long journeys are indexed in packs of journey.MaxLogged events
// with the rest waiting in the journey. A timeline and an erase find every event, also
// after an anonymous journey with packs of its own was merged in.
func TestEventIndexInPacks(t *testing.T) {
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	now := base
	tr := newTracker(t, track.Config{Now: func() time.Time { return now }})
	known, anon, other := &client{}, &client{}, &client{}
	send := func(c *client, path string, n int) {
		for i := range n {
			now = now.Add(time.Second)
			c.send(t, tr, pageview(fmt.Sprintf("https://shop.example/%s/%d", path, i), ""))
		}
	}
	known.send(t, tr, identify("u-packs"))
	send(known, "k", 2*journey.MaxLogged+5)
	send(anon, "a", journey.MaxLogged+3)
	send(other, "o", journey.MaxLogged+1)
	count := func(vid string) int {
		n := 0
		var last int64
		var h event.Hit
		var e event.Event
		err := tr.VisitorEvents(vid, func(rec []byte) error {
			if err := event.DecodeRecord(rec, &h, &e); err != nil {
				return err
			}
			if h.Time < last {
				t.Errorf("VisitorEvents(%q): record at %d after %d; want time order", vid, h.Time, last)
			}
			last = h.Time
			n++
			return nil
		})
		if err != nil {
			t.Fatalf("VisitorEvents(%q) = %v", vid, err)
		}
		return n
	}
	if got, want := count(known.cookie), 1+2*journey.MaxLogged+5; got != want {
		t.Fatalf("known visitor's timeline: %d events; want %d", got, want)
	}
	now = now.Add(time.Second)
	if merged := anon.send(t, tr, identify("u-packs")); merged.VID != known.cookie {
		t.Fatalf("after identify the anonymous visitor is %q; want %q", merged.VID, known.cookie)
	}
	want := 1 + 2*journey.MaxLogged + 5 + journey.MaxLogged + 3 + 1
	if got := count(known.cookie); got != want {
		t.Fatalf("merged timeline: %d events; want %d", got, want)
	}
	if _, err := tr.Erase(known.cookie); err != nil {
		t.Fatalf("Erase = %v", err)
	}
	left := 0
	var h event.Hit
	var e event.Event
	_ = tr.Events(0, 0, func(rec []byte) error {
		if err := event.DecodeRecord(rec, &h, &e); err != nil {
			return err
		}
		if h.VID != other.cookie {
			t.Errorf("event of %s at %s left after the erase", h.VID, h.Page.Path)
		}
		left++
		return nil
	})
	if left != journey.MaxLogged+1 || count(other.cookie) != left {
		t.Fatalf("after the erase the log holds %d events, the other visitor's timeline %d; want %d",
			left, count(other.cookie), journey.MaxLogged+1)
	}
}

// TestEventIndexOfEarlierReleases: an index written before packs existed lists each event
// key on its own ("o" vid 0 event-key); timelines and erases still find those events.
func TestEventIndexOfEarlierReleases(t *testing.T) {
	db := openStore(t)
	tr := newTrackerOn(t, db, track.Config{})
	c := &client{}
	c.send(t, tr, pageview("https://shop.example/new", ""))

	// One event as an earlier release logged and indexed it, an hour before.
	ts := time.Now().Add(-time.Hour).UnixMilli()
	ek := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte{'e'}, uint64(ts)), 42)
	ev := event.Event{ID: "old-1", Type: event.TypePageview, URL: "https://shop.example/old"}
	h := event.Hit{Event: &ev, Site: "shop", VID: c.cookie, Time: ts}
	h.Page.Path = "/old"
	ik := append(append(append([]byte{'o'}, c.cookie...), 0), ek...)
	if err := db.Write([]store.Op{{Key: ek, Value: event.AppendRecord(nil, &h)}, {Key: ik, Value: []byte{}}}); err != nil {
		t.Fatal(err)
	}

	var paths []string
	var gh event.Hit
	var ge event.Event
	err := tr.VisitorEvents(c.cookie, func(rec []byte) error {
		if err := event.DecodeRecord(rec, &gh, &ge); err != nil {
			return err
		}
		paths = append(paths, gh.Page.Path)
		return nil
	})
	if got := strings.Join(paths, ","); err != nil || got != "/old,/new" {
		t.Fatalf("VisitorEvents = %q, %v; want %q", got, err, "/old,/new")
	}
	if _, err := tr.Erase(c.cookie); err != nil {
		t.Fatal(err)
	}
	for _, k := range [][]byte{ek, ik} {
		if _, err := db.Get(k, nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(%q) after the erase = %v; want store.ErrNotFound", k, err)
		}
	}
}
