//go:build !linux

package store

import "os"

// preallocate sizes f to size bytes; on systems without fallocate the file is sparse.
func preallocate(f *os.File, size int64) error { return f.Truncate(size) }

// fdatasync flushes f to disk.
func fdatasync(f *os.File) error { return f.Sync() }
