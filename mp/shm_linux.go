package mp

import (
	"fmt"
	"os"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Shared memory on Linux: each shared object (Queue, Pipe, Value, Array,
// lock, Event...) is an anonymous memory file (memfd) mapped MAP_SHARED.
// Its creator keeps the descriptor open; another process of the same user
// opens it again through /proc/<creator pid>/fd/<fd> when it decodes the
// object's handle, and maps the same pages: nothing is copied. Waits are
// futexes on words of the mapping (shared futexes, keyed by the page, so
// they work across processes).

const shmSupported = true

// shmCreate makes a memory file of size bytes, zero-filled.
func shmCreate(size int) (fd int, err error) {
	fd, err = unix.MemfdCreate("braid-mp", unix.MFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("mp: memfd_create: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("mp: sizing a shared memory file to %d bytes: %w", size, err)
	}
	return fd, nil
}

// shmOpen opens the memory file that process pid holds as descriptor fd.
func shmOpen(pid, fd int) (int, int, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(fd)
	nfd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("mp: cannot open the shared object of process %d (%s): %w; a shared object lives while the process that created it has it open (it is closed, or that process exited), and only processes of the same user can open it", pid, path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(nfd, &st); err != nil {
		unix.Close(nfd)
		return -1, 0, fmt.Errorf("mp: fstat %s: %w", path, err)
	}
	return nfd, int(st.Size), nil
}

func shmMap(fd, size int) ([]byte, error) {
	p, err := unix.MmapPtr(fd, 0, nil, uintptr(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mp: mapping %d bytes of shared memory: %w", size, err)
	}
	return unsafe.Slice((*byte)(p), size), nil
}

func shmUnmap(b []byte) { _ = unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b))) }

// shmRetire replaces the mapping b, in one step, with private blank
// memory (zero pages, allocated only if written): a quick call still
// running on a handle closed meanwhile reads and writes that instead of
// faulting, or reaching whatever the kernel would map at that address
// next, and then sees the handle closed. The shared memory is released
// at once; the blank range with shmUnmap, once nothing can reach it.
func shmRetire(b []byte) bool {
	_, err := unix.MmapPtr(-1, 0, unsafe.Pointer(unsafe.SliceData(b)), uintptr(len(b)), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED|unix.MAP_NORESERVE)
	return err == nil
}

func shmClose(fd int) { _ = unix.Close(fd) }

// futexWait sleeps while *addr == val, at most d (d <= 0: no limit). It
// returns on a wake, a signal, a timeout or a changed value alike: callers
// check their condition again.
func futexWait(addr *uint32, val uint32, d time.Duration) {
	var ts *unix.Timespec
	if d > 0 {
		t := unix.NsecToTimespec(int64(d))
		ts = &t
	}
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), 0 /* FUTEX_WAIT */, uintptr(val), uintptr(unsafe.Pointer(ts)), 0, 0)
}

// futexWake wakes up to n waiters on addr.
func futexWake(addr *uint32, n int) {
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), 1 /* FUTEX_WAKE */, uintptr(n), 0, 0, 0)
}

// pidAlive reports whether process pid still runs: a zombie (killed, not
// yet reaped by its parent) is dead.
func pidAlive(pid int) bool {
	if pid == myPid {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			if i+2 < len(b) {
				s := b[i+2]
				return s != 'Z' && s != 'X' && s != 'x'
			}
			break
		}
	}
	return true
}

// shmDup returns a new close-on-exec descriptor of the file fd, and its size.
func shmDup(fd int) (int, int, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("mp: dup of a shared object's descriptor: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(nfd, &st); err != nil {
		unix.Close(nfd)
		return -1, 0, fmt.Errorf("mp: fstat of a shared object: %w", err)
	}
	return nfd, int(st.Size), nil
}

// spinYields is how many times a lock waiter yields its core before it
// sleeps on the futex.
const spinYields = 8

// osYield gives the core to another runnable thread (sched_yield).
func osYield() { _, _, _ = unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }
