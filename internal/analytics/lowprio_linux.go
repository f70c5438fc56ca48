package analytics

import "syscall"

// lowerThreadPriority gives the calling OS thread the lowest scheduling priority (nice 19):
// Linux keeps a nice value per thread, so the reports' thread yields a core to the threads
// that serve hits whenever both want one.
func lowerThreadPriority() error {
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
}
