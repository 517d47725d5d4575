package mp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
)

// A *RemoteError can be carried further than the pool that made it: package
// cluster sends the error of a task run on another machine back to the
// caller, where it must be the same *RemoteError (the same Error text, the
// same errors.Is and errors.As answers) as a local pool gives.

// MarshalBinary encodes the error whole, the fields errors.Is depends on
// included, for UnmarshalBinary in another process.
func (e *RemoteError) MarshalBinary() ([]byte, error) {
	return encMode.Marshal(remoteErrorWire{Function: e.Function, PID: e.PID, Type: e.Type, Message: e.Message, Stack: e.Stack, Kind: e.kind})
}

// UnmarshalBinary decodes an error encoded by MarshalBinary into e.
func (e *RemoteError) UnmarshalBinary(b []byte) error {
	var w remoteErrorWire
	if err := decMode.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("mp: cannot decode a RemoteError: %w", err)
	}
	*e = RemoteError{Function: w.Function, PID: w.PID, Type: w.Type, Message: w.Message, Stack: w.Stack, kind: w.Kind}
	return nil
}

type remoteErrorWire struct {
	_        struct{} `cbor:",toarray"`
	Function string
	PID      int
	Type     string
	Message  string
	Stack    string
	Kind     uint8
}

// Registered reports whether a function is registered under name in this
// process; a name ending in "#map" (the Function of a Map chunk job) is
// looked up without that suffix. Executors that receive jobs from other
// machines (package cluster) use it to refuse an unknown function with a
// clear error before running anything.
func Registered(name string) bool {
	return lookup(strings.TrimSuffix(name, batchSuffix)) != nil
}

var invokeMu sync.Mutex

// Invoke runs the registered function name on an encoded argument (the
// Payload of a job made by Func.Submit or Func.Map) in this process and
// returns the encoded result, which the job's CompleteRemote decodes. A name
// ending in "#map" runs a Map chunk. The error is the *RemoteError a pool
// would give (the function's error or panic, an argument that cannot be
// decoded, an unknown function), with this process's pid.
//
// It is the hook for executors that carry jobs themselves and run them in a
// pool worker through a function of their own (package cluster does, to give
// the function a context with its task ID). Calls run one at a time.
func Invoke(ctx context.Context, name string, payload []byte) ([]byte, error) {
	base := strings.TrimSuffix(name, batchSuffix)
	h := lookup(base)
	if h == nil {
		return nil, (&wireError{Kind: errUnknownFn, Type: "unregistered", Msg: fmt.Sprintf("function %q is not registered in this binary; register it with mp.Register at package level", base)}).toError(base, os.Getpid())
	}
	invokeMu.Lock()
	defer invokeMu.Unlock()
	var out bytes.Buffer
	if base != name {
		if werr := h.invokeBatch(ctx, payload, &out); werr != nil {
			return nil, werr.toError(base, os.Getpid())
		}
		return out.Bytes(), nil
	}
	tail, werr := h.invoke(ctx, payload, false, &out)
	if werr != nil {
		return nil, werr.toError(base, os.Getpid())
	}
	if tail != nil {
		return append(out.Bytes(), tail...), nil
	}
	return out.Bytes(), nil
}
