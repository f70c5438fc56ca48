package inbound

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// MaxEvents is how many events one request may carry.
const MaxEvents = 100

// ErrBadRequest wraps a body that is not an events request at all.
var ErrBadRequest = errors.New("bad events request")

// Request is the body of POST /api/v1/events.
type Request struct {
	Site    string            `json:"site"`
	Consent string            `json:"consent,omitempty"` // granted or denied, for every event
	Events  []json.RawMessage `json:"events"`
}

// Result is the reply: each event accepted, a duplicate of one accepted before, or
// rejected with the reason.
type Result struct {
	Accepted  []string          `json:"accepted"`
	Duplicate []string          `json:"duplicate"`
	Rejected  []event.Rejection `json:"rejected"`
	// Visitors maps each accepted or duplicate event id to the visitor whose journey holds it.
	Visitors map[string]string `json:"visitors"`
}

// Ingester folds back-end events into journeys through the tracker.
type Ingester struct {
	tr     *track.Tracker
	maxAge time.Duration
	track  func(*track.Request, *track.Result) error
}

// SetTrack makes the ingester track each event through fn instead of the tracker itself:
// in cluster mode, through the node that owns the event's visitor. Call it before use.
func (in *Ingester) SetTrack(fn func(*track.Request, *track.Result) error) { in.track = fn }

// NewIngester returns an Ingester; events may be up to maxAge old (the retention).
func NewIngester(tr *track.Tracker, maxAge time.Duration) *Ingester {
	if maxAge <= 0 {
		maxAge = 400 * 24 * time.Hour
	}
	return &Ingester{tr: tr, maxAge: maxAge}
}

// inEvent is what an event of the request may hold beyond the wire event: whose it is.
type inEvent struct {
	VID    string `json:"vid"`
	UserID string `json:"user_id"`
	Type   string `json:"type"`
}

// Ingest records the events of body for site. An event names its visitor by vid (a visitor
// Pathlight knows) or user_id (the visitor linked to that user of the site; a user never
// seen gets a journey of their own). Its type is event (with a name) or identify (traits);
// ts is Unix milliseconds or absent for now.
func (in *Ingester) Ingest(site string, body []byte) (*Result, error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if req.Site != site {
		return nil, fmt.Errorf("%w: site %q is not the key's site %q", ErrBadRequest, req.Site, site)
	}
	if len(req.Events) == 0 || len(req.Events) > MaxEvents {
		return nil, fmt.Errorf("%w: events must hold 1 to %d events", ErrBadRequest, MaxEvents)
	}
	switch req.Consent {
	case "", "granted", "denied":
	default:
		return nil, fmt.Errorf("%w: consent must be granted or denied, not %q", ErrBadRequest, req.Consent)
	}
	res := &Result{Accepted: []string{}, Duplicate: []string{}, Rejected: []event.Rejection{}, Visitors: map[string]string{}}
	lim := event.DefaultLimits()
	lim.MaxPast = in.maxAge
	lim.MaxEvents = 1
	for i, raw := range req.Events {
		if err := in.one(site, req.Consent, i, raw, &lim, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// one tracks event i.
func (in *Ingester) one(site, consent string, i int, raw json.RawMessage, lim *event.Limits, res *Result) error {
	reject := func(id, reason string) {
		res.Rejected = append(res.Rejected, event.Rejection{ID: id, Index: i, Reason: reason})
	}
	var who inEvent
	if err := json.Unmarshal(raw, &who); err != nil {
		reject("", "not an event object: "+err.Error())
		return nil
	}
	// The rest is a browser event on the wire: the same decoder validates it.
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(raw, &fields)
	id := ""
	_ = json.Unmarshal(fields["id"], &id)
	delete(fields, "vid")
	switch who.Type {
	case "event", "identify":
	default:
		reject(id, fmt.Sprintf("type must be event or identify, not %q", who.Type))
		return nil
	}
	if (who.VID == "") == (who.UserID == "") {
		reject(id, "give the visitor as vid or user_id (one of them)")
		return nil
	}
	if who.VID != "" {
		if err := track.CheckVID(who.VID); err != nil {
			reject(id, err.Error())
			return nil
		}
		if _, err := in.tr.Visitor(who.VID); errors.Is(err, track.ErrUnknownVisitor) {
			reject(id, "unknown visitor "+who.VID)
			return nil
		} else if err != nil {
			return err
		}
	}
	vid := who.VID
	if who.UserID != "" {
		linked, err := in.tr.UserVID(site, who.UserID)
		if err != nil {
			return err
		}
		vid = linked
		if who.Type == "event" {
			// Link the event to the user: an identify before it, with an id derived from
			// the event's, so that a retry of the request is a duplicate too.
			if vid == "" {
				idf, _ := json.Marshal(map[string]string{"id": id + ":identify", "type": "identify", "user_id": who.UserID})
				fields["__identify"] = idf
			}
			delete(fields, "user_id")
		}
	}
	events := []json.RawMessage{}
	if idf, ok := fields["__identify"]; ok {
		events = append(events, idf)
		delete(fields, "__identify")
	}
	ev, _ := json.Marshal(fields)
	events = append(events, ev)
	batch := map[string]any{"site": site, "events": events}
	if vid != "" {
		batch["vid"] = vid
	}
	if consent != "" {
		batch["consent"] = consent
	}
	wire, err := json.Marshal(batch)
	if err != nil {
		return err
	}
	var b event.Batch
	lim.MaxEvents = len(events)
	rej, err := event.DecodeBatch(wire, &b, time.Now().UnixMilli(), lim)
	if err != nil {
		reject(id, err.Error())
		return nil
	}
	for _, r := range rej {
		reject(id, r.Reason)
		return nil
	}
	var tr track.Result
	trackFn := in.track
	if trackFn == nil {
		trackFn = in.tr.Track
	}
	if err := trackFn(&track.Request{Batch: &b, Offline: true}, &tr); err != nil {
		return err
	}
	for _, r := range tr.Rejected {
		reject(id, r.Reason)
	}
	if !tr.Tracked {
		reject(id, "the visitor has not consented: nothing is recorded for them")
		return nil
	}
	for _, a := range tr.Accepted {
		if a == id {
			res.Accepted = append(res.Accepted, id)
			res.Visitors[id] = tr.VID
		}
	}
	for _, d := range tr.Duplicate {
		if d == id {
			res.Duplicate = append(res.Duplicate, id)
			res.Visitors[id] = tr.VID
		}
	}
	return nil
}
