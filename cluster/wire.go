package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/braid-go/braid/mp"
	"github.com/nats-io/nats.go/jetstream"
)

// The wire: what crosses NATS, in plain NATS headers and bodies so that
// `nats` CLI users can read it.
//
// A task is a message on the subject <ns>.task in the work-queue stream
// <ns>_tasks, body = the encoded argument (mp's codec, as for a process
// pool), headers:
//
//	Nats-Msg-Id     the task ID (a retried publish is dropped as a duplicate)
//	Braid-Fn        the registered function ("name", or "name#map" for a Map chunk)
//	Braid-Client    the submitting client's ID
//	Braid-Deadline  the caller's deadline, Unix ns (absent: none)
//
// A result is a core NATS request on <ns>.result.<client>, answered by
// the client once it has taken the result; the worker acknowledges the
// task only then (see docs/CLUSTER.md for why results are not stored in
// a stream). Headers Braid-Task, Braid-Worker, Braid-Attempt, Braid-Status
// ("ok" or "error"), Braid-Object (the result is in the object store under
// that name). Body: the encoded result, or an error as JSON (wireErr).
//
// While a task runs, its worker publishes a state event (core NATS, not
// stored) on <ns>.state.<client>: Braid-Task, Braid-Worker, Braid-Attempt.
// A client cancels with a core message on <ns>.cancel whose body is the
// task ID.

const (
	hdrMsgID    = "Nats-Msg-Id"
	hdrFn       = "Braid-Fn"
	hdrClient   = "Braid-Client"
	hdrDeadline = "Braid-Deadline"
	hdrTask     = "Braid-Task"
	hdrWorker   = "Braid-Worker"
	hdrAttempt  = "Braid-Attempt"
	hdrStatus   = "Braid-Status"
	hdrObject   = "Braid-Object"

	statusOK    = "ok"
	statusError = "error"

	consumerName = "workers"
)

// names are the stream, bucket and subject names of one namespace.
type names struct {
	ns            string
	taskStream    string
	taskSubject   string
	resultPrefix  string // + <client>
	statePrefix   string // + <client>
	cancelSubject string
	workersBucket string
	objectBucket  string
}

func newNames(ns string) names {
	return names{
		ns:            ns,
		taskStream:    ns + "_tasks",
		taskSubject:   ns + ".task",
		resultPrefix:  ns + ".result.",
		statePrefix:   ns + ".state.",
		cancelSubject: ns + ".cancel",
		workersBucket: ns + "_workers",
		objectBucket:  ns + "_blobs",
	}
}

func (n names) advisory() string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + n.taskStream + "." + consumerName
}

// ensureStreams creates the task stream and its worker consumer if they do
// not exist, and checks them if they do (clients and
// workers both call it; the first one sets the limits).
func ensureStreams(ctx context.Context, js jetstream.JetStream, n names, cfg *config) (jetstream.Stream, jetstream.Consumer, error) {
	tasks, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        n.taskStream,
		Description: "braid cluster tasks",
		Subjects:    []string{n.taskSubject},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardNew,
		MaxMsgs:     int64(cfg.maxPending),
		Duplicates:  2 * time.Minute,
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		tasks, err = js.Stream(ctx, n.taskStream)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: task stream %s: %w", n.taskStream, err)
	}
	ccfg := jetstream.ConsumerConfig{
		Durable:       consumerName,
		Description:   "braid cluster workers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.ackWait,
		MaxDeliver:    cfg.maxDeliver,
		BackOff:       cfg.backoff,
		MaxAckPending: 100_000,
		MaxWaiting:    4096,
	}
	if len(cfg.backoff) > 0 {
		ccfg.AckWait = 0
	}
	cons, err := tasks.CreateConsumer(ctx, ccfg)
	if errors.Is(err, jetstream.ErrConsumerExists) {
		cons, err = tasks.Consumer(ctx, consumerName)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: worker consumer of %s: %w", n.taskStream, err)
	}
	return tasks, cons, nil
}

// validToken reports whether s can be one token of a subject (IDs, names).
func validToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '.' || c == '*' || c == '>' || c >= 0x7f {
			return false
		}
	}
	return true
}

func validFn(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	return !strings.ContainsAny(s, "\r\n\x00")
}

func parseDeadline(s string) (time.Time, bool, error) {
	if s == "" {
		return time.Time{}, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("bad %s header %q", hdrDeadline, s)
	}
	return time.Unix(0, n), true, nil
}

// wireErr is an error as it travels from a worker to the client.
type wireErr struct {
	// Kind: "remote" (the function's error or panic, Remote holds the
	// *mp.RemoteError), "worker" (its process died), "killed" (stopped by
	// its deadline or a cancel), "memory", or "task" (the cluster failed
	// it: TaskError).
	Kind     string `json:"kind"`
	Remote   []byte `json:"remote,omitempty"`
	Function string `json:"fn,omitempty"`
	PID      int    `json:"pid,omitempty"`
	ExitCode int    `json:"exit,omitempty"`
	Signal   string `json:"signal,omitempty"`
	Stderr   string `json:"stderr,omitempty"`
	Limit    int64  `json:"limit,omitempty"`
	Resident int64  `json:"resident,omitempty"`
	Message  string `json:"msg,omitempty"`
	// Match names the sentinel errors.Is finds: "canceled", "deadline",
	// "unregistered", "malformed", "too-large", "max-deliveries".
	Match string `json:"match,omitempty"`
}

func encodeErr(err error) []byte {
	var w wireErr
	var re *mp.RemoteError
	var we *mp.WorkerError
	var ke *mp.KilledError
	var me *mp.MemoryError
	var te *TaskError
	switch {
	case errors.As(err, &re):
		b, merr := re.MarshalBinary()
		if merr == nil {
			w = wireErr{Kind: "remote", Remote: b}
			break
		}
		w = wireErr{Kind: "task", Message: err.Error()}
	case errors.As(err, &we):
		w = wireErr{Kind: "worker", Function: we.Function, PID: we.PID, ExitCode: we.ExitCode, Signal: we.Signal, Stderr: we.Stderr}
	case errors.As(err, &ke):
		w = wireErr{Kind: "killed", Function: ke.Function, PID: ke.PID, Message: fmt.Sprint(ke.Cause), Match: matchOf(ke.Cause)}
	case errors.As(err, &me):
		w = wireErr{Kind: "memory", Function: me.Function, PID: me.PID, Limit: me.Limit, Resident: me.Resident}
	case errors.As(err, &te):
		w = wireErr{Kind: "task", Function: te.Function, Message: te.Reason, Match: matchOf(te.err)}
	default:
		w = wireErr{Kind: "task", Message: err.Error(), Match: matchOf(err)}
	}
	b, _ := json.Marshal(w)
	return b
}

func matchOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, mp.ErrUnregistered):
		return "unregistered"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrTooLarge):
		return "too-large"
	case errors.Is(err, ErrMaxDeliveries):
		return "max-deliveries"
	}
	return ""
}

func sentinel(m string) error {
	switch m {
	case "deadline":
		return context.DeadlineExceeded
	case "canceled":
		return context.Canceled
	case "unregistered":
		return mp.ErrUnregistered
	case "malformed":
		return ErrMalformed
	case "too-large":
		return ErrTooLarge
	case "max-deliveries":
		return ErrMaxDeliveries
	}
	return nil
}

// decodeErr rebuilds a worker's error: the same mp error types a local pool
// gives, or a *TaskError.
func decodeErr(b []byte, taskID, fn, worker string, attempts int) error {
	var w wireErr
	if err := json.Unmarshal(b, &w); err != nil {
		return &TaskError{TaskID: taskID, Function: fn, Worker: worker, Attempts: attempts, Reason: fmt.Sprintf("undecodable error from the worker (%v): %q", err, truncate(b, 200)), err: ErrMalformed}
	}
	switch w.Kind {
	case "remote":
		re := &mp.RemoteError{}
		if err := re.UnmarshalBinary(w.Remote); err != nil {
			return &TaskError{TaskID: taskID, Function: fn, Worker: worker, Attempts: attempts, Reason: err.Error(), err: ErrMalformed}
		}
		return re
	case "worker":
		return &mp.WorkerError{Function: w.Function, PID: w.PID, ExitCode: w.ExitCode, Signal: w.Signal, Stderr: w.Stderr, Attempts: attempts}
	case "killed":
		cause := sentinel(w.Match)
		if cause == nil {
			cause = errors.New(w.Message)
		}
		return &mp.KilledError{Function: w.Function, PID: w.PID, Cause: cause}
	case "memory":
		return &mp.MemoryError{Function: w.Function, PID: w.PID, Limit: w.Limit, Resident: w.Resident}
	}
	return &TaskError{TaskID: taskID, Function: fn, Worker: worker, Attempts: attempts, Reason: w.Message, err: sentinel(w.Match)}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
