package track

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"github.com/pathlight/pathlight/internal/event"
)

// ErrImportLine is wrapped by the errors of Import about the line itself (bad JSON, a time out
// of range, an unknown site): the caller reports the line and goes on with the next. Any
// other error is the store's, and the import should stop.
var ErrImportLine = errors.New("bad import line")

// maxImportSkew is how far in the future an import line's time may be: a little clock skew
// between the machine that recorded the traffic and this one.
const maxImportSkew = 60 * 1000

// ImportLine is one line of an NDJSON import: a beacon request as it was made at time TS.
type ImportLine struct {
	TS    int64           `json:"ts"`    // the request time, Unix ms
	UA    string          `json:"ua"`    // the client's user agent
	IP    string          `json:"ip"`    // the client's address, for GeoIP and cookieless ids
	Batch json.RawMessage `json:"batch"` // the /v1/hit body
}

// ImportCounts is what happened to the events of one import line.
type ImportCounts struct {
	Accepted, Duplicate, Rejected int
}

// ImportScratch is the reusable space of Import. It belongs to one goroutine at a time.
type ImportScratch struct {
	line  ImportLine
	batch event.Batch
	res   Result
	lim   event.Limits
}

// Import tracks one line of an import as if its request had arrived at the line's time: the
// visitor's journey, rules and decisions (experiment exposures included) run as for a live
// hit, and event times are checked against the line's time rather than the clock, so traffic
// can be backdated up to the retention. site resolves the batch's site id (the empty id to
// the only site, when there is one) and reports whether it is allowed.
//
// Lines must come in time order per visitor, as live traffic does: an older line is recorded
// as a late hit and opens no session.
func (t *Tracker) Import(line []byte, sc *ImportScratch, site func(id string) (string, bool)) (ImportCounts, error) {
	var n ImportCounts
	sc.line = ImportLine{}
	if err := json.Unmarshal(line, &sc.line); err != nil {
		return n, fmt.Errorf("%w: %v", ErrImportLine, err)
	}
	l := &sc.line
	now := t.now().UnixMilli()
	switch {
	case l.TS <= 0:
		return n, fmt.Errorf("%w: ts %d: want the request time in Unix milliseconds", ErrImportLine, l.TS)
	case l.TS > now+maxImportSkew:
		return n, fmt.Errorf("%w: ts %d is in the future", ErrImportLine, l.TS)
	case t.cfg.Retention > 0 && l.TS < now-t.cfg.Retention.Milliseconds():
		return n, fmt.Errorf("%w: ts %d is older than the retention (%v)", ErrImportLine, l.TS, t.cfg.Retention)
	case len(l.Batch) == 0:
		return n, fmt.Errorf("%w: missing batch", ErrImportLine)
	}
	var ip netip.Addr
	if l.IP != "" {
		var err error
		if ip, err = netip.ParseAddr(l.IP); err != nil {
			return n, fmt.Errorf("%w: ip %q: %v", ErrImportLine, l.IP, err)
		}
	}
	if sc.lim.MaxEvents == 0 {
		sc.lim = event.DefaultLimits()
	}
	sc.batch.Reset()
	rejected, err := event.DecodeBatch(l.Batch, &sc.batch, l.TS, &sc.lim)
	if err != nil {
		return n, fmt.Errorf("%w: batch: %v", ErrImportLine, err)
	}
	id, ok := site(sc.batch.Site)
	if !ok {
		return n, fmt.Errorf("%w: unknown site %q", ErrImportLine, sc.batch.Site)
	}
	sc.batch.Site = id
	sc.res.Reset()
	req := Request{Batch: &sc.batch, UserAgent: l.UA, IP: ip, Decisions: true, Now: l.TS}
	trackFn := t.Track
	if t.importVia != nil {
		trackFn = t.importVia
	}
	if err := trackFn(&req, &sc.res); err != nil {
		return n, err
	}
	n.Accepted = len(sc.res.Accepted)
	n.Duplicate = len(sc.res.Duplicate)
	n.Rejected = len(rejected) + len(sc.res.Rejected)
	return n, nil
}
