package aio

import (
	"errors"
	"net"
)

// Protocol receives the events of one stream connection (asyncio.Protocol).
// Its methods run as callbacks of the connection's loop, one at a time,
// and must not block: a Protocol has no goroutine and no coroutine stack
// of its own, which is what makes it the fast path.
//
// The calls come in this order: ConnectionMade once; DataReceived any
// number of times; EOFReceived at most once; ConnectionLost once, last.
// Embed BaseProtocol to implement only the methods you need.
type Protocol interface {
	// ConnectionMade is called when the connection is set up, with the
	// transport to write to.
	ConnectionMade(t Transport)
	// DataReceived is called with bytes read from the connection. data is
	// the loop's read buffer: it is valid only during the call; copy what
	// you keep.
	DataReceived(data []byte)
	// EOFReceived is called when the peer has closed its side for
	// writing. Returning false closes the transport (after pending
	// writes); returning true keeps it half-open, so that you can still
	// write and then Close.
	EOFReceived() (keepOpen bool)
	// ConnectionLost is called once when the connection is closed: err is
	// nil after a regular close or EOF, the error otherwise.
	ConnectionLost(err error)
}

// WriteFlowControl is implemented by protocols that want to know when the
// transport's write buffer goes above its high-water mark (PauseWriting)
// and back to its low-water mark (ResumeWriting), as asyncio's
// pause_writing and resume_writing.
type WriteFlowControl interface {
	PauseWriting()
	ResumeWriting()
}

// BufferedProtocol is a Protocol that receives data in buffers of its own
// (asyncio.BufferedProtocol): the transport reads straight into the
// buffer GetBuffer returns and then calls BufferUpdated, instead of
// reading into the loop's shared buffer and passing a slice of it to
// DataReceived, which a protocol that keeps the data would have to copy.
// DataReceived is never called on a BufferedProtocol (embed BaseProtocol
// for it); the other calls come as for any Protocol.
type BufferedProtocol interface {
	Protocol
	// GetBuffer returns the buffer the next read goes into. sizeHint is
	// the size the transport would like, or -1 for no preference; any
	// length will do but 0, which fails the connection (ConnectionLost
	// gets the error).
	GetBuffer(sizeHint int) []byte
	// BufferUpdated is called after a read put n > 0 bytes at the start
	// of the buffer the last GetBuffer returned.
	BufferUpdated(n int)
}

// overflowProtocol is a BufferedProtocol whose reads may run past its
// buffer: the streams' protocol (streamProto), which reads straight into
// a waiting Read's buffer. After a read that filled that buffer, more may
// be queued in the kernel, so the next read (readPastBuffer) goes on into
// the loop's read buffer in the same system call (readv); a read that
// came past the buffer is handed over with bufferOverflowed instead of
// BufferUpdated.
type overflowProtocol interface {
	readPastBuffer() bool
	bufferOverflowed(extra []byte)
}

// errEmptyBuffer: a BufferedProtocol's GetBuffer returned no room.
var errEmptyBuffer = errors.New("aio: the protocol's GetBuffer returned an empty buffer: return at least one byte of room (or pause reading)")

// BaseProtocol implements every method of Protocol and WriteFlowControl
// doing nothing (EOFReceived returns false). Embed it in a protocol.
type BaseProtocol struct{}

// ConnectionMade does nothing.
func (BaseProtocol) ConnectionMade(Transport) {}

// DataReceived does nothing.
func (BaseProtocol) DataReceived([]byte) {}

// EOFReceived returns false: the transport closes itself.
func (BaseProtocol) EOFReceived() bool { return false }

// ConnectionLost does nothing.
func (BaseProtocol) ConnectionLost(error) {}

// PauseWriting does nothing.
func (BaseProtocol) PauseWriting() {}

// ResumeWriting does nothing.
func (BaseProtocol) ResumeWriting() {}

// Transport is one stream connection (TCP, Unix socket or pipe) as a
// protocol sees it (asyncio.Transport). Its methods belong to the loop:
// call them from callbacks and tasks of the connection's loop.
type Transport interface {
	// Write sends data. What the kernel does not take at once is copied
	// to the transport's buffer and sent when the socket is writable;
	// Write never waits. Crossing the high-water mark calls the protocol's
	// PauseWriting. It fails with ErrTransportClosed after Close.
	Write(data []byte) error
	// WriteEOF closes the write side after the buffered data (a TCP
	// half-close), when CanWriteEOF.
	WriteEOF() error
	// CanWriteEOF reports whether WriteEOF is supported.
	CanWriteEOF() bool
	// Close closes the transport after the buffered data is sent; the
	// protocol's ConnectionLost(nil) follows. Reading stops at once.
	Close() error
	// Abort closes the transport at once, dropping the buffered data;
	// ConnectionLost(nil) follows.
	Abort()
	// IsClosing reports whether Close or Abort was called or the
	// connection was lost.
	IsClosing() bool
	// PauseReading stops DataReceived calls until ResumeReading.
	PauseReading()
	// ResumeReading restarts DataReceived calls.
	ResumeReading()
	// IsReading reports whether the transport is reading.
	IsReading() bool
	// SetWriteBufferLimits sets the high- and low-water marks of the
	// write buffer (asyncio's set_write_buffer_limits): high <= 0 means
	// 64 KiB and low < 0 means high/4.
	SetWriteBufferLimits(high, low int)
	// WriteBufferLimits returns the low- and high-water marks.
	WriteBufferLimits() (low, high int)
	// WriteBufferSize returns the number of bytes buffered for writing.
	WriteBufferSize() int
	// LocalAddr returns the local address (nil for a pipe).
	LocalAddr() net.Addr
	// RemoteAddr returns the peer's address (nil for a pipe).
	RemoteAddr() net.Addr
	// Protocol returns the protocol receiving the events.
	Protocol() Protocol
	// SetProtocol switches the protocol receiving the events.
	SetProtocol(p Protocol)
	// Loop returns the transport's loop.
	Loop() *Loop
}
