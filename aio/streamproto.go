package aio

import (
	"context"
	"net"
)

// streamProto is the protocol behind a stream connection: it feeds the
// reader and tracks the writer's flow control. The reader, the writer and
// the Conn live in it, so that a stream connection costs one allocation
// besides its transport.
type streamProto struct {
	r           StreamReader
	w           StreamWriter
	c           Conn
	writePaused bool
	made        func(*streamProto) // run by ConnectionMade (a server's handler)
}

func newStreamProto(l *Loop, limit int) *streamProto {
	if limit <= 0 {
		limit = DefaultStreamLimit
	}
	sp := &streamProto{}
	sp.r = StreamReader{loop: l, limit: limit}
	sp.w = StreamWriter{loop: l, sp: sp, rd: &sp.r, conn: &sp.c}
	sp.c = Conn{r: &sp.r, w: &sp.w}
	return sp
}

func (sp *streamProto) conn() *Conn { return &sp.c }

// ConnectionMade binds the reader and the writer to the transport and
// starts a server's handler.
func (sp *streamProto) ConnectionMade(t Transport) {
	sp.r.tr = t
	sp.w.tr = t
	if sp.made != nil {
		sp.made(sp)
	}
}

// DataReceived feeds the reader. (streamProto is a BufferedProtocol, so
// a transport calls GetBuffer and BufferUpdated instead.)
func (sp *streamProto) DataReceived(data []byte) { sp.r.feed(data) }

// GetBuffer returns the buffer of a Conn read waiting on the empty reader,
// so that the data goes from the kernel to the caller without a copy;
// otherwise the loop's shared read buffer, whose data BufferUpdated feeds
// to the reader.
func (sp *streamProto) GetBuffer(int) []byte {
	if r := &sp.r; r.direct != nil && r.directN == 0 {
		return r.direct
	}
	return sp.r.loop.ioState().readBuf()
}

// readPastBuffer reports whether the transport's next read should go on
// past GetBuffer's buffer into the loop's read buffer (overflowProtocol):
// for a direct read after one that filled its buffer.
func (sp *streamProto) readPastBuffer() bool {
	r := &sp.r
	return r.directFull && r.direct != nil && r.directN == 0
}

// bufferOverflowed takes a read that filled GetBuffer's buffer and went
// on with extra bytes in the loop's read buffer: the direct part is the
// Read's, the rest is buffered behind it.
func (sp *streamProto) bufferOverflowed(extra []byte) {
	r := &sp.r
	r.directN = len(r.direct)
	r.feed(extra) // wakes the waiting Read
}

// BufferUpdated takes the n bytes the transport read into the buffer of
// the last GetBuffer (nothing runs between the two calls).
func (sp *streamProto) BufferUpdated(n int) {
	r := &sp.r
	if r.direct != nil && r.directN == 0 {
		r.directN = n
		r.wakeWaiter()
		return
	}
	r.feed(r.loop.io.buf[:n])
}

// EOFReceived ends the reader's stream and keeps the connection
// half-open for the writer, as asyncio's StreamReaderProtocol.
func (sp *streamProto) EOFReceived() bool {
	sp.r.feedEOF()
	return true // half-open: the writer closes
}

// ConnectionLost ends the stream and wakes every waiting task.
func (sp *streamProto) ConnectionLost(err error) {
	if err != nil {
		sp.r.setError(err)
	} else {
		sp.r.feedEOF()
	}
	w := &sp.w
	w.lost, w.lerr = true, err
	sp.writePaused = false
	l := w.loop
	for _, t := range w.drain {
		l.wake(t)
	}
	for _, t := range w.close {
		l.wake(t)
	}
	w.drain, w.close = nil, nil
}

// PauseWriting makes Drain wait.
func (sp *streamProto) PauseWriting() { sp.writePaused = true }

// ResumeWriting wakes the tasks in Drain.
func (sp *streamProto) ResumeWriting() {
	sp.writePaused = false
	l := sp.w.loop
	for _, t := range sp.w.drain {
		l.wake(t)
	}
	sp.w.drain = sp.w.drain[:0]
}

// OpenConnection connects to address and returns the connection's reader
// and writer (asyncio.open_connection). network is "tcp", "tcp4", "tcp6"
// or "unix". It suspends the calling task while connecting; ctx's
// cancellation or deadline stops the attempt.
func OpenConnection(ctx context.Context, network, address string, opts ...NetOption) (*StreamReader, *StreamWriter, error) {
	c, err := Dial(ctx, network, address, opts...)
	if err != nil {
		return nil, nil, err
	}
	return c.r, c.w, nil
}

// Dial connects to address and returns the connection as a *Conn, a
// net.Conn for code running in tasks of the loop (see Conn). It suspends
// the calling task while connecting.
func Dial(ctx context.Context, network, address string, opts ...NetOption) (*Conn, error) {
	l, t, err := enter(ctx, "Dial")
	if err != nil {
		return nil, err
	}
	cfg := netOptions(opts)
	sp := newStreamProto(l, cfg.limit)
	if _, err := createConnection(ctx, l, t, network, address, sp, cfg); err != nil {
		return nil, err
	}
	return &sp.c, nil
}

// StartServer listens on address and runs handler in a new task for every
// connection accepted (asyncio.start_server). The handler's context is
// derived from ctx, so cancelling ctx cancels the handlers. When the
// handler returns, the writer is closed (after its buffered data); a
// panic in the handler is logged and closes the connection. For a
// graceful shutdown on Ctrl-C (the handlers finish their work, hear the
// connection close, and Run returns nil), start the server with main's
// context, serve with a context of NotifyContext, and end with
// Server.Shutdown (see NotifyContext).
func StartServer(ctx context.Context, network, address string, handler func(ctx context.Context, r *StreamReader, w *StreamWriter), opts ...NetOption) (*Server, error) {
	l := loopOf(ctx)
	if l == nil {
		return nil, ErrNoLoop
	}
	cfg := netOptions(opts)
	made := func(sp *streamProto) {
		task := Spawn(ctx, func(ctx context.Context) (struct{}, error) {
			defer sp.w.Close()
			handler(ctx, &sp.r, &sp.w)
			return struct{}{}, nil
		}, WithName("stream-handler"))
		task.AddDoneCallback(func() {
			if _, err := task.Result(); err != nil && !isCancel(err) {
				l.cfg.logger.Error("aio: a stream handler failed", "error", err)
			}
		})
	}
	return CreateServer(ctx, network, address, func() Protocol {
		sp := newStreamProto(l, cfg.limit)
		sp.made = made
		return sp
	}, opts...)
}

// ensure the interface checks at compile time.
var (
	_ Protocol         = (*streamProto)(nil)
	_ WriteFlowControl = (*streamProto)(nil)
	_ net.Conn         = (*Conn)(nil)
)
