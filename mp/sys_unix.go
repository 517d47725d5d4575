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
