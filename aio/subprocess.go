package aio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Process is a child process whose standard streams are braid streams
// (asyncio.subprocess.Process). Stdin, Stdout and Stderr are set for the
// streams the loop made pipes for, nil otherwise. Its methods belong to
// the loop.
//
// No zombie is left behind: the exit is collected as soon as it happens,
// whatever the task that started the process does, and when Run ends
// every child still running is killed and collected.
type Process struct {
	// Stdin writes to the child's standard input (nil if not a pipe).
	Stdin *StreamWriter
	// Stdout reads the child's standard output (nil if not a pipe).
	Stdout *StreamReader
	// Stderr reads the child's standard error (nil if not a pipe).
	Stderr *StreamReader

	loop    *Loop
	cmd     *exec.Cmd
	exited  bool
	state   *os.ProcessState
	waitErr error
	waiters []*taskCore
	reaped  chan struct{} // closed when the waiting goroutine has collected the exit
	counted bool          // counted in loop.external while running
}

// StartProcess starts cmd (an *exec.Cmd not started yet) with a pipe,
// turned into a braid stream, for each of cmd.Stdin, cmd.Stdout and
// cmd.Stderr that is nil (asyncio's stdin=PIPE, stdout=PIPE,
// stderr=PIPE). A stream set in cmd is left as it is: use an *os.File
// (os.Stdout, or /dev/null opened for a DEVNULL) so that os/exec copies
// nothing in goroutines of its own.
//
// StartProcess belongs to the loop that ctx carries. Cancelling ctx does
// not kill the process; use exec.CommandContext for that, or Kill.
func StartProcess(ctx context.Context, cmd *exec.Cmd) (*Process, error) {
	l := loopOf(ctx)
	if l == nil {
		return nil, ErrNoLoop
	}
	if l.closed.Load() {
		return nil, ErrLoopClosed
	}
	if cmd.Process != nil {
		return nil, errors.New("aio: StartProcess needs a command that was not started")
	}
	io := l.ioState()
	p := &Process{loop: l, cmd: cmd, reaped: make(chan struct{})}
	var childEnds []*os.File
	var parentEnds []int
	fail := func(err error) (*Process, error) {
		for _, f := range childEnds {
			f.Close()
		}
		for _, fd := range parentEnds {
			unix.Close(fd)
		}
		return nil, err
	}
	pipe := func(childReads bool) (parent int, child *os.File, err error) {
		r, w, err := sysPipe()
		if err != nil {
			return -1, nil, err
		}
		if childReads {
			parent, child = w, os.NewFile(uintptr(r), "|0")
		} else {
			parent, child = r, os.NewFile(uintptr(w), "|1")
		}
		if err := unix.SetNonblock(parent, true); err != nil {
			child.Close()
			unix.Close(parent)
			return -1, nil, err
		}
		childEnds = append(childEnds, child)
		parentEnds = append(parentEnds, parent)
		return parent, child, nil
	}
	stdinFD, stdoutFD, stderrFD := -1, -1, -1
	if cmd.Stdin == nil {
		fd, f, err := pipe(true)
		if err != nil {
			return fail(err)
		}
		stdinFD, cmd.Stdin = fd, f
	}
	if cmd.Stdout == nil {
		fd, f, err := pipe(false)
		if err != nil {
			return fail(err)
		}
		stdoutFD, cmd.Stdout = fd, f
	}
	if cmd.Stderr == nil {
		fd, f, err := pipe(false)
		if err != nil {
			return fail(err)
		}
		stderrFD, cmd.Stderr = fd, f
	}
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("aio: starting %s: %w", cmd.Path, err))
	}
	for _, f := range childEnds {
		f.Close()
	}
	childEnds = nil
	// From here the process runs: it must be collected whatever happens.
	p.counted = true
	l.external++
	io.procs = append(io.procs, p)
	go func() {
		err := cmd.Wait()
		state := cmd.ProcessState
		close(p.reaped)
		// A closed loop is not waiting any more; the exit is collected.
		_ = l.CallSoonThreadsafe(func() { p.onExit(state, err) })
	}()
	stream := func(fd int, readable bool) (*streamProto, error) {
		sp := newStreamProto(l, DefaultStreamLimit)
		t, err := newStreamTransport(l, fd, kindPipe, sp, readable)
		if err != nil {
			unix.Close(fd)
			return nil, err
		}
		sp.ConnectionMade(t)
		return sp, nil
	}
	var firstErr error
	if stdinFD >= 0 {
		if sp, err := stream(stdinFD, false); err == nil {
			p.Stdin = &sp.w
		} else {
			firstErr = err
		}
	}
	if stdoutFD >= 0 {
		if sp, err := stream(stdoutFD, true); err == nil {
			p.Stdout = &sp.r
		} else if firstErr == nil {
			firstErr = err
		}
	}
	if stderrFD >= 0 {
		if sp, err := stream(stderrFD, true); err == nil {
			p.Stderr = &sp.r
		} else if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		p.Kill()
		return p, firstErr
	}
	return p, nil
}

// onExit runs on the loop when the process has exited and been collected.
func (p *Process) onExit(state *os.ProcessState, err error) {
	p.exited = true
	p.state = state
	if state == nil {
		p.waitErr = err
	}
	if p.counted {
		p.counted = false
		p.loop.external--
	}
	for _, t := range p.waiters {
		p.loop.wake(t)
	}
	p.waiters = nil
	io := p.loop.ioState()
	for i, q := range io.procs {
		if q == p {
			io.procs = append(io.procs[:i], io.procs[i+1:]...)
			break
		}
	}
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// ReturnCode returns the exit code once the process has exited (asyncio's
// returncode): a negative code -N means it was killed by signal N. ok is
// false while it runs.
func (p *Process) ReturnCode() (code int, ok bool) {
	if !p.exited || p.state == nil {
		return 0, false
	}
	return exitCode(p.state), true
}

func exitCode(st *os.ProcessState) int {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return st.ExitCode()
}

// ProcessState returns the process's exit state once it has exited, or
// nil; it has the child's resource usage (SysUsage).
func (p *Process) ProcessState() *os.ProcessState { return p.state }

// Wait waits for the process to exit and returns its exit code (asyncio's
// wait: a negative code -N means signal N). A non-zero exit is not an
// error. If ctx is done first, the process goes on and ctx's error is
// returned.
func (p *Process) Wait(ctx context.Context) (int, error) {
	if err := loopCheck(p.loop, "Process.Wait"); err != nil {
		return 0, err
	}
	if !p.exited {
		t, err := p.loop.enterTask("Process.Wait")
		if err != nil {
			return 0, err
		}
		err = parkUntil(ctx, t, nil, false, funcCond{
			done: func() bool { return p.exited },
			reg:  func(t *taskCore) { p.waiters = append(p.waiters, t) },
		})
		if err != nil {
			return 0, err
		}
	}
	if p.state == nil {
		return 0, p.waitErr
	}
	return exitCode(p.state), nil
}

// SendSignal sends sig to the process; it does nothing once it has
// exited.
func (p *Process) SendSignal(sig os.Signal) error {
	if err := loopCheck(p.loop, "Process.SendSignal"); err != nil {
		return err
	}
	if p.exited {
		return nil
	}
	err := p.cmd.Process.Signal(sig)
	if errors.Is(err, os.ErrProcessDone) {
		return nil
	}
	return err
}

// Terminate sends SIGTERM.
func (p *Process) Terminate() error { return p.SendSignal(syscall.SIGTERM) }

// Kill sends SIGKILL.
func (p *Process) Kill() error { return p.SendSignal(syscall.SIGKILL) }

// Communicate writes input to the process's stdin and closes it, reads
// its stdout and stderr to the end, and waits for it to exit (asyncio's
// communicate). Streams that are not pipes give nil. The reads and the
// write run at once (in tasks of their own), so a child that writes a lot
// before reading its input cannot deadlock it. The exit code is in
// ReturnCode.
func (p *Process) Communicate(ctx context.Context, input []byte) (stdout, stderr []byte, err error) {
	if _, err := p.loop.enterTask("Process.Communicate"); err != nil {
		return nil, nil, err
	}
	readAll := func(r *StreamReader) *Task[[]byte] {
		if r == nil {
			return nil
		}
		return Spawn(ctx, func(ctx context.Context) ([]byte, error) { return r.Read(ctx, -1) })
	}
	outT, errT := readAll(p.Stdout), readAll(p.Stderr)
	var werr error
	if p.Stdin != nil {
		if len(input) > 0 {
			if werr = p.Stdin.Write(input); werr == nil {
				werr = p.Stdin.Drain(ctx)
			}
		}
		p.Stdin.Close()
		if werr != nil && isBrokenPipe(werr) {
			werr = nil // the child did not read its input: as asyncio, ignore
		}
	}
	collect := func(t *Task[[]byte]) ([]byte, error) {
		if t == nil {
			return nil, nil
		}
		v, err := t.Await(ctx)
		if err != nil {
			t.Cancel()
		}
		return v, err
	}
	stdout, oerr := collect(outT)
	stderr, eerr := collect(errT)
	if _, err := p.Wait(ctx); err != nil {
		return stdout, stderr, err
	}
	return stdout, stderr, errors.Join(werr, oerr, eerr)
}

func isBrokenPipe(err error) bool {
	return errors.Is(err, unix.EPIPE) || errors.Is(err, unix.ECONNRESET)
}

// shutdownNow kills a process still running when Run ends and waits
// (boundedly) until it is collected, so that no zombie and no goroutine
// outlives the loop.
func (p *Process) shutdownNow() {
	if p.exited {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.reaped:
	case <-time.After(5 * time.Second):
		p.loop.cfg.logger.Error("aio: a child process did not exit after SIGKILL", "pid", p.cmd.Process.Pid)
	}
	p.exited = true
}
