package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The write-ahead log. Every Write is one record, appended with plain write(2) calls to
// preallocated segment files (no memory mapping, so no page faults in the request path);
// a group of records is one write(2) and, with SyncWrites, one fdatasync. A Write is
// acknowledged once its record is in the log; Badger is updated from the log in the
// background (apply.go), and after a crash the records not yet applied are replayed.
//
// A segment is named by the sequence number of its first record (20 decimal digits, .wal).
// A record on disk:
//
//	length  uint32 LE   bytes of body
//	crc     uint32 LE   CRC-32C of body
//	body    seq uint64 LE, op count uvarint, then per op:
//	        flags byte (1: delete), expiresAt uvarint (Unix seconds, 0: never),
//	        key length uvarint, key, value length uvarint, value
//
// The unwritten rest of a fresh preallocated segment reads as zeros, so a length of 0 ends
// the segment. A record whose length runs past the file or whose checksum does not
// match is a torn write of a crash (or damage): replay stops reading that segment there, logs
// where, and goes on with the next segment; a fresh segment is started at every open, so
// writes never follow such a tail.
//
// Segments are recycled: a segment whose records are all applied is renamed to a spare
// (<n>.free) rather than deleted, and the next rotation renames the spare to the new
// segment's name and writes over it. Its blocks stay allocated and written and its pages stay
// in the page cache, so appending to it neither allocates pages nor converts unwritten
// extents, and no segment's pages are dropped by a delete. A recycled segment begins with an
// end marker, a header of length 0 whose checksum field is walRecycled, and every append to
// it ends with one, which the next append overwrites; its earlier records lie after the last
// marker, and replay stops there without a warning. A record whose sequence number is below the
// segment's first (a crash between the rename and that first marker) ends the segment too.

const (
	walExt          = ".wal"
	walHeader       = 8
	walMaxRecord    = 1 << 30
	walOpDelete     = 1
	walMinSegment   = 64 << 10
	walDefaultSpace = 64 << 20
	// walRecycled is the checksum field of an end marker in a recycled segment: the bytes
	// after it are the segment's earlier records, not zeros.
	walRecycled = 0x52435943 // "RCYC"
	walSpareExt = ".free"
	// walSpares is how many applied segments are kept for reuse: the applier retires a
	// segment once the one after it is complete, so one spare is ready at every rotation.
	walSpares = 1
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// walOp is one decoded op of a record; its slices point into the record's buffer.
type walOp struct {
	key, value []byte
	expiresAt  uint64
	del        bool
}

// walRecord is one decoded Write.
type walRecord struct {
	seq uint64
	ops []walOp
}

// appendRecord appends the encoded record of ops under seq to dst. expires converts a TTL
// to an absolute expiry, once, so that a replay restores the same expiry.
func appendRecord(dst []byte, seq uint64, ops []Op, now time.Time) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, walHeader)...)
	dst = binary.LittleEndian.AppendUint64(dst, seq)
	dst = binary.AppendUvarint(dst, uint64(len(ops)))
	for i := range ops {
		op := &ops[i]
		var flags byte
		if op.Delete {
			flags = walOpDelete
		}
		dst = append(dst, flags)
		var exp uint64
		if op.TTL > 0 && !op.Delete {
			exp = uint64(now.Add(op.TTL).Unix())
		}
		dst = binary.AppendUvarint(dst, exp)
		dst = binary.AppendUvarint(dst, uint64(len(op.Key)))
		dst = append(dst, op.Key...)
		dst = binary.AppendUvarint(dst, uint64(len(op.Value)))
		dst = append(dst, op.Value...)
	}
	body := dst[start+walHeader:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(body, crcTable))
	return dst
}

// decodeBody decodes a record body whose checksum has been verified; ops point into body.
func decodeBody(body []byte, rec *walRecord) error {
	if len(body) < 9 {
		return errors.New("record body too short")
	}
	rec.seq = binary.LittleEndian.Uint64(body)
	p := body[8:]
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)) {
		return errors.New("bad op count")
	}
	p = p[k:]
	rec.ops = make([]walOp, 0, n)
	for range n {
		if len(p) < 1 {
			return errors.New("op cut short")
		}
		op := walOp{del: p[0]&walOpDelete != 0}
		p = p[1:]
		var ok bool
		if op.expiresAt, p, ok = uvarint(p); !ok {
			return errors.New("bad expiry")
		}
		if op.key, p, ok = lenBytes(p); !ok {
			return errors.New("bad key")
		}
		if op.value, p, ok = lenBytes(p); !ok {
			return errors.New("bad value")
		}
		rec.ops = append(rec.ops, op)
	}
	if len(p) != 0 {
		return errors.New("trailing bytes after the last op")
	}
	return nil
}

func uvarint(p []byte) (uint64, []byte, bool) {
	v, k := binary.Uvarint(p)
	if k <= 0 {
		return 0, p, false
	}
	return v, p[k:], true
}

func lenBytes(p []byte) ([]byte, []byte, bool) {
	n, p, ok := uvarint(p)
	if !ok || n > uint64(len(p)) {
		return nil, p, false
	}
	return p[:n:n], p[n:], true
}

// segment is one log file.
type segment struct {
	path     string
	firstSeq uint64
}

func segmentName(firstSeq uint64) string {
	return fmt.Sprintf("%020d%s", firstSeq, walExt)
}

// listSegments returns the segments of dir in sequence order.
func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read log directory: %w", err)
	}
	var segs []segment
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), walExt)
		if !ok || e.IsDir() {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		segs = append(segs, segment{path: filepath.Join(dir, e.Name()), firstSeq: seq})
	}
	slices.SortFunc(segs, func(a, b segment) int { return cmpU64(a.firstSeq, b.firstSeq) })
	return segs, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readSegment calls fn with every intact record of the segment sg, in order. It stops at the
// end of the written part, or at a torn or damaged record, which it logs; only an error of fn
// or of reading the file is returned.
func readSegment(sg segment, log *slog.Logger, fn func(rec *walRecord) error) error {
	path := sg.path
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open log segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat log segment: %w", err)
	}
	size := fi.Size()
	r := bufio.NewReaderSize(f, 1<<20)
	var off int64
	var hdr [walHeader]byte
	stop := func(why string) {
		log.Warn("write-ahead log: replay of this segment stops at a record that is not intact "+
			"(the unacknowledged tail of a crash, or damage); the records after it in this segment are not replayed",
			"segment", path, "offset", off, "reason", why)
	}
	for {
		if off+walHeader > size {
			if off < size && !allZero(r) {
				stop("a record header cut short")
			}
			return nil
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return fmt.Errorf("read log segment %s at %d: %w", path, off, err)
		}
		n := binary.LittleEndian.Uint32(hdr[:])
		sum := binary.LittleEndian.Uint32(hdr[4:])
		if n == 0 {
			if sum == walRecycled {
				return nil // the earlier records of a recycled segment follow
			}
			if sum != 0 || !allZero(r) {
				stop("a zero length followed by data")
			}
			return nil
		}
		if n > walMaxRecord || off+walHeader+int64(n) > size {
			stop(fmt.Sprintf("a record length of %d runs past the end of the segment", n))
			return nil
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return fmt.Errorf("read log segment %s at %d: %w", path, off, err)
		}
		if crc32.Checksum(body, crcTable) != sum {
			stop("checksum mismatch")
			return nil
		}
		var rec walRecord
		if err := decodeBody(body, &rec); err != nil {
			stop("checksum matches but the record does not decode: " + err.Error())
			return nil
		}
		if rec.seq < sg.firstSeq {
			return nil // an earlier record of a recycled segment: its first marker was not written
		}
		if err := fn(&rec); err != nil {
			return err
		}
		off += walHeader + int64(n)
	}
}

// allZero reports whether the rest of r is zero bytes.
func allZero(r *bufio.Reader) bool {
	for {
		b, err := r.ReadByte()
		if err != nil {
			return true
		}
		if b != 0 {
			return false
		}
	}
}

// walWriter appends records to the current segment and starts a new one when it is full.
// It is used by one goroutine at a time (the committer).
type walWriter struct {
	mu       sync.Mutex // the committer appends; Sync, Close and retire come from other goroutines
	dir      string
	space    int64 // preallocated size of a segment
	doSync   bool
	f        *os.File
	cur      segment
	off      int64
	recycled bool            // the current segment is a recycled one: its appends end with a marker
	spares   []string        // applied segments renamed for reuse, at most walSpares
	nspare   uint64          // names the spares
	rotated  func(s segment) // called with each new segment, before it takes records
}

// openWriter starts a new segment whose first record will be firstSeq. Spares a crash left
// behind are deleted: the segments of the log are what a replay reads.
func openWriter(dir string, space int64, sync bool, firstSeq uint64, rotated func(segment)) (*walWriter, error) {
	w := &walWriter{dir: dir, space: space, doSync: sync, rotated: rotated}
	old, _ := filepath.Glob(filepath.Join(dir, "*"+walSpareExt))
	for _, p := range old {
		_ = os.Remove(p)
	}
	if err := w.start(firstSeq); err != nil {
		return nil, err
	}
	return w, nil
}

// start creates and preallocates the segment of firstSeq, or renames a spare to it.
func (w *walWriter) start(firstSeq uint64) error {
	s := segment{path: filepath.Join(w.dir, segmentName(firstSeq)), firstSeq: firstSeq}
	f, recycled, err := w.reuse(s.path)
	if err != nil {
		return err
	}
	if f == nil {
		if f, err = os.OpenFile(s.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644); err != nil {
			return fmt.Errorf("create log segment: %w", err)
		}
		if err := preallocate(f, w.space); err != nil {
			f.Close()
			_ = os.Remove(s.path)
			return diskFullErr(fmt.Errorf("preallocate log segment: %w", err))
		}
	}
	if w.doSync {
		if err := syncDir(w.dir); err != nil {
			f.Close()
			return err
		}
	}
	if w.f != nil {
		if err := w.f.Close(); err != nil {
			f.Close()
			return fmt.Errorf("close log segment: %w", err)
		}
	}
	w.f, w.cur, w.off, w.recycled = f, s, 0, recycled
	if w.rotated != nil {
		w.rotated(s)
	}
	return nil
}

// reuse renames a spare to path and marks its start as the end of the log, so that its
// earlier records are never read as the new segment's. It returns a nil file when there is
// no spare, or the spare could not be reused (it is deleted then).
func (w *walWriter) reuse(path string) (*os.File, bool, error) {
	if len(w.spares) == 0 {
		return nil, false, nil
	}
	spare := w.spares[len(w.spares)-1]
	w.spares = w.spares[:len(w.spares)-1]
	if err := os.Rename(spare, path); err != nil {
		_ = os.Remove(spare)
		return nil, false, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		_ = os.Remove(path)
		return nil, false, nil
	}
	var marker [walHeader]byte
	binary.LittleEndian.PutUint32(marker[4:], walRecycled)
	if _, err := f.WriteAt(marker[:], 0); err != nil {
		f.Close()
		_ = os.Remove(path)
		return nil, false, diskFullErr(fmt.Errorf("mark a recycled log segment: %w", err))
	}
	return f, true, nil
}

// retire disposes of a segment all of whose records are applied: it becomes a spare when
// fewer than walSpares are kept and it has the segments' size, else it is deleted.
func (w *walWriter) retire(path string) error {
	w.mu.Lock()
	keep := w.f != nil && len(w.spares) < walSpares
	w.nspare++
	spare := filepath.Join(w.dir, strconv.FormatUint(w.nspare, 10)+walSpareExt)
	w.mu.Unlock()
	if keep {
		if fi, err := os.Stat(path); err == nil && fi.Size() == w.space && os.Rename(path, spare) == nil {
			w.mu.Lock()
			if w.f != nil && len(w.spares) < walSpares {
				w.spares = append(w.spares, spare)
				w.mu.Unlock()
				return nil
			}
			w.mu.Unlock()
			path = spare
		}
	}
	return os.Remove(path)
}

// append writes buf, whole records of which the first has firstSeq, at the end of the
// segment, rotating first when they do not fit in what is left of it. In a recycled segment
// an end marker follows them (in buf's spare capacity when it has room).
func (w *walWriter) append(buf []byte, firstSeq uint64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return errClosed
	}
	if w.off > 0 && w.off+int64(len(buf))+walHeader > w.space {
		if err := w.start(firstSeq); err != nil {
			return err
		}
	}
	n := len(buf)
	if w.recycled {
		if cap(buf)-n < walHeader {
			buf = append(make([]byte, 0, n+walHeader), buf...)
		}
		buf = buf[:n+walHeader]
		binary.LittleEndian.PutUint32(buf[n:], 0)
		binary.LittleEndian.PutUint32(buf[n+4:], walRecycled)
	}
	if _, err := w.f.WriteAt(buf, w.off); err != nil {
		// The tail may hold part of buf: put the next records in a fresh segment, so
		// that they never follow a torn record.
		w.off = w.space
		return diskFullErr(fmt.Errorf("append to log: %w", err))
	}
	w.off += int64(n)
	if w.doSync {
		if err := fdatasync(w.f); err != nil {
			w.off = w.space
			return fmt.Errorf("sync log: %w", err)
		}
	}
	return nil
}

// sync flushes the current segment to disk.
func (w *walWriter) sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return errClosed
	}
	if err := fdatasync(w.f); err != nil {
		return fmt.Errorf("sync log: %w", err)
	}
	return nil
}

// close closes the current segment and deletes the spares.
func (w *walWriter) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	for _, p := range w.spares {
		_ = os.Remove(p)
	}
	w.spares = nil
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open log directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync log directory: %w", err)
	}
	return nil
}

// diskFullErr marks err as ErrDiskFull when the filesystem ran out of space, so that the
// caller answers "retry later" as for a write the disk gate refused.
func diskFullErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return err
}
