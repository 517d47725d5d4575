package profile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"
)

// DefaultInterval is how often the process tree is sampled unless
// [WithInterval] says otherwise.
const DefaultInterval = 50 * time.Millisecond

type options struct {
	interval time.Duration
	stdin    io.Reader
	stdout   io.Writer
	stderr   io.Writer
	signals  <-chan os.Signal
	err      error
}

// Option configures [Command] and [Func].
type Option func(*options)

// WithInterval sets how often the process tree is sampled (at least 1 ms;
// default [DefaultInterval]). Shorter intervals see shorter-lived processes
// and cost more CPU in the measuring process.
func WithInterval(d time.Duration) Option {
	return func(o *options) {
		if d < time.Millisecond {
			o.err = fmt.Errorf("profile: sampling interval %v is too short: give 1ms or more (e.g. 50ms)", d)
			return
		}
		o.interval = d
	}
}

// WithStdio sets the command's standard input, output and error ([Command]
// only); nil keeps the default, the calling process's own.
func WithStdio(stdin io.Reader, stdout, stderr io.Writer) Option {
	return func(o *options) {
		if stdin != nil {
			o.stdin = stdin
		}
		if stdout != nil {
			o.stdout = stdout
		}
		if stderr != nil {
			o.stderr = stderr
		}
	}
}

// WithSignals makes [Command] forward every signal received on ch to the
// command and mark the report interrupted (pass the channel given to
// signal.Notify for SIGINT and SIGTERM).
func WithSignals(ch <-chan os.Signal) Option {
	return func(o *options) { o.signals = ch }
}

func buildOptions(opts []Option) (options, error) {
	o := options{interval: DefaultInterval, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	for _, opt := range opts {
		opt(&o)
	}
	return o, o.err
}

// StartError is returned by [Command] when the program cannot be started.
// ExitCode is what a shell returns for it: 127 when the program is not
// found, 126 when it cannot be executed.
type StartError struct {
	Name     string // the command as given
	ExitCode int    // 127 (not found) or 126 (cannot be executed), as a shell would exit
	Err      error  // the error from starting it
}

// Error says what could not be started and what to check.
func (e *StartError) Error() string {
	if e.ExitCode == 127 {
		return fmt.Sprintf("%s: command not found (%v): check the name and PATH", e.Name, e.Err)
	}
	return fmt.Sprintf("%s: cannot execute (%v): check that it is an executable file for this system", e.Name, e.Err)
}

// Unwrap returns the error from starting the command.
func (e *StartError) Unwrap() error { return e.Err }

// Command runs argv[0] with the arguments argv[1:], passing its standard
// streams through, samples it and every descendant from /proc while it
// runs, and returns the figures and the verdict. The command's exit code is
// in [Report.ExitCode]; a command that ran is never an error, whatever its
// exit code. A command that cannot start returns a [*StartError].
//
// CPU time and context switches come from the rusage of wait4, which counts
// every descendant the command waited for, however short-lived; I/O bytes
// from the command's /proc/PID/io read after it exited and before it was
// reaped (it includes the reaped descendants too). Run-queue wait, block-I/O
// delay, peak RSS, threads and wait states are sampled, so a descendant that
// lived less than an interval may be missed by them.
//
// Cancelling ctx sends SIGTERM to the command and marks the report
// interrupted; Command still waits for it to exit.
func Command(ctx context.Context, argv []string, opts ...Option) (Report, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return Report{}, err
	}
	if len(argv) == 0 || argv[0] == "" {
		return Report{}, errors.New("profile: no command given: pass the program and its arguments")
	}
	if !rusageSupported {
		return Report{}, fmt.Errorf("profile: measuring a command is not supported on %s: it needs getrusage (Unix)", runtime.GOOS)
	}
	rep := Report{Command: append([]string(nil), argv...)}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.stdin, o.stdout, o.stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return startFailure(rep, argv[0], err)
	}
	pid := cmd.Process.Pid
	tr := newTracker(pid, 0, false)
	exited := make(chan struct{})
	var waitErr error
	go func() {
		if reapLater {
			waitNoReap(pid)
		} else {
			waitErr = cmd.Wait()
		}
		close(exited)
	}()
	tr.sample(true)
	ticker := time.NewTicker(o.interval)
	done := ctx.Done()
loop:
	for {
		select {
		case <-exited:
			break loop
		case <-ticker.C:
			tr.sample(true)
		case sig := <-o.signals:
			rep.Interrupted = true
			_ = cmd.Process.Signal(sig)
		case <-done:
			rep.Interrupted = true
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done = nil
		}
	}
	ticker.Stop()
	wall := time.Since(start)
	if reapLater {
		tr.sample(false) // the zombie: its I/O counters now include every reaped descendant
		waitErr = cmd.Wait()
	}
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) {
		return rep, fmt.Errorf("profile: waiting for %s: %w", argv[0], waitErr)
	}
	rep.ExitCode = exitCode(cmd.ProcessState)
	ru := processUsage(cmd.ProcessState)
	rep.Figures = tr.figures(SubjectCommand, wall, ru, usage{}, false)
	if !samplingSupported {
		rep.Notes = append(rep.Notes, "no /proc on "+runtime.GOOS+": only CPU time, context switches and peak RSS are measured; the verdict rests on the CPU share alone")
	}
	rep.Notes = append(rep.Notes, commonNotes(rep.Figures)...)
	rep.Verdict = Classify(rep.Figures)
	return rep, nil
}

func startFailure(rep Report, name string, err error) (Report, error) {
	code := 126
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		code = 127
	}
	rep.ExitCode = code
	return rep, &StartError{Name: name, ExitCode: code, Err: err}
}

// exitCode is the exit code as a shell reports it: 128+N when signal N
// ended the process.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Func calls fn(ctx) and measures the calling process over the call: the
// articles' measure_task decorator, done with the kernel's accounting.
// It returns fn's error with the report.
//
// The figures are deltas of the whole process (getrusage RUSAGE_SELF and
// RUSAGE_CHILDREN, /proc/self/io, the schedstat of its threads), not of fn
// alone: a goroutine runs on whichever thread the scheduler gives it, so
// per-thread figures (RUSAGE_THREAD) would miss most of its work. Anything
// else the process does during the call counts too, including the
// sampler's own small cost; measure with the rest of the program quiet.
// Peak RSS is the largest resident set sampled during the call.
func Func(ctx context.Context, fn func(context.Context) error, opts ...Option) (Report, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return Report{}, err
	}
	if fn == nil {
		return Report{}, errors.New("profile: Func needs a function to measure, got nil")
	}
	if !rusageSupported {
		return Report{}, fmt.Errorf("profile: measuring a function is not supported on %s: it needs getrusage (Unix)", runtime.GOOS)
	}
	ready := make(chan *tracker)
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		// The sampling goroutine keeps one thread, which it leaves out of
		// the wait states it counts.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		tr := newTracker(os.Getpid(), gettid(), true)
		tr.sample(false) // the baseline
		ready <- tr
		ticker := time.NewTicker(o.interval)
		defer ticker.Stop()
		for {
			select {
			case <-stop:
				tr.sample(false)
				close(finished)
				return
			case <-ticker.C:
				tr.sample(true)
			}
		}
	}()
	tr := <-ready
	before := selfUsage()
	start := time.Now()
	fnErr := fn(ctx)
	wall := time.Since(start)
	after := selfUsage()
	close(stop)
	<-finished
	rep := Report{Interrupted: ctx.Err() != nil}
	rep.Figures = tr.figures(SubjectFunction, wall, after, before, true)
	if !samplingSupported {
		rep.Notes = append(rep.Notes, "no /proc on "+runtime.GOOS+": only CPU time and context switches are measured; the verdict rests on the CPU share alone")
	}
	rep.Notes = append(rep.Notes, "the figures are of the whole process during the call: other goroutines' work counts too")
	if rep.RunQueueThreads > 1 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d threads of the process computed during the call (each for at least 2%% of it): the function's goroutines, the Go runtime's (garbage collection) or other goroutines of the program; the kernel cannot tell them apart", rep.RunQueueThreads))
	}
	rep.Notes = append(rep.Notes, commonNotes(rep.Figures)...)
	rep.Verdict = Classify(rep.Figures)
	return rep, fnErr
}

// figures combines the rusage figures (after - before) with what sampling
// saw.
func (t *tracker) figures(subject Subject, wall time.Duration, after, before usage, self bool) Figures {
	f := Figures{Subject: subject, Cores: runtime.NumCPU(), WallSeconds: wall.Seconds()}
	f.UserSeconds = after.user - before.user
	f.SystemSeconds = after.sys - before.sys
	f.VoluntaryCtxSwitches = after.nvcsw - before.nvcsw
	f.InvoluntaryCtxSwitches = after.nivcsw - before.nivcsw
	runDelay, blkio, sampledUser, sampledSys, runThreads := t.totals(wall)
	// Processes that were never waited for (orphans adopted by init) are
	// not in the rusage; their sampled ticks are a floor.
	f.UserSeconds = max(f.UserSeconds, sampledUser)
	f.SystemSeconds = max(f.SystemSeconds, sampledSys)
	f.RunQueueSeconds = runDelay
	f.RunQueueThreads = runThreads
	f.BlockIODelayAccounted = blkioAccounted()
	f.BlockIODelaySeconds = blkio
	if t.rootIOSeen {
		io := t.rootIO
		if self {
			io.rchar -= t.baseIO.rchar
			io.wchar -= t.baseIO.wchar
			io.readBytes -= t.baseIO.readBytes
			io.writeBytes -= t.baseIO.writeBytes
		}
		f.ReadChars, f.WriteChars, f.ReadBytes, f.WriteBytes = io.rchar, io.wchar, io.readBytes, io.writeBytes
	}
	f.Threads = t.threads
	f.Processes = len(t.procs)
	f.PeakRSSBytes = t.maxRSSKiB * 1024
	// The rusage maximum of an exec'd child includes the memory of the
	// process it was forked from (Linux carries the old address space's
	// high-water mark across exec, and Go forks with CLONE_VM): it is used
	// only where there is no sampling.
	if !self && !samplingSupported {
		f.PeakRSSBytes = after.maxRSSBytes
	}
	f.Samples = t.samples
	f.States = map[string]int{}
	for k, n := range t.states {
		f.States[k] = n
	}
	return f
}

func commonNotes(f Figures) []string {
	var notes []string
	if samplingSupported && !f.BlockIODelayAccounted {
		notes = append(notes, "block-I/O delay is not counted by this kernel (sysctl kernel.task_delayacct=0; enable it with `sysctl kernel.task_delayacct=1` or the delayacct boot option); disk waits are told from D states instead")
	}
	if samplingSupported && f.Samples < minSamples {
		notes = append(notes, fmt.Sprintf("only %d samples: the run was short for the sampling interval; the verdict rests on the accounted CPU share", f.Samples))
	}
	return notes
}
