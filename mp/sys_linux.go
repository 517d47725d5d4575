package mp

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// selfExe returns the path that starts this very executable: on Linux
// /proc/self/exe, which names the running image even after the file was
// replaced or deleted (a deploy), so workers always match their parent.
func selfExe(exe string) string {
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		return "/proc/self/exe"
	}
	return exe
}

// usePdeathsig is switched off only by tests, to show that the task pipe
// alone makes orphaned workers exit.
var usePdeathsig = true

// workerSysProcAttr asks the kernel to kill the worker when the thread that
// started it ends (Pdeathsig): the starting goroutine keeps that thread
// locked until the worker is reaped, so this fires only when the whole
// parent process dies. The task pipe is the second guard.
func workerSysProcAttr() *syscall.SysProcAttr {
	if !usePdeathsig {
		return &syscall.SysProcAttr{}
	}
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

// spliceAck: a worker's large result leaves by vmsplice and the worker
// waits for the parent's ack before it runs anything else.
const spliceAck = true

// writeBulk writes a large buffer that stays unmodified until the reader
// has consumed it: vmsplice hands its pages to the pipe instead of copying
// them into new pipe pages, which nearly halves the cost of moving
// megabytes. It falls back to write where vmsplice is refused.
func writeBulk(f *os.File, b []byte) error {
	if !vmspliceOK.Load() {
		_, err := f.Write(b)
		return err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		_, err = f.Write(b)
		return err
	}
	for len(b) > 0 {
		var n int
		var serr error
		err := rc.Write(func(fd uintptr) bool {
			iov := [1]unix.Iovec{{Base: &b[0]}}
			iov[0].SetLen(len(b))
			n, serr = unix.Vmsplice(int(fd), iov[:], unix.SPLICE_F_NONBLOCK)
			return serr != unix.EAGAIN
		})
		if err != nil {
			return err
		}
		if serr == unix.ENOSYS || serr == unix.EINVAL || serr == unix.EPERM {
			vmspliceOK.Store(false)
			_, err = f.Write(b)
			return err
		}
		if serr != nil {
			return serr
		}
		b = b[n:]
	}
	return nil
}

var vmspliceOK = func() *atomic.Bool { var b atomic.Bool; b.Store(true); return &b }()

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
