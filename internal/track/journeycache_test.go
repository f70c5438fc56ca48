package track_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/rules/rulestest"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// exampleRules loads the repository's example rules (site "demo" on shop.example): segments,
// stages, steps, experiments and prompts all write into the journey.
func exampleRules(t testing.TB) *rules.Set {
	t.Helper()
	set, err := rules.LoadDir(filepath.Join(rulestest.Root(t), "rules"))
	if err != nil {
		t.Fatalf("rules.LoadDir(example rules): %v", err)
	}
	return set
}

// mixedBatch returns the i-th batch of a visitor's browsing: pageviews from campaigns with
// click ids, commerce events with props, an identify with traits, prompts and engagement.
func mixedBatch(vid string, i int) *event.Batch {
	id := func(k int) string { return fmt.Sprintf("%s-%d-%d", vid[24:], i, k) }
	campaigns := []string{"", "?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring",
		"?gclid=Cj0KCQjw&utm_campaign=brand", "?utm_source=newsletter&utm_medium=email&utm_campaign=may"}
	paths := []string{"/", "/products/trail-jacket", "/cart", "/checkout", "/pricing", fmt.Sprintf("/blog/post-%d", i%7)}
	url := "https://shop.example" + paths[i%len(paths)] + campaigns[(i/3)%len(campaigns)]
	var evs []event.Event
	switch i % 6 {
	case 0, 1:
		evs = append(evs, event.Event{ID: id(0), Type: event.TypePageview, URL: url, Ref: "https://www.google.com/"})
	case 2:
		evs = append(evs, event.Event{ID: id(0), Type: event.TypeEvent, Name: []string{"add_to_cart", "purchase", "begin_checkout"}[i%3], URL: url,
			Props: event.Props{{Key: "value", Val: event.NumberValue(129.5)}, {Key: "currency", Val: event.StringValue("EUR")}}})
	case 3:
		evs = append(evs, event.Event{ID: id(0), Type: event.TypeIdentify, UserID: "user-" + vid[24:], URL: url,
			Traits: event.Props{{Key: "plan", Val: event.StringValue(fmt.Sprintf("plan-%d", i%4))}, {Key: "seats", Val: event.NumberValue(float64(i))}}})
	case 4:
		evs = append(evs, event.Event{ID: id(0), Type: event.TypeEngagement, URL: url, EngagedMS: 1200},
			event.Event{ID: id(1), Type: event.TypePrompt, Prompt: "nps", Action: event.ActionShown, URL: url})
	default:
		evs = append(evs, event.Event{ID: id(0), Type: event.TypePageview, URL: url},
			event.Event{ID: id(1), Type: event.TypeEvent, Name: "view_item", URL: url})
	}
	return &event.Batch{Site: "demo", VID: vid, Events: evs, Slots: []string{"hero", "home_returning", "cart_message", "pricing_offer"}}
}

func trackBatch(tr *track.Tracker, b *event.Batch) (*track.Result, error) {
	res := new(track.Result)
	err := tr.Track(&track.Request{Batch: b, UserAgent: chromeUA, IP: netip.MustParseAddr("203.0.113.9"), Decisions: true}, res)
	return res, err
}

// comparable returns the encoding of st without what differs between two trackers given the
// same hits: the sequence numbers of the event-log keys (each process numbers its own).
func comparable(st *journey.State) []byte {
	c := *st
	c.Logged = nil
	return c.AppendBinary(nil)
}

// TestCachedJourneysMatchStorage sends many mixed batches, with the example rules, to a
// tracker keeping journeys decoded in its cache and to one without a cache, with the same
// clock: after every batch, the journey the first one serves from its cache is the journey
// its store holds, and the same as the one the second one decodes from its store; and both
// answered the same.
func TestCachedJourneysMatchStorage(t *testing.T) {
	set := exampleRules(t)
	clk := newClock()
	hosts := map[string][]string{"demo": {"shop.example"}}
	cached := newTracker(t, track.Config{Now: clk.now, SiteHosts: hosts})
	plain := newTracker(t, track.Config{Now: clk.now, SiteHosts: hosts, StateCache: -1})
	cached.SetRules(set)
	plain.SetRules(set)
	vids := []string{fmt.Sprintf("%032x", 11), fmt.Sprintf("%032x", 22), fmt.Sprintf("%032x", 33)}
	for i := range 150 {
		if i%10 == 9 {
			clk.advance(31 * time.Minute) // a new session
		} else {
			clk.advance(7 * time.Second)
		}
		for _, vid := range vids {
			b := mixedBatch(vid, i)
			r1, err1 := trackBatch(cached, b)
			r2, err2 := trackBatch(plain, mixedBatch(vid, i))
			if err1 != nil || err2 != nil {
				t.Fatalf("batch %d of %s: Track = %v and %v", i, vid, err1, err2)
			}
			if fmt.Sprint(r1.Accepted, r1.Duplicate, r1.Rejected) != fmt.Sprint(r2.Accepted, r2.Duplicate, r2.Rejected) {
				t.Fatalf("batch %d of %s: answered %v/%v/%v with the cache, %v/%v/%v without", i, vid,
					r1.Accepted, r1.Duplicate, r1.Rejected, r2.Accepted, r2.Duplicate, r2.Rejected)
			}
			if a, b := string(r1.Decisions.AppendJSON(nil)), string(r2.Decisions.AppendJSON(nil)); a != b {
				t.Fatalf("batch %d of %s: decided %s with the cache, %s without", i, vid, a, b)
			}
		}
		// A retry of an earlier batch is a duplicate either way.
		if i%25 == 24 {
			r1, _ := trackBatch(cached, mixedBatch(vids[0], i-5))
			r2, _ := trackBatch(plain, mixedBatch(vids[0], i-5))
			if len(r1.Accepted) != 0 || len(r2.Accepted) != 0 || len(r1.Duplicate) != len(r2.Duplicate) {
				t.Fatalf("retry at %d: accepted %v and %v; want duplicates only", i, r1.Accepted, r2.Accepted)
			}
		}
	}
	stored := map[string][]byte{}
	if err := cached.Visitors(func(st *journey.State) error {
		stored[st.VID] = st.AppendBinary(nil)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, vid := range vids {
		var fromCache, fromPlain journey.State
		if ok, err := cached.State(vid, &fromCache); !ok || err != nil {
			t.Fatalf("State(%s) = %v, %v", vid, ok, err)
		}
		if !bytes.Equal(fromCache.AppendBinary(nil), stored[vid]) {
			t.Errorf("%s: the cached journey differs from the stored one", vid)
		}
		if ok, err := plain.State(vid, &fromPlain); !ok || err != nil {
			t.Fatalf("State(%s) without a cache = %v, %v", vid, ok, err)
		}
		if !bytes.Equal(comparable(&fromCache), comparable(&fromPlain)) {
			t.Errorf("%s: the journey differs between the trackers with and without a cache:\n%+v\n%+v", vid, &fromCache, &fromPlain)
		}
		if fromCache.Sessions < 10 || len(fromCache.Touchpoints) < 10 || fromCache.UserID == "" || len(fromCache.Traits) == 0 {
			t.Errorf("%s: the journey holds too little to test anything: %+v", vid, &fromCache)
		}
	}
}

// failingStore refuses writes while fail is set.
type failingStore struct {
	track.Store
	fail bool
}

func (s *failingStore) Write(ops []track.Op) error {
	if s.fail {
		return track.ErrOverloaded
	}
	return s.Store.Write(ops)
}

// TestFailedCommitLeavesTheCachedJourney makes a hit of a cached visitor fail at its commit,
// after it changed the journey in every way (a new session with click ids, a new page, an
// identify with traits): the next hit builds on the journey as committed before, exactly as
// a tracker without a cache does.
func TestFailedCommitLeavesTheCachedJourney(t *testing.T) {
	clk := newClock()
	hosts := map[string][]string{"demo": {"shop.example"}}
	st := &failingStore{Store: trackstore.New(openStore(t))}
	cached := track.New(st, nil, nil, track.Config{Now: clk.now, SiteHosts: hosts})
	plain := newTracker(t, track.Config{Now: clk.now, SiteHosts: hosts, StateCache: -1})
	vid := fmt.Sprintf("%032x", 44)
	page := func(id, url string) *event.Batch {
		return &event.Batch{Site: "demo", VID: vid, Events: []event.Event{{ID: id, Type: event.TypePageview, URL: url}}}
	}
	for _, tr := range []*track.Tracker{cached, plain} {
		if _, err := trackBatch(tr, page("a", "https://shop.example/?utm_source=facebook&utm_medium=paid_social")); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(time.Hour)
	st.fail = true
	b := page("b", "https://shop.example/landing?gclid=Cj0KCQ&utm_campaign=brand")
	b.Events = append(b.Events, event.Event{ID: "c", Type: event.TypeIdentify, UserID: "u-1", URL: "https://shop.example/",
		Traits: event.Props{{Key: "plan", Val: event.StringValue("pro")}}})
	if _, err := trackBatch(cached, b); !errors.Is(err, track.ErrOverloaded) {
		t.Fatalf("Track with the store refusing = %v; want ErrOverloaded", err)
	}
	st.fail = false
	clk.advance(time.Minute)
	for _, tr := range []*track.Tracker{cached, plain} {
		if _, err := trackBatch(tr, page("d", "https://shop.example/cart")); err != nil {
			t.Fatal(err)
		}
	}
	var got, want journey.State
	if _, err := cached.State(vid, &got); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.State(vid, &want); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(comparable(&got), comparable(&want)) {
		t.Fatalf("after a failed commit the cached journey is\n%+v\nwant\n%+v", &got, &want)
	}
	if got.UserID != "" || got.Pageviews != 2 || len(got.Touchpoints) != 2 {
		t.Fatalf("the failed hit left its mark: %+v", &got)
	}
}

// queueingStore is a cluster store in miniature: while queue is set, a commit is queued and
// not written locally (a server that does not own the visitor, with the stream out of
// reach); while fail is set, a commit fails.
type queueingStore struct {
	track.Store
	queue, fail bool
}

func (s *queueingStore) WriteCommit(ops []track.Op, _ track.Commit) (bool, error) {
	switch {
	case s.fail:
		return false, track.ErrQueueFull
	case s.queue:
		return true, nil
	}
	return false, s.Store.Write(ops)
}

// TestQueuedJourneySurvivesAFailedHit: after a queued commit the cache holds the only copy of
// the visitor's journey on this server; a hit that fails must not lose it, so the next hit
// builds on every hit answered before.
func TestQueuedJourneySurvivesAFailedHit(t *testing.T) {
	clk := newClock()
	st := &queueingStore{Store: trackstore.New(openStore(t))}
	tr := track.New(st, nil, nil, track.Config{Now: clk.now, SiteHosts: map[string][]string{"demo": {"shop.example"}}})
	vid := fmt.Sprintf("%032x", 55)
	hit := func(id, path string) error {
		_, err := trackBatch(tr, &event.Batch{Site: "demo", VID: vid, Events: []event.Event{{ID: id, Type: event.TypePageview, URL: "https://shop.example" + path}}})
		return err
	}
	if err := hit("a", "/1"); err != nil {
		t.Fatal(err)
	}
	st.queue = true
	if err := hit("b", "/2"); err != nil {
		t.Fatal(err)
	}
	st.fail = true
	if err := hit("c", "/3"); !errors.Is(err, track.ErrQueueFull) {
		t.Fatalf("Track with the outbox full = %v; want ErrQueueFull", err)
	}
	st.fail = false
	if err := hit("d", "/4"); err != nil {
		t.Fatal(err)
	}
	var got journey.State
	if ok, err := tr.State(vid, &got); !ok || err != nil {
		t.Fatalf("State = %v, %v", ok, err)
	}
	if got.Pageviews != 3 || got.Path("/2").N != 1 || got.Path("/3").N != 0 || got.Path("/4").N != 1 {
		t.Fatalf("journey after a queued hit, a failed one and another queued one: %d pageviews, paths %+v; want /1, /2 and /4",
			got.Pageviews, got.Paths)
	}
}
