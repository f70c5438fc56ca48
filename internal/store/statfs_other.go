//go:build !(linux || darwin || freebsd)

package store

import "errors"

// freeSpace has no statfs to ask on this system, so a disk reserve cannot be kept there: it
// says so, and serve asks for --disk-reserve 0.
func freeSpace(string) (int64, error) {
	return 0, errors.New("free space cannot be read on this system; set the disk reserve to 0")
}
