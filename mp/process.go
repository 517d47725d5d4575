package mp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// How a process learns it is a Process child: the parent starts this
// binary again with envProcess naming the registered function, envProcName
// its name, processArg as its only argument, and the encoded argument on
// fd 3. The child writes the function's outcome on fd 4 (a status byte,
// then the encoded result or the CBOR of a wireError) before it exits.
const (
	envProcess   = "BRAID_MP_PROCESS"
	envProcName  = "BRAID_MP_PROCESS_NAME"
	envProcFDs   = "BRAID_MP_PROCESS_FDS"    // id:fd,... of inherited shared objects
	envProcRunNs = "BRAID_MP_PROCESS_RUN_NS" // the run timeout (Func.WithRunTimeout), in ns
	processArg   = "-braid.mp.process"
	fdProcArg    = 3
	fdProcResult = 4
)

// Process is Python's multiprocessing.Process: one call of a registered
// function in a new process of its own (this binary started again, so the
// program must call Main first thing in main, as for a Pool).
//
//	p, err := mp.NewProcess(Worker, args, mp.ProcessName("worker-1"))
//	err = p.Start()
//	err = p.Join(ctx)
//	code, _ := p.ExitCode() // 0: the function returned nil
//
// The child exits with 0 when the function returns a nil error, and with 1
// when it returns an error or panics, after writing the error (and a
// panic's stack) to its standard error; a signal gives the negative signal
// number, as in Python. Python discards the function's return value;
// braid sends it back: after the exit, Err returns the function's error
// (as a *RemoteError, the message crossing as for pool calls) and
// Func.Result the typed result. Results can also go through a Queue, a
// Pipe or shared memory, as in Python. The child shares the parent's
// standard output; its standard error is the parent's unless
// ProcessStderr says otherwise; its standard input is empty. A Func with
// a run timeout (Func.WithRunTimeout) bounds the process: counted from
// Start, the function's context ends and the parent kills the child when
// it expires.
type Process struct {
	name   string
	fn     string
	arg    []byte
	daemon bool
	stderr io.Writer     // nil: os.Stderr
	segs   []*segment    // shared objects in arg, referenced until Start
	runTO  time.Duration // the Func's run timeout (WithRunTimeout); 0: none

	mu      sync.Mutex
	started bool
	proc    *os.Process
	done    chan struct{}
	state   *os.ProcessState
	waitErr error
	result  []byte // what the child wrote on fd 4: empty if it wrote nothing
	// timedOut: the run timeout's timer fired and killed the child.
	timedOut atomic.Bool
}

// ProcessOption configures NewProcess.
type ProcessOption func(*Process)

// ProcessName names the process (default "Process-N", as Python's). The
// child sees it as ProcessName() (current_process().name).
func ProcessName(name string) ProcessOption { return func(p *Process) { p.name = name } }

// Daemon makes the process a daemon: on Linux the kernel kills it
// (SIGKILL) when the parent process exits, however it exits; elsewhere
// nothing does, so Terminate it before exiting. A non-daemon process
// outlives its parent: join it before main returns (Python joins them at
// exit; Go has no such hook).
func Daemon(daemon bool) ProcessOption { return func(p *Process) { p.daemon = daemon } }

// ProcessStderr sets where the child's standard error goes (default
// os.Stderr; nil or io.Discard drops it), as WithStderr does for a pool's
// workers: what the function writes there, and the error or panic the
// child reports as it exits 1. Join (and Done) wait until everything the
// child wrote has been copied to w, and no longer than a second after the
// exit if programs it started still hold its standard error. w is written
// from another goroutine while the child runs: read it (a bytes.Buffer,
// say) only after Join returned nil, or give a writer safe for concurrent
// use.
func ProcessStderr(w io.Writer) ProcessOption {
	return func(p *Process) {
		if w == nil {
			w = io.Discard
		}
		p.stderr = w
	}
}

var processCount atomic.Int64

// NewProcess prepares a call of f with arg in a new process; Start starts
// it. The argument is encoded now, with the codec of pool calls, so a
// shared object (Queue, Value, Lock...) in it is sent as a handle.
func NewProcess[A, R any](f Func[A, R], arg A, opts ...ProcessOption) (*Process, error) {
	if f.f == nil {
		return nil, errors.New("mp: NewProcess with a zero Func: register the function with mp.Register at package level")
	}
	var enc []byte
	var err error
	segs := capturing(func() { enc, err = encodeValue(f.f.rawA, arg) })
	if err != nil {
		releaseAll(segs)
		return nil, fmt.Errorf("mp: NewProcess(%s): cannot encode the argument of type %T: %w", f.f.name, arg, err)
	}
	if len(enc) > DefaultMaxFrameBytes {
		releaseAll(segs)
		return nil, fmt.Errorf("mp: NewProcess(%s): the argument is %d bytes encoded, over the limit of %d", f.f.name, len(enc), DefaultMaxFrameBytes)
	}
	p := &Process{fn: f.f.name, arg: enc, segs: segs, done: make(chan struct{}), runTO: f.runTimeout}
	if len(segs) > 0 {
		// Until Start hands them to the child (or forever, if it is
		// never started): the mappings are released by then.
		runtime.SetFinalizer(p, func(p *Process) { releaseAll(p.segs) })
	}
	for _, o := range opts {
		o(p)
	}
	if p.name == "" {
		p.name = "Process-" + strconv.FormatInt(processCount.Add(1), 10)
	}
	return p, nil
}

// Name returns the process's name.
func (p *Process) Name() string { return p.name }

// IsDaemon reports whether the process is a daemon.
func (p *Process) IsDaemon() bool { return p.daemon }

// Start starts the process. A process starts once; a program that did not
// call Main cannot start one (the child, this binary again, would run the
// program from the top instead of the function).
func (p *Process) Start() error {
	if !mainCalled.Load() {
		return errors.New("mp: Process.Start: call mp.Main() first thing in main (and in TestMain for tests): a Process is this binary started again, and mp.Main is what runs the function there")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return fmt.Errorf("mp: process %s was started already: a process can be started once", p.name)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("mp: Process.Start: cannot find this executable: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("mp: Process.Start: %w", err)
	}
	resR, resW, err := os.Pipe()
	if err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("mp: Process.Start: %w", err)
	}
	cmd := exec.Command(selfExe(exe), processArg)
	cmd.Env = append(os.Environ(), envProcess+"="+p.fn, envProcName+"="+p.name)
	if p.runTO > 0 {
		cmd.Env = append(cmd.Env, envProcRunNs+"="+strconv.FormatInt(int64(p.runTO), 10))
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	switch p.stderr {
	case nil:
	case io.Discard:
		cmd.Stderr = nil // /dev/null: no pipe, no copying goroutine
	default:
		cmd.Stderr = p.stderr
		cmd.WaitDelay = time.Second // grandchildren holding the pipe do not hold Join
	}
	cmd.ExtraFiles = []*os.File{r, resW}
	var fdMap []string
	for _, s := range p.segs {
		dfd, _, err := shmDup(s.fd)
		if err != nil {
			closeFiles(cmd.ExtraFiles)
			w.Close()
			resR.Close()
			return err
		}
		fdMap = append(fdMap, strconv.FormatUint(s.id, 16)+":"+strconv.Itoa(fdProcArg+len(cmd.ExtraFiles)))
		cmd.ExtraFiles = append(cmd.ExtraFiles, os.NewFile(uintptr(dfd), "mp-shared"))
	}
	cmd.Env = append(cmd.Env, envProcFDs+"="+strings.Join(fdMap, ","))
	cmd.SysProcAttr = processSysProcAttr(p.daemon)
	started := make(chan error, 1)
	go func() {
		// The thread that starts a daemon child stays locked until the
		// child is reaped: the kernel's parent-death signal fires when
		// this thread ends.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		var runTimer *time.Timer
		if p.runTO > 0 {
			// Counted from the start, as the child's context of the
			// function: the parent kills it when it expires.
			runTimer = time.AfterFunc(p.runTO, func() {
				// Marked before the kill: the child's death ends
				// cmd.Wait and may be read at once by Err, which must
				// then see the mark.
				p.timedOut.Store(true)
				if cmd.Process.Signal(syscall.SIGKILL) != nil {
					p.timedOut.Store(false) // it had exited: not our kill
				}
			})
		}
		// The child alone holds the result pipe's write end (close-on-exec
		// for what it starts), so its exit ends this read. A program that
		// the child started before Main made fd 4 close-on-exec (in an
		// init function) may hold it too: then the read ends a second
		// after the exit, with what the child wrote, and Join does not
		// hang on it.
		res := make(chan []byte, 1)
		go func() {
			b, _ := io.ReadAll(io.LimitReader(resR, DefaultMaxFrameBytes+frameSlack))
			resR.Close()
			res <- b
		}()
		err := cmd.Wait()
		if runTimer != nil {
			runTimer.Stop()
		}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			err = nil
		}
		_ = resR.SetReadDeadline(time.Now().Add(time.Second))
		result := <-res
		p.mu.Lock()
		p.state, p.waitErr, p.result = cmd.ProcessState, err, result
		p.mu.Unlock()
		close(p.done)
	}()
	err = <-started
	closeFiles(cmd.ExtraFiles)
	if err == nil {
		releaseAll(p.segs)
		p.segs = nil
		runtime.SetFinalizer(p, nil)
	}
	if err != nil {
		w.Close()
		resR.Close()
		return fmt.Errorf("mp: starting process %s: %w", p.name, err)
	}
	p.started, p.proc = true, cmd.Process
	go func() {
		// The child reads its argument at once; a child that dies
		// first gets EPIPE here, which its exit code tells.
		_, _ = w.Write(p.arg)
		w.Close()
	}()
	return nil
}

// Join waits until the process exits, or ctx ends (then ctx's error; the
// process runs on). In a task of an aio loop only the task waits.
func (p *Process) Join(ctx context.Context) error {
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if !started {
		return fmt.Errorf("mp: cannot join process %s: it was not started", p.name)
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	_, err := awaitable(ctx, func(ctx context.Context) (struct{}, error) {
		select {
		case <-p.done:
			return struct{}{}, nil
		case <-ctx.Done():
			return struct{}{}, ctx.Err()
		}
	})
	return err
}

// Done returns a channel closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode returns the exit code and true once the process has exited (a
// negative signal number if a signal ended it), or 0 and false (Python's
// exitcode None).
func (p *Process) ExitCode() (int, bool) {
	select {
	case <-p.done:
	default:
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == nil {
		return -1, true
	}
	if ws, ok := p.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal()), true
	}
	return p.state.ExitCode(), true
}

// Err returns the function's error once the process has exited: nil if
// the function returned nil; if it returned an error or panicked, a
// *RemoteError with its message and Go type (a panic's also with the
// child's stack, and errors.As finds a *futures.PanicError), which matches
// context.Canceled and context.DeadlineExceeded when the function's error
// did, as for pool calls; if the run timeout of the Func it was made with
// (Func.WithRunTimeout) killed it, a *KilledError matching ErrRunTimeout
// and context.DeadlineExceeded; if the process ended without reporting
// otherwise (a signal, Terminate or Kill, os.Exit in the function, a
// crash), a *WorkerError matching ErrWorkerDied with its exit code or
// signal. Before
// the exit, or for a process never started, it returns an error saying so.
// Python's Process has no such thing: its exitcode 1 is all one learns.
func (p *Process) Err() error {
	_, err := p.outcome()
	return err
}

// outcome returns the encoded result and the function's error, as Err.
func (p *Process) outcome() ([]byte, error) {
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if !started {
		return nil, fmt.Errorf("mp: process %s was not started: it has no outcome", p.name)
	}
	select {
	case <-p.done:
	default:
		return nil, fmt.Errorf("mp: process %s has not exited yet: Join it before reading its outcome", p.name)
	}
	p.mu.Lock()
	res, pid := p.result, p.proc.Pid
	p.mu.Unlock()
	if len(res) > 0 {
		switch res[0] {
		case statusOK:
			return res[1:], nil
		case statusError:
			var werr wireError
			if err := decMode.Unmarshal(res[1:], &werr); err == nil {
				return nil, werr.toError(p.fn, pid)
			}
		}
	}
	code, _ := p.ExitCode()
	if code == -int(syscall.SIGKILL) && p.timedOut.Load() {
		return nil, &KilledError{Function: p.fn, PID: pid, Cause: &runTimeoutError{p.runTO}, process: true}
	}
	we := &WorkerError{Function: p.fn, PID: pid, ExitCode: code, Attempts: 1}
	if code < 0 {
		we.ExitCode, we.Signal = -1, syscall.Signal(-code).String()
	}
	if len(res) > 0 {
		we.Cause = fmt.Errorf("%w: process %s sent an outcome that cannot be read", ErrProtocol, p.name)
	}
	return nil, we
}

// Result returns the result of f's call that process p ran, once p has
// exited (Python's Process discards it). Its error is p.Err(), or an
// error matching ErrProtocol when the result sent cannot be decoded as R;
// with an error the result is the zero value. f must be the function p
// was made with (NewProcess(f, ...)); another is an error saying so.
func (f Func[A, R]) Result(p *Process) (R, error) {
	var zero R
	if f.f == nil {
		return zero, errZeroFunc
	}
	if p == nil {
		return zero, errors.New("mp: Func.Result: nil *Process: pass the process made by NewProcess with this Func")
	}
	if p.fn != f.f.name {
		return zero, fmt.Errorf("mp: Func.Result: process %s runs %s, not %s: read its result with the Func it was made with", p.name, p.fn, f.f.name)
	}
	payload, err := p.outcome()
	if err != nil {
		return zero, err
	}
	var r R
	if err := decodeValue(f.f.rawR, payload, false, &r); err != nil {
		return zero, fmt.Errorf("%w: process %s: cannot decode the result of %s: %v", ErrProtocol, p.name, f.f.name, err)
	}
	return r, nil
}

// Pid returns the process id, 0 before Start.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil {
		return 0
	}
	return p.proc.Pid
}

// IsAlive reports whether the process was started and has not exited.
func (p *Process) IsAlive() bool {
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if !started {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Terminate sends SIGTERM (the process exits with -15 unless its program
// handles the signal). After the exit it does nothing.
func (p *Process) Terminate() error { return p.signal(syscall.SIGTERM) }

// Kill sends SIGKILL (exit code -9). After the exit it does nothing.
func (p *Process) Kill() error { return p.signal(syscall.SIGKILL) }

func (p *Process) signal(sig os.Signal) error {
	p.mu.Lock()
	proc := p.proc
	p.mu.Unlock()
	if proc == nil {
		return fmt.Errorf("mp: cannot signal process %s: it was not started", p.name)
	}
	if err := proc.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("mp: signalling process %s: %w", p.name, err)
	}
	return nil
}

// String describes the process, as Python's repr of a Process.
func (p *Process) String() string {
	code, exited := p.ExitCode()
	switch {
	case exited:
		return fmt.Sprintf("<Process name=%q exitcode=%d>", p.name, code)
	case p.IsAlive():
		return fmt.Sprintf("<Process name=%q pid=%d started>", p.name, p.Pid())
	}
	return fmt.Sprintf("<Process name=%q initial>", p.name)
}

var currentName = "MainProcess"

// CurrentProcessName returns the name of this process: the name of the Process
// it runs, or "MainProcess" (Python's current_process().name).
func CurrentProcessName() string { return currentName }

// processMain runs the function of a Process child and exits; it returns
// at once in any other process. Main calls it.
func processMain() {
	fn, ok := os.LookupEnv(envProcess)
	if !ok {
		return
	}
	os.Unsetenv(envProcess)
	currentName = os.Getenv(envProcName)
	os.Unsetenv(envProcName)
	if fds := os.Getenv(envProcFDs); fds != "" {
		for _, kv := range strings.Split(fds, ",") {
			id, fd, _ := strings.Cut(kv, ":")
			i, err1 := strconv.ParseUint(id, 16, 64)
			n, err2 := strconv.Atoi(fd)
			if err1 == nil && err2 == nil {
				syscall.CloseOnExec(n)
				inherited[i] = n
			}
		}
	}
	os.Unsetenv(envProcFDs)
	ctx := context.Background()
	if ns, err := strconv.ParseInt(os.Getenv(envProcRunNs), 10, 64); err == nil && ns > 0 {
		// The parent kills this process when its run timeout expires; the
		// function's context says so first, with a cause that the outcome
		// carries back.
		d := time.Duration(ns)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, &runTimeoutError{d})
		defer cancel() // not reached: the process exits; vet's rule
	}
	os.Unsetenv(envProcRunNs)
	syscall.CloseOnExec(fdProcResult) // programs the function starts must not hold it
	resOut := os.NewFile(fdProcResult, "mp-process-result")
	f := os.NewFile(fdProcArg, "mp-process-arg")
	if f == nil {
		fmt.Fprintf(os.Stderr, "mp: %s is set but fd %d is missing: Process children are started by mp.Process only\n", envProcess, fdProcArg)
		os.Exit(exitSetup)
	}
	arg, err := io.ReadAll(io.LimitReader(f, DefaultMaxFrameBytes+1))
	f.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mp: process %s: reading the argument: %v\n", currentName, err)
		os.Exit(exitSetup)
	}
	h := lookup(fn)
	if h == nil {
		fmt.Fprintf(os.Stderr, "mp: process %s: the function %q is not registered in this binary\n", currentName, fn)
		os.Exit(1)
	}
	var werr *wireError
	var out bytes.Buffer
	var tail []byte
	out.WriteByte(statusOK)
	finished := make(chan bool)
	go func() {
		ok := false
		defer func() { finished <- ok }()
		tail, werr = h.invoke(ctx, arg, true, &out)
		ok = true
	}()
	if !<-finished {
		fmt.Fprintf(os.Stderr, "mp: process %s (pid %d): the function %s called runtime.Goexit (directly, or through a library that does): it ended without a result\n", currentName, os.Getpid(), fn)
		os.Exit(1)
	}
	if werr == nil && out.Len()-1+len(tail) > DefaultMaxFrameBytes {
		werr = &wireError{Kind: errEncode, Msg: fmt.Sprintf("the result of %s encodes to %d bytes, over the limit of %d", fn, out.Len()-1+len(tail), DefaultMaxFrameBytes)}
	}
	if werr == nil {
		leaveQueues() // the function succeeded (exit code 0): this consumer ended, it did not crash
	}
	if resOut != nil {
		if werr != nil {
			out.Reset()
			out.WriteByte(statusError)
			_ = encMode.MarshalToBuffer(werr, &out)
			tail = nil
		}
		_, _ = resOut.Write(out.Bytes())
		_, _ = resOut.Write(tail)
		resOut.Close()
	}
	if werr != nil {
		what := "returned an error"
		if werr.Kind == errPanic {
			what = "panicked"
		}
		fmt.Fprintf(os.Stderr, "mp: process %s (pid %d): the function %s %s: %s\n", currentName, os.Getpid(), fn, what, werr.Msg)
		if werr.Stack != "" {
			fmt.Fprintf(os.Stderr, "%s\n", werr.Stack)
		}
		os.Exit(1)
	}
	os.Exit(0)
}

func releaseAll(segs []*segment) {
	for _, s := range segs {
		s.release()
	}
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}
