package aio_test

import (
	"context"
	"testing"

	"github.com/braid-go/braid/aio"
)

// flooder writes until the transport says stop, and again when it says go.
type flooder struct {
	aio.BaseProtocol
	t       aio.Transport
	chunk   []byte
	total   int
	sent    int
	paused  bool
	pauses  int
	resumes int
	done    *aio.Future[struct{}]
}

func (f *flooder) ConnectionMade(t aio.Transport) {
	f.t = t
	t.SetWriteBufferLimits(64*1024, 16*1024)
	f.pump()
}

func (f *flooder) pump() {
	for !f.paused && f.sent < f.total {
		f.t.Write(f.chunk)
		f.sent += len(f.chunk)
	}
	if f.sent >= f.total {
		f.t.Close()
	}
}

func (f *flooder) PauseWriting() { f.paused = true; f.pauses++ }
func (f *flooder) ResumeWriting() {
	f.paused = false
	f.resumes++
	f.pump()
}
func (f *flooder) ConnectionLost(err error) { f.done.SetResult(struct{}{}) }

// slowReader counts what it receives, pausing its transport now and then.
type slowReader struct {
	aio.BaseProtocol
	t    aio.Transport
	got  int
	want int
	done *aio.Future[int]
}

func (r *slowReader) ConnectionMade(t aio.Transport) { r.t = t }
func (r *slowReader) DataReceived(data []byte) {
	r.got += len(data)
	if r.got%(1<<20) < len(data) {
		// Stop reading for a moment: the sender's buffer fills up.
		r.t.PauseReading()
		r.t.Loop().CallSoon(r.t.ResumeReading)
	}
}
func (r *slowReader) EOFReceived() bool        { r.done.SetResult(r.got); return false }
func (r *slowReader) ConnectionLost(err error) {}

// Write flow control: a protocol that writes faster than its peer reads
// is told PauseWriting above the high-water mark and ResumeWriting at the
// low one, and every byte arrives.
func TestWriteFlowControlPausesAndResumes(t *testing.T) {
	checkFDs(t)
	const total = 32 << 20 // more than the kernel's socket buffers hold
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		f := &flooder{chunk: make([]byte, 32*1024), total: total, done: aio.NewFuture[struct{}](ctx)}
		srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol { return f })
		if err != nil {
			return err
		}
		defer srv.Close()
		r := &slowReader{want: total, done: aio.NewFuture[int](ctx)}
		if _, _, err := aio.CreateConnection(ctx, "tcp", srv.Addr().String(), func() aio.Protocol { return r }); err != nil {
			return err
		}
		got, err := r.done.Await(ctx)
		if err != nil {
			return err
		}
		if got != total {
			t.Errorf("received %d bytes, want %d", got, total)
		}
		if _, err := f.done.Await(ctx); err != nil {
			return err
		}
		if f.pauses == 0 || f.resumes == 0 {
			t.Errorf("PauseWriting %d times, ResumeWriting %d times; want both", f.pauses, f.resumes)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A stream reader stops reading from the socket above twice its limit,
// so a peer that floods a task that does not read fills the kernel's
// buffers, not the process's memory.
func TestStreamReaderBoundsItsBuffer(t *testing.T) {
	checkFDs(t)
	const limit = 4096
	err := aio.Run(context.Background(), func(ctx context.Context) error {
		f := &flooder{chunk: make([]byte, 32*1024), total: 8 << 20, done: aio.NewFuture[struct{}](ctx)}
		srv, err := aio.CreateServer(ctx, "tcp", "127.0.0.1:0", func() aio.Protocol { return f })
		if err != nil {
			return err
		}
		defer srv.Close()
		r, w, err := aio.OpenConnection(ctx, "tcp", srv.Addr().String(), aio.WithReadLimit(limit))
		if err != nil {
			return err
		}
		defer w.Close()
		// Let the flood run for a while without reading (the bound below
		// holds whenever it is checked: this only gives it a chance to be
		// reached).
		for i := 0; i < 50; i++ {
			if err := aio.Sleep(ctx, 0); err != nil {
				return err
			}
		}
		if b := r.Buffered(); b > 2*limit+256*1024 {
			t.Errorf("the reader buffered %d bytes with a limit of %d", b, limit)
		}
		all, err := r.Read(ctx, -1)
		if err != nil {
			return err
		}
		if len(all) != 8<<20 {
			t.Errorf("read %d bytes, want %d", len(all), 8<<20)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
