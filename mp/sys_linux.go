package mp

import (
	"io"
	"os"
	"strconv"
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

// workerSysProcAttr asks the kernel to signal the worker when the thread
// that started it ends (Pdeathsig): the starting goroutine keeps that
// thread locked until the worker is reaped, so this fires only when the
// whole parent process dies. The signal is SIGTERM, on which the worker
// kills its process group (itself and what its tasks started); the task
// pipe is the second guard.
//
// Each worker leads a process group of its own (Setpgid), which the
// programs its tasks start join: killing the group kills them too.
func workerSysProcAttr() *syscall.SysProcAttr {
	if !usePdeathsig {
		return &syscall.SysProcAttr{Setpgid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// awaitExit blocks until the worker process has exited, without reaping
// it: its pid, and so its process group id, stay taken until Wait, so that
// the group can still be killed safely. It reports whether it could wait
// so (false: the caller goes straight to Wait and kills no group).
func awaitExit(pid int) bool {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return err == nil
		}
	}
}

// statmPath is where the parent reads a worker's resident memory.
func statmPath(pid int) string { return "/proc/" + strconv.Itoa(pid) + "/statm" }

// readResident returns the resident set size from an open statm file.
func readResident(f *os.File) (int64, error) {
	var buf [128]byte
	n, err := f.ReadAt(buf[:], 0)
	if n == 0 {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	return parseStatm(buf[:n]), nil
}

// parseStatm returns the resident bytes of a statm line ("size resident
// shared text lib data dt", in pages).
func parseStatm(b []byte) int64 {
	var fields [2]int64
	f := 0
	for i := 0; i < len(b) && f < 2; i++ {
		c := b[i]
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
	rss, _ := readResident(statm)
	return rss
}
