package mp

import (
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// workerSysProcAttr asks the kernel to kill the worker when the thread that
// started it ends (Pdeathsig): the starting goroutine keeps that thread
// locked until the worker is reaped, so this fires only when the whole
// parent process dies. The task pipe is the second guard.
func workerSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// setPipeSize enlarges a pipe's kernel buffer, so that large arguments
// and results move in fewer, larger steps. Failure is harmless.
func setPipeSize(f *os.File, size int) {
	sc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = sc.Control(func(fd uintptr) {
		_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size)
	})
}

var (
	statmOnce sync.Once
	statm     *os.File
	pageSize  = int64(os.Getpagesize())
)

// residentBytes returns the resident set size of this process.
func residentBytes() int64 {
	statmOnce.Do(func() { statm, _ = os.Open("/proc/self/statm") })
	if statm == nil {
		return 0
	}
	var buf [128]byte
	n, _ := statm.ReadAt(buf[:], 0)
	// size resident shared text lib data dt, in pages
	var fields [2]int64
	f := 0
	for i := 0; i < n && f < 2; i++ {
		c := buf[i]
		if c == ' ' {
			f++
			continue
		}
		if c < '0' || c > '9' {
			break
		}
		fields[f] = fields[f]*10 + int64(c-'0')
	}
	return fields[1] * pageSize
}
