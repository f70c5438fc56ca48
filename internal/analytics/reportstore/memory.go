package reportstore

import (
	"errors"
	"slices"
	"sync"

	"github.com/pathlight/pathlight/internal/track"
)

// Memory is a byte-level store in memory (without expiry), for a report store that lives
// only as long as the process: a service over a store it must not write, and tests. It is
// safe for concurrent use.
type Memory struct {
	mu sync.RWMutex
	m  map[string][]byte
}

// NewMemory returns an empty Memory.
func NewMemory() *Memory { return &Memory{m: map[string][]byte{}} }

var _ track.Store = (*Memory)(nil)

// Get implements track.Store.
func (s *Memory) Get(key, dst []byte) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.m[string(key)]
	if !ok {
		return dst, track.ErrNotFound
	}
	return append(dst, v...), nil
}

// GetMany implements track.Store.
func (s *Memory) GetMany(keys [][]byte, fn func(i int, val []byte) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i, k := range keys {
		if v, ok := s.m[string(k)]; ok {
			if err := fn(i, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// Write implements track.Store.
func (s *Memory) Write(ops []track.Op) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, op := range ops {
		if op.Delete {
			delete(s.m, string(op.Key))
		} else {
			s.m[string(op.Key)] = slices.Clone(op.Value)
		}
	}
	return nil
}

// Scan implements track.Store. It copies the keys in range first, so fn may write.
func (s *Memory) Scan(start, end []byte, fn func(key, val []byte) error) error {
	s.mu.RLock()
	var keys []string
	for k := range s.m {
		if k >= string(start) && (end == nil || k < string(end)) {
			keys = append(keys, k)
		}
	}
	s.mu.RUnlock()
	slices.Sort(keys)
	for _, k := range keys {
		s.mu.RLock()
		v, ok := s.m[k]
		s.mu.RUnlock()
		if !ok {
			continue
		}
		if err := fn([]byte(k), v); err != nil {
			if errors.Is(err, track.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}
