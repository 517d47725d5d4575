package mp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/braid-go/braid/internal/ring"
)

// How a process learns it is a worker: the pool starts this binary again
// with envWorker set and workerArg as its only argument (a program that
// forgot to call Main and parses flags then stops at once with "flag
// provided but not defined"), the task pipe as fd 3 and the result pipe as
// fd 4.
const (
	envWorker    = "BRAID_MP_WORKER"
	protoVersion = "1"
	workerArg    = "-braid.mp.worker"
	fdTasks      = 3
	fdResults    = 4
)

// Exit codes of a worker that ends by itself.
const (
	exitOK        = 0 // the parent closed the task pipe (shutdown, or the parent died)
	exitInit      = 1 // the initializer failed (reported in hello)
	exitSetup     = 2 // no usable pipes: not started by a pool
	exitProtocol  = 3 // a broken frame from the parent
	exitCancelled = 0 // the running task was cancelled: the parent asked for this
)

var mainCalled atomic.Bool

// Main turns the process into a worker if a Pool started it as one, and
// returns at once otherwise. Call it first thing in main, and in TestMain
// for tests that use a Pool:
//
//	func main() {
//		mp.Main()
//		// the program
//	}
//
//	func TestMain(m *testing.M) {
//		mp.Main()
//		os.Exit(m.Run())
//	}
//
// It is the Go counterpart of Python's `if __name__ == "__main__":` guard:
// a worker is this same binary started again, and in a worker Main serves
// tasks until the pool closes it (or the parent process dies) and then
// exits the process; it never returns there. Functions must be registered
// before Main runs, at package level (see Register). NewPool refuses to
// start workers in a program that did not call Main.
func Main() {
	mainCalled.Store(true)
	processMain() // a Process child runs its function and exits here
	v, ok := os.LookupEnv(envWorker)
	if !ok {
		return
	}
	os.Unsetenv(envWorker)
	if v != protoVersion {
		fmt.Fprintf(os.Stderr, "mp: worker protocol %q from the parent, this binary speaks %q\n", v, protoVersion)
		os.Exit(exitSetup)
	}
	os.Exit(serveWorker())
}

// wtask is a task queued inside a worker.
type wtask struct {
	id       uint64
	deadline int64
	runNs    uint64 // run timeout, 0 none
	batch    bool
	h        handler
	name     string // only when h is nil: the unknown name
	arg      []byte
	owned    bool
}

// wproc is the state of a worker process.
type wproc struct {
	in       *os.File
	out      *os.File
	fr       *frameReader
	maxFrame int
	memLimit int64

	mu        sync.Mutex
	queue     ring.Ring[*wtask] // received, not started
	free      []*wtask          // run tasks, for reuse
	running   uint64
	cancelled []uint64
	wake      chan struct{}
	acks      chan struct{}

	buf bytes.Buffer

	// The task running now, for an answer after runtime.Goexit.
	cur       *wtask
	curCancel context.CancelFunc
}

func serveWorker() int {
	if err := setupWorkerFD(fdTasks); err != nil {
		fmt.Fprintf(os.Stderr, "mp: %s is set but fd %d is not a task pipe (%v): workers are started by mp.Pool only\n", envWorker, fdTasks, err)
		return exitSetup
	}
	if err := setupWorkerFD(fdResults); err != nil {
		fmt.Fprintf(os.Stderr, "mp: %s is set but fd %d is not a result pipe (%v): workers are started by mp.Pool only\n", envWorker, fdResults, err)
		return exitSetup
	}
	// Ctrl-C in a terminal reaches the whole process group: the parent
	// decides what an interrupt means, and closes or kills its workers.
	// A handler that drops the signal (not signal.Ignore: an ignored signal
	// stays ignored in programs a task starts).
	signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	// When the parent dies, the worker goes, and with it what its tasks
	// started (its process group): on SIGTERM (Linux's Pdeathsig), and at
	// the end of the task pipe if the parent is gone.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	go func() {
		<-term
		killOwnGroup()
		os.Exit(exitOK)
	}()
	w := &wproc{
		in:   os.NewFile(fdTasks, "mp-tasks"),
		out:  os.NewFile(fdResults, "mp-results"),
		wake: make(chan struct{}, 1),
		acks: make(chan struct{}, 1),
	}
	w.fr = newFrameReader(w.in, DefaultMaxFrameBytes)
	kind, body, _, err := w.fr.next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return exitOK
		}
		fmt.Fprintf(os.Stderr, "mp worker: reading the init frame: %v\n", err)
		return exitProtocol
	}
	var cfg initMsg
	if kind != kindInit {
		fmt.Fprintf(os.Stderr, "mp worker: first frame of kind %d, want init\n", kind)
		return exitProtocol
	}
	if err := decMode.Unmarshal(body, &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "mp worker: bad init frame: %v\n", err)
		return exitProtocol
	}
	w.maxFrame = cfg.MaxFrame
	w.fr.max = cfg.MaxFrame + frameSlack
	w.memLimit = cfg.MemoryLimit
	if lim := cfg.MemoryLimit - cfg.MemoryLimit/8; lim > 0 && lim < debug.SetMemoryLimit(-1) {
		// The parent kills the worker at the limit: let the garbage
		// collector work to stay under it first.
		debug.SetMemoryLimit(lim)
	}

	// The reader watches the task pipe from now on, so that a worker whose
	// parent dies during a long initializer exits too. Tasks it reads wait
	// in the queue; the hello goes out before any result.
	go w.readLoop()
	initDone := false
	defer func() {
		if !initDone && goexitInTask.Load() {
			// The initializer called runtime.Goexit: it failed.
			w.sayHello(&wireError{Kind: errPlain, Type: "runtime.Goexit", Msg: fmt.Sprintf("the initializer %s called runtime.Goexit (directly, or through a library that does, such as testing's t.FailNow): it ended without a result", cfg.InitFunc)})
			os.Exit(exitInit)
		}
	}()
	werr := w.initialize(cfg)
	initDone = true
	if !w.sayHello(werr) {
		return exitOK // the parent is gone
	}
	if werr != nil {
		return exitInit
	}
	w.serve()
	return exitOK // not reached: serve never returns
}

// sayHello tells the parent that the worker is ready, or why it is not;
// false if the parent is gone.
func (w *wproc) sayHello(werr *wireError) bool {
	w.buf.Reset()
	b, off := beginFrame(w.buf.AvailableBuffer(), kindHello)
	b = binary.AppendUvarint(b, uint64(os.Getpid()))
	if werr != nil {
		b = append(b, statusError)
		enc, _ := encMode.Marshal(werr)
		b = append(b, enc...)
	} else {
		b = append(b, statusOK)
	}
	endFrame(b, off, 0)
	_, err := w.out.Write(b)
	return err == nil
}

// serve runs tasks one after another, forever. A task that calls
// runtime.Goexit ends the goroutine running serve: the deferred function
// answers that task with an error and serves on in a new goroutine.
func (w *wproc) serve() {
	defer func() {
		if !goexitInTask.Load() {
			return // a panic in mp itself: the worker crashes, as it should
		}
		goexitInTask.Store(false)
		w.goexited()
		go w.serve()
	}()
	for {
		t := w.pop()
		if t == nil {
			continue
		}
		w.run(t)
	}
}

// goexited answers the running task, whose function called runtime.Goexit.
func (w *wproc) goexited() {
	t := w.cur
	if w.curCancel != nil {
		w.curCancel()
		w.curCancel = nil
	}
	name := t.name
	if t.h != nil {
		name = t.h.funcName()
	}
	werr := &wireError{Kind: errPlain, Type: "runtime.Goexit", Msg: fmt.Sprintf("mp: %s called runtime.Goexit (directly, or through a library that does, such as testing's t.FailNow): the task ended without a result", name)}
	w.buf.Reset()
	w.buf.Write(resultHead[:])
	w.buf.Write(binary.AppendUvarint(w.buf.AvailableBuffer(), t.id))
	w.buf.Write([]byte{statusError, 0, 0, 0, 0, 0, 0, 0, 0})
	_ = encMode.MarshalToBuffer(werr, &w.buf)
	b := w.buf.Bytes()
	endFrame(b, 0, 0)
	w.write(b, nil)
	w.mu.Lock()
	w.running = 0
	w.recycleLocked(t)
	w.mu.Unlock()
}

// initialize runs the pool's initializer, if any.
func (w *wproc) initialize(cfg initMsg) *wireError {
	if cfg.InitFunc == "" {
		return nil
	}
	h := lookup(cfg.InitFunc)
	if h == nil {
		return &wireError{Kind: errUnknownFn, Msg: fmt.Sprintf("initializer %q is not registered in the worker: register it at package level", cfg.InitFunc)}
	}
	_, werr := h.invoke(context.Background(), cfg.InitArg, true, &w.buf)
	return werr
}

// readLoop reads frames from the parent while tasks run. The end of the
// task pipe means the parent closed it or died: the worker exits at once,
// even in the middle of a task, so no worker outlives its parent.
func (w *wproc) readLoop() {
	bye := false
	for {
		kind, body, owned, err := w.fr.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				if !bye {
					killOwnGroup() // the parent died: no one else will
				} else {
					leaveQueues() // the pool closed: a consumer that ended, not one that crashed
				}
				os.Exit(exitOK)
			}
			fmt.Fprintf(os.Stderr, "mp worker: reading tasks: %v\n", err)
			os.Exit(exitProtocol)
		}
		switch kind {
		case kindTask, kindBatch:
			th, err := parseTask(body)
			if err != nil {
				fmt.Fprintf(os.Stderr, "mp worker: %v\n", err)
				os.Exit(exitProtocol)
			}
			w.mu.Lock()
			var t *wtask
			if n := len(w.free); n > 0 {
				t, w.free = w.free[n-1], w.free[:n-1]
			} else {
				t = &wtask{}
			}
			t.id, t.deadline, t.runNs, t.batch, t.owned, t.name = th.id, th.deadline, th.runNs, kind == kindBatch, owned, ""
			if t.h = lookupBytes(th.name); t.h == nil {
				t.name = string(th.name)
			}
			if owned {
				t.arg = th.payload
			} else {
				t.arg = append(t.arg[:0], th.payload...)
			}
			w.queue.Push(t)
			w.mu.Unlock()
			select {
			case w.wake <- struct{}{}:
			default:
			}
		case kindBye:
			bye = true
		case kindAck:
			select {
			case w.acks <- struct{}{}:
			default:
			}
		case kindCancel:
			id, _, err := uvarint(body)
			if err != nil {
				fmt.Fprintf(os.Stderr, "mp worker: %v\n", err)
				os.Exit(exitProtocol)
			}
			w.mu.Lock()
			if w.running == id {
				// The task the parent gave up on is running: stop it the
				// only sure way. The parent expects this exit.
				os.Exit(exitCancelled)
			}
			w.cancelled = append(w.cancelled, id)
			w.mu.Unlock()
		default:
			fmt.Fprintf(os.Stderr, "mp worker: frame of unknown kind %d\n", kind)
			os.Exit(exitProtocol)
		}
	}
}

// pop waits for the next task and marks it running. It returns nil for a
// task that was cancelled before it started (after answering it).
func (w *wproc) pop() *wtask {
	for {
		w.mu.Lock()
		if t, ok := w.queue.Pop(); ok {
			skip := false
			if len(w.cancelled) > 0 {
				// ids grow: cancellations of earlier ids are stale.
				keep := w.cancelled[:0]
				for _, c := range w.cancelled {
					if c == t.id {
						skip = true
					} else if c > t.id {
						keep = append(keep, c)
					}
				}
				w.cancelled = keep
			}
			if skip {
				w.recycleLocked(t)
				w.mu.Unlock()
				w.answerSkipped(t.id)
				return nil
			}
			w.running = t.id
			w.mu.Unlock()
			return t
		}
		w.mu.Unlock()
		<-w.wake
	}
}

var resultHead = [...]byte{0, 0, 0, 0, kindResult}

func (w *wproc) answerSkipped(id uint64) {
	b := append(w.buf.AvailableBuffer()[:0], resultHead[:]...)
	b = binary.AppendUvarint(b, id)
	b = append(b, statusSkipped, 0, 0, 0, 0, 0, 0, 0, 0)
	endFrame(b, 0, 0)
	w.write(b, nil)
}

// write writes a frame (b, then tail). A large tail is vmspliced: its
// pages then belong to the pipe until the parent has read them, so write
// waits for the parent's ack (the function that returned tail could
// otherwise change it in its next call).
func (w *wproc) write(b, tail []byte) {
	if _, err := w.out.Write(b); err != nil {
		os.Exit(exitOK) // the parent is gone
	}
	if len(tail) == 0 {
		return
	}
	if !bulkTail(len(tail)) {
		if _, err := w.out.Write(tail); err != nil {
			os.Exit(exitOK)
		}
		return
	}
	if err := writeBulk(w.out, tail); err != nil {
		os.Exit(exitOK)
	}
	<-w.acks
}

// bulkTail reports whether a result tail of n bytes goes by writeBulk,
// with an ack.
func bulkTail(n int) bool { return spliceAck && n >= bigFrame }

// run runs one task and writes its result before returning, so that the
// parent always knows which task a dead worker was running.
func (w *wproc) run(t *wtask) {
	ctx := context.Background()
	var cancel context.CancelFunc
	if t.deadline != 0 {
		ctx, cancel = context.WithDeadline(ctx, time.Unix(0, t.deadline))
	}
	if t.runNs != 0 {
		// The run timeout counts from now, the task's start: the parent
		// kills this worker when it expires; the function's context says
		// so first, with a cause that the result carries back.
		d := time.Duration(t.runNs)
		var cancelRun context.CancelFunc
		ctx, cancelRun = context.WithTimeoutCause(ctx, d, &runTimeoutError{d})
		if outer := cancel; outer != nil {
			cancel = func() { cancelRun(); outer() }
		} else {
			cancel = cancelRun
		}
	}
	w.cur, w.curCancel = t, cancel
	w.buf.Reset()
	w.buf.Write(resultHead[:])
	w.buf.Write(binary.AppendUvarint(w.buf.AvailableBuffer(), t.id))
	statusAt := w.buf.Len()
	w.buf.Write([]byte{statusOK, 0, 0, 0, 0, 0, 0, 0, 0})
	payloadAt := w.buf.Len()

	start := time.Now()
	var tail []byte
	var werr *wireError
	switch {
	case t.h == nil:
		werr = &wireError{Kind: errUnknownFn, Msg: fmt.Sprintf("function %q is not registered in the worker: register functions at package level (var F = mp.Register(...)) so that every process of the program has them", t.name)}
	case t.batch:
		werr = t.h.invokeBatch(ctx, t.arg, &w.buf)
	default:
		tail, werr = t.h.invoke(ctx, t.arg, t.owned, &w.buf)
	}
	ran := time.Since(start)
	w.cur, w.curCancel = nil, nil
	if cancel != nil {
		cancel()
	}
	if werr == nil {
		if size := w.buf.Len() - payloadAt + len(tail); size > w.maxFrame {
			tail = nil
			werr = &wireError{Kind: errEncode, Msg: fmt.Sprintf("the result of %s encodes to %d bytes, over the pool's frame limit of %d (mp.WithMaxFrameBytes)", t.h.funcName(), size, w.maxFrame)}
		}
	}
	if werr != nil {
		w.buf.Truncate(payloadAt)
		w.buf.Bytes()[statusAt] = statusError
		if err := encMode.MarshalToBuffer(werr, &w.buf); err != nil {
			w.buf.Truncate(payloadAt)
			_ = encMode.MarshalToBuffer(&wireError{Kind: errEncode, Msg: "cannot encode the error: " + err.Error()}, &w.buf)
		}
	}
	b := w.buf.Bytes()
	if bulkTail(len(tail)) {
		b[statusAt] |= statusAckBit
	}
	binary.LittleEndian.PutUint64(b[statusAt+1:], uint64(ran))
	endFrame(b, 0, len(tail))

	retire := false
	if w.memLimit > 0 {
		if rss := residentBytes(); rss > w.memLimit {
			// Give back what the heap no longer uses before deciding.
			debug.FreeOSMemory()
			if rss = residentBytes(); rss > w.memLimit {
				retire = true
				if len(tail) > 0 {
					w.write(b, tail)
					b, tail = w.buf.AvailableBuffer()[:0], nil
				}
				var off int
				b, off = beginFrame(b, kindRetire)
				b = binary.AppendUvarint(b, uint64(rss))
				endFrame(b, off, 0)
			}
		}
	}
	w.write(b, tail)
	if retire {
		leaveQueues()
		os.Exit(exitOK)
	}
	w.mu.Lock()
	w.running = 0
	w.recycleLocked(t)
	w.mu.Unlock()
}

// recycleLocked keeps a task for reuse; its argument buffer too, unless it
// was handed over whole (a large frame: the function may have kept it).
func (w *wproc) recycleLocked(t *wtask) {
	if t.owned || cap(t.arg) > 4<<10 {
		t.arg = nil
	} else {
		t.arg = t.arg[:0]
	}
	t.h = nil
	if len(w.free) < 256 {
		w.free = append(w.free, t)
	}
}

// killOwnGroup kills the worker's process group, itself included: the
// programs its tasks started, which would otherwise outlive a pool whose
// process died. The parent kills the group in every other case.
func killOwnGroup() {
	if syscall.Getpgrp() == os.Getpid() {
		_ = syscall.Kill(0, syscall.SIGKILL)
	}
}

// setupWorkerFD checks an inherited pipe, keeps it from the worker's own
// children and makes it non-blocking for the runtime's poller.
func setupWorkerFD(fd int) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return errors.New("not a pipe")
	}
	syscall.CloseOnExec(fd)
	return syscall.SetNonblock(fd, true)
}
