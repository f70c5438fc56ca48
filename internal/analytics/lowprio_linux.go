package analytics

import (
	"fmt"
	"syscall"
	"unsafe"
)

// schedIdle is Linux's SCHED_IDLE scheduling policy (sched(7)).
const schedIdle = 5

// lowerThreadPriority gives the calling OS thread the lowest scheduling priority: nice 19
// and the SCHED_IDLE policy. Linux keeps both per thread, so only the reports' thread
// has them. Nice 19 alone lowers the thread's share of a core, but a hit's thread woken on
// the core it runs on may still wait for the rest of its time slice (up to a few
// milliseconds); a SCHED_IDLE thread is preempted as soon as any other thread wakes on its
// core, and the kernel counts a core that runs only it as idle when it places a waking
// thread. Where SCHED_IDLE is refused, the thread keeps nice 19 and the error says why.
func lowerThreadPriority() error {
	tid := syscall.Gettid()
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, 19); err != nil {
		return fmt.Errorf("nice 19: %w", err)
	}
	var param struct{ priority int32 } // struct sched_param: 0 for SCHED_IDLE
	if _, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), schedIdle, uintptr(unsafe.Pointer(&param))); e != 0 {
		return fmt.Errorf("SCHED_IDLE: %w", e)
	}
	return nil
}
