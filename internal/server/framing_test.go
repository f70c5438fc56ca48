package server_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// smuggled is the request an attacker hides after an ambiguously framed one: served, it
// would be answered 404 (no such route) on the same connection.
const smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

// rawReply is what came back on one connection: every response read, and whether the server
// closed the connection afterwards.
type rawReply struct {
	status  []int
	reasons []string
	closed  bool
	err     error // the read error that ended the exchange
}

// exchange writes raw bytes on a fresh connection to addr and reads responses until the
// server closes the connection or nothing more comes within a second.
func exchange(t *testing.T, addr, raw string) rawReply { return exchangeRaw(t, addr, raw, false) }

// exchangeRaw is exchange; with halfClose it also closes its side for writing after the
// bytes, so that the server reads their end rather than waiting for more.
func exchangeRaw(t *testing.T, addr, raw string, halfClose bool) rawReply {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	if halfClose {
		_ = c.(*net.TCPConn).CloseWrite()
	}
	var out rawReply
	br := bufio.NewReader(c)
	for {
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			out.err = err
			// End of stream or a reset (the server closed with bytes of ours unread) is a
			// close; a timeout is a connection left open.
			var ne net.Error
			out.closed = !(errors.As(err, &ne) && ne.Timeout())
			return out
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out.status = append(out.status, resp.StatusCode)
		out.reasons = append(out.reasons, resp.Header.Get("X-Pathlight-Reason"))
	}
}

// chunkedHit is a well-framed chunked body of an empty batch for site shop.
func chunkedHit() string {
	const body = `{"site":"shop","events":[]}`
	return strconv.FormatInt(int64(len(body)), 16) + "\r\n" + body + "\r\n0\r\n\r\n"
}

// framingCase is a request whose length two HTTP parsers could read differently, followed
// by the smuggled request; want is a part of the reason it must be refused with.
type framingCase struct{ name, raw, want string }

// framingCases are the ambiguous framings of RFC 9112 (sections 5 to 7) and their variants
// known from request-smuggling attacks.
func framingCases() []framingCase {
	const post = "POST /v1/hit HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
	body := chunkedHit()
	// clte is the classic attack: a proxy that reads Content-Length forwards everything as
	// one request; a server that reads the chunks sees a second one.
	clte := "0\r\n\r\n" + smuggled
	return []framingCase{
		{"Content-Length and chunked", post + "Content-Length: " + itoa(len(clte)) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + clte, "both Content-Length"},
		{"chunked and Content-Length", post + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + body + smuggled, "both Content-Length"},
		{"chunked, upper case, and Content-Length", post + "Transfer-Encoding: CHUNKED\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled, "both Content-Length"},
		{"two different Content-Lengths", post + "Content-Length: 0\r\nContent-Length: " + itoa(len(smuggled)) + "\r\n\r\n" + smuggled, "Content-Length must"},
		{"two equal Content-Lengths", post + "Content-Length: 0\r\nContent-Length: 0\r\n\r\n" + smuggled, "Content-Length must"},
		{"a Content-Length list", post + "Content-Length: 0, " + itoa(len(smuggled)) + "\r\n\r\n" + smuggled, "Content-Length must"},
		{"a signed Content-Length", post + "Content-Length: +0\r\n\r\n" + smuggled, "Content-Length must"},
		{"a hex Content-Length", post + "Content-Length: 0x0\r\n\r\n" + smuggled, "Content-Length must"},
		{"an empty Content-Length", post + "Content-Length: \r\n\r\n" + smuggled, "Content-Length must"},
		{"an overflowing Content-Length", post + "Content-Length: 18446744073709551617\r\n\r\n" + smuggled, "Content-Length must"},
		{"Transfer-Encoding identity", post + "Transfer-Encoding: identity\r\n\r\n" + smuggled, "other than chunked"},
		{"Transfer-Encoding identity and Content-Length", post + "Transfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n" + smuggled, "both Content-Length"},
		{"Transfer-Encoding gzip", post + "Transfer-Encoding: gzip\r\n\r\n" + smuggled, "Transfer-Encoding must"},
		{"Transfer-Encoding gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n" + body + smuggled, "Transfer-Encoding must"},
		{"Transfer-Encoding chunked, gzip", post + "Transfer-Encoding: chunked, gzip\r\n\r\n" + body + smuggled, "Transfer-Encoding must"},
		{"Transfer-Encoding chunked, chunked", post + "Transfer-Encoding: chunked, chunked\r\n\r\n" + body + smuggled, "Transfer-Encoding must"},
		{"two Transfer-Encoding headers", post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" + body + smuggled, "Transfer-Encoding must"},
		{"an empty Transfer-Encoding", post + "Transfer-Encoding: \r\nContent-Length: 0\r\n\r\n" + smuggled, "Transfer-Encoding must"},
		{"Transfer-Encoding in HTTP/1.0", "POST /v1/hit HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" + body + smuggled, "Transfer-Encoding must"},
		{"Transfer-Encoding and Content-Length in HTTP/1.0", "POST /v1/hit HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n" + smuggled, "Transfer-Encoding must"},
		{"space before the colon of Transfer-Encoding", post + "Transfer-Encoding : chunked\r\n\r\n" + body + smuggled, "between a header's name and its colon"},
		{"space before the colon of Content-Length", post + "Content-Length : 0\r\n\r\n" + smuggled, "between a header's name and its colon"},
		{"tab before the colon", post + "Content-Length\t: 0\r\n\r\n" + smuggled, "a name, a colon and a value"},
		{"obs-fold of Transfer-Encoding", post + "Transfer-Encoding:\r\n chunked\r\n\r\n" + body + smuggled, "obs-fold"},
		{"obs-fold of Content-Length", post + "Content-Length:\r\n\t0\r\n\r\n" + smuggled, "obs-fold"},
		{"obs-fold of another header", post + "X-Note: a\r\n b\r\nContent-Length: 0\r\n\r\n" + smuggled, "obs-fold"},
		{"a bare CR in a header", post + "X-Note: a\rTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n" + smuggled, "control characters"},
		{"a negative chunk size", post + "Transfer-Encoding: chunked\r\n\r\n-1\r\n\r\n0\r\n\r\n" + smuggled, "hexadecimal number"},
		{"a hex-prefixed chunk size", post + "Transfer-Encoding: chunked\r\n\r\n0x1b\r\n" + `{"site":"shop","events":[]}` + "\r\n0\r\n\r\n" + smuggled, "each chunk is"},
		{"an overflowing chunk size", post + "Transfer-Encoding: chunked\r\n\r\n1" + strings.Repeat("0", 16) + "1\r\nx\r\n0\r\n\r\n" + smuggled, "too large"},
		{"an empty chunk size", post + "Transfer-Encoding: chunked\r\n\r\n\r\n\r\n0\r\n\r\n" + smuggled, "hexadecimal number"},
		{"a chunk size with a space", post + "Transfer-Encoding: chunked\r\n\r\n1 b\r\n" + `{"site":"shop","events":[]}` + "\r\n0\r\n\r\n" + smuggled, "each chunk is"},
		{"a chunk size ended by LF", post + "Transfer-Encoding: chunked\r\n\r\n0\n\r\n" + smuggled, "each chunk is"},
		{"a chunk extension with LF", post + "Transfer-Encoding: chunked\r\n\r\n0;x\ny\r\n\r\n" + smuggled, "each chunk is"},
		{"a chunk longer than its size", post + "Transfer-Encoding: chunked\r\n\r\n1\r\nxx\r\n0\r\n\r\n" + smuggled, "each chunk is"},
		{"a chunk without its CRLF", post + "Transfer-Encoding: chunked\r\n\r\n1\r\nx0\r\n\r\n" + smuggled, "each chunk is"},
		{"Content-Length in the trailer", post + "Transfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n" + smuggled, "trailer"},
		{"Transfer-Encoding in the trailer", post + "Transfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled, "trailer"},
	}
}

// TestFramingAmbiguityClosesTheConnection sends requests whose length two HTTP parsers could
// read differently (RFC 9112, section 6), each followed on the same connection by a second
// request. A server that answers the second one can be made to serve a request that a proxy
// in front of it never saw (request smuggling). Each must be answered 400 with a reason, and
// the connection closed, before the second request is read.
func TestFramingAmbiguityClosesTheConnection(t *testing.T) {
	ts := start(t)
	addr := strings.TrimPrefix(ts.url, "http://")
	tests := framingCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exchange(t, addr, tt.raw)
			if len(r.status) != 1 || r.status[0] != 400 {
				t.Fatalf("statuses %v (reasons %q, then %v); want one 400, nothing for the second request", r.status, r.reasons, r.err)
			}
			if !strings.HasPrefix(r.reasons[0], "bad_framing: ") || !strings.Contains(r.reasons[0], tt.want) {
				t.Errorf("X-Pathlight-Reason = %q; want bad_framing: …%s…", r.reasons[0], tt.want)
			}
			if !r.closed {
				t.Errorf("connection left open after the 400 (%v); want it closed", r.err)
			}
		})
	}
}

// TestWellFramedRequestsKeepTheConnection is the control of the test above: requests framed
// one way only are answered one after the other on one connection.
func TestWellFramedRequestsKeepTheConnection(t *testing.T) {
	ts := start(t)
	addr := strings.TrimPrefix(ts.url, "http://")
	tests := wellFramed()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := exchange(t, addr, tt.raw+smuggled)
			if len(r.status) != 2 || r.status[0] != 200 || r.status[1] != 404 {
				t.Fatalf("statuses %v (reasons %q, then %v); want 200 then 404 for the second request", r.status, r.reasons, r.err)
			}
		})
	}
}

// wellFramed are requests framed one way only.
func wellFramed() []struct{ name, raw string } {
	const post = "POST /v1/hit HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
	const body = `{"site":"shop","events":[]}`
	return []struct{ name, raw string }{
		{"Content-Length", post + "Content-Length: " + itoa(len(body)) + "\r\n\r\n" + body},
		{"chunked", post + "Transfer-Encoding: chunked\r\n\r\n" + chunkedHit()},
		{"chunked with an extension and a trailer", post + "Transfer-Encoding: chunked\r\n\r\n" +
			strconv.FormatInt(int64(len(body)), 16) + ";note=1\r\n" + body + "\r\n0\r\nX-Sum: 1\r\n\r\n"},
		{"chunked in two chunks", post + "Transfer-Encoding: Chunked\r\n\r\n5\r\n" + body[:5] + "\r\n" +
			strconv.FormatInt(int64(len(body)-5), 16) + "\r\n" + body[5:] + "\r\n0\r\n\r\n"},
		{"a GET with a body", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: " + itoa(len(smuggled)) + "\r\n\r\n" + smuggled},
		{"HTTP/1.0 keep-alive", "POST /v1/hit HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nContent-Type: text/plain\r\nContent-Length: " + itoa(len(body)) + "\r\n\r\n" + body},
	}
}

// FuzzRequestFraming sends raw bytes to a real server: the framing cases and the well-framed
// requests, each followed by a second request, mutated. Whatever the bytes, the server answers
// nothing with a 5xx, and nothing after a bad_framing refusal: the connection ends there.
func FuzzRequestFraming(f *testing.F) {
	for _, c := range framingCases() {
		f.Add([]byte(c.raw))
	}
	for _, c := range wellFramed() {
		f.Add([]byte(c.raw + smuggled))
	}
	ts := start(f, "--rate-ip", "1000000", "--burst-ip", "1000000", "--rate-visitor", "1000000", "--burst-visitor", "1000000")
	addr := strings.TrimPrefix(ts.url, "http://")
	f.Fuzz(func(t *testing.T, raw []byte) {
		r := exchangeRaw(t, addr, string(raw), true)
		for i, st := range r.status {
			if st >= 500 {
				t.Fatalf("%q: status %d (%s)", raw, st, r.reasons[i])
			}
			if strings.HasPrefix(r.reasons[i], "bad_framing:") && i != len(r.status)-1 {
				t.Fatalf("%q: statuses %v (%q): answered after a bad_framing refusal", raw, r.status, r.reasons)
			}
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }
