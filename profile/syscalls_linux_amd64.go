package profile

import "golang.org/x/sys/unix"

// The system calls amd64 has and the generic Linux table (arm64, riscv64)
// does not.
func init() {
	syscallKinds[unix.SYS_POLL] = scPollFds
	syscallKinds[unix.SYS_SELECT] = scSelect
	syscallKinds[unix.SYS_EPOLL_WAIT] = scEpoll
}
