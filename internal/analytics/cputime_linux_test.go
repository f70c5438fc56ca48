package analytics

import "syscall"

// cpuTime returns the CPU time the process used so far, user and system, in ns: the
// benchmarks report it beside the wall time, which on a loaded machine follows the report
// thread's low priority more than the report's work.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
