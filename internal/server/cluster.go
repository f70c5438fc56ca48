package server

import (
	"bufio"
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/event"
)

// Cluster is what the server needs of cluster mode (the command wires the cluster package
// to it); nil runs one server on its own.
type Cluster interface {
	// Forward sends a hit of visitor vid to the node that owns the visitor and returns its
	// reply; forwarded false means this node answers: it owns the visitor, or no owner
	// answered within --cluster-wait (degraded). encode, called only when the hit goes
	// elsewhere, returns the hit to send.
	Forward(vid string, encode func() []byte) (reply []byte, forwarded bool)
	// MintVID returns a new visitor id in a shard this node owns ("" for a random one).
	MintVID() string
	// OutboxFull reports whether the local outbox is full: hits are refused.
	OutboxFull() bool
	// CatchUp waits, at most --cluster-wait, until this node has applied every commit the
	// fleet's stream holds now: before a hit that identifies a user, whose journey another
	// node may have written a moment ago.
	CatchUp()
	// Status describes the node for /healthz and /metrics.
	Status() ClusterStatus
}

// ClusterStatus is a node's state in the fleet.
type ClusterStatus struct {
	Node             string
	StreamConnected  bool
	ShardsOwned      int
	Shards           int
	OutboxEvents     int64
	OutboxBytes      int64
	OutboxAgeSeconds float64
	AppliedSeq       uint64
	StreamLastSeq    uint64
	Forwarded        uint64
	ForwardFailures  uint64
	Applied          uint64
	Takeovers        uint64
	TakeoverSeconds  float64
}

// forwardedHit is what a node that forwarded a hit knew of it beyond the HTTP request: the
// client's address (after trusted proxies), whether it came through one, whether it came
// over HTTPS, and when it arrived.
type forwardedHit struct {
	ip       netip.Addr
	viaProxy bool
	secure   bool
	start    time.Time
}

const (
	hdrFwdIP     = "X-Pathlight-Fwd-Ip"
	hdrFwdProxy  = "X-Pathlight-Fwd-Proxy"
	hdrFwdSecure = "X-Pathlight-Fwd-Secure"
	hdrFwdStart  = "X-Pathlight-Fwd-Start"
	fwdKey       = "pathlight-forwarded"
)

// forward hands the hit in ctx to the owner of vid; true when the owner's reply is now
// ctx's response.
func (s *Server) forward(ctx *fasthttp.RequestCtx, vid string, ip netip.Addr, viaProxy bool, start time.Time) bool {
	reply, ok := s.cluster.Forward(vid, func() []byte {
		var req fasthttp.Request
		ctx.Request.CopyTo(&req)
		req.Header.Set(hdrFwdIP, ip.String())
		if viaProxy {
			req.Header.Set(hdrFwdProxy, "1")
		}
		if secure(ctx, viaProxy) {
			req.Header.Set(hdrFwdSecure, "1")
		}
		req.Header.Set(hdrFwdStart, strconv.FormatInt(start.UnixMilli(), 10))
		var buf bytes.Buffer
		w := bufio.NewWriter(&buf)
		_ = req.Write(w) // into memory: cannot fail
		_ = w.Flush()
		return buf.Bytes()
	})
	if !ok {
		return false
	}
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(bytes.NewReader(reply))); err != nil {
		s.log.Error("cluster: a forwarded hit's reply does not parse", "err", err)
		return false
	}
	resp.CopyTo(&ctx.Response)
	return true
}

// ServeForwarded answers a hit another node forwarded to this one, the owner of its
// visitor: as if it had come here, with the client address the other node saw, and no
// rate limit (the other node applied them). It returns the encoded HTTP response.
func (s *Server) ServeForwarded(raw []byte) []byte {
	var req fasthttp.Request
	var resp fasthttp.Response
	if err := req.Read(bufio.NewReader(bytes.NewReader(raw))); err != nil {
		resp.SetStatusCode(fasthttp.StatusBadRequest)
		return encodeResponse(&resp)
	}
	fh := &forwardedHit{viaProxy: string(req.Header.Peek(hdrFwdProxy)) == "1", secure: string(req.Header.Peek(hdrFwdSecure)) == "1", start: time.Now()}
	fh.ip, _ = netip.ParseAddr(string(req.Header.Peek(hdrFwdIP)))
	if ms, err := strconv.ParseInt(string(req.Header.Peek(hdrFwdStart)), 10, 64); err == nil {
		fh.start = time.UnixMilli(ms)
	}
	var ctx fasthttp.RequestCtx
	addr := &net.TCPAddr{IP: net.IP(fh.ip.AsSlice())}
	ctx.Init(&req, addr, nil)
	ctx.SetUserValue(fwdKey, fh)
	switch string(ctx.Path()) {
	case "/v1/hit":
		s.public(&ctx, routeHit)
	case "/v1/beacon":
		s.public(&ctx, routeBeacon)
	case "/v1/decide":
		s.public(&ctx, routeDecide)
	case "/v1/capture":
		s.capture(&ctx)
	case "/v1/replay":
		s.replayIngest(&ctx)
	default:
		s.fail(&ctx, fasthttp.StatusNotFound, "not_found", "no such route: "+string(ctx.Path()))
	}
	return encodeResponse(&ctx.Response)
}

func encodeResponse(r *fasthttp.Response) []byte {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	_ = r.Write(w)
	_ = w.Flush()
	return buf.Bytes()
}

// identifies reports whether b holds an identify event.
func identifies(b *event.Batch) bool {
	for i := range b.Events {
		if b.Events[i].Type == event.TypeIdentify {
			return true
		}
	}
	return false
}

// forwardedFrom returns what the forwarding node knew of a forwarded hit; nil for a hit
// that came to this node directly.
func forwardedFrom(ctx *fasthttp.RequestCtx) *forwardedHit {
	fh, _ := ctx.UserValue(fwdKey).(*forwardedHit)
	return fh
}

// outboxFull answers a hit refused because the local outbox is full.
func (s *Server) outboxFull(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Retry-After", "5")
	s.fail(ctx, fasthttp.StatusServiceUnavailable, "outbox_full",
		"the fleet's stream has been out of reach for long and this node's outbox is full, so the hit was not stored; retry later")
}

// clusterMetrics registers the cluster gauges of /metrics.
func (m *serverMetrics) clusterMetrics(c Cluster) {
	g := func(name string, f func(ClusterStatus) float64) {
		m.set.NewGauge(name, func() float64 { return f(c.Status()) })
	}
	g(`pathlight_cluster_shards_owned`, func(st ClusterStatus) float64 { return float64(st.ShardsOwned) })
	g(`pathlight_cluster_forwarded_hits_total`, func(st ClusterStatus) float64 { return float64(st.Forwarded) })
	g(`pathlight_cluster_forward_failures_total`, func(st ClusterStatus) float64 { return float64(st.ForwardFailures) })
	g(`pathlight_cluster_stream_connected`, func(st ClusterStatus) float64 {
		if st.StreamConnected {
			return 1
		}
		return 0
	})
	g(`pathlight_cluster_stream_lag_messages`, func(st ClusterStatus) float64 { return float64(st.StreamLastSeq - st.AppliedSeq) })
	g(`pathlight_cluster_applied_messages_total`, func(st ClusterStatus) float64 { return float64(st.Applied) })
	g(`pathlight_cluster_outbox_events`, func(st ClusterStatus) float64 { return float64(st.OutboxEvents) })
	g(`pathlight_cluster_outbox_bytes`, func(st ClusterStatus) float64 { return float64(st.OutboxBytes) })
	g(`pathlight_cluster_outbox_age_seconds`, func(st ClusterStatus) float64 { return st.OutboxAgeSeconds })
	g(`pathlight_cluster_takeovers_total`, func(st ClusterStatus) float64 { return float64(st.Takeovers) })
	g(`pathlight_cluster_takeover_seconds`, func(st ClusterStatus) float64 { return st.TakeoverSeconds })
}

// appendClusterHealth adds "cluster" to the /healthz body.
func appendClusterHealth(b []byte, st ClusterStatus) []byte {
	b = append(b, `,"cluster":{"node":`...)
	b = event.AppendJSONString(b, st.Node)
	stream := "unreachable"
	if st.StreamConnected {
		stream = "connected"
	}
	b = append(b, `,"stream":"`...)
	b = append(b, stream...)
	b = append(b, `","shards_owned":`...)
	b = strconv.AppendInt(b, int64(st.ShardsOwned), 10)
	b = append(b, `,"shards":`...)
	b = strconv.AppendInt(b, int64(st.Shards), 10)
	b = append(b, `,"outbox_events":`...)
	b = strconv.AppendInt(b, st.OutboxEvents, 10)
	b = append(b, `,"outbox_age_seconds":`...)
	b = strconv.AppendFloat(b, st.OutboxAgeSeconds, 'f', 3, 64)
	b = append(b, `,"applied_seq":`...)
	b = strconv.AppendUint(b, st.AppliedSeq, 10)
	b = append(b, `,"stream_last_seq":`...)
	b = strconv.AppendUint(b, st.StreamLastSeq, 10)
	return append(b, '}')
}
