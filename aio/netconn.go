package aio

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// Conn is a stream connection of a loop as a net.Conn, so that code
// written for net.Conn (crypto/tls, net/http's wire functions, websocket
// libraries) runs on the loop unchanged.
//
// Read and Write must be called from a task of the connection's loop:
// they suspend the task, not the thread, while they wait. Called
// elsewhere they fail with ErrNotInTask. A wait ends when the calling
// task is cancelled (with an error matching context.Canceled) or at the
// connection's deadline, which runs on the loop's clock (virtual clocks
// included) and fails with an error matching os.ErrDeadlineExceeded whose
// Timeout method reports true, as the net package's do.
//
// Conn's methods belong to the loop, like the rest of the connection:
// Close and the deadline setters too.
type Conn struct {
	r             *StreamReader
	w             *StreamWriter
	readDeadline  time.Time
	writeDeadline time.Time
	closed        bool
}

// Read reads up to len(p) bytes, suspending the calling task until some
// data is there, the connection ends (io.EOF), the read deadline passes,
// or the task is cancelled.
func (c *Conn) Read(p []byte) (int, error) {
	t, err := c.enter("Conn.Read", "read")
	if err != nil {
		return 0, err
	}
	return c.readTask(&t.ctx, t, p)
}

// ReadContext is Read with a context of the caller's choice: the wait
// also ends when ctx is done.
func (c *Conn) ReadContext(ctx context.Context, p []byte) (int, error) {
	t, err := c.enter("Conn.ReadContext", "read")
	if err != nil {
		return 0, err
	}
	return c.readTask(ctx, t, p)
}

// enter is how Read, Write and their Context forms start: it returns
// the calling task of the connection's loop, or the error to return. A
// call from off the loop fails as loopCheck says, and a closed
// connection fails with net.ErrClosed before the caller is refused for
// not being a task (a callback, or a goroutine while the loop is
// stopped). The common case, a task of the loop, looks the caller up
// once.
func (c *Conn) enter(what, op string) (*taskCore, error) {
	t, err := c.r.loop.enterTask(what)
	if err != nil {
		if lerr := loopCheck(c.r.loop, what); lerr != nil {
			return nil, lerr
		}
	}
	if c.closed {
		return nil, c.opErr(op, net.ErrClosed)
	}
	return t, err
}

func (c *Conn) readTask(ctx context.Context, t *taskCore, p []byte) (int, error) {
	n, err := c.r.readInto(ctx, t, p, &c.readDeadline)
	if c.closed && n == 0 {
		err = net.ErrClosed
	}
	if err != nil && err != io.EOF {
		err = c.opErr("read", err)
	}
	return n, err
}

// Write writes p, suspending the calling task while the connection's
// write buffer is above its high-water mark, until the write deadline or
// the task's cancellation. The data is buffered at once, so a failed wait
// still reports len(p) bytes accepted, with the error.
func (c *Conn) Write(p []byte) (int, error) {
	t, err := c.enter("Conn.Write", "write")
	if err != nil {
		return 0, err
	}
	return c.writeTask(&t.ctx, t, p)
}

// WriteContext is Write with a context of the caller's choice.
func (c *Conn) WriteContext(ctx context.Context, p []byte) (int, error) {
	t, err := c.enter("Conn.WriteContext", "write")
	if err != nil {
		return 0, err
	}
	return c.writeTask(ctx, t, p)
}

func (c *Conn) writeTask(ctx context.Context, t *taskCore, p []byte) (int, error) {
	if !c.writeDeadline.IsZero() && !c.writeDeadline.After(c.r.loop.Time()) {
		return 0, c.opErr("write", os.ErrDeadlineExceeded)
	}
	if err := c.w.Write(p); err != nil {
		return 0, c.opErr("write", err)
	}
	if err := c.w.drainDeadline(ctx, t, &c.writeDeadline); err != nil {
		return len(p), c.opErr("write", err)
	}
	return len(p), nil
}

// Close closes the connection after its buffered data is sent. Reads and
// writes after Close fail with net.ErrClosed; a task waiting in Read is
// woken with it.
func (c *Conn) Close() error {
	if err := loopCheck(c.r.loop, "Conn.Close"); err != nil {
		return err
	}
	if c.closed {
		return nil
	}
	c.closed = true
	c.r.closed = true
	c.r.wakeAll()
	return c.w.Close()
}

// CloseWrite closes the write side after the buffered data (a TCP
// half-close), as net.TCPConn's CloseWrite.
func (c *Conn) CloseWrite() error { return c.w.WriteEOF() }

// LocalAddr returns the local address.
func (c *Conn) LocalAddr() net.Addr { return c.w.tr.LocalAddr() }

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.w.tr.RemoteAddr() }

// SetDeadline sets the read and write deadlines (see net.Conn). A zero
// time means none. A task waiting now sees the new deadline.
func (c *Conn) SetDeadline(t time.Time) error {
	c.readDeadline, c.writeDeadline = t, t
	c.wakeWaiters()
	return nil
}

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.readDeadline = t
	c.wakeWaiters()
	return nil
}

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline = t
	c.wakeWaiters()
	return nil
}

// wakeWaiters wakes the tasks waiting in Read or Write so that they look
// at their deadline again.
func (c *Conn) wakeWaiters() {
	c.r.wakeAll()
	l := c.r.loop
	for _, t := range c.w.drain {
		l.wake(t)
	}
	c.w.drain = c.w.drain[:0]
}

// Reader returns the connection's stream reader.
func (c *Conn) Reader() *StreamReader { return c.r }

// Writer returns the connection's stream writer.
func (c *Conn) Writer() *StreamWriter { return c.w }

// Transport returns the connection's transport.
func (c *Conn) Transport() Transport { return c.w.tr }

func (c *Conn) opErr(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return err
	}
	if errors.Is(err, ErrTransportClosed) {
		err = net.ErrClosed
	}
	return &net.OpError{Op: op, Net: "aio", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
