//go:build unix

package mp

import (
	"os"
	"syscall"
)

// exitSignal names the signal that ended a process, "" if it exited.
func exitSignal(st *os.ProcessState) string {
	ws, ok := st.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return ""
	}
	return ws.Signal().String()
}

// killGroup kills the process group led by a worker (its pid): the worker
// and the programs its tasks started. Call it only before the worker is
// reaped, while its pid cannot name another group.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}
