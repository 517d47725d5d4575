// Command uringecho is an io_uring echo server, a peer for `braid bench
// echo` that measures what completion-based I/O would give braid's
// Protocol path: one thread, no epoll, each connection's data arriving by
// a multishot receive into a ring of provided buffers (no system call per
// read), replies sent as SEND submissions batched into the one
// io_uring_enter per turn (--send sqe) or with a sendto system call at
// once (--send syscall). Linux 6.1 or later.
//
//	uringecho --port 9000 [--send sqe|syscall]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The kernel's structures (include/uapi/linux/io_uring.h).
type sqRingOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type cqRingOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sq                                                                     sqRingOffsets
	cq                                                                     cqRingOffsets
}

type sqe struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off, addr     uint64
	len, opFlags  uint32
	userData      uint64
	bufGroup      uint16
	personality   uint16
	spliceFdIn    int32
	addr3, pad    uint64
}

type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

type bufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid, flags uint16
	resv        [3]uint64
}

// Opcodes, flags and offsets of the kernel's io_uring interface.
const (
	opAccept = 13
	opSend   = 26
	opRecv   = 27

	setupCQSize       = 1 << 3
	setupSubmitAll    = 1 << 7
	setupCoopTaskrun  = 1 << 8
	setupSingleIssuer = 1 << 12
	setupDeferTaskrun = 1 << 13
	setupNoSQArray    = 1 << 16

	enterGetEvents   = 1
	registerPbufRing = 22
	sqeBufferSelect  = 1 << 5
	recvMultishot    = 1 << 1
	acceptMultishot  = 1 << 0
	cqeFBuffer       = 1 << 0
	cqeFMore         = 1 << 1
	offSQEs          = 0x10000000
)

// The server's buffer ring, and the kinds of operation a completion's
// user data names.
const (
	bufSize = 4096 + 512
	nbufs   = 4096 // a power of two

	kindAccept, kindRecv, kindSend = 0, 1, 2
)

// chunk is a received buffer waiting to be (or being) sent back.
type chunk struct {
	bid      uint16
	off, end int
}

// conn is one connection: its replies go out in order, one send in
// flight at a time. Its descriptor is closed when its multishot receive
// has ended and no send is in flight, so that no completion can arrive
// for a descriptor number the kernel has given to a new connection.
type conn struct {
	reading  bool
	inFlight bool
	failed   bool
	queue    []chunk
}

type server struct {
	fd                             int
	sqHead, sqTail, cqHead, cqTail *uint32
	sqMask, cqMask                 uint32
	sqes                           []sqe
	cqes                           []cqe
	toSubmit                       uint32
	bufRing, bufMem                []byte
	bufTail                        uint16
	conns                          []conn
	syscallSend                    bool
}

func main() {
	port := flag.Int("port", 9000, "port on 127.0.0.1")
	send := flag.String("send", "sqe", "how replies are sent: sqe (batched SEND submissions) or syscall (sendto at once)")
	flag.Parse()
	if *send != "sqe" && *send != "syscall" {
		fmt.Fprintf(os.Stderr, "uringecho: --send %q: want sqe or syscall\n", *send)
		os.Exit(2)
	}
	runtime.LockOSThread() // the ring is single-issuer: one thread submits
	s, err := newServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "uringecho:", err)
		os.Exit(1)
	}
	s.syscallSend = *send == "syscall"
	lfd, err := listen(*port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "uringecho:", err)
		os.Exit(1)
	}
	if err := s.accept(lfd); err != nil {
		fmt.Fprintln(os.Stderr, "uringecho:", err)
		os.Exit(1)
	}
	fmt.Println("listening", *port, "model=uringecho-"+*send)
	fmt.Fprintln(os.Stderr, "uringecho:", s.run())
	os.Exit(1)
}

func listen(port int) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return -1, fmt.Errorf("bind 127.0.0.1:%d: %w", port, err)
	}
	return fd, unix.Listen(fd, 4096)
}

func newServer() (*server, error) {
	var p uringParams
	p.flags = setupCQSize | setupSubmitAll | setupCoopTaskrun | setupSingleIssuer | setupDeferTaskrun | setupNoSQArray
	p.cqEntries = 8192
	r, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 2048, uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w (needs Linux 6.1 or later with io_uring enabled)", e)
	}
	s := &server{fd: int(r)}
	size := int(p.sq.ringEntries) // the SQ ring's fields, then the CQ ring's (one mapping)
	if end := int(p.cq.cqes) + int(p.cqEntries)*int(unsafe.Sizeof(cqe{})); end > size {
		size = end
	}
	ring, err := unix.Mmap(s.fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mapping the rings: %w", err)
	}
	sqm, err := unix.Mmap(s.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mapping the submission entries: %w", err)
	}
	u32 := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&ring[off])) }
	s.sqHead, s.sqTail, s.cqHead, s.cqTail = u32(p.sq.head), u32(p.sq.tail), u32(p.cq.head), u32(p.cq.tail)
	s.sqMask, s.cqMask = *u32(p.sq.ringMask), *u32(p.cq.ringMask)
	s.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&sqm[0])), p.sqEntries)
	s.cqes = unsafe.Slice((*cqe)(unsafe.Pointer(&ring[p.cq.cqes])), p.cqEntries)

	if s.bufRing, err = unix.Mmap(-1, 0, nbufs*16, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE|unix.MAP_POPULATE); err != nil {
		return nil, err
	}
	if s.bufMem, err = unix.Mmap(-1, 0, nbufs*bufSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE|unix.MAP_POPULATE); err != nil {
		return nil, err
	}
	reg := bufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&s.bufRing[0]))), ringEntries: nbufs}
	if _, _, e := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(s.fd), registerPbufRing, uintptr(unsafe.Pointer(&reg)), 1, 0, 0); e != 0 {
		return nil, fmt.Errorf("registering the buffer ring: %w (needs Linux 5.19 or later)", e)
	}
	for i := 0; i < nbufs; i++ {
		s.provide(uint16(i))
	}
	s.publishBuffers()
	return s, nil
}

// getSQE returns the next submission entry, zeroed; it submits what is
// queued when the ring is full.
func (s *server) getSQE() (*sqe, error) {
	t := *s.sqTail
	if t-atomic.LoadUint32(s.sqHead) >= uint32(len(s.sqes)) {
		if err := s.enter(0); err != nil {
			return nil, err
		}
	}
	e := &s.sqes[t&s.sqMask]
	*e = sqe{}
	atomic.StoreUint32(s.sqTail, t+1)
	s.toSubmit++
	return e, nil
}

// enter submits what is queued and, when wait is set, waits for at least
// one completion.
func (s *server) enter(wait uint32) error {
	var flags uintptr
	if wait > 0 {
		flags = enterGetEvents
	}
	for {
		n, _, e := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(s.fd), uintptr(s.toSubmit), uintptr(wait), flags, 0, 0)
		switch e {
		case 0:
			s.toSubmit -= uint32(n)
			return nil
		case unix.EINTR:
			continue
		case unix.EBUSY, unix.EAGAIN:
			return nil // completions to reap first
		default:
			return fmt.Errorf("io_uring_enter: %w", e)
		}
	}
}

// provide gives buffer bid back to the kernel's ring (published by
// publishBuffers).
func (s *server) provide(bid uint16) {
	e := unsafe.Pointer(&s.bufRing[int(s.bufTail&(nbufs-1))*16])
	*(*uint64)(e) = uint64(uintptr(unsafe.Pointer(&s.bufMem[int(bid)*bufSize])))
	*(*uint32)(unsafe.Add(e, 8)) = bufSize
	*(*uint16)(unsafe.Add(e, 12)) = bid
	s.bufTail++
}

// publishBuffers stores the buffer ring's tail, which overlays the last
// two bytes of its first entry, together with that entry's id.
func (s *server) publishBuffers() {
	word := (*uint32)(unsafe.Pointer(&s.bufRing[12]))
	atomic.StoreUint32(word, uint32(s.bufTail)<<16|*word&0xffff)
}

func (s *server) accept(lfd int) error {
	e, err := s.getSQE()
	if err != nil {
		return err
	}
	e.opcode, e.fd, e.ioprio, e.opFlags = opAccept, int32(lfd), acceptMultishot, unix.SOCK_CLOEXEC
	e.userData = uint64(lfd)<<8 | kindAccept
	return nil
}

func (s *server) recv(fd int) error {
	e, err := s.getSQE()
	if err != nil {
		return err
	}
	e.opcode, e.fd, e.ioprio, e.flags = opRecv, int32(fd), recvMultishot, sqeBufferSelect
	e.userData = uint64(fd)<<8 | kindRecv
	return nil
}

// sendHead sends the rest of the connection's first queued chunk.
func (s *server) sendHead(fd int) error {
	c := &s.conns[fd]
	ch := &c.queue[0]
	buf := s.bufMem[int(ch.bid)*bufSize+ch.off : int(ch.bid)*bufSize+ch.end]
	if s.syscallSend {
		n, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, 0, 0)
		if e == 0 {
			return s.sent(fd, int32(n))
		}
		if e != unix.EAGAIN {
			return s.sent(fd, -int32(e))
		}
		// The socket's buffer is full: the ring waits for room.
	}
	e, err := s.getSQE()
	if err != nil {
		return err
	}
	e.opcode, e.fd, e.opFlags = opSend, int32(fd), unix.MSG_NOSIGNAL
	e.addr, e.len = uint64(uintptr(unsafe.Pointer(&buf[0]))), uint32(len(buf))
	e.userData = uint64(fd)<<8 | kindSend
	c.inFlight = true
	return nil
}

// sent accounts for res bytes of the connection's first chunk (or the
// error -res), and sends what is next.
func (s *server) sent(fd int, res int32) error {
	c := &s.conns[fd]
	c.inFlight = false
	if res < 0 {
		s.fail(fd)
		return nil
	}
	ch := &c.queue[0]
	ch.off += int(res)
	if ch.off == ch.end {
		s.provide(ch.bid)
		c.queue = c.queue[1:]
	}
	if len(c.queue) > 0 {
		return s.sendHead(fd)
	}
	s.closeIfDone(fd)
	return nil
}

// fail drops the connection's unsent replies and shuts the socket down,
// which ends its multishot receive.
func (s *server) fail(fd int) {
	c := &s.conns[fd]
	for _, ch := range c.queue {
		s.provide(ch.bid)
	}
	c.queue, c.failed = c.queue[:0], true
	_ = unix.Shutdown(fd, unix.SHUT_RDWR)
	s.closeIfDone(fd)
}

func (s *server) closeIfDone(fd int) {
	if c := &s.conns[fd]; !c.reading && !c.inFlight && len(c.queue) == 0 {
		_ = unix.Close(fd)
	}
}

// run serves until the ring fails; it returns why.
func (s *server) run() error {
	for {
		if err := s.enter(1); err != nil {
			return err
		}
		head, tail := *s.cqHead, atomic.LoadUint32(s.cqTail)
		for ; head != tail; head++ {
			if err := s.complete(s.cqes[head&s.cqMask]); err != nil {
				return err
			}
		}
		atomic.StoreUint32(s.cqHead, head)
		s.publishBuffers()
	}
}

func (s *server) complete(c cqe) error {
	fd := int(c.userData >> 8)
	switch c.userData & 0xff {
	case kindAccept:
		if c.res < 0 {
			return fmt.Errorf("accept: %w", unix.Errno(-c.res))
		}
		nfd := int(c.res)
		for nfd >= len(s.conns) {
			s.conns = append(s.conns, conn{})
		}
		s.conns[nfd] = conn{reading: true, queue: s.conns[nfd].queue[:0]}
		_ = unix.SetsockoptInt(nfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		if c.flags&cqeFMore == 0 {
			if err := s.accept(fd); err != nil {
				return err
			}
		}
		return s.recv(nfd)
	case kindRecv:
		cn := &s.conns[fd]
		if c.flags&cqeFBuffer != 0 {
			bid := uint16(c.flags >> 16)
			if c.res <= 0 || cn.failed {
				s.provide(bid)
			} else {
				cn.queue = append(cn.queue, chunk{bid: bid, end: int(c.res)})
				if !cn.inFlight && len(cn.queue) == 1 {
					if err := s.sendHead(fd); err != nil {
						return err
					}
				}
			}
		}
		switch {
		case c.flags&cqeFMore != 0:
			return nil
		case c.res == -int32(unix.ENOBUFS) && !cn.failed:
			return s.recv(fd) // every buffer was in use: receive again
		case c.res > 0 && !cn.failed:
			return s.recv(fd) // the kernel ended the multishot: arm it again
		}
		cn.reading = false // end of stream, or an error
		s.closeIfDone(fd)
		return nil
	case kindSend:
		return s.sent(fd, c.res)
	}
	return errors.New("unknown completion")
}
