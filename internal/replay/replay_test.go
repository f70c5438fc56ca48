package replay

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// ttlStore passes writes to a real store and remembers the TTL of each key written.
type ttlStore struct {
	track.Store
	ttls map[string]time.Duration
}

func (s *ttlStore) Write(ops []track.Op) error {
	for _, op := range ops {
		if !op.Delete {
			s.ttls[string(op.Key)] = op.TTL
		}
	}
	return s.Store.Write(ops)
}

func openStore(t testing.TB) *ttlStore {
	t.Helper()
	db, err := store.Open(t.TempDir(), store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return &ttlStore{Store: trackstore.New(db), ttls: map[string]time.Duration{}}
}

func openRecordings(t testing.TB, cfg Config) (*Recordings, *ttlStore) {
	st := openStore(t)
	return New(st, cfg), st
}

var base = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// body builds a chunk's JSON: n events of type 3 from ts on, each with text padded to pad bytes.
func body(session string, seq, ts int64, page string, n, pad int) []byte {
	evs := make([]string, n)
	for i := range evs {
		evs[i] = fmt.Sprintf(`{"type":3,"timestamp":%d,"data":{"source":5,"text":%q,"n":%d}}`, ts+int64(i), strings.Repeat("*", pad), seq*1000+int64(i))
	}
	return fmt.Appendf(nil, `{"site":"demo","vid":"v1","session":%q,"page":%q,"seq":%d,"events":[%s]}`, session, page, seq, strings.Join(evs, ","))
}

func mustParse(t testing.TB, b []byte) *Batch {
	t.Helper()
	p, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(%.80s…): %v", b, err)
	}
	return p
}

func record(t testing.TB, r *Recordings, vid string, b []byte) Result {
	t.Helper()
	res, err := r.Record("demo", vid, mustParse(t, b), base)
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	return res
}

// eventN returns the "n" of each event: which chunk and which event of it.
func eventN(t testing.TB, evs []json.RawMessage) []int {
	var out []int
	for _, e := range evs {
		var v struct {
			Data struct{ N int } `json:"data"`
		}
		if err := json.Unmarshal(e, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.Data.N)
	}
	return out
}

func TestChunksComeBackInOrder(t *testing.T) {
	r, _ := openRecordings(t, Config{Retention: time.Hour, SessionCap: 1 << 20, DailyCap: 1 << 30})
	const s = "session-0001"
	t0 := base.UnixMilli()
	// Chunks arrive out of order, as retries after a failed send do.
	record(t, r, "v1", body(s, 2, t0+20000, "https://shop.example/cart", 2, 10))
	record(t, r, "v1", body(s, 0, t0, "https://shop.example/", 3, 10))
	record(t, r, "v1", body(s, 1, t0+10000, "https://shop.example/products/jacket?x=1", 1, 10))
	evs, err := r.Events(s)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(eventN(t, evs)), "[0 1 2 1000 2000 2001]"; got != want {
		t.Errorf("events in order %s; want %s", got, want)
	}
	sess, ok, err := r.Session(s)
	if err != nil || !ok {
		t.Fatalf("Session: %v %v", ok, err)
	}
	if sess.StartedAt != t0 || sess.EndedAt != t0+20001 || sess.Chunks != 3 || sess.VID != "v1" || sess.Site != "demo" {
		t.Errorf("session %+v; want started %d, ended %d, 3 chunks of v1 on demo", sess, t0, t0+20001)
	}
	if got := fmt.Sprint(sess.Pages); got != "[/cart / /products/jacket]" {
		t.Errorf("pages %s; want the paths in the order recorded", got)
	}
	// A retry of a chunk changes nothing.
	if res := record(t, r, "v1", body(s, 1, t0+10000, "https://shop.example/other", 5, 10)); res != Duplicate {
		t.Errorf("retry: %v; want Duplicate", res)
	}
	if again, _, _ := r.Session(s); again.Chunks != 3 || again.Bytes != sess.Bytes {
		t.Errorf("after a retry: %+v; want it unchanged", again)
	}
	// The period index moved with the late first chunk: the session is found by its start.
	got, err := r.InPeriod("demo", t0, t0+1, 10, func(string) (bool, error) { return true, nil })
	if err != nil || len(got) != 1 || got[0].ID != s {
		t.Errorf("InPeriod at the start: %+v %v; want the session", got, err)
	}
	got, _ = r.InPeriod("demo", t0+1, t0+1e6, 10, func(string) (bool, error) { return true, nil })
	if len(got) != 0 {
		t.Errorf("InPeriod after the start: %+v; want none (its old start was moved)", got)
	}
}

func TestVisitorAndPeriodLists(t *testing.T) {
	r, _ := openRecordings(t, Config{Retention: time.Hour, SessionCap: 1 << 20, DailyCap: 1 << 30})
	t0 := base.UnixMilli()
	for i, vid := range []string{"v1", "v2", "v1", "v1"} {
		record(t, r, vid, body(fmt.Sprintf("session-%04d", i), 0, t0+int64(i)*1000, "https://shop.example/", 1, 0))
	}
	list, err := r.OfVisitor("v1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	if got := fmt.Sprint(ids); got != "[session-0003 session-0002 session-0000]" {
		t.Errorf("v1's sessions %s; want its three, newest first", got)
	}
	keep := func(vid string) (bool, error) { return vid == "v1", nil }
	got, err := r.InPeriod("demo", t0, t0+2500, 10, keep)
	if err != nil || len(got) != 2 || got[0].ID != "session-0002" || got[1].ID != "session-0000" {
		t.Errorf("InPeriod [t0, t0+2.5s) of v1: %+v %v; want sessions 2 and 0", got, err)
	}
	if got, _ := r.InPeriod("demo", t0, t0+1e6, 1, keep); len(got) != 1 || got[0].ID != "session-0003" {
		t.Errorf("InPeriod limit 1: %+v; want the newest", got)
	}
	if got, _ := r.InPeriod("shop", t0, t0+1e6, 10, keep); len(got) != 0 {
		t.Errorf("InPeriod of another site: %+v; want none", got)
	}
}

func TestSessionCap(t *testing.T) {
	probe := mustParse(t, body("session-cap1", 0, base.UnixMilli(), "https://shop.example/", 5, 200))
	size := int64(len(probe.Stored))
	r, _ := openRecordings(t, Config{Retention: time.Hour, SessionCap: 3*size + size/2, DailyCap: 1 << 30})
	for seq := range int64(4) {
		_, err := r.Record("demo", "v1", mustParse(t, body("session-cap1", seq, base.UnixMilli(), "https://shop.example/", 5, 200)), base)
		if seq < 3 && err != nil {
			t.Fatalf("chunk %d: %v", seq, err)
		}
		if seq == 3 && !errors.Is(err, ErrSessionCap) {
			t.Fatalf("chunk 3 past the cap: %v; want ErrSessionCap", err)
		}
	}
	sess, _, _ := r.Session("session-cap1")
	evs, _ := r.Events("session-cap1")
	if sess.Chunks != 3 || len(evs) != 15 {
		t.Errorf("after the cap: %d chunks, %d events; want 3 and 15 (nothing of the refused one)", sess.Chunks, len(evs))
	}
	// Another session is not held by this one's cap.
	if _, err := r.Record("demo", "v1", mustParse(t, body("session-cap2", 0, base.UnixMilli(), "https://shop.example/", 5, 200)), base); err != nil {
		t.Errorf("another session: %v", err)
	}
}

func TestDailyCap(t *testing.T) {
	probe := mustParse(t, body("session-day0", 0, base.UnixMilli(), "https://shop.example/", 5, 200))
	size := int64(len(probe.Stored))
	r, _ := openRecordings(t, Config{Retention: time.Hour, SessionCap: 1 << 20, DailyCap: 2*size + size/2})
	for i := range 3 {
		_, err := r.Record("demo", "v1", mustParse(t, body(fmt.Sprintf("session-day%d", i), 0, base.UnixMilli(), "https://shop.example/", 5, 200)), base)
		if i < 2 && err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		if i == 2 && !errors.Is(err, ErrDailyCap) {
			t.Fatalf("session 2 past the daily cap: %v; want ErrDailyCap", err)
		}
	}
	if _, found, _ := r.Session("session-day2"); found {
		t.Error("the refused chunk's session was stored")
	}
	// The next UTC day has a cap of its own.
	if _, err := r.Record("demo", "v1", mustParse(t, body("session-day3", 0, base.UnixMilli(), "https://shop.example/", 5, 200)), base.Add(24*time.Hour)); err != nil {
		t.Errorf("the next day: %v", err)
	}
}

func TestRetention(t *testing.T) {
	r, st := openRecordings(t, Config{Retention: time.Second, SessionCap: 1 << 20, DailyCap: 1 << 30})
	record(t, r, "v1", body("session-ret1", 0, base.UnixMilli(), "https://shop.example/", 2, 0))
	for k, ttl := range st.ttls {
		want := time.Second
		if k[0] == kindDay {
			want = dayTTL
		}
		if ttl != want {
			t.Errorf("key %q written with TTL %v; want %v", k, ttl, want)
		}
	}
	if _, found, _ := r.Session("session-ret1"); !found {
		t.Fatal("session not found right after it was recorded")
	}
	time.Sleep(2100 * time.Millisecond) // Badger's expiry is in whole seconds
	if _, found, err := r.Session("session-ret1"); found || err != nil {
		t.Errorf("session found (%v) after its retention", err)
	}
	if evs, _ := r.Events("session-ret1"); len(evs) != 0 {
		t.Errorf("%d events after the retention; want none", len(evs))
	}
	if list, _ := r.OfVisitor("v1"); len(list) != 0 {
		t.Errorf("visitor list after the retention: %+v", list)
	}
}

func TestErase(t *testing.T) {
	r, st := openRecordings(t, Config{Retention: time.Hour, SessionCap: 1 << 20, DailyCap: 1 << 30})
	for i, vid := range []string{"v1", "v1", "v2", "v-old"} {
		for seq := range int64(2) {
			record(t, r, vid, body(fmt.Sprintf("session-era%d", i), seq, base.UnixMilli()+int64(i), "https://shop.example/", 2, 0))
		}
	}
	n, err := r.Erase("v1", "v-old")
	if err != nil || n != 3 {
		t.Fatalf("Erase: %d %v; want 3 sessions", n, err)
	}
	// No key of an erased session is left, of any kind.
	for _, kind := range []byte{kindChunk, kindSession, kindVisitor, kindPeriod} {
		err := st.Scan([]byte{kind}, []byte{kind + 1}, func(k, v []byte) error {
			for _, gone := range []string{"session-era0", "session-era1", "session-era3", "v1", "v-old"} {
				if bytes.Contains(k, []byte(gone)) || bytes.Equal(v, []byte(gone)) {
					t.Errorf("key %q = %q left after the erase", k, v)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if list, _ := r.OfVisitor("v2"); len(list) != 1 {
		t.Errorf("v2's sessions after erasing v1: %+v; want its one", list)
	}
	if n, err := r.Erase("v1"); n != 0 || err != nil {
		t.Errorf("second Erase: %d %v; want nothing", n, err)
	}
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func TestParse(t *testing.T) {
	good := body("session-par1", 0, base.UnixMilli(), "https://shop.example/a", 2, 0)
	b := mustParse(t, good)
	if b.First != base.UnixMilli() || b.Last != base.UnixMilli()+1 || len(b.Events) != 2 {
		t.Errorf("parsed %+v", b)
	}
	if evs, err := Events(b.Stored); err != nil || len(evs) != 2 {
		t.Errorf("stored JSON chunk reads back %d events, %v", len(evs), err)
	}
	z := gz(good)
	zb := mustParse(t, z)
	if !bytes.Equal(zb.Stored, z) {
		t.Error("a gzip body is not stored as sent")
	}
	if evs, err := Events(zb.Stored); err != nil || len(evs) != 2 {
		t.Errorf("stored gzip chunk reads back %d events, %v", len(evs), err)
	}
	bads := map[string]string{
		"not json":       `{"site":`,
		"unknown member": `{"site":"demo","session":"session-par1","page":"https://a.example/","seq":0,"events":[{"type":2,"timestamp":1}],"extra":1}`,
		"short session":  `{"site":"demo","session":"abc","page":"https://a.example/","seq":0,"events":[{"type":2,"timestamp":1}]}`,
		"session chars":  `{"site":"demo","session":"session/../x","page":"https://a.example/","seq":0,"events":[{"type":2,"timestamp":1}]}`,
		"no seq":         `{"site":"demo","session":"session-par1","page":"https://a.example/","events":[{"type":2,"timestamp":1}]}`,
		"negative seq":   `{"site":"demo","session":"session-par1","page":"https://a.example/","seq":-1,"events":[{"type":2,"timestamp":1}]}`,
		"no events":      `{"site":"demo","session":"session-par1","page":"https://a.example/","seq":0,"events":[]}`,
		"event no type":  `{"site":"demo","session":"session-par1","page":"https://a.example/","seq":0,"events":[{"timestamp":1}]}`,
		"event string":   `{"site":"demo","session":"session-par1","page":"https://a.example/","seq":0,"events":["x"]}`,
		"page":           `{"site":"demo","session":"session-par1","page":"javascript:alert(1)","seq":0,"events":[{"type":2,"timestamp":1}]}`,
		"no site":        `{"session":"session-par1","page":"https://a.example/","seq":0,"events":[{"type":2,"timestamp":1}]}`,
		"trailing":       `{"site":"demo","session":"session-par1","page":"https://a.example/","seq":0,"events":[{"type":2,"timestamp":1}]} {}`,
		"fake gzip":      "\x1f\x8bnot gzip at all",
	}
	for name, in := range bads {
		_, err := Parse([]byte(in))
		var bi *BadInput
		if !errors.As(err, &bi) {
			t.Errorf("%s: Parse = %v; want a BadInput", name, err)
		}
	}
	// Too large: as sent, and once decompressed (a small gzip of many zeros).
	if _, err := Parse(make([]byte, MaxBody+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a body over MaxBody: %v; want ErrTooLarge", err)
	}
	bomb := gz(append([]byte(`{"site":"demo","page":"`), bytes.Repeat([]byte("a"), MaxRaw+10)...))
	if _, err := Parse(bomb); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a gzip body over MaxRaw decompressed (%d B sent): %v; want ErrTooLarge", len(bomb), err)
	}
}

// snapChunk is a chunk that starts a page: a meta event of viewport width w, then a full
// snapshot whose text is label; with snapshot set, it asks to be the page's snapshot.
func snapChunk(session string, seq int64, w int, label string, snapshot bool) []byte {
	return fmt.Appendf(nil, `{"site":"demo","session":%q,"page":"https://shop.example/pricing?x=1","seq":%d,"snapshot":%v,"events":[`+
		`{"type":4,"timestamp":%d,"data":{"href":"https://shop.example/pricing","width":%d,"height":800}},`+
		`{"type":2,"timestamp":%d,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":3,"id":2,"textContent":%q}]},"initialOffset":{"top":0,"left":0}}}]}`,
		session, seq, snapshot, base.UnixMilli(), w, base.UnixMilli(), label)
}

func TestPageSnapshots(t *testing.T) {
	r, _ := openRecordings(t, Config{Retention: time.Hour, SessionCap: 1 << 20, DailyCap: 1 << 30})
	if _, found, err := r.Snapshot("demo", "/pricing", "desktop"); found || err != nil {
		t.Fatalf("snapshot before any: %v %v; want none", found, err)
	}
	record(t, r, "v1", snapChunk("session-snap1", 0, 1280, "first", true))
	record(t, r, "v1", snapChunk("session-snap1", 1, 1280, "not asked for", false))
	record(t, r, "v2", snapChunk("session-snap2", 0, 390, "phone", true))
	ev, found, err := r.Snapshot("demo", "/pricing", "desktop")
	if err != nil || !found || !bytes.Contains(ev, []byte(`"first"`)) || !bytes.HasPrefix(ev, []byte(`{"type":2`)) {
		t.Fatalf("desktop snapshot %s %v %v; want the first chunk's full snapshot event", ev, found, err)
	}
	record(t, r, "v3", snapChunk("session-snap3", 0, 1440, "latest", true))
	if ev, _, _ := r.Snapshot("demo", "/pricing", "desktop"); !bytes.Contains(ev, []byte(`"latest"`)) {
		t.Errorf("desktop snapshot %s; want the latest", ev)
	}
	if ev, _, _ := r.Snapshot("demo", "/pricing", "phone"); !bytes.Contains(ev, []byte(`"phone"`)) {
		t.Errorf("phone snapshot %s; want the 390 px one", ev)
	}
	if _, found, _ := r.Snapshot("demo", "/pricing", "tablet"); found {
		t.Error("a tablet snapshot where none was sent")
	}
	if _, _, err := r.Snapshot("demo", "/pricing", "watch"); err == nil {
		t.Error("band watch: want an error")
	}
	// A chunk that asks for a snapshot without holding one is refused, whole.
	noSnap := []byte(`{"site":"demo","session":"session-snap4","page":"https://shop.example/","seq":0,"snapshot":true,"events":[{"type":3,"timestamp":1,"data":{}}]}`)
	var bi *BadInput
	if _, err := r.Record("demo", "v4", mustParse(t, noSnap), base); !errors.As(err, &bi) {
		t.Errorf("snapshot without a full snapshot: %v; want a BadInput", err)
	}
	if _, found, _ := r.Session("session-snap4"); found {
		t.Error("the refused chunk was stored")
	}
}

// A snapshot-only chunk (no session, no seq) stores the page's snapshot and nothing else;
// WantSnapshot asks for a band until today's snapshot of it is stored, reading the store when
// it remembers nothing (a restart), and takes a snapshot stored before the time was kept as
// not today's.
func TestSnapshotOnlyAndAsks(t *testing.T) {
	now := base
	clock := func() time.Time { return now }
	st := openStore(t)
	r := New(st, Config{Retention: time.Hour, SessionCap: 1 << 20, DailyCap: 1 << 30, Now: clock})
	only := bytes.Replace(snapChunk("", 0, 1280, "asked for", true), []byte(`"session":"",`), nil, 1)
	only = bytes.Replace(only, []byte(`"seq":0,`), nil, 1)
	b := mustParse(t, only)
	if !b.SnapshotOnly() {
		t.Fatalf("%s: want a snapshot-only chunk", only)
	}
	if res, err := r.Record("demo", "v1", b, now); err != nil || res != Stored {
		t.Fatalf("Record snapshot-only: %v %v", res, err)
	}
	if ev, found, _ := r.Snapshot("demo", "/pricing", "desktop"); !found || !bytes.Contains(ev, []byte(`"asked for"`)) {
		t.Fatalf("snapshot after a snapshot-only chunk: %s %v", ev, found)
	}
	if list, _ := r.OfVisitor("v1"); len(list) != 0 {
		t.Errorf("a snapshot-only chunk made sessions %+v", list)
	}
	if list, _ := r.InPeriod("demo", 0, 1<<62, 10, func(string) (bool, error) { return true, nil }); len(list) != 0 {
		t.Errorf("a snapshot-only chunk is listed: %+v", list)
	}
	// A fresh Recordings over the same store finds today's desktop snapshot in the store.
	r2 := New(st, Config{Retention: time.Hour, Now: clock})
	if got, err := r2.WantSnapshot("demo", "/pricing", nil); err != nil || strings.Join(got, ",") != "phone,tablet" {
		t.Errorf("asked %v %v; want phone,tablet (desktop is today's)", got, err)
	}
	if got, _ := r2.WantSnapshot("demo", "/pricing", nil); len(got) != 0 {
		t.Errorf("asked %v again within the window; want none", got)
	}
	now = now.Add(AskWindow + time.Second)
	if got, _ := r2.WantSnapshot("demo", "/pricing", nil); strings.Join(got, ",") != "phone,tablet" {
		t.Errorf("asked %v after the window; want phone,tablet again", got)
	}
	now = now.Add(24 * time.Hour)
	if got, _ := r2.WantSnapshot("demo", "/pricing", nil); strings.Join(got, ",") != "phone,tablet,desktop" {
		t.Errorf("asked %v the next day; want every band", got)
	}
	// A value stored before snapshots were dated: gzip alone, of an unknown day.
	legacy := snapshotValue([]byte(`{"type":2}`), 0)[8:]
	if err := st.Write([]track.Op{{Key: snapshotKey("demo", 2, "/old"), Value: legacy}}); err != nil {
		t.Fatal(err)
	}
	if ev, found, err := r2.Snapshot("demo", "/old", "desktop"); err != nil || !found || string(ev) != `{"type":2}` {
		t.Errorf("legacy snapshot: %s %v %v", ev, found, err)
	}
	if got, _ := r2.WantSnapshot("demo", "/old", nil); strings.Join(got, ",") != "phone,tablet,desktop" {
		t.Errorf("asked %v for a page with an undated snapshot; want every band", got)
	}
	// A snapshot-only chunk needs a full snapshot, like any chunk that says "snapshot".
	var bi *BadInput
	empty := mustParse(t, []byte(`{"site":"demo","page":"https://shop.example/","snapshot":true,"events":[{"type":3,"timestamp":1,"data":{}}]}`))
	if _, err := r.Record("demo", "", empty, now); !errors.As(err, &bi) {
		t.Errorf("a snapshot-only chunk without a snapshot: %v; want a BadInput", err)
	}
	if _, err := Parse([]byte(`{"site":"demo","page":"https://shop.example/","events":[{"type":2,"timestamp":1,"data":{}}]}`)); !errors.As(err, &bi) {
		t.Errorf("a chunk without session nor snapshot: %v; want a BadInput", err)
	}
}
