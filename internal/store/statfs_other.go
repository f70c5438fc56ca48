//go:build !(linux || darwin || freebsd)

package store

import "errors"

// freeSpace is not implemented on this system: a disk reserve cannot be kept.
func freeSpace(string) (int64, error) {
	return 0, errors.New("free space cannot be read on this system; set the disk reserve to 0")
}
