package deliver

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pathlight/pathlight/internal/automate"
	"github.com/pathlight/pathlight/internal/track"
)

// ErrNotFound is returned for a delivery id that is neither pending nor dead.
var ErrNotFound = errors.New("no such delivery")

// State of a delivery in listings.
const (
	StatePending = "pending"
	StateDead    = "dead"
)

// Listed is a delivery as the admin API lists it: the record without its body.
type Listed struct {
	automate.Delivery
	State string `json:"state"`
}

// List returns up to limit deliveries of destination dest ("" for all) in state (pending or
// dead), oldest first, without their bodies.
func (d *Deliverer) List(dest, state string, limit int) ([]Listed, error) {
	p := byte(automate.PrefixQueue)
	if state == StateDead {
		p = automate.PrefixDead
	}
	start, end := automate.Range(p, dest)
	out := []Listed{}
	err := d.cfg.Store.Scan(start, end, func(_, v []byte) error {
		var del automate.Delivery
		if err := automate.UnmarshalRecord(v, &del); err != nil {
			return nil
		}
		del.Body = nil
		out = append(out, Listed{Delivery: del, State: state})
		if len(out) >= limit {
			return track.ErrStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, track.ErrStop) {
		return nil, err
	}
	return out, nil
}

// Replay sends delivery id of destination dest again: a dead one goes back to the outbox
// with a new three-day horizon, a pending one is tried at once. The id stays the same, so a
// receiver that already took it can tell.
func (d *Deliverer) Replay(dest, id string) error {
	for _, p := range []byte{automate.PrefixDead, automate.PrefixQueue} {
		found, err := d.replay(dest, p, func(del *automate.Delivery) bool { return del.ID == id }, 1)
		if err != nil {
			return err
		}
		if found > 0 {
			d.Wake()
			return nil
		}
	}
	return fmt.Errorf("%w: %s to %s", ErrNotFound, id, dest)
}

// ReplayDead puts every dead delivery of destination dest back in the outbox and returns
// how many.
func (d *Deliverer) ReplayDead(dest string) (int, error) {
	n, err := d.replay(dest, automate.PrefixDead, func(*automate.Delivery) bool { return true }, 0)
	if n > 0 {
		d.Wake()
	}
	return n, err
}

// replay moves the deliveries of kind p that match back to the outbox, due now; limit 0 is
// no limit.
func (d *Deliverer) replay(dest string, p byte, match func(*automate.Delivery) bool, limit int) (int, error) {
	var found []automate.Delivery
	start, end := automate.Range(p, dest)
	err := d.cfg.Store.Scan(start, end, func(_, v []byte) error {
		var del automate.Delivery
		if automate.UnmarshalRecord(v, &del) == nil && match(&del) {
			found = append(found, del)
			if limit > 0 && len(found) >= limit {
				return track.ErrStop
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, track.ErrStop) {
		return 0, err
	}
	now := d.cfg.Now().UnixMilli()
	n := 0
	for i := range found {
		del := &found[i]
		dead := p == automate.PrefixDead
		guard := del.Key(dead)
		del.Next, del.DeadAt = now, 0
		if dead {
			del.Created, del.Attempts = now, 0
		}
		val, err := del.MarshalRecord()
		if err != nil {
			return n, err
		}
		writes := []track.OwnedWrite{{Key: del.Key(false), Value: val}}
		if dead {
			writes = append(writes, track.OwnedWrite{Key: guard, Delete: true})
		}
		ok, err := d.cfg.Tracker.WriteOwned(del.VID, guard, writes)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// count records one attempt's outcome: delivered, failed (to be retried) or dead.
func (d *Deliverer) count(dest, outcome string) {
	d.m.GetOrCreateCounter(`pathlight_deliveries_total{destination="` + dest + `",outcome="` + outcome + `"}`).Inc()
	d.mu.Lock()
	if outcome == "delivered" {
		d.delivered[dest]++
	}
	if _, ok := d.pending[dest]; !ok {
		d.pending[dest] = 0 // listed from now on, even when empty
	}
	d.mu.Unlock()
	d.gauges(dest)
}

// gauges registers the outbox gauges of dest once.
func (d *Deliverer) gauges(dest string) {
	d.m.GetOrCreateGauge(`pathlight_outbox_pending{destination="`+dest+`"}`, func() float64 {
		d.mu.Lock()
		defer d.mu.Unlock()
		return float64(d.pending[dest])
	})
	d.m.GetOrCreateGauge(`pathlight_outbox_oldest_seconds{destination="`+dest+`"}`, func() float64 {
		d.mu.Lock()
		o, n := d.oldest[dest], d.pending[dest]
		d.mu.Unlock()
		if o == 0 || n == 0 {
			return 0
		}
		return d.cfg.Now().Sub(time.UnixMilli(o)).Seconds()
	})
}

// WriteMetrics writes the delivery metrics in the Prometheus text format, with the outbox
// gauges read afresh.
func (d *Deliverer) WriteMetrics(w io.Writer) {
	d.outboxStats()
	d.mu.Lock()
	var dests []string
	for k := range d.pending {
		dests = append(dests, k)
	}
	d.mu.Unlock()
	for _, k := range dests {
		d.gauges(k)
	}
	d.m.WritePrometheus(w)
}

// outboxStats counts the pending deliveries of each destination and finds the oldest.
func (d *Deliverer) outboxStats() {
	oldest, pending := map[string]int64{}, map[string]int{}
	start, end := automate.Range(automate.PrefixQueue, "")
	n := 0
	_ = d.cfg.Store.Scan(start, end, func(_, v []byte) error {
		if n++; n > maxScan {
			return track.ErrStop
		}
		var del automate.Head
		if automate.UnmarshalHead(v, &del) != nil {
			return nil
		}
		pending[del.Destination]++
		if o, ok := oldest[del.Destination]; !ok || del.Created < o {
			oldest[del.Destination] = del.Created
		}
		return nil
	})
	d.mu.Lock()
	for k := range d.pending {
		if _, ok := pending[k]; !ok {
			pending[k] = 0
		}
	}
	d.oldest, d.pending = oldest, pending
	d.mu.Unlock()
}
