//go:build linux

package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// scanTables reads /proc/self/smaps and returns the resident bytes of the process's
// mappings of the table and value-log files in dirs. With drop not nil, it also drops the
// resident pages of the mappings of the files drop lists for their directory (by name;
// madvise MADV_DONTNEED) and returns the bytes it dropped.
func scanTables(dirs []string, drop map[string]map[string]bool) (resident, dropped int64, err error) {
	// The kernel lists a mapped file by its absolute path, symbolic links resolved.
	real := map[string]string{}
	for _, d := range dirs {
		r, err := filepath.Abs(d)
		if err == nil {
			if e, err := filepath.EvalSymlinks(r); err == nil {
				r = e
			}
		}
		real[r] = d
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var (
		in         bool // the current mapping is a table or value log of ours
		names      map[string]bool
		name       string
		start, end uintptr
	)
	for sc.Scan() {
		line := sc.Bytes()
		if rss, ok := bytes.CutPrefix(line, []byte("Rss:")); ok {
			if !in {
				continue
			}
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rss), []byte(" kB"))), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("/proc/self/smaps: %q: %w", line, err)
			}
			resident += kb << 10
			if kb > 0 && names[name] {
				if _, _, e := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_DONTNEED); e != 0 {
					return resident, dropped, fmt.Errorf("madvise a table's pages: %w", e)
				}
				dropped += kb << 10
			}
			in = false
			continue
		}
		// A mapping's first line: "start-end perms offset dev inode path"; field lines
		// start with a capitalised name and a colon.
		if len(line) == 0 || !isHex(line[0]) {
			continue
		}
		in = false
		fields := bytes.Fields(line)
		if len(fields) != 6 { // anonymous, or a path with spaces, or "(deleted)"
			continue
		}
		path := string(fields[5])
		dir, ok := real[filepath.Dir(path)]
		if !ok {
			continue
		}
		if name = filepath.Base(path); !isMapped(name) {
			continue
		}
		lo, hi, ok := bytes.Cut(fields[0], []byte("-"))
		if !ok {
			continue
		}
		s, err1 := strconv.ParseUint(string(lo), 16, 64)
		e, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || e <= s {
			continue
		}
		start, end, in, names = uintptr(s), uintptr(e), true, drop[dir]
	}
	return resident, dropped, sc.Err()
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// fileResident returns the process's resident pages of mapped files and shared memory, from
// /proc/self/statm (its third field, in pages): a counter the kernel keeps, read without a
// walk of the page tables.
func fileResident() (int64, bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return 0, false
	}
	pages, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
