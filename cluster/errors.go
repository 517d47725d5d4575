package cluster

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrMaxDeliveries matches the error of a task delivered to workers
	// WithMaxDeliver times without completing (its workers died or went
	// silent each time).
	ErrMaxDeliveries = errors.New("cluster: task exhausted its deliveries")

	// ErrMalformed matches the error of a task message a worker could not
	// read (missing headers, bad IDs): the worker logs the reason and
	// terminates the message, and the client's task fails with it.
	ErrMalformed = errors.New("cluster: malformed task message")

	// ErrTooLarge matches the error of an argument over the payload limit
	// (WithPayloadLimit), refused at submit time, or of a message a worker
	// refused for its size.
	ErrTooLarge = errors.New("cluster: message over the payload limit")

	// ErrLost matches the error of a task whose message left the task
	// stream without its result reaching the client: a worker dropped it
	// because the client was unreachable for over 10 s, someone deleted
	// it, or the server came back without its store (the stream is new)
	// while the task was still queued. The client finds such tasks when it
	// reconnects; the task may have run.
	ErrLost = errors.New("cluster: task lost")

	// ErrNoURL is returned by Serve and Status without a server URL.
	ErrNoURL = errors.New("cluster: no NATS server URL: pass cluster.WithURLs(\"nats://host:4222\") (a worker must reach the client's server; New alone starts an embedded one)")
)

// TaskError is the error of a task the cluster failed rather than the
// function: its deliveries ran out, a worker did not know its function, a
// worker could not read it, it was cancelled while queued or running.
// errors.Is matches ErrMaxDeliveries, mp.ErrUnregistered, ErrMalformed,
// ErrTooLarge, context.Canceled or context.DeadlineExceeded, as the
// reason says.
type TaskError struct {
	// TaskID is the task's ID (the NATS message ID of its message).
	TaskID string
	// Function is the registered function name.
	Function string
	// Worker is the worker that reported the failure ("" if none did).
	Worker string
	// Attempts is how many times the task was delivered to a worker.
	Attempts int
	// Reason says what happened and what to do.
	Reason string
	err    error
}

// Error names the task, the function, the worker, the attempts and the
// reason.
func (e *TaskError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cluster: task %s (%s)", e.TaskID, e.Function)
	if e.Worker != "" {
		fmt.Fprintf(&b, " on worker %s", e.Worker)
	}
	if e.Attempts > 0 {
		fmt.Fprintf(&b, " after %d attempt", e.Attempts)
		if e.Attempts > 1 {
			b.WriteByte('s')
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the sentinel (or context error) the failure matches.
func (e *TaskError) Unwrap() error { return e.err }
