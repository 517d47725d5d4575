package profile

import (
	"errors"

	"golang.org/x/sys/unix"
)

// reapLater: on Linux the command's exit is awaited without reaping it
// (waitid with WNOWAIT), so that a last sample reads the zombie's counters,
// which by then include every descendant it reaped.
const reapLater = true

func waitNoReap(pid int) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			return
		}
	}
}

func gettid() int { return unix.Gettid() }
