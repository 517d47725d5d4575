package profile

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// The parsers of /proc text are pure functions, built on every platform so
// that they are tested on fixture text anywhere.

// procStat is what is used of /proc/PID/stat or /proc/PID/task/TID/stat.
type procStat struct {
	pid        int
	comm       string
	state      byte
	ppid       int
	utime      uint64 // clock ticks
	stime      uint64
	cutime     uint64
	cstime     uint64
	numThreads int
	starttime  uint64 // clock ticks after boot: with pid, identifies a process
	blkioTicks uint64 // delayacct_blkio_ticks, field 42
}

// parseStat parses /proc/PID/stat (proc(5)). The command name is in
// parentheses and may itself hold spaces and parentheses, so the fields are
// counted from the last ')'.
func parseStat(text string) (procStat, error) {
	var s procStat
	open := strings.IndexByte(text, '(')
	closing := strings.LastIndexByte(text, ')')
	if open < 0 || closing < open {
		return s, fmt.Errorf("stat %q: no (comm)", truncate(text))
	}
	pid, err := strconv.Atoi(strings.TrimSpace(text[:open]))
	if err != nil {
		return s, fmt.Errorf("stat %q: pid: %v", truncate(text), err)
	}
	s.pid = pid
	s.comm = text[open+1 : closing]
	rest := strings.Fields(text[closing+1:])
	// rest[i] is field i+3 of proc(5).
	if len(rest) < 20 {
		return s, fmt.Errorf("stat %q: %d fields after comm, want at least 20", truncate(text), len(rest))
	}
	field := func(n int) uint64 {
		if n-3 >= len(rest) {
			return 0
		}
		v, _ := strconv.ParseUint(rest[n-3], 10, 64)
		return v
	}
	s.state = rest[0][0]
	s.ppid = int(field(4))
	s.utime, s.stime, s.cutime, s.cstime = field(14), field(15), field(16), field(17)
	s.numThreads = int(field(20))
	s.starttime = field(22)
	s.blkioTicks = field(42)
	return s, nil
}

// procStatus is what is used of /proc/PID/status.
type procStatus struct {
	vmHWMKiB, vmRSSKiB int64
	voluntary          int64
	involuntary        int64
	threads            int
}

func parseStatus(text string) procStatus {
	var s procStatus
	eachKeyInt(text, func(key string, n int64) {
		switch key {
		case "VmHWM":
			s.vmHWMKiB = n
		case "VmRSS":
			s.vmRSSKiB = n
		case "voluntary_ctxt_switches":
			s.voluntary = n
		case "nonvoluntary_ctxt_switches":
			s.involuntary = n
		case "Threads":
			s.threads = int(n)
		}
	})
	return s
}

// procIO is /proc/PID/io.
type procIO struct {
	rchar, wchar, readBytes, writeBytes int64
}

func parseIO(text string) procIO {
	var io procIO
	eachKeyInt(text, func(key string, n int64) {
		switch key {
		case "rchar":
			io.rchar = n
		case "wchar":
			io.wchar = n
		case "read_bytes":
			io.readBytes = n
		case "write_bytes":
			io.writeBytes = n
		}
	})
	return io
}

// eachKeyInt calls set for each "key: N ..." line of a /proc file of that
// form (status, io) whose first value is an integer, with the key and N
// (a unit such as "kB" after it is left out).
func eachKeyInt(text string, set func(key string, n int64)) {
	for _, line := range strings.Split(text, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			continue
		}
		if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			set(key, n)
		}
	}
}

// parseSchedstat parses /proc/PID/task/TID/schedstat: nanoseconds spent
// on a CPU, then runnable on a run queue waiting for one.
func parseSchedstat(text string) (cpuNs, runDelayNs uint64, err error) {
	f := strings.Fields(text)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("schedstat %q: want 3 fields", truncate(text))
	}
	if cpuNs, err = strconv.ParseUint(f[0], 10, 64); err != nil {
		return 0, 0, err
	}
	runDelayNs, err = strconv.ParseUint(f[1], 10, 64)
	return cpuNs, runDelayNs, err
}

// syscallRunning and syscallNone are the nr parseSyscall returns for a
// thread that is running and one blocked outside a system call.
const (
	syscallRunning = -2
	syscallNone    = -1
)

// parseSyscall parses /proc/PID/task/TID/syscall: "running", or the number
// of the system call the thread is blocked in and its arguments (hex).
func parseSyscall(text string) (nr int, args []uint64, err error) {
	f := strings.Fields(text)
	if len(f) == 0 {
		return 0, nil, fmt.Errorf("syscall: empty")
	}
	if f[0] == "running" {
		return syscallRunning, nil, nil
	}
	nr, err = strconv.Atoi(f[0])
	if err != nil {
		return 0, nil, fmt.Errorf("syscall %q: %v", truncate(text), err)
	}
	for _, a := range f[1:] {
		v, err := strconv.ParseUint(strings.TrimPrefix(a, "0x"), 16, 64)
		if err != nil {
			break
		}
		args = append(args, v)
	}
	return nr, args, nil
}

// parseEpollTargets returns the descriptors an epoll instance watches, from
// its /proc/PID/fdinfo/EPFD ("tfd: N events: ...").
func parseEpollTargets(text string) []int {
	var fds []int
	for _, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, "tfd:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		if n, err := strconv.Atoi(f[0]); err == nil {
			fds = append(fds, n)
		}
	}
	return fds
}

// parsePollFds returns the descriptors of an array of struct pollfd (int
// fd; short events; short revents: 8 bytes each, in the host's byte
// order), leaving out negative ones (which poll ignores).
func parsePollFds(buf []byte) []int {
	var fds []int
	for i := 0; i+8 <= len(buf); i += 8 {
		fd := int32(hostEndian.Uint32(buf[i:]))
		if fd >= 0 {
			fds = append(fds, int(fd))
		}
	}
	return fds
}

// parseFdSet returns the descriptors below nfds set in an fd_set bitmap
// (an array of longs; descriptor n is bit n%64 of long n/64).
func parseFdSet(buf []byte, nfds int) []int {
	var fds []int
	for fd := 0; fd < nfds && fd/64*8+8 <= len(buf); fd++ {
		word := hostEndian.Uint64(buf[fd/64*8:])
		if word&(1<<(fd%64)) != 0 {
			fds = append(fds, fd)
		}
	}
	return fds
}

// parseSocketInodes adds the inodes listed in /proc/net/unix (column 7) or
// /proc/net/tcp, tcp6, udp, udp6 (column 10) to into, each with whether the
// socket is a loopback one (Unix-domain sockets always are; an inet socket
// when its peer, or for an unconnected one its own address, is 127.0.0.0/8
// or ::1). An inet socket that has neither a peer nor a local port (created,
// not yet bound or connected) may still become either, so it is also added
// to unsettled when that is not nil.
func parseSocketInodes(text string, column int, into, unsettled map[uint64]bool) {
	lines := strings.Split(text, "\n")
	for _, line := range lines[min(1, len(lines)):] { // the first line is a header
		f := strings.Fields(line)
		if len(f) <= column {
			continue
		}
		n, err := strconv.ParseUint(f[column], 10, 64)
		if err != nil {
			continue
		}
		if column == unixInodeColumn {
			into[n] = true
			continue
		}
		addr := f[2] // rem_address
		if strings.Trim(addr, "0:") == "" {
			_, port, _ := strings.Cut(f[1], ":")
			if unsettled != nil && strings.Trim(port, "0") == "" {
				unsettled[n] = true
			}
			addr = f[1] // not connected: local_address
		}
		host, _, _ := strings.Cut(addr, ":")
		into[n] = isLoopbackHex(host)
	}
}

// isLoopbackHex tells whether an address as /proc/net/tcp prints it (the
// bytes of each 32-bit word in host order, little-endian here) is a
// loopback address.
func isLoopbackHex(h string) bool {
	h = strings.ToUpper(h)
	switch len(h) {
	case 8: // IPv4: the first octet is the last byte printed
		return strings.HasSuffix(h, "7F")
	case 32:
		if h == "00000000000000000000000001000000" { // ::1
			return true
		}
		return strings.HasPrefix(h, "0000000000000000FFFF0000") && strings.HasSuffix(h, "7F") // ::ffff:127.x.x.x
	}
	return false
}

// Columns of the inode in /proc/net files.
const (
	unixInodeColumn = 6
	inetInodeColumn = 9
)

// classifyFdTarget tells what a descriptor is from its /proc/PID/fd link
// target. isUnix looks a socket inode up among the Unix-domain sockets,
// inet among the TCP/UDP ones (found, and whether it is a loopback one).
func classifyFdTarget(target string, isUnix func(uint64) bool, inet func(uint64) (found, loopback bool)) string {
	switch {
	case strings.HasPrefix(target, "socket:["):
		ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]"), 10, 64)
		if err != nil {
			return StateOther
		}
		if found, loopback := inet(ino); found {
			if loopback {
				return StateLocalSocket
			}
			return StateNetwork
		}
		if isUnix(ino) {
			return StateLocalSocket
		}
		return StateOther // netlink, packet, ...
	case strings.HasPrefix(target, "pipe:["):
		return StatePipe
	case strings.HasPrefix(target, "/dev/pts/"), strings.HasPrefix(target, "/dev/tty"), target == "/dev/console", target == "/dev/ptmx":
		return StatePipe
	case strings.HasPrefix(target, "anon_inode:"):
		return StateOther // eventfd, timerfd, epoll, ...
	case strings.HasPrefix(target, "/"):
		return StateDisk // a file or a device
	}
	return StateOther
}

// classifyWchan tells a sleeping thread's wait from the kernel function it
// sleeps in (/proc/PID/task/TID/wchan), when its system call could not be
// read or did not say.
func classifyWchan(wchan string) string {
	w := strings.ToLower(wchan)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(w, s) {
				return true
			}
		}
		return false
	}
	switch {
	case w == "" || w == "0":
		return StateOther
	case has("nanosleep", "hrtimer", "timerfd"):
		return StateSleep
	case has("wait4", "do_wait", "waitid"):
		return StateChild
	case has("futex"):
		return StateLock
	case has("unix_stream", "unix_dgram", "unix_wait"):
		return StateLocalSocket
	case has("sk_wait", "inet_csk", "tcp_", "udp_", "inet_", "sock_"):
		return StateNetwork
	case has("pipe_", "n_tty", "tty_", "wait_for_partner"):
		return StatePipe
	case has("ep_poll", "do_select", "do_sys_poll", "poll_schedule"):
		return StatePoll
	case has("folio", "page", "blk", "bio", "io_schedule", "jbd2", "ext4", "xfs", "btrfs", "nfs", "iomap", "submit"):
		return StateDisk
	}
	return StateOther
}

// hostEndian is this machine's byte order, the order of the structures
// read from another process's memory.
var hostEndian = binary.NativeEndian

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
