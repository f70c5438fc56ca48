package reportstore

import (
	"bytes"
	"encoding"
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

// rollupFormat begins every rollup value: the version of the encoding. Rollups of an
// older encoding (gob, before it) are treated as not kept and computed again. No gob value
// begins with a zero byte (a message of no length).
var rollupFormat = [2]byte{0, 1}

// rollupBody returns the rollup in a kept value, false for an older encoding.
func rollupBody(val []byte) ([]byte, bool) {
	if len(val) < len(rollupFormat) || [2]byte(val) != rollupFormat {
		return nil, false
	}
	return val[len(rollupFormat):], true
}

// EachRollup calls fn with each rollup of site kept in the current encoding for a day of
// [from, to] (UTC days) whose what is one of whats, in day order, in one scan of the days'
// rollups: a period's rollups cost one walk of the store, where reading each would seek
// (and allocate) once per day. b (the encoded rollup, as PutRollup's v appended it) is
// valid only during the call.
func (s *Store) EachRollup(site string, from, to int64, whats []string, fn func(day int64, what string, b []byte) error) error {
	if from > to || len(whats) == 0 {
		return nil
	}
	err := s.kv.Scan(rollupPrefix(from), rollupPrefix(to+1), func(key, val []byte) error {
		rest, ok := bytes.CutPrefix(key[min(len(key), 5):], []byte(site))
		if !ok || len(rest) == 0 || rest[0] != 0 {
			return nil
		}
		for _, w := range whats {
			if string(rest[1:]) == w {
				if b, ok := rollupBody(val); ok {
					return fn(dayOfKey(key[1:5]), w, b)
				}
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read rollups: %w", err)
	}
	return nil
}

// PutRollup keeps the rollup v of site, day and what, as v encodes itself. It must not run
// concurrently with Put: a rollup made from records a Put has since changed would outlive
// its drop.
func (s *Store) PutRollup(site string, day int64, what string, v encoding.BinaryAppender) error {
	b, err := v.AppendBinary(append(make([]byte, 0, 512), rollupFormat[:]...))
	if err != nil {
		return fmt.Errorf("encode rollup: %w", err)
	}
	return s.kv.Write([]track.Op{{Key: rollupKey(site, day, what), Value: b, TTL: s.rollupTTL(day)}})
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
