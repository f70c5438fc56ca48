package server

import (
	"strconv"
	"sync"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// bufs pools response buffers. A buffer taken with getBuf belongs to the caller until putBuf;
// fasthttp's SetBody copies it, so it can go back right after.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuf() *[]byte { return bufs.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		bufs.Put(b)
	}
}

// appendResult encodes the reply of /v1/hit and /v1/decide:
// {"vid","keep_vid","accepted","duplicate","rejected","decisions":{"slots":{…},"prompts":[…]}}.
// keep_vid says whether the visitor may keep vid and send it back: true where the server sets
// it as the pl_vid cookie too (cookie mode, with consent); false in cookieless mode, where the
// browser must keep nothing, and for visitors without per-visitor state.
func appendResult(b []byte, r *track.Result, rejected []event.Rejection) []byte {
	b = append(b, `{"vid":`...)
	b = event.AppendJSONString(b, r.VID)
	b = append(b, `,"keep_vid":`...)
	b = strconv.AppendBool(b, r.SetCookie && r.VID != "")
	b = append(b, `,"accepted":`...)
	b = appendStrings(b, r.Accepted)
	if r.Queued {
		b = append(b, `,"queued":true`...)
	}
	b = append(b, `,"duplicate":`...)
	b = appendStrings(b, r.Duplicate)
	b = append(b, `,"rejected":[`...)
	for i, rj := range rejected {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = event.AppendJSONString(b, rj.ID)
		b = append(b, `,"reason":`...)
		b = event.AppendJSONString(b, rj.Reason)
		b = append(b, '}')
	}
	b = append(b, `],"decisions":`...)
	b = r.Decisions.AppendJSON(b)
	return append(b, '}')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, s)
	}
	return append(b, ']')
}

func quote(s string) string { return strconv.Quote(s) }

func itoa(n int) string { return strconv.Itoa(n) }

// headerSafe keeps a header value to printable ASCII on one line.
func headerSafe(s string) string {
	if len(s) > 200 {
		s = s[:200]
	}
	out := []byte(s)
	for i, c := range out {
		if c < 0x20 || c >= 0x7f {
			out[i] = '?'
		}
	}
	return string(out)
}
