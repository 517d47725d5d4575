package aio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// DefaultStreamLimit is the default limit of a StreamReader (asyncio's
// 64 KiB): the longest line ReadLine or ReadUntil accepts, and the amount
// the reader buffers before it stops reading from the connection.
const DefaultStreamLimit = 64 * 1024

// IncompleteReadError is the error of ReadExactly or ReadUntil when the
// stream ends first (asyncio.IncompleteReadError): Partial holds what was
// read. errors.Is(err, io.ErrUnexpectedEOF) is true for it.
type IncompleteReadError struct {
	// Partial is the data read before the end of the stream.
	Partial []byte
	// Expected is the number of bytes ReadExactly wanted, or -1 for
	// ReadUntil (a separator was expected).
	Expected int
}

// Error describes how much was read and expected.
func (e *IncompleteReadError) Error() string {
	if e.Expected < 0 {
		return fmt.Sprintf("aio: the stream ended after %d bytes, before the separator", len(e.Partial))
	}
	return fmt.Sprintf("aio: the stream ended after %d bytes of the %d expected", len(e.Partial), e.Expected)
}

// Is makes errors.Is(err, io.ErrUnexpectedEOF) true.
func (e *IncompleteReadError) Is(target error) bool { return target == io.ErrUnexpectedEOF }

// LimitOverrunError is the error of ReadLine and ReadUntil when no
// separator comes within the reader's limit (asyncio.LimitOverrunError).
type LimitOverrunError struct {
	// Consumed is the number of bytes to consume to get past the overrun:
	// ReadUntil leaves them in the buffer, ReadLine discards them.
	Consumed int
	// Limit is the reader's limit.
	Limit int
	// Found tells whether the separator was found (beyond the limit).
	Found bool
}

// Error describes the overrun and how to raise the limit.
func (e *LimitOverrunError) Error() string {
	if e.Found {
		return fmt.Sprintf("aio: the separator was found %d bytes in, beyond the stream limit of %d bytes (raise it with aio.WithReadLimit)", e.Consumed, e.Limit)
	}
	return fmt.Sprintf("aio: the separator was not found in %d bytes, over the stream limit of %d bytes (raise it with aio.WithReadLimit)", e.Consumed, e.Limit)
}

// errReaderBusy: two tasks read one stream at once.
var errReaderBusy = errors.New("aio: another task is already waiting to read this stream (asyncio's RuntimeError); read it from one task")

// StreamReader reads a stream connection from a task (asyncio.StreamReader).
// Its methods belong to the connection's loop: call them from a task of
// that loop (they suspend the task, not the thread). One task at a time
// may wait on it.
type StreamReader struct {
	loop   *Loop
	tr     Transport
	buf    []byte // buffered data: buf[off:]
	off    int
	limit  int
	eof    bool
	err    error // the connection was lost with this error
	paused bool  // reading paused because the buffer is over 2*limit
	waiter *taskCore
	need   int  // the waiter waits for more than need buffered bytes
	closed bool // the Conn was closed locally: waits end
	// direct is the buffer of a Conn read waiting on an empty reader: the
	// transport reads into it (streamProto.GetBuffer), directN bytes so
	// far, which come before anything in buf. directFull: the last direct
	// read filled its buffer, so more may be queued in the kernel, and the
	// next direct read goes on past its buffer into the loop's large one
	// (streamProto.readPastBuffer): a bulk transfer still takes up to
	// 256 KiB per system call, not one Read's worth, while messages the
	// size of the buffer still land in it without a copy.
	direct     []byte
	directN    int
	directFull bool
}

// minDirectRead is the smallest Read buffer that the transport reads
// into directly; a smaller one would cost a system call per few bytes.
const minDirectRead = 512

// NewStreamReader returns a reader with the given limit (<= 0:
// DefaultStreamLimit) that is fed by hand with Feed and FeedEOF, for
// parsers and tests (asyncio.StreamReader()).
func NewStreamReader(ctx context.Context, limit int) *StreamReader {
	l := loopOf(ctx)
	if l == nil {
		panic(ErrNoLoop)
	}
	if limit <= 0 {
		limit = DefaultStreamLimit
	}
	return &StreamReader{loop: l, limit: limit}
}

// Feed appends data to the buffer (asyncio's feed_data). Loop-only: from
// a goroutine that does not run the reader's loop it panics with an error
// matching ErrOtherLoop or ErrNotInTask and changes nothing.
func (r *StreamReader) Feed(data []byte) {
	mustOnLoop(r.loop, "StreamReader.Feed")
	r.feed(data)
}

// feed is Feed for the loop's own protocols.
func (r *StreamReader) feed(data []byte) {
	if len(data) == 0 {
		return
	}
	if r.off == len(r.buf) {
		r.buf, r.off = r.buf[:0], 0
	} else if r.off > 0 && r.off >= cap(r.buf)/2 && len(r.buf)+len(data) > cap(r.buf) {
		// Move the live data down rather than grow.
		n := copy(r.buf, r.buf[r.off:])
		r.buf, r.off = r.buf[:n], 0
	}
	r.buf = append(r.buf, data...)
	r.wakeWaiter()
	if r.tr != nil && !r.paused && len(r.buf)-r.off > 2*r.limit {
		r.paused = true
		r.tr.PauseReading()
	}
}

// FeedEOF marks the end of the stream (asyncio's feed_eof). Loop-only,
// as Feed.
func (r *StreamReader) FeedEOF() {
	mustOnLoop(r.loop, "StreamReader.FeedEOF")
	r.feedEOF()
}

func (r *StreamReader) feedEOF() {
	r.eof = true
	r.wakeWaiter()
}

// setError ends the stream with err (a lost connection).
func (r *StreamReader) setError(err error) {
	if r.err == nil {
		r.err = err
	}
	r.eof = true
	r.wakeWaiter()
}

func (r *StreamReader) wakeWaiter() {
	if r.waiter != nil && r.ready() {
		t := r.waiter
		r.waiter = nil
		r.loop.wake(t)
	}
}

// wakeAll wakes the waiting task whatever the buffer holds, so that it
// looks at its deadline or the connection's state again.
func (r *StreamReader) wakeAll() {
	if t := r.waiter; t != nil {
		r.waiter = nil
		r.loop.wake(t)
	}
}

// ready and register make the reader a waitCond. A Conn closed locally
// ends the wait too.
func (r *StreamReader) ready() bool {
	return r.eof || r.directN > 0 || len(r.buf)-r.off > r.need || r.closed
}

func (r *StreamReader) register(t *taskCore) { r.waiter = t }
func (r *StreamReader) abort(*taskCore)      {}

// Buffered returns the number of bytes buffered.
func (r *StreamReader) Buffered() int { return len(r.buf) - r.off }

// AtEOF reports whether the stream has ended and the buffer is empty
// (asyncio's at_eof).
func (r *StreamReader) AtEOF() bool { return r.eof && r.off == len(r.buf) }

// Limit returns the reader's limit.
func (r *StreamReader) Limit() int { return r.limit }

// consume drops n bytes from the front of the buffer.
func (r *StreamReader) consume(n int) {
	r.off += n
	if r.off == len(r.buf) {
		r.off = 0
		if cap(r.buf) > 4*r.limit || cap(r.buf) > 1<<20 {
			r.buf = nil // give back a buffer grown by a burst
		} else {
			r.buf = r.buf[:0]
		}
	}
	if r.paused && len(r.buf)-r.off <= r.limit {
		r.paused = false
		r.tr.ResumeReading()
	}
}

// take returns a copy of the first n buffered bytes and consumes them.
func (r *StreamReader) take(n int) []byte {
	out := make([]byte, n)
	copy(out, r.buf[r.off:r.off+n])
	r.consume(n)
	return out
}

// waitMore suspends the calling task until more than need bytes are
// buffered or the stream ends. *t is the calling task: found on the
// first wait of the call named what, then passed to the next ones.
func (r *StreamReader) waitMore(ctx context.Context, t **taskCore, need int, what string) error {
	if *t == nil {
		ct, err := r.loop.enterTask(what)
		if err != nil {
			return err
		}
		*t = ct
	}
	return r.waitMoreTask(ctx, *t, need, nil)
}

func (r *StreamReader) waitMoreTask(ctx context.Context, t *taskCore, need int, deadline *time.Time) error {
	if r.waiter != nil && r.waiter != t {
		return errReaderBusy
	}
	r.need = need
	err := parkUntil(ctx, t, deadline, r.tr != nil, r)
	if r.waiter == t {
		r.waiter = nil
	}
	return err
}

// endErr is what a read returns at the end of the stream: the lost
// connection's error, or io.EOF.
func (r *StreamReader) endErr() error {
	if r.err != nil {
		return r.err
	}
	return io.EOF
}

// Read reads up to n bytes (asyncio's read(n)). It waits until at least
// one byte is buffered or the stream ends; at the end it returns no data
// and io.EOF (or the error that ended the connection). n < 0 reads until
// the end of the stream and returns everything with a nil error. n == 0
// returns at once.
func (r *StreamReader) Read(ctx context.Context, n int) ([]byte, error) {
	if err := loopCheck(r.loop, "StreamReader.Read"); err != nil {
		return nil, err
	}
	var t *taskCore // the calling task, found on the first wait
	if n == 0 {
		return []byte{}, nil
	}
	if n < 0 {
		for !r.eof {
			// Read on past the pause mark: the caller wants it all.
			if r.paused {
				r.paused = false
				r.tr.ResumeReading()
			}
			if err := r.waitMore(ctx, &t, len(r.buf)-r.off, "StreamReader.Read"); err != nil {
				return nil, err
			}
		}
		out := r.take(len(r.buf) - r.off)
		if r.err != nil {
			return out, r.err
		}
		return out, nil
	}
	if r.off == len(r.buf) {
		if r.eof {
			return nil, r.endErr()
		}
		if err := r.waitMore(ctx, &t, 0, "StreamReader.Read"); err != nil {
			return nil, err
		}
		if r.off == len(r.buf) {
			return nil, r.endErr()
		}
	}
	return r.take(min(n, len(r.buf)-r.off)), nil
}

// readInto copies buffered data into p, waiting for some in task t: the
// io.Reader form used by Conn.
func (r *StreamReader) readInto(ctx context.Context, t *taskCore, p []byte, deadline *time.Time) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.off == len(r.buf) {
		if r.eof {
			return 0, r.endErr()
		}
		if len(p) >= minDirectRead {
			r.direct = p // the next read lands in p: no copy
		}
		err := r.waitMoreTask(ctx, t, 0, deadline)
		n := r.directN
		r.direct, r.directN = nil, 0
		if n > 0 {
			r.directFull = n == len(p)
			if err != nil {
				// Received, but the wait failed (cancelled, deadline):
				// keep the data for the next read.
				r.unread(p[:n])
				return 0, err
			}
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if r.off == len(r.buf) {
			return 0, r.endErr()
		}
	}
	n := copy(p, r.buf[r.off:])
	r.consume(n)
	return n, nil
}

// unread puts data back in front of the buffer.
func (r *StreamReader) unread(data []byte) {
	rest := r.buf[r.off:]
	b := make([]byte, 0, len(data)+len(rest))
	r.buf, r.off = append(append(b, data...), rest...), 0
}

// ReadExactly reads exactly n bytes (asyncio's readexactly). If the
// stream ends first it returns an *IncompleteReadError holding the
// partial data and how much was expected.
func (r *StreamReader) ReadExactly(ctx context.Context, n int) ([]byte, error) {
	if err := loopCheck(r.loop, "StreamReader.ReadExactly"); err != nil {
		return nil, err
	}
	var t *taskCore // the calling task, found on the first wait
	if n < 0 {
		return nil, errors.New("aio: ReadExactly needs n >= 0")
	}
	for len(r.buf)-r.off < n {
		if r.eof {
			partial := r.take(len(r.buf) - r.off)
			if r.err != nil {
				return partial, fmt.Errorf("%w (%w)", &IncompleteReadError{Partial: partial, Expected: n}, r.err)
			}
			return partial, &IncompleteReadError{Partial: partial, Expected: n}
		}
		if r.paused && n > 2*r.limit {
			// The caller asked for more than the pause mark: read on.
			r.paused = false
			r.tr.ResumeReading()
		}
		if err := r.waitMore(ctx, &t, len(r.buf)-r.off, "StreamReader.ReadExactly"); err != nil {
			return nil, err
		}
	}
	return r.take(n), nil
}

// ReadUntil reads up to and including sep (asyncio's readuntil). If the
// stream ends first it returns an *IncompleteReadError holding what was
// buffered (and consumes it). If the separator does not start within the
// reader's limit it returns a *LimitOverrunError and leaves the data in
// the buffer.
func (r *StreamReader) ReadUntil(ctx context.Context, sep []byte) ([]byte, error) {
	if err := loopCheck(r.loop, "StreamReader.ReadUntil"); err != nil {
		return nil, err
	}
	var t *taskCore // the calling task, found on the first wait
	if len(sep) == 0 {
		return nil, errors.New("aio: ReadUntil needs a non-empty separator")
	}
	scanned := 0 // bytes already searched without finding sep
	for {
		data := r.buf[r.off:]
		// The rules are asyncio's: the separator may start at most limit
		// bytes in.
		if i := bytes.Index(data[scanned:], sep); i >= 0 {
			isep := scanned + i
			if isep > r.limit {
				return nil, &LimitOverrunError{Consumed: isep + len(sep), Limit: r.limit, Found: true}
			}
			return r.take(isep + len(sep)), nil
		}
		scanned = max(0, len(data)-len(sep)+1)
		if scanned > r.limit {
			return nil, &LimitOverrunError{Consumed: scanned, Limit: r.limit}
		}
		if r.eof {
			partial := r.take(len(data))
			if r.err != nil {
				return partial, fmt.Errorf("%w (%w)", &IncompleteReadError{Partial: partial, Expected: -1}, r.err)
			}
			return partial, &IncompleteReadError{Partial: partial, Expected: -1}
		}
		if err := r.waitMore(ctx, &t, len(data), "StreamReader.ReadUntil"); err != nil {
			return nil, err
		}
	}
}

// ReadLine reads one line, up to and including "\n" (asyncio's readline).
// At the end of the stream it returns the last, unterminated line (empty
// at a clean end) with io.EOF. A line longer than the limit is discarded
// and reported as a *LimitOverrunError; the next ReadLine starts after it
// if its end was buffered, or with the rest of it otherwise.
func (r *StreamReader) ReadLine(ctx context.Context) ([]byte, error) {
	if err := loopCheck(r.loop, "StreamReader.ReadLine"); err != nil {
		return nil, err
	}
	line, err := r.ReadUntil(ctx, newline)
	if err == nil {
		return line, nil
	}
	var inc *IncompleteReadError
	if errors.As(err, &inc) {
		return inc.Partial, r.endErr()
	}
	var over *LimitOverrunError
	if errors.As(err, &over) {
		if over.Found {
			r.consume(over.Consumed)
		} else {
			r.consume(len(r.buf) - r.off)
		}
	}
	return nil, err
}

var newline = []byte{'\n'}

// String describes the reader for logs.
func (r *StreamReader) String() string {
	s := "<aio.StreamReader " + strconv.Itoa(len(r.buf)-r.off) + " bytes"
	if r.eof {
		s += " eof"
	}
	if r.waiter != nil {
		s += " waiting"
	}
	return s + ">"
}

// Conn returns the connection as a net.Conn (nil for a reader fed by
// hand).
func (r *StreamReader) Conn() *Conn {
	if r.tr == nil {
		return nil
	}
	return r.tr.Protocol().(*streamProto).conn()
}
