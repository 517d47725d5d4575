package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// runArg is a task as a worker hands it to its process pool.
type runArg struct {
	ID      string
	Fn      string
	Payload []byte
}

// runOut is the task's outcome from the pool process: the encoded result,
// or the function's error encoded for the client.
type runOut struct {
	Result []byte
	Err    []byte
}

// runTask runs a task's function in a pool process, with the task ID in its
// context.
var runTask = mp.Register("braid.cluster.run", func(ctx context.Context, a runArg) (runOut, error) {
	ctx = context.WithValue(ctx, taskIDKey{}, a.ID)
	res, err := mp.Invoke(ctx, a.Fn, a.Payload)
	if err != nil {
		return runOut{Err: encodeErr(err)}, nil
	}
	if res == nil {
		res = []byte{}
	}
	return runOut{Result: res}, nil
})

type taskIDKey struct{}

// TaskID returns the ID of the cluster task whose function got ctx, or ""
// outside a cluster task. Delivery is at least once: a task whose worker
// died is run again, with the same ID, so a function with side effects
// can use it to do them once (an idempotency key).
func TaskID(ctx context.Context) string {
	id, _ := ctx.Value(taskIDKey{}).(string)
	return id
}

// stateDelay is how long a task runs before its worker tells the client.
const stateDelay = 2 * time.Millisecond

// held is a task the worker runs or has queued in its pool.
type held struct {
	msg    jetstream.Msg
	cancel context.CancelCauseFunc
}

// errDrain stops the tasks of a worker whose drain timed out: they go
// back to the queue.
var errDrain = errors.New("cluster: the worker is stopping")

type worker struct {
	cfg   *config
	names names
	name  string
	nc    *nats.Conn
	js    jetstream.JetStream
	pool  *mp.Pool

	runCtx    context.Context // cancelled (errDrain) when draining times out
	runCancel context.CancelCauseFunc

	stopServe context.CancelCauseFunc // ends Serve's loop with the cause Serve returns
	breakOnce sync.Once

	mu      sync.Mutex
	running map[string]*held
	// cancelled and cancelledOld hold the IDs of tasks cancelled while
	// this worker did not run them, in two generations: the current one
	// becomes the old one after cancelEvery or maxCancelled/2 IDs, so an
	// ID is remembered for cancelEvery at least, and a burst costs O(1)
	// per cancel and bounded memory.
	cancelled, cancelledOld map[string]struct{}
	cancelledAt             time.Time

	// obj is the object store for results over the payload limit,
	// opened at the first such result and kept once opened.
	objMu sync.Mutex
	obj   jetstream.ObjectStore

	wg             sync.WaitGroup
	nRun, nDone    atomic.Int64
	nFail, nHanded atomic.Int64
	started        time.Time
}

// Serve makes this process a worker of the cluster at WithURLs: it takes
// tasks from the task stream and runs them in an mp.Pool of
// WithConcurrency processes (a task that crashes its process does not take
// the worker down), until ctx ends. Then it drains: it takes no new task,
// hands back the ones it holds and has not started, lets the running ones
// finish for up to WithDrainTimeout and hands back those still running,
// and returns nil. It returns an error at once if it cannot connect, and
// an error matching futures.ErrBroken, after draining, if its process pool
// breaks (its processes cannot start, WithPoolOptions' initializer fails):
// the tasks it held go back to the queue for other workers.
//
// The program must have called mp.Main (Main does), and registered its
// functions at package level: a worker runs only registered functions, and
// fails a task naming any other function with an error matching
// mp.ErrUnregistered.
func Serve(ctx context.Context, opts ...Option) error {
	cfg, err := resolve(opts)
	if err != nil {
		return err
	}
	if len(cfg.urls) == 0 {
		return ErrNoURL
	}
	w := &worker{cfg: cfg, names: newNames(cfg.namespace), name: cfg.workerName,
		running: map[string]*held{}, cancelled: map[string]struct{}{}, started: time.Now()}
	if w.name == "" {
		host, _ := os.Hostname()
		w.name = sanitize(host) + "-" + strconv.Itoa(os.Getpid())
	}
	w.nc, err = connect(cfg, cfg.urls, "braid-worker-"+w.name)
	if err != nil {
		return err
	}
	defer w.nc.Close()
	w.js, err = jetstream.New(w.nc)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	setup, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, cons, err := ensureStreams(setup, w.js, w.names, cfg)
	cancel()
	if err != nil {
		return err
	}
	// The consumer's limits are the cluster's, whoever created it: the
	// progress interval follows its ack wait, the hand-backs its back-off,
	// and the last delivery is its max deliver.
	if ci := cons.CachedInfo(); ci != nil {
		if ci.Config.AckWait > 0 {
			cfg.ackWait = ci.Config.AckWait
		}
		if ci.Config.MaxDeliver > 0 {
			cfg.maxDeliver = ci.Config.MaxDeliver
		}
		cfg.backoff = ci.Config.BackOff
	}
	popts := append([]mp.Option{mp.WithMaxWorkers(cfg.concurrency), mp.WithName("cluster worker " + w.name)}, cfg.poolOpts...)
	w.pool, err = mp.NewPool(popts...)
	if err != nil {
		return fmt.Errorf("cluster: worker pool: %w", err)
	}
	w.runCtx, w.runCancel = context.WithCancelCause(context.Background())
	defer w.runCancel(nil)
	ctx, w.stopServe = context.WithCancelCause(ctx)
	defer w.stopServe(nil)
	sub, err := w.nc.Subscribe(w.names.cancelSubject, w.onCancel)
	if err != nil {
		w.pool.Close()
		return fmt.Errorf("cluster: subscribe %s: %w", w.names.cancelSubject, err)
	}
	defer sub.Unsubscribe()
	regDone := make(chan struct{})
	regStop := make(chan struct{})
	go w.keepRegistered(w.register(nil), regStop, regDone)
	hbDone := make(chan struct{})
	go w.progress(regStop, hbDone)
	defer func() { <-hbDone }()

	pullOpts := []jetstream.PullMessagesOpt{jetstream.PullMaxMessages(max(1, cfg.prefetch)), jetstream.PullExpiry(2 * time.Second)}
	it, err := cons.Messages(pullOpts...)
	if err != nil {
		w.pool.Close()
		close(regStop)
		<-regDone
		return fmt.Errorf("cluster: consume tasks: %w", err)
	}
	stopIt := context.AfterFunc(ctx, it.Drain)
	sem := make(chan struct{}, cfg.concurrency+cfg.prefetch)
	for {
		if ctx.Err() == nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
		}
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				if ctx.Err() != nil {
					break
				}
				// Closed under the worker: its consumer was deleted (a
				// server that lost its store, an operator). Make the
				// stream and consumer again and go on serving.
				<-sem
				stopIt()
				if it = w.reopen(ctx, pullOpts); it == nil {
					break
				}
				stopIt = context.AfterFunc(ctx, it.Drain)
				continue
			}
			if ctx.Err() == nil {
				<-sem
			}
			cfg.logger.Debug("cluster: worker: taking tasks", "worker", w.name, "err", err)
			continue
		}
		if ctx.Err() != nil {
			// Draining: hand back what was taken and not started.
			msg.Nak()
			w.nHanded.Add(1)
			select {
			case <-sem:
			default:
			}
			continue
		}
		w.wg.Add(1)
		go w.handle(msg, func() { <-sem })
	}
	stopIt()
	// Let the running tasks finish, for a while.
	drained := make(chan struct{})
	go func() { w.wg.Wait(); close(drained) }()
	timer := time.NewTimer(cfg.drainTimeout)
	select {
	case <-drained:
	case <-timer.C:
		w.runCancel(errDrain)
		<-drained
	}
	timer.Stop()
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	w.pool.Shutdown(sctx)
	scancel()
	close(regStop)
	<-regDone
	if err := context.Cause(ctx); errors.Is(err, futures.ErrBroken) {
		return err
	}
	return nil
}

// reopen makes the task stream and the workers' consumer again (or finds
// them) and returns a new iterator on it, trying every few seconds until
// ctx ends (then nil).
func (w *worker) reopen(ctx context.Context, opts []jetstream.PullMessagesOpt) jetstream.MessagesContext {
	delay := 100 * time.Millisecond
	for {
		w.cfg.logger.Warn("cluster: the worker's consumer is gone; making it again", "worker", w.name)
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, cons, err := ensureStreams(sctx, w.js, w.names, w.cfg)
		cancel()
		if err == nil {
			it, err := cons.Messages(opts...)
			if err == nil {
				return it
			}
		}
		w.cfg.logger.Warn("cluster: the worker cannot consume tasks yet", "worker", w.name, "err", err)
		select { // a retry delay, not synchronisation
		case <-time.After(delay):
		case <-ctx.Done():
			return nil
		}
		delay = min(2*delay, 5*time.Second)
	}
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "worker"
	}
	return string(b)
}

// Bounds of the cancelled task IDs a worker remembers.
const (
	cancelEvery  = 5 * time.Minute
	maxCancelled = 100_000
)

// onCancel stops a task this worker runs, or remembers that it must not
// run it (a client that cancels a task also deletes it from the stream:
// this covers a worker that took it already).
func (w *worker) onCancel(m *nats.Msg) {
	id := string(m.Data)
	if !validToken(id) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if h := w.running[id]; h != nil {
		h.cancel(context.Canceled)
		return
	}
	now := time.Now()
	if now.Sub(w.cancelledAt) > cancelEvery || len(w.cancelled) >= maxCancelled/2 {
		w.cancelledOld, w.cancelled, w.cancelledAt = w.cancelled, map[string]struct{}{}, now
	}
	w.cancelled[id] = struct{}{}
}

// handle runs one task message to its end: a result published and the
// message acknowledged, or the message handed back.
func (w *worker) handle(msg jetstream.Msg, release func()) {
	defer w.wg.Done()
	released := false
	rel := func() {
		if !released {
			released = true
			release()
		}
	}
	defer rel()
	attempt := 1
	if meta, err := msg.Metadata(); err == nil {
		attempt = int(meta.NumDelivered)
	}
	h := msg.Headers()
	id, fn, cid := h.Get(hdrMsgID), h.Get(hdrFn), h.Get(hdrClient)
	deadline, hasDeadline, derr := parseDeadline(h.Get(hdrDeadline))
	var reason string
	switch {
	case !validToken(id):
		reason = fmt.Sprintf("missing or bad %s header %q", hdrMsgID, id)
	case !validToken(cid):
		reason = fmt.Sprintf("missing or bad %s header %q", hdrClient, cid)
	case !validFn(fn):
		reason = fmt.Sprintf("missing or bad %s header %q", hdrFn, fn)
	case derr != nil:
		reason = derr.Error()
	}
	if reason != "" {
		w.cfg.logger.Warn("cluster: worker rejects a malformed task message", "worker", w.name, "reason", reason)
		if validToken(id) && validToken(cid) {
			w.fail(cid, id, fn, attempt, reason, ErrMalformed, 0)
		}
		msg.TermWithReason("malformed: " + reason)
		w.nFail.Add(1)
		return
	}
	if n := len(msg.Data()); n > w.cfg.maxPayload {
		reason := fmt.Sprintf("the argument is %d bytes, over this worker's payload limit of %d (cluster.WithPayloadLimit)", n, w.cfg.maxPayload)
		w.cfg.logger.Warn("cluster: worker rejects an oversized task", "worker", w.name, "task", id, "reason", reason)
		msg.TermWithReason("too large")
		w.nFail.Add(1)
		rel()
		w.fail(cid, id, fn, attempt, reason, ErrTooLarge, resultPatience)
		return
	}
	if !mp.Registered(fn) || strings.HasPrefix(fn, "braid.cluster.") {
		reason := fmt.Sprintf("function %q is not registered in this worker's binary: register it with mp.Register at package level in the program the workers run", fn)
		w.cfg.logger.Warn("cluster: worker rejects a task of an unknown function", "worker", w.name, "task", id, "fn", fn)
		msg.TermWithReason("unregistered function")
		w.nFail.Add(1)
		rel()
		w.fail(cid, id, fn, attempt, reason, mp.ErrUnregistered, resultPatience)
		return
	}
	ctx, cancel := context.WithCancelCause(w.runCtx)
	defer cancel(nil)
	if hasDeadline {
		var c2 context.CancelFunc
		ctx, c2 = context.WithDeadline(ctx, deadline)
		defer c2()
	}
	w.mu.Lock()
	_, dead := w.cancelled[id]
	if !dead {
		_, dead = w.cancelledOld[id]
	}
	if !dead {
		w.running[id] = &held{msg: msg, cancel: cancel}
	}
	w.mu.Unlock()
	if dead {
		msg.Ack()
		return
	}
	defer func() {
		w.mu.Lock()
		delete(w.running, id)
		w.mu.Unlock()
	}()
	// The running state goes to the client only for a task still running
	// after stateDelay: a short task's result says the same, one message
	// fewer.
	stateTimer := time.AfterFunc(stateDelay, func() {
		st := nats.NewMsg(w.names.statePrefix + cid)
		st.Header.Set(hdrTask, id)
		st.Header.Set(hdrWorker, w.name)
		st.Header.Set(hdrAttempt, strconv.Itoa(attempt))
		w.nc.PublishMsg(st)
	})

	w.nRun.Add(1)
	out, err := w.run(ctx, id, fn, msg.Data())
	stateTimer.Stop()
	w.nRun.Add(-1)
	rel()

	var werr *mp.WorkerError
	switch {
	case err == nil && out.Err == nil:
		w.nDone.Add(1)
		w.publish(msg, cid, id, attempt, statusOK, out.Result)
	case err == nil:
		w.nFail.Add(1)
		w.publish(msg, cid, id, attempt, statusError, out.Err)
	case errors.Is(context.Cause(ctx), errDrain):
		msg.Nak()
		w.nHanded.Add(1)
	case errors.As(err, &werr) && attempt < w.cfg.maxDeliver:
		// Its process died: another delivery, maybe on another worker.
		w.cfg.logger.Warn("cluster: a task's process died; handing it back", "worker", w.name, "task", id, "fn", fn, "attempt", attempt, "err", err)
		msg.NakWithDelay(w.backoff(attempt))
		w.nHanded.Add(1)
	case errors.Is(err, futures.ErrBroken):
		// This worker's pool cannot run anything any more: hand the task
		// back to a healthy worker and stop serving, rather than fail
		// every task sent here.
		msg.Nak()
		w.nHanded.Add(1)
		w.breakOnce.Do(func() {
			w.cfg.logger.Error("cluster: the worker's process pool is broken; handing its tasks back and stopping", "worker", w.name, "err", err)
			w.stopServe(fmt.Errorf("cluster: worker %s stopped: its process pool is broken: %w", w.name, err))
		})
	default:
		// The task's final error (its process crashed on the last
		// delivery, it was killed): offered as patiently as a result, so
		// that a client reconnecting meanwhile still gets it.
		w.nFail.Add(1)
		w.publish(msg, cid, id, attempt, statusError, encodeErr(err))
	}
}

func (w *worker) run(ctx context.Context, id, fn string, payload []byte) (runOut, error) {
	fut, err := runTask.Submit(ctx, w.pool, runArg{ID: id, Fn: fn, Payload: payload})
	if err != nil {
		return runOut{}, err
	}
	out, err := fut.Result(context.Background())
	// The pool ran braid.cluster.run: name the task's function instead.
	var we *mp.WorkerError
	var ke *mp.KilledError
	var me *mp.MemoryError
	switch {
	case errors.As(err, &we):
		we.Function = fn
	case errors.As(err, &ke):
		ke.Function = fn
	case errors.As(err, &me):
		me.Function = fn
	}
	return out, err
}

// progress tells the server, every third of the ack wait, that the tasks
// the worker holds are in progress, until stop closes.
func (w *worker) progress(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(w.heartbeat())
	defer t.Stop()
	var msgs []jetstream.Msg
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		msgs = msgs[:0]
		w.mu.Lock()
		for _, h := range w.running {
			msgs = append(msgs, h.msg)
		}
		w.mu.Unlock()
		for _, m := range msgs {
			m.InProgress()
		}
	}
}

func (w *worker) heartbeat() time.Duration {
	d := w.cfg.ackWait
	if len(w.cfg.backoff) > 0 {
		d = w.cfg.backoff[0]
	}
	return max(d/3, 30*time.Millisecond)
}

func (w *worker) backoff(attempt int) time.Duration {
	if len(w.cfg.backoff) == 0 {
		return 0
	}
	return w.cfg.backoff[min(attempt-1, len(w.cfg.backoff)-1)]
}

// fail offers the task's failure (a *TaskError of reason, matching
// sentinel) as its result for up to patience (0: once). A
// task the worker refuses (an unknown function, too large) is terminated
// first, so that it is not delivered again while the worker waits, then
// offered for resultPatience, so that a client reconnecting meanwhile
// still learns why; the caller releases its task slot before. A malformed
// message, which may name no real client, is offered once.
func (w *worker) fail(cid, id, fn string, attempt int, reason string, sentinel error, patience time.Duration) {
	err := &TaskError{TaskID: id, Function: fn, Worker: w.name, Attempts: attempt, Reason: reason, err: sentinel}
	w.send(cid, id, attempt, statusError, encodeErr(err), patience)
}

// publish sends the result and then acknowledges the task; if the result
// cannot be stored, the task is handed back.
func (w *worker) publish(msg jetstream.Msg, cid, id string, attempt int, status string, body []byte) {
	if err := w.send(cid, id, attempt, status, body, resultPatience); err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			// Its client is gone: nobody will ever take the result.
			w.cfg.logger.Warn("cluster: a task's client is gone; dropping the task", "worker", w.name, "task", id, "client", cid, "err", err)
			msg.TermWithReason("client gone")
			return
		}
		w.cfg.logger.Warn("cluster: the client did not take a task's result; handing the task back", "worker", w.name, "task", id, "err", err)
		msg.Nak()
		return
	}
	msg.Ack()
}

// resultPatience is how long a worker keeps offering a result to a client
// that does not answer (reconnecting after a server restart, or gone).
const resultPatience = 60 * time.Second

// send offers a result to its client until the client answers, for up to
// patience (a client with no subscription, for up to a sixth of it).
func (w *worker) send(cid, id string, attempt int, status string, body []byte, patience time.Duration) error {
	m := nats.NewMsg(w.names.resultPrefix + cid)
	m.Header.Set(hdrTask, id)
	m.Header.Set(hdrWorker, w.name)
	m.Header.Set(hdrAttempt, strconv.Itoa(attempt))
	m.Header.Set(hdrStatus, status)
	if len(body) > w.cfg.maxPayload {
		obj, err := w.objects()
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		_, err = obj.PutBytes(ctx, id, body)
		cancel()
		if err != nil {
			return fmt.Errorf("cluster: result of %d bytes over the payload limit, and the object store refused it: %w", len(body), err)
		}
		m.Header.Set(hdrObject, id)
		body = nil
	}
	m.Data = body
	start := time.Now()
	delay := 20 * time.Millisecond
	for {
		_, err := w.nc.RequestMsg(m, 5*time.Second)
		if err == nil {
			return nil
		}
		limit := patience
		if errors.Is(err, nats.ErrNoResponders) {
			limit /= 6
		}
		if time.Since(start) >= limit {
			return fmt.Errorf("client %s did not take the result within %v: %w", cid, time.Since(start).Round(time.Millisecond), err)
		}
		time.Sleep(delay) // a retry delay, not synchronisation
		delay = min(2*delay, time.Second)
	}
}

// objects returns the object store for large results, opening it the
// first time (a create-or-update request) rather than for each result; a
// failed open is tried again at the next one.
func (w *worker) objects() (jetstream.ObjectStore, error) {
	w.objMu.Lock()
	defer w.objMu.Unlock()
	if w.obj == nil {
		obj, err := openObjects(w.js, w.names, w.cfg)
		if err != nil {
			return nil, err
		}
		w.obj = obj
	}
	return w.obj, nil
}
