package reportstore

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/pathlight/pathlight/internal/store"
	"github.com/pathlight/pathlight/internal/store/trackstore"
	"github.com/pathlight/pathlight/internal/track"
)

// seekLog is a store that notes where its scans were asked to seek.
type seekLog struct {
	track.Store
	seeks []string
}

func (l *seekLog) ScanSeek(start, end []byte, fn func(key, val []byte) ([]byte, error)) error {
	return l.Store.(track.Seeker).ScanSeek(start, end, func(k, v []byte) ([]byte, error) {
		to, err := fn(k, v)
		if to != nil {
			l.seeks = append(l.seeks, fmt.Sprintf("%x", to))
		}
		return to, err
	})
}

// rawKeys returns the keys and values of the records' range whose keys are n bytes long.
func rawKeys(t *testing.T, kv track.Store, n int) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := kv.Scan([]byte{pRecord}, []byte{pRecord + 1}, func(k, v []byte) error {
		if len(k) == n {
			out[string(k)] = string(v)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDayHeadersOnBadger: packed days get a header with their number of packs; a report's
// scan over real Badger, where the packed days' single records are deleted keys, seeks
// from each packed day's last pack to the next day and hands over what a store never
// packed does; a directory packed before headers reads the same, gets its headers in the
// background (the packs themselves left as they are), and a stop halfway through (a
// restart) leaves it readable and resumable.
func TestDayHeadersOnBadger(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir, store.Options{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	kv := trackstore.New(db)
	plain, packed := New(NewMemory(), 0), New(kv, 0)
	r := rand.New(rand.NewPCG(3, 4))
	const days = 5 // days 3 to 7 are packed, 8 is not
	for d := int64(3); d <= 3+days; d++ {
		var news []*Visitor
		for n := range 100 + r.IntN(150) {
			v := visitor(int(d)*1000+n, [][]string{{"shop"}, {"blog"}, {"shop", "blog"}}[n%3], d)
			v.J.VID = fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64())
			news = append(news, v)
		}
		for _, s := range []*Store{plain, packed} {
			if _, err := s.Put(make([]*Visitor, len(news)), news); err != nil {
				t.Fatal(err)
			}
		}
	}
	packAll := func(s *Store) int {
		n := 0
		for from := int64(0); ; n++ {
			d, ok, err := s.Pack(from, 3+days)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				return n
			}
			from = d + 1
		}
	}
	if n := packAll(packed); n != days {
		t.Fatalf("packed %d days; want %d", n, days)
	}
	// Every packed day has a header with its number of packs.
	packs, headers := rawKeys(t, kv, packLen), rawKeys(t, kv, headerLen)
	if len(headers) != days {
		t.Fatalf("%d day headers; want %d", len(headers), days)
	}
	for k, v := range headers {
		n, ok := headerParts([]byte(v))
		want := 0
		for p := range packs {
			if p[:headerLen] == k {
				want++
			}
		}
		if !ok || n != want || n < 2 {
			t.Errorf("day %d: header says %d packs (%v); the day has %d; want at least 2", dayOfKey([]byte(k[1:])), n, ok, want)
		}
	}
	ranges := []Range{{From: 0, To: 100, Flags: FlagActive}, {From: 4, To: 6, Flags: FlagConversion}, {From: 7, To: 9, Flags: FlagActive}}
	check := func(what string, s *Store, wantSeeks []string) {
		t.Helper()
		log := &seekLog{Store: s.kv}
		logged := New(log, 0)
		for _, site := range []string{"", "shop"} {
			for _, rg := range ranges {
				want, got := dump(t, plain, site, rg), dump(t, logged, site, rg)
				if len(want) == 0 || !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: site %q, %+v: %d records handed over; want the %d of the store never packed, the same", what, site, rg, len(got), len(want))
				}
			}
		}
		log.seeks = nil
		dump(t, logged, "", ranges[0])
		if !slices.Equal(log.seeks, wantSeeks) {
			t.Errorf("%s: the scan from day 0 seeks to %q; want %q", what, log.seeks, wantSeeks)
		}
	}
	var nextDays []string
	for d := int64(4); d <= 3+days; d++ {
		nextDays = append(nextDays, fmt.Sprintf("%x", headerKey(d)))
	}
	check("packed", packed, nextDays)

	// A directory packed before day headers: none, and no seek.
	var drop []track.Op
	for k := range headers {
		drop = append(drop, track.Op{Key: []byte(k), Delete: true})
	}
	if err := kv.Write(drop); err != nil {
		t.Fatal(err)
	}
	check("without headers", packed, nil)
	// Headers given to two days, then a restart.
	for range 2 {
		if _, ok, err := packed.Pack(0, 3+days); !ok || err != nil {
			t.Fatalf("Pack = %v, %v; want a day given its header", ok, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = store.Open(dir, store.Options{Small: true}); err != nil {
		t.Fatal(err)
	}
	kv = trackstore.New(db)
	packed = New(kv, 0)
	if got := rawKeys(t, kv, headerLen); len(got) != 2 {
		t.Fatalf("after a restart: %d day headers; want the 2 written", len(got))
	}
	check("half given headers", packed, nextDays[:2])
	if n := packAll(packed); n != days-2 {
		t.Errorf("the background job gave %d more days a header; want %d", n, days-2)
	}
	if got := rawKeys(t, kv, headerLen); !reflect.DeepEqual(got, headers) {
		t.Errorf("headers given in the background differ from those written by packing")
	}
	if got := rawKeys(t, kv, packLen); !reflect.DeepEqual(got, packs) {
		t.Errorf("giving days their headers changed their packs")
	}
	if singles := rawKeys(t, kv, 5+vidBytes); len(singles) == 0 {
		t.Error("no single record on the day not packed")
	}
	check("given headers", packed, nextDays)
	if n := packAll(packed); n != 0 {
		t.Errorf("packing again packed %d days; want none", n)
	}
}
