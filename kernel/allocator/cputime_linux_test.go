//go:build linux

package allocator

import (
	"syscall"
	"time"
	"unsafe"
)

// processCPU returns the CPU time consumed by the process
// (CLOCK_PROCESS_CPUTIME_ID). With GOMAXPROCS=1 it is the allocator's own
// work, GC included, and unlike wall time it does not grow when other
// processes preempt the benchmark on a busy machine.
func processCPU() time.Duration {
	var ts syscall.Timespec
	const clockProcessCPUTimeID = 2
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockProcessCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
