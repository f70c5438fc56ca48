//go:build unix

package store

import (
	"os"
	"syscall"
)

// diskUsage returns the bytes a file occupies on disk, which for a sparse file is less than
// its length.
func diskUsage(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}
