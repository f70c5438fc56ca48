package replay

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Limits of a chunk.
const (
	// MaxBody is the largest body of POST /v1/replay, as sent (gzip or JSON).
	MaxBody = 1 << 20
	// MaxRaw is the largest batch once decompressed.
	MaxRaw = 8 << 20
	// MaxEvents is the most rrweb events in one chunk.
	MaxEvents = 20000
	// MaxSeq is the largest chunk number of a session.
	MaxSeq  = 1 << 20
	maxURL  = 2048
	maxPage = 50 // pages remembered per session
)

// ErrTooLarge is a chunk over MaxBody or, decompressed, over MaxRaw.
var ErrTooLarge = errors.New("replay chunk too large")

// Batch is the body of POST /v1/replay: the rrweb events a recording emitted since its last
// batch. Events are kept as they came, unparsed beyond their type and time.
type Batch struct {
	Site    string            `json:"site"`
	VID     string            `json:"vid"`
	Consent string            `json:"consent"`
	Session string            `json:"session"`
	Page    string            `json:"page"`
	Seq     *int64            `json:"seq"`
	Events  []json.RawMessage `json:"events"`
	// Snapshot says that the chunk's full snapshot is to be kept as the page's latest, for
	// the heatmap view (the snippet says so at most once per page per day). A chunk with
	// it and without session and seq is snapshot-only (SnapshotOnly).
	Snapshot bool `json:"snapshot"`
	// First and Last are the earliest and latest event timestamps (Unix ms), set by Parse.
	First, Last int64 `json:"-"`
	// Stored is what is kept of the chunk: the body gzip-compressed (as sent, when it was).
	Stored []byte `json:"-"`
}

// BadInput is an error of a chunk's content: the server answers 400 with its message.
type BadInput struct{ Msg string }

// Error returns the message.
func (e *BadInput) Error() string { return "replay chunk: " + e.Msg }

func bad(format string, a ...any) error { return &BadInput{Msg: fmt.Sprintf(format, a...)} }

// gzipMagic starts every gzip stream; no JSON text starts with it. A page cannot send
// Content-Encoding without a CORS preflight, so the body says itself that it is compressed.
var gzipMagic = []byte{0x1f, 0x8b}

// Parse reads a chunk: JSON, or gzip-compressed JSON (told apart by gzip's magic bytes).
// Unknown members, a malformed session id or sequence number, a page that is no http(s) URL,
// no events, or an event without a numeric type and timestamp are BadInput; a body over
// MaxBody or a batch over MaxRaw is ErrTooLarge.
func Parse(body []byte) (*Batch, error) {
	if len(body) > MaxBody {
		return nil, ErrTooLarge
	}
	raw, stored := body, []byte(nil)
	if bytes.HasPrefix(body, gzipMagic) {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, bad("the body starts as gzip but is not: %v", err)
		}
		raw, err = io.ReadAll(io.LimitReader(zr, MaxRaw+1))
		if err != nil {
			return nil, bad("the gzip body is damaged: %v", err)
		}
		if len(raw) > MaxRaw {
			return nil, ErrTooLarge
		}
		stored = body
	}
	b := new(Batch)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(b); err != nil {
		return nil, bad("%v", err)
	}
	if dec.More() {
		return nil, bad("data after the JSON object")
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	if stored == nil {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		stored = buf.Bytes()
	}
	b.Stored = stored
	return b, nil
}

// eventHead is what the server reads of an rrweb event: its type and time.
type eventHead struct {
	Type      *int     `json:"type"`
	Timestamp *float64 `json:"timestamp"`
}

// SnapshotOnly reports whether b is a snapshot-only chunk: the page's snapshot the server
// asked for (the hit reply's decisions.capture.snapshot), with "snapshot": true and neither
// "session" nor "seq". It belongs to no recorded session: only the snapshot is stored.
func (b *Batch) SnapshotOnly() bool { return b.Snapshot && b.Session == "" && b.Seq == nil }

func (b *Batch) check() error {
	switch {
	case b.Site == "":
		return bad(`"site" is required`)
	case b.SnapshotOnly():
		// No session, no number: the snapshot alone.
		if len(b.Events) > MaxEvents {
			return bad(`"events" lists %d events; at most %d`, len(b.Events), MaxEvents)
		}
	case !ValidSession(b.Session):
		return bad(`"session" must be 8 to 64 letters, digits, '-' or '_'`)
	case b.Seq == nil:
		return bad(`"seq" is required: the chunk's number within the session, from 0 (only a snapshot-only chunk, "snapshot": true, goes without "session" and "seq")`)
	case *b.Seq < 0 || *b.Seq > MaxSeq:
		return bad(`"seq" must be between 0 and %d`, MaxSeq)
	case len(b.Events) == 0:
		return bad(`"events" must list at least one rrweb event`)
	case len(b.Events) > MaxEvents:
		return bad(`"events" lists %d events; at most %d`, len(b.Events), MaxEvents)
	}
	if _, err := PagePath(b.Page); err != nil {
		return err
	}
	for i, raw := range b.Events {
		var h eventHead
		if err := json.Unmarshal(raw, &h); err != nil || h.Type == nil || h.Timestamp == nil || *h.Timestamp < 0 || *h.Timestamp > 1<<53 {
			return bad("event %d is not an rrweb event: it needs a numeric \"type\" and \"timestamp\" (Unix ms)", i)
		}
		ts := int64(*h.Timestamp)
		if i == 0 || ts < b.First {
			b.First = ts
		}
		if ts > b.Last {
			b.Last = ts
		}
	}
	return nil
}

// ValidSession reports whether s is a well-formed session id: 8 to 64 letters, digits, '-'
// or '_' (the snippet mints a UUID).
func ValidSession(s string) bool {
	if len(s) < 8 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// PagePath returns the path of an absolute http(s) page URL ("/" for none).
func PagePath(raw string) (string, error) {
	if len(raw) > maxURL {
		return "", bad(`"page" is longer than %d bytes`, maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", bad(`"page" must be an absolute http or https URL`)
	}
	p := u.EscapedPath()
	if p == "" || !strings.HasPrefix(p, "/") {
		p = "/"
	}
	return p, nil
}

// Events returns the events of a stored chunk.
func Events(stored []byte) ([]json.RawMessage, error) {
	zr, err := gzip.NewReader(bytes.NewReader(stored))
	if err != nil {
		return nil, err
	}
	var b struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.NewDecoder(io.LimitReader(zr, MaxRaw+1)).Decode(&b); err != nil {
		return nil, err
	}
	return b.Events, nil
}
