package cluster

import (
	"encoding/json"
	"errors"
	"net/netip"
	"time"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/track"
)

// Requests that do not come over HTTP from a browser (the events API for back ends) are
// tracked by the owner of their visitor too: the request travels as its batch in the wire
// format plus what the tracker needs beside it, and the result comes back.

const hdrKind = "Pathlight-Kind"

// remoteRequest is a track.Request on its way to the visitor's owner.
type remoteRequest struct {
	Batch      json.RawMessage `json:"batch"` // event.AppendBatchJSON
	UserAgent  string          `json:"ua,omitempty"`
	IP         string          `json:"ip,omitempty"`
	CDNCountry string          `json:"cc,omitempty"`
	CookieVID  string          `json:"cookie,omitempty"`
	GPC        bool            `json:"gpc,omitempty"`
	Decisions  bool            `json:"decisions,omitempty"`
	Now        int64           `json:"now,omitempty"`
	Offline    bool            `json:"offline,omitempty"`
	Deadline   int64           `json:"deadline,omitempty"` // Unix ms
	// A request kept in the outbox: when it first arrived (Unix ms), and the id of the
	// visitor it was tracked for (for one minted then).
	Arrived    int64  `json:"arrived,omitempty"`
	NewVID     string `json:"new_vid,omitempty"`
	DecideOnly bool   `json:"decide_only,omitempty"`
	DecideURL  string `json:"decide_url,omitempty"`
}

// remoteResult is a track.Result on its way back (decisions are not carried: the requests
// that travel this way ask for none).
type remoteResult struct {
	Error     string            `json:"error,omitempty"`
	VID       string            `json:"vid"`
	SetCookie bool              `json:"set_cookie,omitempty"`
	Tracked   bool              `json:"tracked,omitempty"`
	Bot       bool              `json:"bot,omitempty"`
	Accepted  []string          `json:"accepted"`
	Duplicate []string          `json:"duplicate"`
	Rejected  []event.Rejection `json:"rejected"`
	Queued    bool              `json:"queued,omitempty"`
}

// Track returns a function that tracks a request as tr.Track does, but on the node that
// owns the request's visitor: here when this node owns it (or no owner answers within
// --cluster-wait), else there. A request for a new visitor gets an id minted here.
// Requests that ask for decisions go through HTTP forwarding instead (server.Cluster).
func (n *Node) Track(tr *track.Tracker) func(*track.Request, *track.Result) error {
	return func(req *track.Request, res *track.Result) error {
		vid := tr.PeekVID(req)
		if vid == "" {
			if req.NewVID == "" {
				req.NewVID = n.MintVID()
			}
			return tr.Track(req, res)
		}
		if req.Deadline.IsZero() {
			req.Deadline = time.Now().Add(n.opt.Wait)
		}
		if n.out.pendingVisitor(vid) {
			return tr.Track(req, res) // queued behind the visitor's earlier request
		}
		reply, ok := n.forward(vid, kindTrack, func() []byte { return encodeRemote(req) })
		if !ok {
			return tr.Track(req, res)
		}
		var rr remoteResult
		if err := json.Unmarshal(reply, &rr); err != nil {
			return err
		}
		if rr.Error != "" {
			return remoteError(rr.Error)
		}
		res.VID, res.SetCookie, res.Tracked, res.Bot, res.Queued = rr.VID, rr.SetCookie, rr.Tracked, rr.Bot, rr.Queued
		res.Accepted = append(res.Accepted, rr.Accepted...)
		res.Duplicate = append(res.Duplicate, rr.Duplicate...)
		res.Rejected = append(res.Rejected, rr.Rejected...)
		return nil
	}
}

// remoteError is the error of a request tracked on another node; the overload, disk and
// outbox errors keep their identity so that callers answer as they would here.
func remoteError(msg string) error {
	for _, e := range []error{track.ErrOverloaded, track.ErrDiskFull, track.ErrQueueFull, track.ErrCommitTooLarge} {
		if msg == e.Error() {
			return e
		}
	}
	return errors.New("on the visitor's node: " + msg)
}

func encodeRemote(req *track.Request) []byte {
	r := remoteRequest{
		Batch: event.AppendBatchJSON(nil, req.Batch), UserAgent: req.UserAgent, CDNCountry: req.CDNCountry,
		CookieVID: req.CookieVID, GPC: req.GPC, Decisions: req.Decisions, Now: req.Now, Offline: req.Offline,
		Arrived: req.Arrived, NewVID: req.NewVID, DecideOnly: req.DecideOnly, DecideURL: req.DecideURL,
	}
	if req.IP.IsValid() {
		r.IP = req.IP.String()
	}
	if !req.Deadline.IsZero() {
		r.Deadline = req.Deadline.UnixMilli()
	}
	b, _ := json.Marshal(r) // plain fields: cannot fail
	return b
}

// serveTrack tracks a request another node sent (Track) and returns the encoded result.
func (n *Node) serveTrack(data []byte) []byte {
	out := func(rr remoteResult) []byte {
		b, _ := json.Marshal(rr)
		return b
	}
	tr := n.tracker.Load()
	if tr == nil {
		return out(remoteResult{Error: "this node has no tracker yet"})
	}
	var b event.Batch
	req, err := decodeRemote(data, &b)
	if err != nil {
		return out(remoteResult{Error: err.Error()})
	}
	var res track.Result
	if err := tr.Track(req, &res); err != nil {
		msg := err.Error()
		for _, e := range []error{track.ErrOverloaded, track.ErrDiskFull, track.ErrQueueFull, track.ErrCommitTooLarge} {
			if errors.Is(err, e) {
				msg = e.Error()
			}
		}
		return out(remoteResult{Error: msg})
	}
	return out(remoteResult{VID: res.VID, SetCookie: res.SetCookie, Tracked: res.Tracked, Bot: res.Bot,
		Accepted: res.Accepted, Duplicate: res.Duplicate, Rejected: res.Rejected, Queued: res.Queued})
}

// decodeRemote decodes a request encodeRemote encoded, its batch into b.
func decodeRemote(data []byte, b *event.Batch) (*track.Request, error) {
	var rq remoteRequest
	if err := json.Unmarshal(data, &rq); err != nil {
		return nil, errors.New("bad request: " + err.Error())
	}
	lim := event.DefaultLimits()
	lim.MaxPast = 100 * 365 * 24 * time.Hour // the sending node held the events to its limits
	lim.MaxEvents = 1 << 16
	now := time.Now().UnixMilli()
	if rq.Now > 0 {
		now = rq.Now
	}
	if _, err := event.DecodeBatch(rq.Batch, b, now, &lim); err != nil {
		return nil, errors.New("bad batch: " + err.Error())
	}
	req := &track.Request{Batch: b, UserAgent: rq.UserAgent, CDNCountry: rq.CDNCountry, CookieVID: rq.CookieVID,
		GPC: rq.GPC, Decisions: rq.Decisions, Now: rq.Now, Offline: rq.Offline, Arrived: rq.Arrived,
		NewVID: rq.NewVID, DecideOnly: rq.DecideOnly, DecideURL: rq.DecideURL}
	req.IP, _ = netip.ParseAddr(rq.IP)
	if rq.Deadline > 0 {
		req.Deadline = time.UnixMilli(rq.Deadline)
	}
	return req, nil
}
