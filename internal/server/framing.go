package server

import (
	"bytes"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"
)

// Request framing (RFC 9112, section 6). The server and every proxy in front of it must agree
// where a request ends; where they could disagree, bytes that a proxy forwarded as the body
// of one request would be read here as a request of their own, one the proxy never checked
// (request smuggling). Such a request is answered 400 bad_framing and its connection closed,
// so nothing after it on that connection is read.
//
// fasthttp refuses most ambiguous framings while it reads the headers or the chunks and
// closes the connection (handleError names the fault, framingFault). Three it accepts, and
// framingProblem finds them in the raw headers before any route runs.

// framingProblem returns what makes a request's framing ambiguous, or "" when nothing does.
// raw is the request's header block as received (RequestHeader.RawHeaders). It finds:
//   - Content-Length beside Transfer-Encoding. fasthttp reads the chunks and keeps the
//     connection, where a proxy reading Content-Length sees other requests (section 6.1
//     allows refusing it and requires closing the connection at least).
//   - A Transfer-Encoding whose final coding is not chunked (identity): fasthttp reads no
//     body at all, so the body would be read as the next request. Section 6.1 requires 400
//     and closing the connection.
//   - A header folded onto a second line (obs-fold). fasthttp joins the lines, where another
//     parser may read the second one as a header of its own; section 5.2 allows refusing it.
//
// It allocates nothing: it runs for every request.
func framingProblem(raw []byte) string {
	var contentLength, transfer, chunked bool
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			continue
		}
		switch c := line[0]; {
		case c == ' ' || c == '\t':
			return "a header folded onto a second line (obs-fold, RFC 9112 section 5.2); send each header on one line"
		case c|0x20 == 'c' && hasFoldPrefix(line, "content-length:"):
			contentLength = true
		case c|0x20 == 't' && hasFoldPrefix(line, "transfer-encoding:"):
			transfer = true
			v := bytes.Trim(line[len("transfer-encoding:"):], " \t")
			chunked = bytes.EqualFold(v, []byte("chunked"))
		}
	}
	switch {
	case transfer && contentLength:
		return "both Content-Length and Transfer-Encoding (RFC 9112 section 6.1); send one of them"
	case transfer && !chunked:
		return "a Transfer-Encoding other than chunked (RFC 9112 section 6.1); send Content-Length, or chunked alone"
	}
	return ""
}

func hasFoldPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && bytes.EqualFold(b[:len(prefix)], []byte(prefix))
}

// refuseFraming answers a request whose framing is ambiguous and closes its connection, so
// that no byte after it is read as a request.
func (s *Server) refuseFraming(ctx *fasthttp.RequestCtx, msg string) {
	ctx.SetConnectionClose()
	s.fail(ctx, fasthttp.StatusBadRequest, "bad_framing", msg)
}

// framingFaults name the framing errors of fasthttp's request reader by how their text
// begins (after "error when reading … headers: "): few of its errors are typed.
// TestFramingAmbiguityClosesTheConnection pins each one, so a fasthttp release that words them
// otherwise fails it rather than answering a vaguer reason. Their own text is not sent back:
// it quotes the request's bytes.
var framingFaults = []struct{ prefix, msg string }{
	{"fasthttp: duplicate content-length", "Content-Length must be one whole number of bytes, sent once"},
	{"cannot parse content-length", "Content-Length must be one whole number of bytes, sent once"},
	{"fasthttp: unsupported transfer-encoding", "Transfer-Encoding must be chunked alone, sent once, and only in HTTP/1.1"},
	{"unsupported transfer-encoding", "Transfer-Encoding must be chunked alone, sent once, and only in HTTP/1.1"},
	{"too many transfer-encoding", "Transfer-Encoding must be chunked alone, sent once, and only in HTTP/1.1"},
	{"forbidden trailer", "the trailer of a chunked body must not carry Content-Length, Transfer-Encoding or other framing headers"},
	{"empty hex number", "malformed chunked body: a chunk size must be a hexadecimal number"},
	{"too large hex number", "malformed chunked body: a chunk size too large to be real"},
	{"invalid header key", "malformed header line: no space is allowed between a header's name and its colon"},
	{"malformed mime header", "malformed header line: want a name, a colon and a value"},
	{"invalid header value", "malformed header value: control characters (a bare CR?) are not allowed"},
	{"invalid headers, headers cannot start with space", "a header folded onto a second line (obs-fold, RFC 9112 section 5.2); send each header on one line"},
}

// framingFault says what is wrong with the framing of a request fasthttp could not read, or
// "" when err is about something else.
func framingFault(err error) string {
	text := err.Error()
	if rest, ok := strings.CutPrefix(text, "error when reading "); ok {
		if _, after, ok := strings.Cut(rest, " headers: "); ok {
			text = after
		}
	}
	for _, f := range framingFaults {
		if strings.HasPrefix(text, f.prefix) {
			return f.msg
		}
	}
	if broken := (fasthttp.ErrBrokenChunk{}); errors.As(err, &broken) {
		return "malformed chunked body: each chunk is its hexadecimal size, CRLF, that many bytes, CRLF"
	}
	return ""
}
