//go:build linux

package store

import (
	"os"
	"syscall"
)

// preallocate reserves size bytes of disk for f, so that appends neither allocate blocks nor
// grow the file; the reserved part reads as zeros.
func preallocate(f *os.File, size int64) error {
	err := syscall.Fallocate(int(f.Fd()), 0, 0, size)
	if err == syscall.EOPNOTSUPP || err == syscall.ENOSYS {
		return f.Truncate(size) // a file system without fallocate: a sparse file
	}
	return err
}

// fdatasync flushes f's data (and the metadata needed to read it) to disk.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
