package aio

import (
	"context"
	"time"
)

// StreamWriter writes to a stream connection (asyncio.StreamWriter).
// Write never waits; Drain waits while the transport's buffer is above its
// high-water mark. Its methods belong to the connection's loop.
type StreamWriter struct {
	loop  *Loop
	tr    Transport
	sp    *streamProto
	conn  *Conn
	rd    *StreamReader
	lerr  error // error of the lost connection
	lost  bool
	close []*taskCore // tasks in WaitClosed
	drain []*taskCore // tasks in Drain
}

// Write buffers data for sending (the kernel usually takes it at once).
// It fails with ErrTransportClosed after Close, and with the connection's
// error once it is lost.
func (w *StreamWriter) Write(data []byte) error {
	if err := loopCheck(w.loop, "StreamWriter.Write"); err != nil {
		return err
	}
	if w.lost && w.lerr != nil {
		return w.lerr
	}
	if st, ok := w.tr.(*streamTransport); ok {
		return st.writeOnLoop(data) // checked above
	}
	return w.tr.Write(data)
}

// WriteString is Write for a string.
func (w *StreamWriter) WriteString(s string) error { return w.Write([]byte(s)) }

// Drain waits until the write buffer is at or below its low-water mark
// (asyncio's drain): call it after writes so that a fast writer does not
// fill memory. It returns the connection's error if it was lost.
func (w *StreamWriter) Drain(ctx context.Context) error {
	if err := loopCheck(w.loop, "StreamWriter.Drain"); err != nil {
		return err
	}
	return w.drainDeadline(ctx, nil, nil)
}

// drainDeadline is Drain until the deadline *dl (if dl is not nil), for
// the calling task t, which a caller that knows it passes down (nil: it
// is found if the drain must wait). The caller has checked that it may
// use the writer.
func (w *StreamWriter) drainDeadline(ctx context.Context, t *taskCore, dl *time.Time) error {
	if w.lost {
		return w.lostErr()
	}
	if !w.sp.writePaused {
		return nil
	}
	if t == nil {
		var err error
		if t, err = w.loop.enterTask("StreamWriter.Drain"); err != nil {
			return err
		}
	}
	err := parkUntil(ctx, t, dl, true, funcCond{
		done: func() bool { return !w.sp.writePaused || w.lost },
		reg:  func(t *taskCore) { w.drain = append(w.drain, t) },
	})
	if err != nil {
		return err
	}
	if w.lost {
		return w.lostErr()
	}
	return nil
}

// lostErr is the error of a writer whose connection is gone: the error
// it was lost with, or ErrTransportClosed after a clean close.
func (w *StreamWriter) lostErr() error {
	if w.lerr != nil {
		return w.lerr
	}
	return ErrTransportClosed
}

// Close closes the connection after the buffered data is sent (asyncio's
// close). WaitClosed waits until it is closed.
func (w *StreamWriter) Close() error { return w.tr.Close() }

// IsClosing reports whether the writer is closed or closing.
func (w *StreamWriter) IsClosing() bool { return w.tr.IsClosing() }

// CanWriteEOF reports whether WriteEOF is supported.
func (w *StreamWriter) CanWriteEOF() bool { return w.tr.CanWriteEOF() }

// WriteEOF closes the write side after the buffered data (a half-close).
func (w *StreamWriter) WriteEOF() error { return w.tr.WriteEOF() }

// WaitClosed waits until the connection is closed (asyncio's
// wait_closed), and returns the error it was lost with, if any.
func (w *StreamWriter) WaitClosed(ctx context.Context) error {
	if err := loopCheck(w.loop, "StreamWriter.WaitClosed"); err != nil {
		return err
	}
	if !w.lost {
		t, err := w.loop.enterTask("StreamWriter.WaitClosed")
		if err != nil {
			return err
		}
		err = parkUntil(ctx, t, nil, false, funcCond{
			done: func() bool { return w.lost },
			reg:  func(t *taskCore) { w.close = append(w.close, t) },
		})
		if err != nil {
			return err
		}
	}
	return w.lerr
}

// Transport returns the underlying transport.
func (w *StreamWriter) Transport() Transport { return w.tr }

// Conn returns the connection as a net.Conn.
func (w *StreamWriter) Conn() *Conn { return w.conn }
