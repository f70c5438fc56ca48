//go:build linux || darwin || freebsd

package store

import "syscall"

// freeSpace returns the bytes available to the process on the filesystem of dir: the blocks
// an unprivileged user may still take (root may take a few more on some filesystems; the
// reserve is counted without them).
func freeSpace(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil // field types vary by system
}
