package aio

import (
	"errors"
	"fmt"
	"net"

	"github.com/braid-go/braid/internal/poller"
	"golang.org/x/sys/unix"
)

// Errors of the I/O layer.
var (
	// ErrTransportClosed: a write on a transport that is closing or
	// closed.
	ErrTransportClosed = errors.New("aio: the transport is closed")
	// errLoopShutdown is what ConnectionLost receives when the loop shuts
	// down with the connection still open.
	errLoopShutdown = fmt.Errorf("aio: the connection was closed by the loop's shutdown: %w", net.ErrClosed)
)

const (
	defaultHighWater = 64 * 1024
	// readBufSize is the loop's read buffer: one read takes at most this.
	readBufSize = 256 * 1024
)

// transportKind says what a streamTransport's descriptor is.
type transportKind uint8

const (
	kindSocket transportKind = iota
	kindUnixSocket
	kindPipe
)

// streamTransport is the Transport of TCP and Unix stream sockets and of
// pipes. It is a callback on the loop's poller: no goroutine, no
// coroutine. Its memory is this struct, the protocol, and the write
// buffer while something is buffered.
type streamTransport struct {
	w     fdWatch
	loop  *Loop
	io    *loopIO
	proto Protocol
	flow  WriteFlowControl
	bufp  BufferedProtocol // proto, if it provides its own buffers
	ovp   overflowProtocol // proto, if its reads may run past its buffer

	wbuf []byte // buffered writes: wbuf[woff:]
	woff int

	high, low int32

	kind        transportKind
	reading     bool // the user wants DataReceived calls
	readEOF     bool // the peer closed its write side
	closing     bool // Close or Abort was called
	lost        bool // ConnectionLost has been called or is scheduled
	writePaused bool // the protocol was told PauseWriting
	eofPending  bool // WriteEOF waits for the buffer to drain
	eofWritten  bool
	readable    bool // the descriptor can be read (pipes: false for a write end)

	laddr, raddr net.Addr

	srv        *Server // the server that accepted it, if any
	prev, next *streamTransport
}

// newStreamTransport registers fd (non-blocking) with the loop and
// returns its transport; the caller then calls ConnectionMade.
func newStreamTransport(l *Loop, fd int, kind transportKind, proto Protocol, readable bool) (*streamTransport, error) {
	io := l.ioState()
	t := &streamTransport{loop: l, io: io, proto: proto, kind: kind, reading: readable, readable: readable,
		high: defaultHighWater, low: defaultHighWater / 4}
	t.flow, _ = proto.(WriteFlowControl)
	t.bufp, _ = proto.(BufferedProtocol)
	t.ovp, _ = proto.(overflowProtocol)
	t.w.fd = fd
	t.w.owner = t
	var ev poller.Events
	if readable {
		ev = poller.Readable
	}
	if err := l.addWatch(&t.w, ev, t.onEvents); err != nil {
		return nil, err
	}
	io.live++
	return t, nil
}

func (t *streamTransport) interest() poller.Events {
	var ev poller.Events
	if t.reading && !t.readEOF && !t.closing && t.readable {
		ev |= poller.Readable
	}
	if t.woff < len(t.wbuf) {
		ev |= poller.Writable
	}
	return ev
}

func (t *streamTransport) updateInterest() {
	if t.lost {
		return
	}
	if err := t.loop.setInterest(&t.w, t.interest()); err != nil {
		t.fatal(err)
	}
}

// onEvents handles the poller's report for the descriptor.
func (t *streamTransport) onEvents(ev poller.Events) {
	if t.lost {
		return
	}
	if ev&poller.Writable != 0 && t.woff < len(t.wbuf) {
		t.flush()
		if t.lost {
			return
		}
	}
	if ev&(poller.Readable|poller.Hangup|poller.Error) != 0 {
		if t.reading && !t.readEOF && !t.closing && t.readable {
			t.readReady()
		} else if ev&poller.Error != 0 {
			t.fatal(sockError(t.w.fd))
		} else if ev&poller.Hangup != 0 && t.woff < len(t.wbuf) {
			// The peer is gone both ways while writes wait: they cannot
			// be delivered (and epoll would report the hang-up forever).
			t.fatal(wrapOp("write", unix.EPIPE))
		}
	}
}

// sockError returns the pending error of a socket (SO_ERROR).
func sockError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return err
	}
	if v != 0 {
		return unix.Errno(v)
	}
	return errors.New("aio: error reported on the connection")
}

func (t *streamTransport) readReady() {
	var buf []byte
	if t.bufp != nil {
		buf = t.bufp.GetBuffer(-1)
		if t.lost || t.closing {
			return // GetBuffer closed the transport
		}
		if len(buf) == 0 {
			t.fatal(errEmptyBuffer)
			return
		}
	} else {
		buf = t.io.readBuf()
	}
	var n int
	var err error
	if t.ovp != nil && t.ovp.readPastBuffer() {
		n, err = rawReadv(t.w.fd, buf, t.io.readBuf())
	} else {
		n, err = t.read(buf)
	}
	if err != nil {
		if err == unix.EAGAIN || err == unix.EINTR {
			return
		}
		t.fatal(wrapOp("read", err))
		return
	}
	if n > len(buf) {
		t.ovp.bufferOverflowed(t.io.buf[:n-len(buf)])
		return
	}
	if n == 0 {
		t.readEOF = true
		t.updateInterest()
		if !t.proto.EOFReceived() {
			t.Close()
		}
		return
	}
	if t.bufp != nil {
		t.bufp.BufferUpdated(n)
		return
	}
	t.proto.DataReceived(buf[:n])
}

// read and write are the descriptor's system calls: sockets skip the VFS
// layer (sockRead, sockWrite), pipes cannot.
func (t *streamTransport) read(p []byte) (int, error) {
	if t.kind == kindPipe {
		return rawRead(t.w.fd, p)
	}
	return sockRead(t.w.fd, p)
}

func (t *streamTransport) write(p []byte) (int, error) {
	if t.kind == kindPipe {
		return rawWrite(t.w.fd, p)
	}
	return sockWrite(t.w.fd, p)
}

// Write implements Transport.
func (t *streamTransport) Write(data []byte) error {
	if err := loopCheck(t.loop, "Transport.Write"); err != nil {
		return err
	}
	return t.writeOnLoop(data)
}

// writeOnLoop is Write once the caller is known to be on the loop.
func (t *streamTransport) writeOnLoop(data []byte) error {
	if t.closing || t.lost || t.eofPending || t.eofWritten {
		return ErrTransportClosed
	}
	if len(data) == 0 {
		return nil
	}
	if t.woff == len(t.wbuf) {
		n, err := t.write(data)
		if err != nil {
			if err != unix.EAGAIN && err != unix.EINTR {
				err = wrapOp("write", err)
				t.fatal(err)
				return err
			}
			n = 0
		}
		if n == len(data) {
			return nil
		}
		data = data[n:]
		t.wbuf = append(t.wbuf[:0], data...)
		t.woff = 0
		t.updateInterest()
	} else {
		t.wbuf = append(t.wbuf, data...)
	}
	t.maybePauseProtocol()
	return nil
}

// flush writes buffered data when the descriptor is writable.
func (t *streamTransport) flush() {
	n, err := t.write(t.wbuf[t.woff:])
	if err != nil {
		if err == unix.EAGAIN || err == unix.EINTR {
			return
		}
		t.fatal(wrapOp("write", err))
		return
	}
	t.woff += n
	if t.woff < len(t.wbuf) {
		t.maybeResumeProtocol()
		return
	}
	if cap(t.wbuf) > 4*defaultHighWater {
		t.wbuf = nil
	} else {
		t.wbuf = t.wbuf[:0]
	}
	t.woff = 0
	t.updateInterest()
	t.maybeResumeProtocol()
	// ResumeWriting may have written more (and even asked to close): only
	// what is still empty may be shut down or closed.
	if t.lost || t.woff < len(t.wbuf) {
		return
	}
	if t.eofPending {
		t.eofPending = false
		t.shutdownWrite()
	}
	if t.closing && !t.lost {
		t.lose(nil)
	}
}

func (t *streamTransport) maybePauseProtocol() {
	if !t.writePaused && len(t.wbuf)-t.woff > int(t.high) {
		t.writePaused = true
		if t.flow != nil {
			t.loop.guard(t.flow.PauseWriting)
		}
	}
}

func (t *streamTransport) maybeResumeProtocol() {
	if t.writePaused && len(t.wbuf)-t.woff <= int(t.low) {
		t.writePaused = false
		if t.flow != nil {
			t.loop.guard(t.flow.ResumeWriting)
		}
	}
}

func (t *streamTransport) shutdownWrite() {
	t.eofWritten = true
	if t.kind == kindPipe {
		// A pipe has no half-close: closing the write end is the EOF.
		t.lose(nil)
		return
	}
	if err := unix.Shutdown(t.w.fd, unix.SHUT_WR); err != nil && err != unix.ENOTCONN {
		t.fatal(wrapOp("shutdown", err))
	}
}

// WriteEOF implements Transport.
func (t *streamTransport) WriteEOF() error {
	if err := loopCheck(t.loop, "Transport.WriteEOF"); err != nil {
		return err
	}
	if t.closing || t.lost {
		return ErrTransportClosed
	}
	if t.eofPending || t.eofWritten {
		return nil
	}
	if t.woff < len(t.wbuf) {
		t.eofPending = true
		return nil
	}
	t.shutdownWrite()
	return nil
}

// CanWriteEOF implements Transport.
func (t *streamTransport) CanWriteEOF() bool { return true }

// Close implements Transport.
func (t *streamTransport) Close() error {
	if err := loopCheck(t.loop, "Transport.Close"); err != nil {
		return err
	}
	if t.closing || t.lost {
		return nil
	}
	t.closing = true
	if t.woff == len(t.wbuf) {
		t.lose(nil)
		return nil
	}
	t.updateInterest()
	return nil
}

// Abort implements Transport.
func (t *streamTransport) Abort() {
	mustOnLoop(t.loop, "Transport.Abort")
	if t.lost {
		return
	}
	t.closing = true
	t.wbuf, t.woff = nil, 0
	if t.kind != kindPipe {
		// Reset the connection rather than leave the peer waiting.
		_ = unix.SetsockoptLinger(t.w.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}
	t.lose(nil)
}

// fatal loses the connection with err.
func (t *streamTransport) fatal(err error) {
	if t.lost {
		return
	}
	t.closing = true
	t.wbuf, t.woff = nil, 0
	t.lose(err)
}

// lose closes the descriptor at once and schedules ConnectionLost(err)
// on the loop (never inside the caller's own protocol call).
func (t *streamTransport) lose(err error) {
	if t.lost {
		return
	}
	t.lost = true
	t.closing = true
	t.release()
	t.loop.soon(func() { t.connectionLost(err) })
}

// release unregisters and closes the descriptor.
func (t *streamTransport) release() {
	l := t.loop
	_ = l.removeWatch(&t.w)
	unix.Close(t.w.fd)
	t.w.fd = -1
	t.io.live--
	if t.srv != nil {
		t.srv.detach(t)
	}
}

func (t *streamTransport) connectionLost(err error) {
	p := t.proto
	if t.writePaused {
		t.writePaused = false
	}
	p.ConnectionLost(err)
}

// shutdownNow is the loop's shutdown of a transport still open: the
// descriptor is closed and the protocol told at once.
func (t *streamTransport) shutdownNow() {
	if t.lost {
		return
	}
	t.lost, t.closing = true, true
	t.wbuf = nil
	t.release()
	t.loop.guard(func() { t.proto.ConnectionLost(errLoopShutdown) })
}

// IsClosing implements Transport.
func (t *streamTransport) IsClosing() bool { return t.closing || t.lost }

// PauseReading implements Transport.
func (t *streamTransport) PauseReading() {
	mustOnLoop(t.loop, "Transport.PauseReading")
	if !t.reading {
		return
	}
	t.reading = false
	t.updateInterest()
}

// ResumeReading implements Transport.
func (t *streamTransport) ResumeReading() {
	mustOnLoop(t.loop, "Transport.ResumeReading")
	if t.reading || !t.readable {
		return
	}
	t.reading = true
	t.updateInterest()
}

// IsReading implements Transport.
func (t *streamTransport) IsReading() bool {
	return t.reading && !t.closing && !t.lost && !t.readEOF && t.readable
}

// SetWriteBufferLimits implements Transport.
func (t *streamTransport) SetWriteBufferLimits(high, low int) {
	mustOnLoop(t.loop, "Transport.SetWriteBufferLimits")
	if high <= 0 {
		high = defaultHighWater
	}
	if low < 0 || low > high {
		low = high / 4
	}
	t.high, t.low = int32(high), int32(low)
	t.maybePauseProtocol()
	t.maybeResumeProtocol()
}

// WriteBufferLimits implements Transport.
func (t *streamTransport) WriteBufferLimits() (low, high int) { return int(t.low), int(t.high) }

// WriteBufferSize implements Transport.
func (t *streamTransport) WriteBufferSize() int { return len(t.wbuf) - t.woff }

// LocalAddr implements Transport.
func (t *streamTransport) LocalAddr() net.Addr {
	if t.laddr == nil && t.kind != kindPipe && !t.lost {
		if sa, err := unix.Getsockname(t.w.fd); err == nil {
			t.laddr = toNetAddr(unix.SOCK_STREAM, sa)
		}
	}
	return t.laddr
}

// RemoteAddr implements Transport.
func (t *streamTransport) RemoteAddr() net.Addr {
	if t.raddr == nil && t.kind != kindPipe && !t.lost {
		if sa, err := unix.Getpeername(t.w.fd); err == nil {
			t.raddr = toNetAddr(unix.SOCK_STREAM, sa)
		}
	}
	return t.raddr
}

// Protocol implements Transport.
func (t *streamTransport) Protocol() Protocol { return t.proto }

// SetProtocol implements Transport.
func (t *streamTransport) SetProtocol(p Protocol) {
	mustOnLoop(t.loop, "Transport.SetProtocol")
	t.proto = p
	t.flow, _ = p.(WriteFlowControl)
	t.bufp, _ = p.(BufferedProtocol)
	t.ovp, _ = p.(overflowProtocol)
}

// Loop implements Transport.
func (t *streamTransport) Loop() *Loop { return t.loop }

// String describes the transport for logs.
func (t *streamTransport) String() string {
	state := "open"
	if t.lost {
		state = "closed"
	} else if t.closing {
		state = "closing"
	}
	return fmt.Sprintf("<aio.Transport fd=%d %s>", t.w.fd, state)
}

// wrapOp makes a system call's error a *net.OpError, as the net package
// reports them (errors.Is works on the errno).
func wrapOp(op string, err error) error {
	if err == nil {
		return nil
	}
	return &net.OpError{Op: op, Net: "aio", Err: err}
}

// guard runs a protocol callback, turning a panic into a logged error so
// that one connection's bug does not take the loop down.
func (l *Loop) guard(fn func()) { l.callback(fn) }
