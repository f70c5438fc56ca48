package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSegmentsAreRecycled: an applied segment is renamed and written over as a later
// segment instead of being deleted and a new file created; a crash while recycled segments
// hold unapplied writes loses none of them, and the replay reads no earlier record of a
// recycled file and warns of nothing.
func TestSegmentsAreRecycled(t *testing.T) {
	dir := t.TempDir()
	walDir := filepath.Join(dir, WALDir)
	db, _ := openLogged(t, dir, Options{SegmentSize: walMinSegment})
	big := bytes.Repeat([]byte{'v'}, 2000)
	seen := map[string]os.FileInfo{}
	look := func() {
		segs, _ := listSegments(walDir)
		for _, s := range segs {
			if _, ok := seen[s.path]; !ok {
				if fi, err := os.Stat(s.path); err == nil {
					seen[s.path] = fi
				}
			}
		}
	}
	write := func(from, to int) {
		for i := from; i < to; i++ {
			if err := db.Write([]Op{{Key: fmt.Appendf(nil, "big%05d", i), Value: big}}); err != nil {
				t.Fatal(err)
			}
			look()
		}
	}
	write(0, 100) // about 200 KB: several 64 KiB segments
	waitApplied(t, db)
	deadline := time.Now().Add(5 * time.Second)
	for _, _, removed := db.Backlog(); removed == 0; _, _, removed = db.Backlog() {
		if time.Now().After(deadline) {
			t.Fatal("no applied log segment was retired")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The spare is disk the log holds: Sizes counts it with the segments.
	_, _, wal := db.Sizes()
	segs, _ := filepath.Glob(filepath.Join(walDir, "*"+walExt))
	spares, _ := filepath.Glob(filepath.Join(walDir, "*"+walSpareExt))
	if len(spares) != 1 || wal < int64(len(segs)+1)*walMinSegment {
		t.Errorf("%d spares, and Sizes counts %d bytes of log for %d segments of %d; want one spare, counted", len(spares), wal, len(segs), walMinSegment)
	}
	db.pauseApply(t)
	write(100, 400) // several rotations, the first of them onto the spare
	recycled := 0
	for p, fi := range seen {
		for q, fj := range seen {
			if p < q && os.SameFile(fi, fj) {
				recycled++
			}
		}
	}
	if recycled == 0 {
		t.Fatalf("none of %d log segments was an earlier one renamed", len(seen))
	}
	db.crash()

	db, lb := openLogged(t, dir, Options{SegmentSize: walMinSegment})
	defer db.Close()
	for i := range 400 {
		got, err := db.Get(fmt.Appendf(nil, "big%05d", i), nil)
		if err != nil || !bytes.Equal(got, big) {
			t.Fatalf("Get(big%05d) = %d bytes, %v; want %d", i, len(got), err, len(big))
		}
	}
	if out := lb.String(); strings.Contains(out, "not intact") || strings.Contains(out, "out of sequence") {
		t.Errorf("the replay of recycled segments warned:\n%s", out)
	}
}

// TestRecycledSegmentIsReadToItsMarker: a recycled segment is read up to the end marker of
// its last append, or not at all when its first marker was never written (a crash right
// after the rename), without a warning; the earlier records behind it are never returned.
func TestRecycledSegmentIsReadToItsMarker(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	records := func(seqs ...uint64) []byte {
		var b []byte
		for _, s := range seqs {
			b = appendRecord(b, s, []Op{{Key: fmt.Appendf(nil, "k%d", s), Value: []byte("v")}}, now)
		}
		return b
	}
	stale := records(3, 4, 5, 6)
	marker := make([]byte, walHeader)
	binary.LittleEndian.PutUint32(marker[4:], walRecycled)
	for _, c := range []struct {
		name  string
		first uint64
		data  []byte
		want  []uint64
	}{
		{"written over", 10, concat(records(10, 11), marker, stale[5:], stale), []uint64{10, 11}},
		{"marked, nothing written", 20, concat(marker, stale[7:], stale), nil},
		{"renamed, not marked", 30, concat(stale, make([]byte, 64)), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			sg := segment{path: filepath.Join(dir, segmentName(c.first)), firstSeq: c.first}
			if err := os.WriteFile(sg.path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			var lb logBuffer
			var got []uint64
			err := readSegment(sg, slog.New(slog.NewTextHandler(&lb, nil)), func(rec *walRecord) error {
				got = append(got, rec.seq)
				return nil
			})
			if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("readSegment = %v, %v; want %v", got, err, c.want)
			}
			if lb.String() != "" {
				t.Errorf("readSegment warned:\n%s", lb.String())
			}
		})
	}
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
