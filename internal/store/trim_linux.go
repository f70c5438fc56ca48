//go:build linux

package store

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// scanTables reads /proc/self/smaps and returns the resident bytes of the process's
// mappings of the table and value-log files in dirs. The kernel walks the page tables of
// every mapping of the process to write smaps (some 20 ms of its time for a process with
// 750 MiB resident), so only MeasureMapped reads it, now and then; a trim reads
// /proc/self/maps instead (dropTables).
func scanTables(dirs []string) (resident int64, err error) {
	smapsWalks.Add(1)
	real := realDirs(dirs)
	in := false // the current mapping is a table or value log of ours
	err = eachLine("/proc/self/smaps", func(line []byte) error {
		if rss, ok := bytes.CutPrefix(line, []byte("Rss:")); ok {
			if !in {
				return nil
			}
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rss), []byte(" kB"))), 10, 64)
			if err != nil {
				return fmt.Errorf("/proc/self/smaps: %q: %w", line, err)
			}
			resident += kb << 10
			in = false
			return nil
		}
		if len(line) > 0 && isHex(line[0]) { // not a field line (a capitalised name and a colon)
			_, _, _, _, in = parseMapping(line, real)
		}
		return nil
	})
	return resident, err
}

// dropTables drops the process's mappings of the resident pages of the files drop lists
// for their directory (madvise MADV_DONTNEED over each of their ranges), and returns the
// bytes the process's resident file pages fell by meanwhile. It finds the ranges in
// /proc/self/maps, which the kernel writes without a walk of the page tables, and advises
// on every range of a listed file, resident or not: advice on a range with nothing
// resident costs the kernel a look at its empty page tables, while learning which ranges
// hold pages (smaps) would cost a walk of every resident page of the process, on a thread
// of the serving priority, for every trim.
func dropTables(dirs []string, drop map[string]map[string]bool) (dropped int64, err error) {
	drops.Add(1)
	before, ok := fileResident()
	real := realDirs(dirs)
	err = eachLine("/proc/self/maps", func(line []byte) error {
		dir, name, start, end, ours := parseMapping(line, real)
		if !ours || !drop[dir][name] {
			return nil
		}
		if _, _, e := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_DONTNEED); e != 0 {
			return fmt.Errorf("madvise a table's pages: %w", e)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if after, ok2 := fileResident(); ok && ok2 && after < before {
		dropped = before - after
	}
	return dropped, nil
}

// eachLine calls fn with every line of the file at path (one of the process's listings in
// /proc), until fn returns an error.
func eachLine(path string, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// realDirs maps the absolute path of each of dirs, symbolic links resolved (as the kernel
// lists a mapped file), to the directory as the store names it.
func realDirs(dirs []string) map[string]string {
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
	return real
}

// parseMapping reads a mapping's line of /proc/self/maps or the first line of its entry
// in /proc/self/smaps ("start-end perms offset dev inode path") and reports whether it
// maps a table or value log (isMapped) in one of the directories real maps to the store's
// names of them: the directory, the file's name and the mapping's range.
func parseMapping(line []byte, real map[string]string) (dir, name string, start, end uintptr, ok bool) {
	fields := bytes.Fields(line)
	if len(fields) != 6 { // anonymous, or a path with spaces, or "(deleted)"
		return "", "", 0, 0, false
	}
	path := string(fields[5])
	dir, ok = real[filepath.Dir(path)]
	if !ok {
		return "", "", 0, 0, false
	}
	if name = filepath.Base(path); !isMapped(name) {
		return "", "", 0, 0, false
	}
	lo, hi, ok := bytes.Cut(fields[0], []byte("-"))
	if !ok {
		return "", "", 0, 0, false
	}
	s, err1 := strconv.ParseUint(string(lo), 16, 64)
	e, err2 := strconv.ParseUint(string(hi), 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return "", "", 0, 0, false
	}
	return dir, name, uintptr(s), uintptr(e), true
}

// smapsWalks counts the reads of /proc/self/smaps, and drops the trims' advice on the
// tables' ranges (the tests hold the walks to a few per trim).
var smapsWalks, drops atomic.Int64

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
