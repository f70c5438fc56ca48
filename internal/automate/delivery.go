package automate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
)

// Delivery is one message to one destination: what the outbox holds, from the commit of the
// hit that fired it until the receiver acknowledges it (or, after the last attempt, as dead).
// Body is sent byte for byte on every attempt, under the same ID.
type Delivery struct {
	ID          string          `json:"id"` // the webhook-id: the same on every attempt
	Destination string          `json:"destination"`
	Seq         uint64          `json:"seq"` // orders the outbox; part of the key
	VID         string          `json:"vid"`
	Site        string          `json:"site,omitempty"`
	Automation  string          `json:"automation"`
	Trigger     string          `json:"trigger"`
	FiredAt     int64           `json:"fired_at"` // Unix ms the automation fired
	Created     int64           `json:"created"`  // Unix ms the delivery was written
	Attempts    int             `json:"attempts"`
	Next        int64           `json:"next"` // Unix ms before which it is not tried again
	LastStatus  int             `json:"last_status,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	DeadAt      int64           `json:"dead_at,omitempty"`
	Body        json.RawMessage `json:"body,omitempty"`
}

// Key returns the delivery's outbox key: pending, or dead.
func (d *Delivery) Key(dead bool) []byte {
	if dead {
		return DeadKey(nil, d.Destination, d.Seq)
	}
	return QueueKey(nil, d.Destination, d.Seq)
}

// MessageID is the id of the delivery of occurrence n of an automation for a visitor to a
// destination: derived, not random, so that the one occurrence always has the one id.
func MessageID(vid, automation string, n uint32, dest string) string {
	h := sha256.New()
	h.Write([]byte(vid))
	h.Write([]byte{0})
	h.Write([]byte(automation))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatUint(uint64(n), 10)))
	h.Write([]byte{0})
	h.Write([]byte(dest))
	return "msg_" + hex.EncodeToString(h.Sum(nil)[:12])
}

// A delivery is stored as a record: one line of JSON with its head (what the deliverer
// decides on at every pass: destination, visitor, next attempt, creation), a newline, then
// the whole delivery as JSON. Reading the head skips the body, so a pass over a long backlog
// does not parse every body. encoding/json never writes a raw newline, so the first one
// ends the head.

// Head is the part of a delivery a pass of the deliverer reads.
type Head struct {
	Destination string `json:"d"`
	VID         string `json:"v"`
	Next        int64  `json:"n"`
	Created     int64  `json:"c"`
}

// MarshalRecord encodes d as it is stored.
func (d *Delivery) MarshalRecord() ([]byte, error) {
	head, err := json.Marshal(Head{Destination: d.Destination, VID: d.VID, Next: d.Next, Created: d.Created})
	if err != nil {
		return nil, err
	}
	full, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return append(append(head, '\n'), full...), nil
}

// UnmarshalHead decodes the head of a stored delivery.
func UnmarshalHead(rec []byte, h *Head) error {
	i := bytes.IndexByte(rec, '\n')
	if i < 0 {
		return errors.New("delivery record without a head")
	}
	return json.Unmarshal(rec[:i], h)
}

// UnmarshalRecord decodes a stored delivery.
func UnmarshalRecord(rec []byte, d *Delivery) error {
	i := bytes.IndexByte(rec, '\n')
	if i < 0 {
		return errors.New("delivery record without a head")
	}
	return json.Unmarshal(rec[i+1:], d)
}
