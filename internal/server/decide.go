package server

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// decodeDecide reads /v1/decide's parameters from the query string or a small JSON body:
// site, vid, slots (comma-separated or a list), url and consent. It holds them to the same
// rules as a hit and answers a bad request itself, returning false.
func (s *Server) decodeDecide(ctx *fasthttp.RequestCtx, b *event.Batch, req *track.Request) bool {
	args := ctx.QueryArgs()
	b.Site = string(args.Peek("site"))
	b.VID = string(args.Peek("vid"))
	req.DecideURL = string(args.Peek("url"))
	consent := string(args.Peek("consent"))
	for _, sl := range strings.Split(string(args.Peek("slots")), ",") {
		if sl = strings.TrimSpace(sl); sl != "" {
			b.Slots = append(b.Slots, sl)
		}
	}
	if ctx.IsPost() && len(ctx.PostBody()) > 0 {
		if !jsonOrText(ctx.Request.Header.ContentType()) {
			s.fail(ctx, fasthttp.StatusUnsupportedMediaType, "content_type", "send JSON with Content-Type application/json or text/plain")
			return false
		}
		var body struct {
			Site    string   `json:"site"`
			VID     string   `json:"vid"`
			Slots   []string `json:"slots"`
			URL     string   `json:"url"`
			Consent string   `json:"consent"`
		}
		dec := json.NewDecoder(bytes.NewReader(ctx.PostBody()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			s.fail(ctx, fasthttp.StatusBadRequest, "bad_json", "decide body: "+jsonProblem(err))
			return false
		}
		if _, err := dec.Token(); err != io.EOF {
			s.fail(ctx, fasthttp.StatusBadRequest, "bad_json", "decide body: data after the JSON object")
			return false
		}
		b.Site = cmp.Or(body.Site, b.Site)
		b.VID = cmp.Or(body.VID, b.VID)
		req.DecideURL = cmp.Or(body.URL, req.DecideURL)
		consent = cmp.Or(body.Consent, consent)
		b.Slots = append(b.Slots, body.Slots...)
	}
	switch consent {
	case "":
	case "granted":
		b.Consent = event.ConsentGranted
	case "denied":
		b.Consent = event.ConsentDenied
	default:
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "consent: want granted or denied, got "+quote(consent))
		return false
	}
	// As in a hit: the first MaxSlots names a rule can define are answered, others not.
	b.Slots = slices.DeleteFunc(b.Slots, func(sl string) bool { return sl == "" || len(sl) > s.decLim.MaxSlotLen })
	b.Slots = b.Slots[:min(len(b.Slots), s.decLim.MaxSlots)]
	if len(req.DecideURL) > s.decLim.MaxURL {
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "url longer than "+itoa(s.decLim.MaxURL)+" bytes")
		return false
	}
	req.DecideOnly = true
	return true
}

// jsonProblem says what is wrong with a JSON body in words, without encoding/json's Go types.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return "invalid JSON at byte " + strconv.FormatInt(syntax.Offset, 10) + ": " + syntax.Error()
	case errors.As(err, &typ) && typ.Field != "":
		return quote(typ.Field) + " must be " + jsonKind(typ.Type.Kind()) + ", not " + typ.Value
	case errors.As(err, &typ):
		return "want a JSON object, not " + typ.Value
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON object is cut short"
	}
	return strings.TrimPrefix(err.Error(), "json: ") // unknown field "x"
}

func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	}
	return k.String()
}
