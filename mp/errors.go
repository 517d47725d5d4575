package mp

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/braid-go/braid/futures"
)

var (
	// ErrUnregistered is returned at submit time for a function that was
	// not registered with Register (the zero Func, or a RemoteJob naming an
	// unknown function), and by a worker that does not know the function.
	ErrUnregistered = errors.New("mp: function is not registered")

	// ErrNotRemote is returned by Pool.Execute for a job that is a Go
	// closure: closures cannot cross a process boundary.
	ErrNotRemote = errors.New("mp: a process pool cannot run Go closures: register the function with mp.Register at package level and submit it through the returned mp.Func")

	// ErrEncode marks an argument or result that cannot be encoded (a
	// func, a channel, a value too large for the frame limit).
	ErrEncode = errors.New("mp: cannot encode")

	// ErrNoMain is returned by NewPool when the program did not call
	// mp.Main at the top of main (and of TestMain in tests): a worker is
	// the same binary started again, and without mp.Main it would run the
	// whole program instead of serving tasks.
	ErrNoMain = errors.New("mp: call mp.Main() first thing in main (and in TestMain for tests): workers are this binary started again, and mp.Main is what turns them into workers")

	// ErrWorkerDied matches (with errors.Is) every *WorkerError.
	ErrWorkerDied = errors.New("mp: worker process died")

	// ErrRunTimeout matches (with errors.Is) the error of a call that ran
	// longer than its run timeout (Func.WithRunTimeout): a *KilledError
	// when the pool killed its worker, a *RemoteError when the function
	// returned its context's error first. Such errors match
	// context.DeadlineExceeded too.
	ErrRunTimeout = errors.New("mp: run timeout exceeded")
)

// runTimeoutError is the cause of a call stopped by its run timeout: it
// names the timeout and matches ErrRunTimeout and context.DeadlineExceeded.
type runTimeoutError struct{ d time.Duration }

func (e *runTimeoutError) Error() string {
	return fmt.Sprintf("run timeout of %v exceeded", e.d)
}

func (e *runTimeoutError) Is(target error) bool {
	return target == ErrRunTimeout || target == context.DeadlineExceeded
}

// Error kinds carried from a worker.
const (
	errPlain      = 1
	errPanic      = 2
	errCanceled   = 3
	errDeadline   = 4
	errDecode     = 5 // the worker could not decode the argument
	errEncode     = 6 // the worker could not encode the result
	errUnknownFn  = 7
	errRunTimeout = 8 // a context.DeadlineExceeded caused by the call's run timeout
)

// wireError is an error as it crosses the process boundary.
type wireError struct {
	_     struct{} `cbor:",toarray"`
	Kind  uint8
	Type  string
	Msg   string
	Stack string
}

func (w *wireError) toError(fn string, pid int) error {
	return &RemoteError{Function: fn, PID: pid, Type: w.Type, Message: w.Msg, Stack: w.Stack, kind: w.Kind}
}

// RemoteError is an error returned by a registered function, or a panic
// raised by it, in a worker process. For an error the function returned,
// Error returns the worker's message unchanged; the error's identity
// (its type, errors.Is targets) does not cross the process boundary,
// except that context.Canceled and context.DeadlineExceeded still match
// with errors.Is. For a panic, errors.As finds a *futures.PanicError (the
// same type a ThreadPool gives) holding the panic message and the worker's
// stack.
type RemoteError struct {
	// Function is the registered name of the function.
	Function string
	// PID is the worker's process id.
	PID int
	// Type is the Go type of the error value in the worker (for example
	// "*fs.PathError"), or "panic".
	Type string
	// Message is err.Error() in the worker, or the panic value as %v
	// prints it.
	Message string
	// Stack is the stack of the worker goroutine that panicked; empty for
	// errors the function returned.
	Stack string
	kind  uint8
}

// Error returns the worker's message; for a panic, the function, the
// worker and its stack too; for a function that returned its context's
// error after its run timeout (Func.WithRunTimeout) expired, a sentence
// saying so before the message.
func (e *RemoteError) Error() string {
	switch e.kind {
	case errPanic:
		return fmt.Sprintf("mp: %s panicked in worker pid %d: %s\n\nworker stack:\n%s", e.Function, e.PID, e.Message, e.Stack)
	case errDecode, errEncode, errUnknownFn:
		return fmt.Sprintf("mp: %s in worker pid %d: %s", e.Function, e.PID, e.Message)
	case errRunTimeout:
		return fmt.Sprintf("mp: %s: run timeout exceeded in worker pid %d: %s", e.Function, e.PID, e.Message)
	}
	return e.Message
}

// Panicked reports whether the function panicked (rather than returning
// an error).
func (e *RemoteError) Panicked() bool { return e.kind == errPanic }

// Is matches context.Canceled and context.DeadlineExceeded when the
// worker's error matched them (and ErrRunTimeout too when the deadline was
// the call's run timeout), ErrUnregistered when the worker did not know
// the function, and ErrEncode when it could not encode the result.
func (e *RemoteError) Is(target error) bool {
	switch e.kind {
	case errCanceled:
		return target == context.Canceled
	case errDeadline:
		return target == context.DeadlineExceeded
	case errRunTimeout:
		return target == context.DeadlineExceeded || target == ErrRunTimeout
	case errUnknownFn:
		return target == ErrUnregistered
	case errEncode:
		return target == ErrEncode
	}
	return false
}

// Unwrap returns a *futures.PanicError for a panic, so that errors.As
// finds the same type for a panic in a process pool as in a ThreadPool.
func (e *RemoteError) Unwrap() error {
	if e.kind == errPanic {
		return &futures.PanicError{Value: e.Message, Stack: []byte(e.Stack)}
	}
	return nil
}

// WorkerError is the error of a task whose worker process ended while it
// ran: killed by a signal (kill -9, the kernel's out-of-memory killer), an
// os.Exit in the function, a crash of the Go runtime, or a broken frame.
// Only that task fails; the pool starts a replacement worker and the other
// tasks go on. errors.Is(err, ErrWorkerDied) is true.
type WorkerError struct {
	// Function is the registered name of the task's function.
	Function string
	// PID is the process id of the worker that died.
	PID int
	// ExitCode is the worker's exit code, or -1 if a signal ended it.
	ExitCode int
	// Signal names the signal that ended the worker ("killed"), empty if
	// it exited.
	Signal string
	// Stderr holds the last lines the worker wrote to its standard error.
	// When it wrote a Go panic or fatal error, the excerpt starts there
	// (with the runtime's lines just before it) and keeps the report's
	// head, the top of the failing goroutine's stack included, however
	// long the report; when the report was longer, a line says how many
	// bytes were cut before its last lines.
	Stderr string
	// Attempts is how many times the task was run, more than one for a
	// function registered as Idempotent.
	Attempts int
	// Cause is a protocol error when the parent killed a worker that sent
	// a broken frame; nil otherwise.
	Cause error
}

// Error names the worker, how it ended and the last lines of its stderr.
func (e *WorkerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mp: worker pid %d died while running %s: ", e.PID, e.Function)
	switch {
	case e.Cause != nil:
		fmt.Fprintf(&b, "%v", e.Cause)
	case e.Signal != "":
		fmt.Fprintf(&b, "signal: %s", e.Signal)
	default:
		fmt.Fprintf(&b, "exit status %d", e.ExitCode)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Stderr != "" {
		b.WriteString("; last lines of its stderr:\n")
		b.WriteString(e.Stderr)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrWorkerDied) true.
func (e *WorkerError) Is(target error) bool { return target == ErrWorkerDied }

// Unwrap returns Cause.
func (e *WorkerError) Unwrap() error { return e.Cause }

// MemoryError is the error of a task whose worker passed the pool's
// memory limit (WithMemoryLimit) while it ran: the pool killed the worker
// (and what the task started) and a replacement takes its place.
type MemoryError struct {
	// Function is the registered name of the task's function.
	Function string
	// PID is the process id of the worker that was killed.
	PID int
	// Limit is the pool's memory limit, in bytes.
	Limit int64
	// Resident is the worker's resident memory when it was seen over the
	// limit, in bytes.
	Resident int64
}

// Error names the task, the worker and the limit.
func (e *MemoryError) Error() string {
	return fmt.Sprintf("mp: %s: worker pid %d exceeded memory limit %s MiB (resident %.1f MiB) and was killed", e.Function, e.PID, mib(e.Limit), float64(e.Resident)/(1<<20))
}

func mib(n int64) string { return strconv.FormatFloat(float64(n)/(1<<20), 'f', -1, 64) }

// KilledError is the error of a task whose context ended (deadline or
// cancellation), or whose run timeout expired (Func.WithRunTimeout), while
// it ran: its worker was killed to stop it, and a replacement takes its
// place. errors.Is matches the context's error (context.DeadlineExceeded
// or context.Canceled), or, for a run timeout, ErrRunTimeout and
// context.DeadlineExceeded.
type KilledError struct {
	// Function is the registered name of the task's function.
	Function string
	// PID is the process id of the worker that was killed.
	PID int
	// Cause is context.Cause of the task's context, or for a run timeout
	// an error that names the timeout and matches ErrRunTimeout.
	Cause error
}

// Error says which task was stopped and why.
func (e *KilledError) Error() string {
	return fmt.Sprintf("mp: %s: %v (worker pid %d was killed to stop the task)", e.Function, e.Cause, e.PID)
}

// Unwrap returns Cause.
func (e *KilledError) Unwrap() error { return e.Cause }

// errTerminated fails the running tasks of a terminated pool.
var errTerminated = fmt.Errorf("%w (the pool was terminated)", futures.ErrShutdown)

// toWire turns an error from a function into its wire form. It never
// panics: an error value whose methods panic (a typed nil pointer whose
// Error dereferences it, an Error that panics) is described instead of
// crashing the worker.
func toWire(err error) (w *wireError) {
	typ := fmt.Sprintf("%T", err)
	defer func() {
		if p := recover(); p != nil {
			w = &wireError{Kind: errPlain, Type: typ, Msg: describeBadError(err, typ, p)}
		}
	}()
	var pe *futures.PanicError
	if errors.As(err, &pe) {
		return &wireError{Kind: errPanic, Type: "panic", Msg: fmt.Sprint(pe.Value), Stack: string(pe.Stack)}
	}
	w = &wireError{Kind: errPlain, Type: typ, Msg: err.Error()}
	switch {
	case errors.Is(err, ErrRunTimeout):
		w.Kind = errRunTimeout
	case errors.Is(err, context.DeadlineExceeded):
		w.Kind = errDeadline
	case errors.Is(err, context.Canceled):
		w.Kind = errCanceled
	}
	return w
}

// toWireIn is toWire for an error of a call that ran with ctx: a
// context.DeadlineExceeded that the call's run timeout caused (ctx's cause)
// is marked as such, so that the parent can say so.
func toWireIn(ctx context.Context, err error) *wireError {
	w := toWire(err)
	if w.Kind == errDeadline && errors.Is(context.Cause(ctx), ErrRunTimeout) {
		w.Kind = errRunTimeout
	}
	return w
}

// describeBadError is the message of an error whose methods panicked.
func describeBadError(err error, typ string, p any) string {
	if v := reflect.ValueOf(err); v.Kind() == reflect.Pointer && v.IsNil() {
		return fmt.Sprintf("the function returned a nil %s as its error (a typed nil pointer in a non-nil error interface: return a literal nil for success), and its Error method panicked: %v", typ, p)
	}
	return fmt.Sprintf("the function returned an error of type %s whose Error method panicked: %v", typ, p)
}
