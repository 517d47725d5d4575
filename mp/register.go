package mp

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braid-go/braid/futures"
)

// handler is the untyped view of a registered function, used by workers.
type handler interface {
	funcName() string
	// invoke decodes arg, runs the function and appends the encoded result
	// to out; a raw []byte result is returned as tail instead, to be
	// written after out. werr is the function's error or panic, or a
	// codec failure.
	invoke(ctx context.Context, arg []byte, owned bool, out *bytes.Buffer) (tail []byte, werr *wireError)
	// invokeBatch is invoke for a Map chunk: a CBOR array of arguments in,
	// a batchOut out.
	invokeBatch(ctx context.Context, args []byte, out *bytes.Buffer) *wireError
	// runStats is the moving average of the run time of one call, in ns,
	// measured by workers and kept by pools (0: no history yet).
	runStats() *atomic.Int64
}

var (
	regMu    sync.Mutex
	registry atomic.Pointer[map[string]handler] // copied on write; read without a lock
)

func lookup(name string) handler {
	m := registry.Load()
	if m == nil {
		return nil
	}
	return (*m)[name]
}

// lookupBytes is lookup without converting name to a string on the heap.
func lookupBytes(name []byte) handler {
	m := registry.Load()
	if m == nil {
		return nil
	}
	return (*m)[string(name)]
}

// batchSuffix ends the Function name of a Map chunk job, for executors that
// see only the futures.RemoteJob interface.
const batchSuffix = "#map"

// fnInfo is a registered function.
type fnInfo[A, R any] struct {
	name    string
	fn      func(context.Context, A) (R, error)
	rawA    bool
	rawR    bool
	retries int
	avgNs   atomic.Int64

	// Used by the worker's one task goroutine only: the decoded argument
	// and the result to encode, kept here so that neither escapes to the
	// heap through the decoder's and encoder's interfaces each call.
	slotA A
	slotR R
}

// Func is the typed handle of a function registered with Register. Its
// methods submit calls of the function to any futures.Executor: on an
// mp.Pool the call runs in a worker process, on a futures.ThreadPool it runs
// in-process (the argument is then not encoded). The zero Func is not
// registered: submitting it is an error.
type Func[A, R any] struct {
	f          *fnInfo[A, R]
	runTimeout time.Duration // WithRunTimeout; 0: none
}

// WithRunTimeout returns a handle of the same function whose calls each
// have a run timeout of d (pebble's schedule(fn, timeout=d), the per-task
// timeout ProcessPoolExecutor lacks); d == 0 removes it. A run timeout
// counts the time a call runs, not the time it waits for a worker, so a
// batch can be submitted all at once with each call bounded on its own:
//
//	thumb := MakeThumbnail.WithRunTimeout(5 * time.Second)
//	for _, j := range jobs {
//		f, err := thumb.Submit(ctx, pool, j) // every image queued now
//		...
//	}
//
// On an mp.Pool the run timeout starts when the call is handed to a
// started worker that is free to run it (a worker's start-up and its
// initializer do not count); when it expires the pool kills the worker,
// as for a context's deadline, and the call fails with a *KilledError
// matching ErrRunTimeout and context.DeadlineExceeded, whose message
// names the timeout; a replacement worker takes its place. The function
// also receives a context that ends d after it started in the worker, so
// cooperative code can stop first: returning that context's error fails
// the call with a *RemoteError matching the same two errors. A Map chunk
// is one run: the timeout bounds the chunk as a whole (give
// futures.WithChunkSize(1), the default, for a timeout per item). On an
// in-process executor (futures.ThreadPool) the function's context ends d
// after it starts and the call fails then with an error matching
// ErrRunTimeout; the function, which cannot be killed, runs on until it
// returns.
//
// The context's own deadline still holds as well, counting from the
// submission: whichever ends first stops the call. A handle is a small
// value; WithRunTimeout changes nothing in f and may be called per batch
// (with a timeout from a flag, say) or once, at package level:
//
//	var Thumb = mp.Register("thumb", makeThumb).WithRunTimeout(time.Minute)
//
// WithRunTimeout panics if d is negative.
func (f Func[A, R]) WithRunTimeout(d time.Duration) Func[A, R] {
	if d < 0 {
		panic(fmt.Sprintf("mp: Func.WithRunTimeout needs a duration >= 0 (0: no run timeout), got %v", d))
	}
	f.runTimeout = d
	return f
}

// RunTimeout returns the handle's run timeout (WithRunTimeout), 0 if none.
func (f Func[A, R]) RunTimeout() time.Duration { return f.runTimeout }

// FuncOption configures a function at registration.
type FuncOption func(*funcConfig)

type funcConfig struct {
	retries int
}

// Idempotent marks the function as safe to run again: when the worker
// running a call dies (killed, crashed, out of memory), the call is run
// again on another worker, up to retries more times, before it fails with
// the *WorkerError. Calls stopped by their context's deadline or
// cancellation, or by their run timeout (Func.WithRunTimeout), are not
// retried, nor are errors the function returns.
func Idempotent(retries int) FuncOption {
	if retries < 0 {
		panic(fmt.Sprintf("mp: Idempotent needs retries >= 0, got %d", retries))
	}
	return func(c *funcConfig) { c.retries = retries }
}

// Register registers fn under name and returns its typed handle. Call it
// at package level, as the initializer of a package variable, so that it
// runs in every process of the program, workers included (a worker is the
// same binary started again):
//
//	var Square = mp.Register("square", func(ctx context.Context, x int) (int, error) {
//		return x * x, nil
//	})
//
// Register panics (a programming error, caught by the first run) if name
// is empty or holds '#', if it is already registered, if A or R can never
// be encoded (funcs, channels, complex numbers) or would lose unexported
// fields (see below), or if it is called after Main (a registration in
// main would not happen in the workers).
//
// Arguments and results are encoded with CBOR: numbers, strings (byte for
// byte, valid UTF-8 or not), slices, maps, structs (exported fields,
// `cbor:` or `json:` tags), pointers, time.Time, *big.Int, and types that
// implement cbor.Marshaler or encoding.BinaryMarshaler, with the matching
// unmarshaler on their pointer. A []byte argument or result travels raw,
// without encoding.
//
// Nothing is dropped silently (as pickle, which carries a Python object
// whole): Register panics if A or R holds, anywhere (struct fields,
// pointers, slices, arrays, map keys and values), a struct with an
// unexported field, which the codec cannot see and which would arrive
// zeroed; the message names the type and the field. Export the field, tag
// it `cbor:"-"` (or `json:"-"`) to leave it out on purpose, or give the
// type MarshalBinary and UnmarshalBinary methods: a type that has both
// (or cbor's MarshalCBOR and UnmarshalCBOR) is carried by them and its
// fields are not checked. TextMarshaler, json.Marshaler and GobEncoder are
// not used by the codec, so they do not exempt a type. Fields named "_"
// and zero-size fields hold no data and are allowed. Interface values are
// checked by their dynamic type only when encoded, and decode as generic
// CBOR data (maps, slices), never as the original type.
func Register[A, R any](name string, fn func(ctx context.Context, arg A) (R, error), opts ...FuncOption) Func[A, R] {
	if name == "" || strings.Contains(name, "#") {
		panic(fmt.Sprintf("mp.Register(%q): the name must be non-empty and must not contain '#'", name))
	}
	if fn == nil {
		panic(fmt.Sprintf("mp.Register(%q): nil function", name))
	}
	if mainCalled.Load() {
		panic(fmt.Sprintf("mp.Register(%q) was called after mp.Main: register functions at package level (var F = mp.Register(...)) so that worker processes, which run the same binary, have them too", name))
	}
	if err := checkType(reflect.TypeFor[A]()); err != nil {
		panic(fmt.Sprintf("mp.Register(%q): the argument %v; use plain data (numbers, strings, slices, maps, structs with exported fields)", name, err))
	}
	if err := checkType(reflect.TypeFor[R]()); err != nil {
		panic(fmt.Sprintf("mp.Register(%q): the result %v; use plain data (numbers, strings, slices, maps, structs with exported fields)", name, err))
	}
	var cfg funcConfig
	for _, o := range opts {
		o(&cfg)
	}
	f := &fnInfo[A, R]{name: name, fn: fn, rawA: isRaw[A](), rawR: isRaw[R](), retries: cfg.retries}
	regMu.Lock()
	defer regMu.Unlock()
	old := registry.Load()
	m := map[string]handler{}
	if old != nil {
		if _, dup := (*old)[name]; dup {
			panic(fmt.Sprintf("mp.Register(%q): the name is already registered", name))
		}
		for k, v := range *old {
			m[k] = v
		}
	}
	m[name] = f
	registry.Store(&m)
	return Func[A, R]{f: f}
}

// Name returns the registered name, or "" for the zero Func.
func (f Func[A, R]) Name() string {
	if f.f == nil {
		return ""
	}
	return f.f.name
}

func (f *fnInfo[A, R]) funcName() string { return f.name }

func (f *fnInfo[A, R]) runStats() *atomic.Int64 { return &f.avgNs }

// goexitInTask is set when a function called runtime.Goexit: its
// goroutine ends, and a worker reads the flag to answer the task and go on
// in a new goroutine.
var goexitInTask atomic.Bool

// call runs the function in this goroutine and turns a panic into a
// *futures.PanicError. A runtime.Goexit in the function cannot be stopped:
// call sets goexitInTask and lets the goroutine end.
func (f *fnInfo[A, R]) call(ctx context.Context, a A) (r R, err error) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if p := recover(); p != nil {
			err = &futures.PanicError{Value: p, Stack: debug.Stack()}
			return
		}
		goexitInTask.Store(true)
	}()
	r, err = f.fn(ctx, a)
	returned = true
	return r, err
}

func (f *fnInfo[A, R]) invoke(ctx context.Context, arg []byte, owned bool, out *bytes.Buffer) ([]byte, *wireError) {
	var zeroA A
	var zeroR R
	// Zeroed first: the decoder reuses slices it finds, and the previous
	// call's function may have kept them.
	f.slotA = zeroA
	if err := decodeValue(f.rawA, arg, owned, &f.slotA); err != nil {
		return nil, &wireError{Kind: errDecode, Type: fmt.Sprintf("%T", err), Msg: fmt.Sprintf("cannot decode the argument as %s: %v", reflect.TypeFor[A](), err)}
	}
	a := f.slotA
	f.slotA = zeroA
	r, err := f.call(ctx, a)
	if err != nil {
		return nil, toWireIn(ctx, err)
	}
	start := out.Len()
	f.slotR = r
	tail, err := appendValue(out, f.rawR, &f.slotR)
	f.slotR = zeroR
	if err != nil {
		out.Truncate(start)
		return nil, &wireError{Kind: errEncode, Type: fmt.Sprintf("%T", err), Msg: fmt.Sprintf("cannot encode the result of type %s: %v", reflect.TypeFor[R](), err)}
	}
	return tail, nil
}

// batchOut is the result of a Map chunk: the values in order, and the
// errors of the items that failed, by index.
type batchOut[R any] struct {
	_    struct{} `cbor:",toarray"`
	Vals []R
	Errs map[uint32]*wireError
}

func (f *fnInfo[A, R]) invokeBatch(ctx context.Context, args []byte, out *bytes.Buffer) *wireError {
	var in []A
	if err := decMode.Unmarshal(args, &in); err != nil {
		return &wireError{Kind: errDecode, Type: fmt.Sprintf("%T", err), Msg: fmt.Sprintf("cannot decode the arguments as []%s: %v", reflect.TypeFor[A](), err)}
	}
	res := batchOut[R]{Vals: make([]R, len(in))}
	for i, a := range in {
		r, err := f.call(ctx, a)
		if err != nil {
			if res.Errs == nil {
				res.Errs = map[uint32]*wireError{}
			}
			res.Errs[uint32(i)] = toWireIn(ctx, err)
			continue
		}
		res.Vals[i] = r
	}
	start := out.Len()
	if err := encMode.MarshalToBuffer(&res, out); err != nil {
		out.Truncate(start)
		return &wireError{Kind: errEncode, Type: fmt.Sprintf("%T", err), Msg: fmt.Sprintf("cannot encode the results of type %s: %v", reflect.TypeFor[R](), err)}
	}
	return nil
}
