//go:build !unix

package store

import "os"

// diskUsage returns the length of a file.
func diskUsage(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
