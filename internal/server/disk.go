package server

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"github.com/pathlight/pathlight/internal/event"
)

// DiskStatus is the free space of the data directory as the store's disk gate last saw it;
// the command wires Options.Disk to the store.
type DiskStatus struct {
	Free    int64  // bytes free at the last poll
	Reserve int64  // the --disk-reserve: writes stop below it
	Full    bool   // hits and imports are being refused
	Refused uint64 // writes refused since start
}

// diskRetryAfter is the Retry-After of a refusal for a full disk, in seconds: space comes back
// when someone frees it, not within a second.
const diskRetryAfter = "60"

// diskFull answers a write refused because the disk is nearly full: 503 with reason
// disk_full. what names what was not stored ("the hit", "the import").
func (s *Server) diskFull(ctx *fasthttp.RequestCtx, what string) {
	ctx.Response.Header.Set("Retry-After", diskRetryAfter)
	s.fail(ctx, fasthttp.StatusServiceUnavailable, "disk_full",
		"the server's disk is nearly full, so "+what+" was not stored; retry later")
}

// diskMetrics registers the disk gauges of /metrics.
func (m *serverMetrics) diskMetrics(disk func() DiskStatus) {
	m.set.NewGauge(`pathlight_disk_free_bytes`, func() float64 { return float64(disk().Free) })
	m.set.NewGauge(`pathlight_disk_reserve_bytes`, func() float64 { return float64(disk().Reserve) })
	m.set.NewGauge(`pathlight_disk_full`, func() float64 {
		if disk().Full {
			return 1
		}
		return 0
	})
	m.set.NewGauge(`pathlight_disk_refused_writes_total`, func() float64 { return float64(disk().Refused) })
}

// appendDiskHealth adds the state of the disk to the /healthz body: "status" and, when the
// disk is full, "reason" and "message", then "disk" with the figures.
func (s *Server) appendDiskHealth(b []byte, clusterDegraded bool) []byte {
	const degraded = `"status":"degraded","reason":"cluster","message":"the fleet's stream is out of reach or this node's outbox is not yet drained: hits are answered from local state and queued"`
	if s.disk == nil {
		if clusterDegraded {
			return append(b, degraded...)
		}
		return append(b, `"status":"ok"`...)
	}
	d := s.disk()
	if d.Full {
		b = append(b, `"status":"degraded","reason":"disk_full","message":`...)
		b = event.AppendJSONString(b, "free disk space ("+strconv.FormatInt(d.Free, 10)+
			" bytes) is below the reserve ("+strconv.FormatInt(d.Reserve, 10)+
			" bytes): hits and imports are refused with 503 until space is freed; reports and the admin API answer")
	} else if clusterDegraded {
		b = append(b, degraded...)
	} else {
		b = append(b, `"status":"ok"`...)
	}
	b = append(b, `,"disk":{"free_bytes":`...)
	b = strconv.AppendInt(b, d.Free, 10)
	b = append(b, `,"reserve_bytes":`...)
	b = strconv.AppendInt(b, d.Reserve, 10)
	b = append(b, `,"full":`...)
	b = strconv.AppendBool(b, d.Full)
	return append(b, '}')
}
