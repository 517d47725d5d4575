package mp

import "syscall"

// processSysProcAttr: a daemon child gets SIGKILL when the parent dies
// (Pdeathsig, tied to the thread that started it, which stays locked).
func processSysProcAttr(daemon bool) *syscall.SysProcAttr {
	if daemon {
		return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
	return nil
}
