package track_test

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// recordingStore keeps every commit written through it, as a cluster store publishes them,
// and says whether it was queued.
type recordingStore struct {
	track.Store
	mu      sync.Mutex
	commits [][]track.Op
	ids     []string
	queue   bool
}

func (r *recordingStore) WriteCommit(ops []track.Op, c track.Commit) (bool, error) {
	r.mu.Lock()
	cp := make([]track.Op, len(ops))
	for i, op := range ops {
		cp[i] = track.Op{Key: append([]byte(nil), op.Key...), Value: append([]byte(nil), op.Value...), TTL: op.TTL, Delete: op.Delete}
	}
	r.commits = append(r.commits, cp)
	r.ids = append(r.ids, c.ID())
	r.mu.Unlock()
	return r.queue, r.Store.Write(ops)
}

func hitOf(vid, newVID string, ev event.Event) *track.Request {
	return &track.Request{Batch: &event.Batch{Site: "shop", VID: vid, Events: []event.Event{ev}}, UserAgent: chromeUA,
		IP: netip.MustParseAddr("198.51.100.7"), NewVID: newVID}
}

// A commit another server made, applied with ApplyCommit, is what this tracker's next hit of
// the visitor builds on: the journey it cached before is dropped, not served stale.
func TestApplyCommitReplacesCachedJourney(t *testing.T) {
	dbA, dbB := openStore(t), openStore(t)
	recB := &recordingStore{Store: trackstore.New(dbB)}
	a := newTrackerOn(t, dbA, track.Config{})
	b := track.New(recB, nil, nil, track.Config{SiteHosts: map[string][]string{"shop": {"shop.example"}}})

	const vid = "00112233445566778899aabbccddeeff"
	var res track.Result
	// Both servers see the first pageview (a caches the journey); b then takes two more.
	for _, tr := range []*track.Tracker{a, b} {
		res.Reset()
		if err := tr.Track(hitOf(vid, "", pageview("https://shop.example/1", "")), &res); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"/2", "/3"} {
		res.Reset()
		if err := b.Track(hitOf(vid, "", pageview("https://shop.example"+p, "")), &res); err != nil {
			t.Fatal(err)
		}
	}
	if got := recB.ids[len(recB.ids)-1]; got != "shop:"+res.Accepted[0] {
		t.Fatalf("commit id %q; want the site and the accepted event's id", got)
	}
	for _, ops := range recB.commits[1:] {
		if err := a.ApplyCommit(trackstore.New(dbA), ops, false); err != nil {
			t.Fatal(err)
		}
	}
	res.Reset()
	if err := a.Track(hitOf(vid, "", pageview("https://shop.example/4", "")), &res); err != nil {
		t.Fatal(err)
	}
	st, err := a.Visitor(vid)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pageviews != 4 {
		t.Fatalf("a's journey has %d pageviews after b's two were applied and a fourth tracked; want 4", st.Pageviews)
	}
}

// A new visitor gets the id the cluster chose (Request.NewVID); a queued commit is reported
// in the result.
func TestNewVIDAndQueued(t *testing.T) {
	rec := &recordingStore{Store: trackstore.New(openStore(t)), queue: true}
	tr := track.New(rec, nil, nil, track.Config{})
	const minted = "ffeeddccbbaa99887766554433221100"
	var res track.Result
	if err := tr.Track(hitOf("", minted, pageview("https://shop.example/", "")), &res); err != nil {
		t.Fatal(err)
	}
	if res.VID != minted || !res.Queued {
		t.Fatalf("vid %q, queued %v; want the minted id, queued", res.VID, res.Queued)
	}
	if got := tr.PeekVID(hitOf("", "", pageview("https://shop.example/", ""))); got != "" {
		t.Fatalf("PeekVID of a new visitor = %q; want \"\"", got)
	}
	req := hitOf(minted, "", pageview("https://shop.example/", ""))
	if got := tr.PeekVID(req); got != minted {
		t.Fatalf("PeekVID = %q; want the body's id", got)
	}
}

// fleetSalts is a SaltSource holding one salt per day, the first one offered.
type fleetSalts struct {
	mu    sync.Mutex
	salts map[string][]byte
}

func (f *fleetSalts) Salt(day string, fresh []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.salts[day]; ok {
		return s, nil
	}
	f.salts[day] = fresh
	return fresh, nil
}

// Two servers sharing a SaltSource give a cookieless browser the same id; PeekVID knows it
// before tracking.
func TestSharedSaltsGiveOneCookielessID(t *testing.T) {
	src := &fleetSalts{salts: map[string][]byte{}}
	a := newTracker(t, track.Config{Identity: track.IdentityCookieless, Salts: src})
	b := newTracker(t, track.Config{Identity: track.IdentityCookieless, Salts: src})
	var ra, rb track.Result
	if err := a.Track(hitOf("", "", pageview("https://shop.example/", "")), &ra); err != nil {
		t.Fatal(err)
	}
	if err := b.Track(hitOf("", "", pageview("https://shop.example/", "")), &rb); err != nil {
		t.Fatal(err)
	}
	if ra.VID == "" || ra.VID != rb.VID {
		t.Fatalf("cookieless ids %q and %q; want one id on both servers", ra.VID, rb.VID)
	}
	if got := b.PeekVID(hitOf("", "", pageview("https://shop.example/", ""))); got != ra.VID {
		t.Fatalf("PeekVID = %q; want %q", got, ra.VID)
	}
}

// PeekVID names the journey a batch will write: a merged visitor's known user's, and the
// journey a user the batch identifies is linked to.
func TestPeekVIDFollowsMergesAndLinks(t *testing.T) {
	tr := newTracker(t, track.Config{})
	const known, anon, other = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccccccccc"
	var res track.Result
	if err := tr.Track(hitOf(known, "", identify("u-7")), &res); err != nil { // links u-7 to known
		t.Fatal(err)
	}
	if got := tr.PeekVID(hitOf(other, "", identify("u-7"))); got != known {
		t.Fatalf("PeekVID of a batch identifying u-7 = %q; want the linked journey %q", got, known)
	}
	res.Reset()
	if err := tr.Track(hitOf(anon, "", identify("u-7")), &res); err != nil { // merges anon into known
		t.Fatal(err)
	}
	if res.VID != known {
		t.Fatalf("merge: vid %q; want %q", res.VID, known)
	}
	if got := tr.PeekVID(hitOf(anon, "", pageview("https://shop.example/", ""))); got != known {
		t.Fatalf("PeekVID of the merged visitor = %q; want the known user's journey %q", got, known)
	}
}
