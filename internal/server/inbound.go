package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/inbound"
)

// The events API for back ends, and its keys:
//
//	POST   /api/v1/events      a site API key sends events for user ids or visitor ids
//	POST   /api/v1/keys        admin: create a key for a site ({"site", "name"}); the secret is shown once
//	GET    /api/v1/keys        admin: the keys, without secrets
//	DELETE /api/v1/keys/{id}   admin: revoke a key

// inboundRoute answers POST /api/v1/events, which authenticates with a site API key rather
// than the admin token; it reports whether the request was that.
func (s *Server) inboundRoute(ctx *fasthttp.RequestCtx) bool {
	if string(ctx.Path()) != "/api/v1/events" || !ctx.IsPost() {
		return false
	}
	if s.ingest == nil || s.keys == nil {
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "no_events_api", "this server does not take events from back ends")
		return true
	}
	scheme, secret, _ := bytes.Cut(bytes.TrimSpace(ctx.Request.Header.Peek("Authorization")), []byte(" "))
	if !bytes.EqualFold(scheme, []byte("Bearer")) || len(secret) == 0 {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="pathlight events"`)
		s.fail(ctx, fasthttp.StatusUnauthorized, "unauthorised", "events API: send Authorization: Bearer <site API key>")
		return true
	}
	key, ok, err := s.keys.Check(string(bytes.TrimSpace(secret)))
	switch {
	case err != nil:
		s.log.Error("check API key", "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the API key could not be checked")
		return true
	case !ok && s.bearerOK(ctx.Request.Header.Peek("Authorization")):
		s.fail(ctx, fasthttp.StatusForbidden, "forbidden", "the admin token does not send events: create a site API key with POST /api/v1/keys")
		return true
	case !ok:
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="pathlight events"`)
		s.fail(ctx, fasthttp.StatusUnauthorized, "unauthorised", "events API: unknown or revoked API key")
		return true
	}
	if _, known := s.sites[key.Site]; !known {
		s.fail(ctx, fasthttp.StatusForbidden, "unknown_site", "the key's site "+quote(key.Site)+" is no longer served")
		return true
	}
	res, err := s.ingest.Ingest(key.Site, ctx.PostBody())
	switch {
	case errors.Is(err, inbound.ErrBadRequest):
		s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", err.Error())
	case err != nil:
		s.log.Error("ingest events", "site", key.Site, "err", err)
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the events could not all be recorded; send them again (ids deduplicate)")
	default:
		s.writeJSON(ctx, fasthttp.StatusOK, res)
	}
	return true
}

// eventsKeyOK reports whether a request to the events API carries a valid site API key.
func (s *Server) eventsKeyOK(ctx *fasthttp.RequestCtx) bool {
	if s.keys == nil || string(ctx.Path()) != "/api/v1/events" {
		return false
	}
	scheme, secret, _ := bytes.Cut(bytes.TrimSpace(ctx.Request.Header.Peek("Authorization")), []byte(" "))
	if !bytes.EqualFold(scheme, []byte("Bearer")) {
		return false
	}
	_, ok, err := s.keys.Check(string(bytes.TrimSpace(secret)))
	return ok && err == nil
}

// keysRoute answers the admin routes of API keys; it reports whether the path was one.
func (s *Server) keysRoute(ctx *fasthttp.RequestCtx, parts []string) bool {
	if parts[0] != "keys" || len(parts) > 2 {
		return false
	}
	if s.keys == nil {
		s.fail(ctx, fasthttp.StatusServiceUnavailable, "no_events_api", "this server does not take events from back ends")
		return true
	}
	switch {
	case len(parts) == 1 && ctx.IsPost():
		var body struct {
			Site string `json:"site"`
			Name string `json:"name"`
		}
		dec := json.NewDecoder(bytes.NewReader(ctx.PostBody()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			s.fail(ctx, fasthttp.StatusBadRequest, "bad_json", "want {\"site\": \"<site id>\", \"name\": \"<what uses it>\"}: "+err.Error())
			return true
		}
		if body.Site == "" {
			s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "site is required")
			return true
		}
		if !s.knownSite(ctx, body.Site) {
			return true
		}
		if len(body.Name) > 100 {
			s.fail(ctx, fasthttp.StatusBadRequest, "bad_request", "name is longer than 100 bytes")
			return true
		}
		key, secret, err := s.keys.Create(body.Site, strings.TrimSpace(body.Name))
		if err != nil {
			s.log.Error("create API key", "err", err)
			s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the key could not be stored")
			return true
		}
		s.writeJSON(ctx, fasthttp.StatusCreated, struct {
			inbound.Key
			Secret string `json:"key"`
		}{key, secret})
	case len(parts) == 1:
		if !s.onlyGet(ctx, nil) {
			return true
		}
		list, err := s.keys.List()
		if err != nil {
			s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the keys could not be read")
			return true
		}
		s.writeJSON(ctx, fasthttp.StatusOK, map[string]any{"keys": list})
	case ctx.IsDelete():
		err := s.keys.Revoke(parts[1])
		switch {
		case errors.Is(err, inbound.ErrUnknownKey):
			s.fail(ctx, fasthttp.StatusNotFound, "unknown_key", err.Error())
		case err != nil:
			s.fail(ctx, fasthttp.StatusServiceUnavailable, "storage", "the key could not be revoked")
		default:
			s.writeJSON(ctx, fasthttp.StatusOK, map[string]any{"revoked": parts[1]})
		}
	default:
		s.methodNotAllowed(ctx, "DELETE")
	}
	return true
}
