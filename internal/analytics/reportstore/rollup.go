package reportstore

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/pathlight/pathlight/internal/track"
)

// Daily rollups. A path table or a model's credits over a period is the sum of its days:
// every conversion and every non-converting journey belongs to exactly one UTC day, and
// its path and credits depend only on the journey before that moment. The report service
// computes a closed day's rollup once and keeps it here; Put drops the rollups of the
// first day a change touches and of every later day.

func rollupPrefix(day int64) []byte { return dayBytes([]byte{pRollup}, day) }

func rollupKey(site string, day int64, what string) []byte {
	k := append(rollupPrefix(day), site...)
	return append(append(k, 0), what...)
}

// GetRollup decodes the rollup of site, day and what into v (a pointer); false when none
// is kept.
func (s *Store) GetRollup(site string, day int64, what string, v any) (bool, error) {
	b, err := s.kv.Get(rollupKey(site, day, what), nil)
	if errors.Is(err, track.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read rollup: %w", err)
	}
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		return false, nil // an older encoding: computed again
	}
	return true, nil
}

// PutRollup keeps the rollup v of site, day and what. It must not run concurrently with
// Put: a rollup made from records a Put has since changed would outlive its drop.
func (s *Store) PutRollup(site string, day int64, what string, v any) error {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return fmt.Errorf("encode rollup: %w", err)
	}
	return s.kv.Write([]track.Op{{Key: rollupKey(site, day, what), Value: b.Bytes(), TTL: s.rollupTTL(day)}})
}

// rollupTTL keeps a day's rollup as long as the day is within the retention: after that its
// journeys are gone, and so must be what they added up to.
func (s *Store) rollupTTL(day int64) time.Duration {
	if s.retention <= 0 {
		return 0
	}
	left := time.Until(time.UnixMilli((day + 1) * DayMS).Add(s.retention))
	return max(left, time.Hour)
}

// dropRollups appends the deletes of every rollup from the day of t on.
func (s *Store) dropRollups(ops []track.Op, t int64) ([]track.Op, error) {
	start := []byte{pRollup}
	if t != math.MinInt64 {
		start = rollupPrefix(DayOf(t))
	}
	err := s.kv.Scan(start, []byte{pRollup + 1}, func(key, _ []byte) error {
		ops = append(ops, track.Op{Key: bytes.Clone(key), Delete: true})
		return nil
	})
	if err != nil {
		return ops, fmt.Errorf("scan rollups: %w", err)
	}
	return ops, nil
}

// DropRollups drops every rollup, for a change of every day (a rebuild).
func (s *Store) DropRollups() error {
	ops, err := s.dropRollups(nil, math.MinInt64)
	if err != nil || len(ops) == 0 {
		return err
	}
	for len(ops) > 0 {
		n := min(len(ops), 512)
		if err := s.kv.Write(ops[:n]); err != nil {
			return err
		}
		ops = ops[n:]
	}
	return nil
}
