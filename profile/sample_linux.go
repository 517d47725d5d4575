package profile

import (
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// clockTicks is USER_HZ, the unit of the tick counts in /proc/PID/stat; it
// is 100 on every architecture Linux supports.
const clockTicks = 100.0

const samplingSupported = true

type procKey struct {
	pid   int
	start uint64
}

type taskRec struct {
	cpuNs      uint64
	runDelayNs uint64
	blkioTicks uint64
}

type procRec struct {
	utime, stime uint64
	io           procIO
	ioRead       bool
	tasks        map[int]taskRec
}

// tracker samples a process tree from /proc: the root and every process
// descended from it, including descendants whose parent exited (they are
// remembered by pid and start time).
type tracker struct {
	root       int
	excludeTid int // the sampling thread itself (Func), 0 for none
	selfMode   bool
	known      map[int]uint64 // tree members seen: pid -> start time
	procs      map[procKey]*procRec
	baseTasks  map[int]taskRec // the root's threads at the first sample (Func)
	threads    int             // peak
	samples    int
	states     map[string]int
	maxRSSKiB  int64
	rootIO     procIO // the root's last I/O counters (they include reaped children)
	rootIOSeen bool
	baseIO     procIO

	// extPipes are the pipes the root was given as its standard streams
	// (by whoever started it): waits on them are I/O; waits on any other
	// pipe are waits for another process of the tree (a command
	// substitution, a subprocess's output), like a wait for a child.
	extPipes map[string]bool

	childrenFiles int // 1: the kernel has /proc/PID/task/TID/children; -1: it has not; 0: not known yet

	// sockets caches what each socket waited on is (a State), by inode,
	// across samples; tableReads counts the reads of the /proc/PID/net
	// tables it saves.
	sockets    map[uint64]string
	tableReads int

	// per-sample caches: the /proc/PID/net tables read in this sample
	unixInodes map[uint64]bool
	inetInodes map[uint64]bool // inode -> loopback
	unsettled  map[uint64]bool // inet sockets neither bound nor connected yet: not cached
}

func newTracker(root, excludeTid int, selfMode bool) *tracker {
	return &tracker{root: root, excludeTid: excludeTid, selfMode: selfMode,
		known: map[int]uint64{}, procs: map[procKey]*procRec{}, states: map[string]int{}, extPipes: map[string]bool{},
		sockets: map[uint64]string{}}
}

func readString(path string) (string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// member is a process of the tree: its stat and, when the walk of
// children files listed them, the names of its threads (nil when not
// listed, so that sample lists each task directory once).
type member struct {
	procStat
	tids []string
}

// members returns the stat of every process of the tree now. It follows
// /proc/PID/task/TID/children from the root and the processes already
// known (so that an orphan's descendants are still found), and scans every
// /proc/PID/stat for parent links where the kernel has no children files.
func (t *tracker) members() []member {
	if t.childrenFiles == 0 {
		t.childrenFiles = -1
		if _, err := os.Stat("/proc/self/task/" + strconv.Itoa(gettid()) + "/children"); err == nil {
			t.childrenFiles = 1
		}
	}
	if t.childrenFiles < 0 {
		return t.scanAll()
	}
	type item struct {
		pid   int
		start uint64 // 0: reached as a child, any start time
	}
	queue := []item{{t.root, 0}}
	for pid, start := range t.known {
		if pid != t.root {
			queue = append(queue, item{pid, start})
		}
	}
	seen := map[int]bool{}
	var out []member
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		if seen[it.pid] {
			continue
		}
		base := "/proc/" + strconv.Itoa(it.pid)
		text, ok := readString(base + "/stat")
		var st procStat
		var err error
		if ok {
			st, err = parseStat(text)
		}
		if !ok || err != nil || (it.start != 0 && st.starttime != it.start) {
			if it.start != 0 && t.known[it.pid] == it.start {
				delete(t.known, it.pid) // gone (its figures stay in procs)
			}
			continue
		}
		seen[it.pid] = true
		t.known[it.pid] = st.starttime
		tids, _ := filepathNames(base + "/task")
		out = append(out, member{st, tids})
		for _, tn := range tids {
			children, _ := readString(base + "/task/" + tn + "/children")
			for _, c := range strings.Fields(children) {
				if pid, err := strconv.Atoi(c); err == nil {
					queue = append(queue, item{pid, 0})
				}
			}
		}
	}
	return out
}

// scanAll finds the tree by reading every /proc/PID/stat.
func (t *tracker) scanAll() []member {
	dir, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := dir.Readdirnames(-1)
	dir.Close()
	all := map[int]procStat{}
	children := map[int][]int{}
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		text, ok := readString("/proc/" + n + "/stat")
		if !ok {
			continue
		}
		st, err := parseStat(text)
		if err != nil {
			continue
		}
		all[pid] = st
		children[st.ppid] = append(children[st.ppid], pid)
	}
	var queue []int
	if _, ok := all[t.root]; ok {
		queue = append(queue, t.root)
	}
	for pid, start := range t.known {
		if st, ok := all[pid]; !ok || st.starttime != start {
			delete(t.known, pid) // gone (its figures stay in procs)
		} else if pid != t.root {
			queue = append(queue, pid)
		}
	}
	seen := map[int]bool{}
	var out []member
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		st := all[pid]
		out = append(out, member{procStat: st})
		t.known[pid] = st.starttime
		queue = append(queue, children[pid]...)
	}
	return out
}

// sample reads the tree once. count says whether the sample's wait state is
// counted (the baseline of Func is not).

func (t *tracker) sample(count bool) {
	t.beginSample()
	best := len(statePriority)
	threads := 0
	for _, m := range t.members() {
		st := m.procStat
		key := procKey{st.pid, st.starttime}
		rec := t.procs[key]
		if rec == nil {
			rec = &procRec{tasks: map[int]taskRec{}}
			t.procs[key] = rec
		}
		rec.utime, rec.stime = st.utime, st.stime
		base := "/proc/" + strconv.Itoa(st.pid)
		if st.pid == t.root {
			for _, fd := range []string{"0", "1", "2"} {
				if target, err := os.Readlink(base + "/fd/" + fd); err == nil && strings.HasPrefix(target, "pipe:[") {
					t.extPipes[target] = true
				}
			}
		}
		if text, ok := readString(base + "/io"); ok {
			rec.io, rec.ioRead = parseIO(text), true
			if st.pid == t.root {
				t.rootIO = rec.io
				if !t.rootIOSeen {
					t.baseIO = rec.io
				}
				t.rootIOSeen = true
			}
		}
		if text, ok := readString(base + "/status"); ok {
			s := parseStatus(text)
			kib := s.vmHWMKiB
			if t.selfMode && st.pid == t.root {
				kib = s.vmRSSKiB // VmHWM of the calling process covers its whole life
			}
			if kib > t.maxRSSKiB {
				t.maxRSSKiB = kib
			}
		}
		tids := m.tids
		if tids == nil {
			tids, _ = filepathNames(base + "/task")
		}
		for _, tn := range tids {
			tid, err := strconv.Atoi(tn)
			if err != nil {
				continue
			}
			tbase := base + "/task/" + tn
			text, ok := readString(tbase + "/stat")
			if !ok {
				continue
			}
			ts, err := parseStat(text)
			if err != nil {
				continue
			}
			tr := rec.tasks[tid]
			tr.blkioTicks = ts.blkioTicks
			if text, ok := readString(tbase + "/schedstat"); ok {
				if c, d, err := parseSchedstat(text); err == nil {
					tr.cpuNs, tr.runDelayNs = c, d
				}
			}
			rec.tasks[tid] = tr
			if tid == t.excludeTid || ts.state == 'Z' || ts.state == 'X' {
				continue
			}
			threads++
			if !count {
				continue
			}
			best = min(best, stateRank(t.threadState(st.pid, tbase, ts.state)))
		}
		if t.selfMode && st.pid == t.root && t.baseTasks == nil {
			t.baseTasks = map[int]taskRec{}
			for k, v := range rec.tasks {
				t.baseTasks[k] = v
			}
		}
	}
	if threads > t.threads {
		t.threads = threads
	}
	if count && best < len(statePriority) {
		t.samples++
		t.states[statePriority[best]]++
	}
}

// beginSample forgets what the previous sample cached.
func (t *tracker) beginSample() {
	t.unixInodes, t.inetInodes, t.unsettled = nil, nil, nil
}

func filepathNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// threadState tells what one thread is doing.
func (t *tracker) threadState(pid int, tbase string, state byte) string {
	switch state {
	case 'R':
		return StateCPU
	case 'D':
		return StateDisk
	case 'S', 'I':
	default: // stopped, traced, ...
		return StateOther
	}
	if text, ok := readString(tbase + "/syscall"); ok {
		if nr, args, err := parseSyscall(text); err == nil {
			if nr == syscallRunning {
				return StateCPU
			}
			if s := t.syscallState(pid, nr, args); s != "" {
				return s
			}
		}
	}
	w, _ := readString(tbase + "/wchan")
	return classifyWchan(w)
}

// syscallState tells a wait from the system call a thread is blocked in
// and, for calls on a descriptor, from what the descriptor is. "" when the
// call does not say.
func (t *tracker) syscallState(pid, nr int, args []uint64) string {
	kind, ok := syscallKinds[nr]
	if !ok {
		return ""
	}
	switch kind {
	case scFd:
		if len(args) == 0 {
			return ""
		}
		return t.fdState(pid, int(int32(args[0])))
	case scEpoll:
		if len(args) == 0 {
			return StatePoll
		}
		text, ok := readString("/proc/" + strconv.Itoa(pid) + "/fdinfo/" + strconv.Itoa(int(int32(args[0]))))
		if !ok {
			return StatePoll
		}
		return t.fdsState(pid, parseEpollTargets(text))
	case scPollFds:
		if len(args) < 2 {
			return StatePoll
		}
		if args[1] == 0 {
			return StateSleep // poll(NULL, 0, timeout): a sleep
		}
		n := min(args[1], 64)
		buf, ok := readMem(pid, args[0], int(n)*8)
		if !ok {
			return StatePoll
		}
		return t.fdsState(pid, parsePollFds(buf))
	case scSelect:
		if len(args) < 3 {
			return StatePoll
		}
		nfds := min(int(int32(args[0])), 1024)
		if nfds <= 0 {
			return StateSleep // select(0, ...): a sleep
		}
		var fds []int
		for _, ptr := range args[1:3] { // the read and write sets
			if ptr == 0 {
				continue
			}
			buf, ok := readMem(pid, ptr, (nfds+63)/64*8)
			if !ok {
				return StatePoll
			}
			fds = append(fds, parseFdSet(buf, nfds)...)
		}
		return t.fdsState(pid, fds)
	case scSleep:
		return StateSleep
	case scChild:
		return StateChild
	case scLock:
		return StateLock
	case scDisk:
		return StateDisk
	}
	return ""
}

// fdsState is the most specific state of a wait on several descriptors;
// StatePoll when none says what it is.
func (t *tracker) fdsState(pid int, fds []int) string {
	best := len(statePriority)
	for i, fd := range fds {
		if i == 64 {
			break
		}
		if s := stateRank(t.fdState(pid, fd)); s < best {
			best = s
			if best <= stateRank(StateDisk) {
				break // nothing a descriptor is ranks higher
			}
		}
	}
	if best >= stateRank(StateOther) {
		return StatePoll
	}
	return statePriority[best]
}

// readMem reads n bytes at addr of a process's memory (which needs the
// right to ptrace it: the same user, or root).
func readMem(pid int, addr uint64, n int) ([]byte, bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mem")
	if err != nil {
		return nil, false
	}
	defer f.Close()
	buf := make([]byte, n)
	if addr > 1<<62 {
		return nil, false
	}
	if _, err := f.ReadAt(buf, int64(addr)); err != nil {
		return nil, false
	}
	return buf, true
}

func (t *tracker) fdState(pid, fd int) string {
	if fd < 0 {
		return StateOther
	}
	target, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + strconv.Itoa(fd))
	if err != nil {
		return StateOther
	}
	if strings.HasPrefix(target, "pipe:[") && !t.extPipes[target] {
		return StateChild // a pipe between processes of the tree
	}
	ino, isSocket := socketInode(target)
	if !isSocket {
		return classifyFdTarget(target, nil, nil)
	}
	if s, ok := t.sockets[ino]; ok {
		return s
	}
	var s string
	settled := true
	if t.selfMode && pid == os.Getpid() {
		s, settled = ownSocketState(fd)
	} else {
		t.readSocketTables(pid)
		s = classifyFdTarget(target, func(i uint64) bool { return t.unixInodes[i] }, func(i uint64) (bool, bool) { lo, ok := t.inetInodes[i]; return ok, lo })
		settled = !t.unsettled[ino]
	}
	if settled {
		if len(t.sockets) >= maxCachedSockets {
			clear(t.sockets)
		}
		t.sockets[ino] = s
	}
	return s
}

// ownSocketState tells what a socket of the calling process is from the
// socket itself (its domain, and its peer's address or, unconnected, its
// own), as the /proc/net tables would, for a few system calls; settled is
// false for an inet socket neither bound nor connected yet.
func ownSocketState(fd int) (state string, settled bool) {
	domain, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return StateOther, false // closed since its link was read, or not a socket now
	}
	switch domain {
	case unix.AF_UNIX:
		return StateLocalSocket, true
	case unix.AF_INET, unix.AF_INET6:
	default:
		return StateOther, true // netlink, packet, ...
	}
	sa, err := unix.Getpeername(fd)
	if err != nil {
		if sa, err = unix.Getsockname(fd); err != nil {
			return StateOther, false
		}
		settled = sockaddrPort(sa) != 0
	} else {
		settled = true
	}
	if sockaddrIsLoopback(sa) {
		return StateLocalSocket, settled
	}
	return StateNetwork, settled
}

func sockaddrPort(sa unix.Sockaddr) int {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port
	case *unix.SockaddrInet6:
		return a.Port
	}
	return 0
}

// sockaddrIsLoopback: 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104.
func sockaddrIsLoopback(sa unix.Sockaddr) bool {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Addr[0] == 127
	case *unix.SockaddrInet6:
		return netip.AddrFrom16(a.Addr).Unmap().IsLoopback()
	}
	return false
}

// maxCachedSockets bounds the socket cache (closed sockets stay in it).
const maxCachedSockets = 1 << 16

// socketInode returns the inode of a "socket:[N]" link target.
func socketInode(target string) (uint64, bool) {
	rest, ok := strings.CutPrefix(target, "socket:[")
	if !ok {
		return 0, false
	}
	ino, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64)
	return ino, err == nil
}

// readSocketTables reads the process's /proc/PID/net tables of Unix-domain
// and TCP/UDP sockets, once per sample at most. They list every socket of
// the network namespace (thousands on a busy host, and the kernel formats
// each line on every read), so they are read only when a thread waits on a
// socket the cache does not know: a socket's kind and peer do not change
// once it is bound or connected, and its inode is not reused while it is
// open.
func (t *tracker) readSocketTables(pid int) {
	if t.unixInodes != nil {
		return
	}
	t.tableReads++
	t.unixInodes, t.inetInodes, t.unsettled = map[uint64]bool{}, map[uint64]bool{}, map[uint64]bool{}
	net := "/proc/" + strconv.Itoa(pid) + "/net/"
	if text, ok := readString(net + "unix"); ok {
		parseSocketInodes(text, unixInodeColumn, t.unixInodes, nil)
	}
	for _, f := range []string{"tcp", "tcp6", "udp", "udp6"} {
		if text, ok := readString(net + f); ok {
			parseSocketInodes(text, inetInodeColumn, t.inetInodes, t.unsettled)
		}
	}
}

// System call kinds.
const (
	scFd      = iota + 1 // the first argument is a descriptor
	scEpoll              // the first argument is an epoll descriptor
	scPollFds            // poll, ppoll: a struct pollfd array in user memory, and its length
	scSelect             // select, pselect6: the highest descriptor + 1, then fd_set bitmaps
	scSleep
	scChild
	scLock
	scDisk
)

var syscallKinds = map[int]int{
	unix.SYS_READ: scFd, unix.SYS_READV: scFd, unix.SYS_PREAD64: scFd, unix.SYS_PREADV: scFd,
	unix.SYS_WRITE: scFd, unix.SYS_WRITEV: scFd, unix.SYS_PWRITE64: scFd, unix.SYS_PWRITEV: scFd,
	unix.SYS_RECVFROM: scFd, unix.SYS_RECVMSG: scFd, unix.SYS_SENDTO: scFd, unix.SYS_SENDMSG: scFd,
	unix.SYS_ACCEPT: scFd, unix.SYS_ACCEPT4: scFd, unix.SYS_CONNECT: scFd, unix.SYS_SPLICE: scFd,
	unix.SYS_FSYNC: scDisk, unix.SYS_FDATASYNC: scDisk, unix.SYS_SYNC_FILE_RANGE: scDisk, unix.SYS_IO_GETEVENTS: scDisk,
	unix.SYS_EPOLL_PWAIT: scEpoll, unix.SYS_EPOLL_PWAIT2: scEpoll,
	unix.SYS_PPOLL: scPollFds, unix.SYS_PSELECT6: scSelect,
	unix.SYS_NANOSLEEP: scSleep, unix.SYS_CLOCK_NANOSLEEP: scSleep,
	unix.SYS_WAIT4: scChild, unix.SYS_WAITID: scChild,
	unix.SYS_FUTEX: scLock,
}

// blkioAccounted reports whether the kernel counts block-I/O delay.
func blkioAccounted() bool {
	text, ok := readString("/proc/sys/kernel/task_delayacct")
	if !ok {
		return false // no CONFIG_TASK_DELAY_ACCT, or no access
	}
	return strings.TrimSpace(text) == "1"
}

// totals sums what the samples saw: the run-queue wait and block-I/O delay
// of every thread (for the root in self mode, since the first sample), the
// user and system ticks of every process.
//
// The run-queue wait counts only for threads that computed for at least 2%
// of the wall time: it is there to give back to busy threads the time
// a loaded machine kept them from a core, and the many short waits of idle
// threads woken now and then (a Go runtime's spare threads, a shell waiting
// for its child) are not the work's and would add up past it.
//
// runThreads is the number of threads whose waits runDelaySec sums.
func (t *tracker) totals(wall time.Duration) (runDelaySec, blkioSec, userSec, sysSec float64, runThreads int) {
	var runNs, blk, ut, stt uint64
	busy := uint64(wall.Nanoseconds() / 50)
	for key, rec := range t.procs {
		self := t.selfMode && key.pid == t.root
		for tid, tr := range rec.tasks {
			var b taskRec
			if self {
				b = t.baseTasks[tid]
			}
			if cpu := tr.cpuNs - min(b.cpuNs, tr.cpuNs); cpu >= busy && cpu > 0 {
				runNs += tr.runDelayNs - min(b.runDelayNs, tr.runDelayNs)
				runThreads++
			}
			blk += tr.blkioTicks - min(b.blkioTicks, tr.blkioTicks)
		}
		if !self {
			ut += rec.utime
			stt += rec.stime
		}
	}
	return float64(runNs) / 1e9, float64(blk) / clockTicks, float64(ut) / clockTicks, float64(stt) / clockTicks, runThreads
}
