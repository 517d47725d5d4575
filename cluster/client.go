package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/braid-go/braid/futures"
	"github.com/braid-go/braid/mp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Client submits tasks to the workers of a cluster and completes their
// futures with the results. It is a futures.Executor: mp's typed
// Func.Submit, Call and Map run registered functions on it, as on an
// mp.Pool, and futures.Wait and AsCompleted wait for them. All methods are
// safe from any goroutine.
type Client struct {
	cfg   *config
	names names
	id    string
	srv   *Server // the embedded server, owned by the client
	nc    *nats.Conn
	js    jetstream.JetStream
	tasks jetstream.Stream
	// created is when the task stream was made: another time after a
	// reconnection means the server lost its store.
	created time.Time

	subs []*nats.Subscription
	// bg counts the goroutines that still talk to the server for tasks
	// (publishing, deleting cancelled ones): teardown waits for them
	// before it closes the connection. Add under mu while the task is
	// pending, so that no Add races teardown's Wait.
	bg sync.WaitGroup
	// life ends when teardown starts: background work stops waiting.
	life     context.Context
	lifeDone context.CancelFunc

	objOnce sync.Once
	obj     jetstream.ObjectStore
	objErr  error

	mu       sync.Mutex
	pending  map[string]*task
	bySeq    map[uint64]*task
	history  map[string]TaskState
	order    []string // history's keys, oldest first
	shut     bool
	tearing  bool
	finished chan struct{}
}

// TaskStatus is where a task is.
type TaskStatus int

const (
	// Queued: published to the task stream, no worker has reported it.
	Queued TaskStatus = iota
	// Running: a worker reported that it started the task.
	Running
	// Done: the task completed with a result.
	Done
	// Failed: the task completed with an error.
	Failed
	// Cancelled: the caller's context ended, or Close cancelled it.
	Cancelled
)

// String returns the lower-case name of s.
func (s TaskStatus) String() string {
	switch s {
	case Queued:
		return "queued"
	case Running:
		return "running"
	case Done:
		return "done"
	case Failed:
		return "failed"
	case Cancelled:
		return "cancelled"
	}
	return "TaskStatus(" + strconv.Itoa(int(s)) + ")"
}

// TaskState is a snapshot of one task, from the client's view.
type TaskState struct {
	// ID is the task ID, which the function sees as TaskID(ctx).
	ID string
	// Function is the registered function ("name#map" for a Map chunk).
	Function string
	// Status is where the task is.
	Status TaskStatus
	// Worker is the last worker that reported running it.
	Worker string
	// Attempts is how many deliveries of the task workers reported.
	Attempts int
	// Err is the task's error when it Failed or was Cancelled.
	Err error
	// Submitted, Started (last start reported) and Finished times.
	Submitted, Started, Finished time.Time
}

type task struct {
	id      string
	job     futures.RemoteJob
	fn      string
	seq     uint64
	started bool
	state   TaskState
	stop    func() bool
	// orphan: its message went with a server's lost store while a
	// worker ran it; it waits for that worker's result.
	orphan bool
}

// historySize bounds the finished tasks kept for Task and Tasks.
const historySize = 10000

// New returns a client of the cluster at the URLs of WithURLs, or, without
// them, of an embedded NATS server it starts in this process (JetStream
// on, on 127.0.0.1 at a free port, file store in WithStoreDir or a
// temporary directory) and stops at Shutdown: workers (Serve, Main) then
// connect to URL(). It creates the task stream and the workers' consumer
// if they are missing. ctx bounds the set-up only.
//
// Every task submitted ends: with its result or error, ErrMaxDeliveries,
// the caller's context error, ErrCancelled (the future cancelled, Close),
// or ErrLost (its message was dropped while the client was unreachable,
// or went with a server's lost store; the client checks its pending tasks
// against the stream each time it reconnects). The exception: a task
// running when the server lost its store ends only with its worker's
// result, or the caller's context, since nothing can deliver it again.
func New(ctx context.Context, opts ...Option) (*Client, error) {
	cfg, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, names: newNames(cfg.namespace), id: nuid.Next(),
		pending: map[string]*task{}, bySeq: map[uint64]*task{}, history: map[string]TaskState{},
		finished: make(chan struct{})}
	c.life, c.lifeDone = context.WithCancel(context.Background())
	urls := cfg.urls
	if len(urls) == 0 {
		srv, err := startServer(cfg)
		if err != nil {
			return nil, err
		}
		c.srv = srv
		urls = []string{srv.URL()}
	}
	if err := c.start(ctx, urls); err != nil {
		c.teardown()
		return nil, err
	}
	return c, nil
}

func (c *Client) start(ctx context.Context, urls []string) error {
	nc, err := connect(c.cfg, urls, "braid-client-"+c.id)
	if err != nil {
		return err
	}
	c.nc = nc
	// A publish lost with a connection (a server restart) gets no
	// acknowledgement: after 10 s it is published again, under the same
	// message ID.
	c.js, err = jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	c.tasks, _, err = ensureStreams(ctx, c.js, c.names, c.cfg)
	if err != nil {
		return err
	}
	if ci := c.tasks.CachedInfo(); ci != nil {
		c.created = ci.Created
	}
	for subj, h := range map[string]nats.MsgHandler{
		c.names.resultPrefix + c.id: c.onResult,
		c.names.statePrefix + c.id:  c.onState,
		c.names.advisory():          c.onAdvisory,
	} {
		s, err := nc.Subscribe(subj, h)
		if err != nil {
			return fmt.Errorf("cluster: subscribe %s: %w", subj, err)
		}
		// Results must not be dropped for a slow handler: no limit.
		s.SetPendingLimits(-1, -1)
		c.subs = append(c.subs, s)
	}
	if err := nc.Flush(); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	nc.SetReconnectHandler(func(*nats.Conn) { c.reconcileSoon() })
	return nil
}

// reconcileSoon checks the pending tasks against the stream after a
// reconnection: while this client was away, a worker may have dropped a
// task whose client it could not reach for 10 s, or given up a task
// whose result or failure it could not deliver, and the server may have
// raised the max-deliveries advisory with nobody to hear it. Each such
// task would otherwise wait for ever.
func (c *Client) reconcileSoon() {
	c.mu.Lock()
	if c.tearing {
		c.mu.Unlock()
		return
	}
	c.bg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.bg.Done()
		delay := 500 * time.Millisecond
		var check []*task // nil: every pending task
		for range 5 {
			if check = c.reconcile(check); len(check) == 0 {
				return
			}
			select { // a retry delay for a server still starting, not synchronisation
			case <-time.After(delay):
			case <-c.life.Done():
				return
			}
			delay *= 2
		}
	}()
}

// reconcile fails every task of check (nil: every pending task) whose
// message left the stream without its result reaching this client
// (ErrLost), or that the workers' consumer gave up after its last delivery
// (ErrMaxDeliveries). It returns the tasks it could not check yet: the
// stream could not be read, or the task's publish is not acknowledged yet.
func (c *Client) reconcile(check []*task) []*task {
	c.mu.Lock()
	if check == nil {
		for _, t := range c.pending {
			check = append(check, t)
		}
	}
	var seqs []uint64
	live := check[:0]
	for _, t := range check {
		if c.pending[t.id] == t {
			live = append(live, t)
			seqs = append(seqs, t.seq)
		}
	}
	check = live
	c.mu.Unlock()
	if len(check) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(c.life, time.Minute)
	defer cancel()
	// A server that lost its store lost the messages of the tasks
	// running too, but their workers go on and send the results: those
	// tasks stay pending.
	storeLost := false
	s, err := c.js.Stream(ctx, c.names.taskStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// Make the stream and consumer again, for the tasks still to
		// publish; the lookups below find the queued ones lost.
		c.cfg.logger.Warn("cluster: the task stream is gone from the server; making it again", "stream", c.names.taskStream)
		if s, _, err = ensureStreams(ctx, c.js, c.names, c.cfg); err != nil {
			return check
		}
	} else if err != nil {
		return check
	}
	if ci := s.CachedInfo(); ci != nil {
		c.mu.Lock()
		if !ci.Created.Equal(c.created) {
			storeLost = true
			c.created = ci.Created
		}
		c.mu.Unlock()
	}
	// The lookup fetched the consumer's info: no second request.
	cons, err := c.tasks.Consumer(ctx, consumerName)
	if err != nil {
		return check
	}
	ci := cons.CachedInfo()
	var again []*task
	for i, t := range check {
		if seqs[i] == 0 {
			again = append(again, t)
			continue
		}
		m, err := c.tasks.GetMsg(ctx, seqs[i])
		var lost, exhausted bool
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			lost = true
		case err != nil:
			again = append(again, t)
			continue
		case m.Header.Get(hdrMsgID) != t.id:
			lost = true // another stream of the same name (a new store)
		case seqs[i] <= ci.AckFloor.Stream:
			// Still stored yet under the consumer's ack floor: in a
			// work-queue stream, the consumer gave it up.
			exhausted = true
		}
		if !lost && !exhausted {
			continue
		}
		c.mu.Lock()
		if c.pending[t.id] != t {
			c.mu.Unlock()
			continue
		}
		if lost && (t.orphan || storeLost && t.state.Status == Running) {
			t.orphan = true
			c.mu.Unlock()
			continue
		}
		var terr *TaskError
		if lost {
			reason := "its message left the task stream without its result reaching this client: a worker dropped it while it could not reach this client for over 10 s, or it was deleted from the stream; it may have run (see the workers' logs)"
			if storeLost {
				reason = "it was queued when the server lost its store (the task stream was made again, empty): submit it again if it must run"
			}
			terr = &TaskError{TaskID: t.id, Function: t.fn, Worker: t.state.Worker, Attempts: t.state.Attempts, err: ErrLost, Reason: reason}
		} else {
			terr = &TaskError{TaskID: t.id, Function: t.fn, Worker: t.state.Worker, Attempts: ci.Config.MaxDeliver, err: ErrMaxDeliveries,
				Reason: fmt.Sprintf("delivered %d times (the consumer's max deliver) without completing, while this client was disconnected", ci.Config.MaxDeliver)}
			t.state.Attempts = max(t.state.Attempts, ci.Config.MaxDeliver)
		}
		c.finishLocked(t, Failed, terr)
		c.mu.Unlock()
		if exhausted {
			c.tasks.DeleteMsg(ctx, seqs[i])
		}
		if t.stop != nil {
			t.stop()
		}
		t.job.Fail(terr)
	}
	return again
}

// ID returns the client's ID, part of its result and state subjects.
func (c *Client) ID() string { return c.id }

// URL returns the URL workers connect to: the embedded server's, or the
// first of WithURLs.
func (c *Client) URL() string {
	if c.srv != nil {
		return c.srv.URL()
	}
	return c.cfg.urls[0]
}

// Server returns the embedded server, nil when the client connected to
// WithURLs.
func (c *Client) Server() *Server { return c.srv }

// Execute publishes a futures.RemoteJob (a job of mp's Func.Submit or
// Func.Map) as a task. A job that is a Go closure gets an error matching
// mp.ErrNotRemote; an argument over the payload limit one matching
// ErrTooLarge; after Shutdown or Close, futures.ErrShutdown. A job whose
// context already ended fails with the context's error. Execute blocks
// (back pressure) while 4,096 of the client's publishes await the
// server's acknowledgement, until there is room or the job's context
// ends.
func (c *Client) Execute(job futures.Job) error {
	if job == nil {
		return errors.New("cluster: nil job")
	}
	rj, ok := job.(futures.RemoteJob)
	if !ok {
		return fmt.Errorf("%w (cluster.Client runs registered functions on other machines)", mp.ErrNotRemote)
	}
	fn, payload := rj.Function(), rj.Payload()
	if !validFn(fn) {
		return fmt.Errorf("cluster: bad function name %q", fn)
	}
	if payload == nil {
		return fmt.Errorf("%w: job for %q has no payload", mp.ErrEncode, fn)
	}
	if len(payload) > c.cfg.maxPayload {
		return fmt.Errorf("%w: the argument of %s is %d bytes encoded, over the cluster's payload limit of %d (cluster.WithPayloadLimit, and the servers' max_payload); pass a reference (a path, a key) instead of the data", ErrTooLarge, fn, len(payload), c.cfg.maxPayload)
	}
	ctx := job.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	t := &task{id: nuid.Next(), job: rj, fn: fn}
	t.state = TaskState{ID: t.id, Function: fn, Status: Queued, Submitted: time.Now()}
	c.mu.Lock()
	if c.shut {
		c.mu.Unlock()
		return futures.ErrShutdown
	}
	if ctx.Err() != nil {
		c.mu.Unlock()
		job.Fail(context.Cause(ctx))
		return nil
	}
	c.pending[t.id] = t
	c.bg.Add(1) // the publishing goroutine below
	c.mu.Unlock()

	m := nats.NewMsg(c.names.taskSubject)
	m.Header.Set(hdrMsgID, t.id)
	m.Header.Set(hdrFn, fn)
	m.Header.Set(hdrClient, c.id)
	if d, ok := ctx.Deadline(); ok {
		m.Header.Set(hdrDeadline, strconv.FormatInt(d.UnixNano(), 10))
	}
	m.Data = payload
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { c.contextDone(t, ctx) })
		c.mu.Lock()
		t.stop = stop
		c.mu.Unlock()
	}
	// A future cancelled while its task waits (fut.Cancel(), as Python's
	// future.cancel()) takes the task out of the stream.
	if d, ok := job.(doneNotifier); ok {
		d.AddDoneCallback(func() {
			if d.State() == futures.Cancelled {
				c.futureCancelled(t)
			}
		})
	}
	// The first publish is tried here, so that a full pipeline blocks
	// the submitter (back pressure): with 4,096 publishes awaiting the
	// stream's acknowledgement, PublishMsgAsync gives up after a short
	// stall, and Execute tries again while the task is live. Other
	// errors are retried in the background.
	f, err := c.js.PublishMsgAsync(m)
	for errors.Is(err, jetstream.ErrTooManyStalledMsgs) && c.live(t) {
		f, err = c.js.PublishMsgAsync(m)
	}
	if err != nil {
		go func() { defer c.bg.Done(); c.republish(t, m, err) }()
		return nil
	}
	go func() { defer c.bg.Done(); c.awaitAck(t, m, f) }()
	return nil
}

// live reports whether t is still pending (not failed by its context,
// cancelled, or finished).
func (c *Client) live(t *task) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pending[t.id] == t
}

// doneNotifier is a job whose future tells when it is done (the jobs of
// mp's Func.Submit embed a *futures.Future).
type doneNotifier interface {
	AddDoneCallback(fn func())
	State() futures.State
}

// futureCancelled forgets a task whose future was cancelled before it
// started: workers are told not to run it (or to stop it), and it is
// deleted from the stream.
func (c *Client) futureCancelled(t *task) {
	c.mu.Lock()
	if c.pending[t.id] != t {
		c.mu.Unlock()
		return
	}
	c.withdrawLocked(t, futures.ErrCancelled)
	if t.stop != nil {
		t.stop()
	}
}

// withdrawLocked finishes t Cancelled with err, releases c.mu (held by
// the caller), tells the workers to drop or stop t, and deletes its
// message from the stream in the background.
func (c *Client) withdrawLocked(t *task, err error) {
	seq := t.seq
	if seq != 0 {
		c.bg.Add(1) // under mu while t is pending: no race with teardown's Wait
	}
	c.finishLocked(t, Cancelled, err)
	c.mu.Unlock()
	c.nc.Publish(c.names.cancelSubject, []byte(t.id))
	if seq != 0 {
		go func() { defer c.bg.Done(); c.deleteTask(seq) }()
	}
}

// awaitAck records the task's stream sequence, or publishes it again (the
// same message ID: the stream drops a duplicate) until the stream has it.
func (c *Client) awaitAck(t *task, m *nats.Msg, f jetstream.PubAckFuture) {
	select {
	case ack := <-f.Ok():
		c.stored(t, ack.Sequence)
	case err := <-f.Err():
		c.republish(t, m, err)
	}
}

// stored records that the stream holds task t at seq. A task that ended
// before its acknowledgement came (cancelled, Close) is deleted from the
// stream now: no worker must run it.
func (c *Client) stored(t *task, seq uint64) {
	c.mu.Lock()
	live := c.pending[t.id] == t
	if live {
		t.seq = seq
		c.bySeq[seq] = t
	}
	c.mu.Unlock()
	if !live {
		c.deleteTask(seq)
	}
}

func (c *Client) republish(t *task, m *nats.Msg, err error) {
	delay := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		if !c.live(t) {
			return
		}
		if attempt%20 == 0 {
			c.cfg.logger.Warn("cluster: publishing a task again", "task", t.id, "fn", t.fn, "attempt", attempt, "err", err)
		}
		time.Sleep(delay) // a retry delay, not synchronisation
		delay = min(2*delay, time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var ack *jetstream.PubAck
		ack, err = c.js.PublishMsg(ctx, m)
		cancel()
		if err == nil {
			c.stored(t, ack.Sequence)
			return
		}
	}
}

// finishLocked removes t from the pending tasks and records its final
// state; the caller completes the job after unlocking.
func (c *Client) finishLocked(t *task, st TaskStatus, err error) {
	delete(c.pending, t.id)
	if t.seq != 0 {
		delete(c.bySeq, t.seq)
	}
	t.state.Status, t.state.Err, t.state.Finished = st, err, time.Now()
	c.history[t.id] = t.state
	c.order = append(c.order, t.id)
	if len(c.order) > historySize {
		delete(c.history, c.order[0])
		c.order = c.order[1:]
	}
	c.maybeTeardownLocked()
}

func (c *Client) maybeTeardownLocked() {
	if c.shut && len(c.pending) == 0 && !c.tearing {
		c.tearing = true
		go c.teardown()
	}
}

// onResult completes a task with its result message, and answers the
// worker, which then acknowledges the task.
func (c *Client) onResult(msg *nats.Msg) {
	h := msg.Header
	id := h.Get(hdrTask)
	c.mu.Lock()
	t := c.pending[id]
	c.mu.Unlock()
	if t == nil {
		msg.Respond(nil) // a duplicate, or a task already cancelled
		return
	}
	if name := h.Get(hdrObject); name != "" {
		// A result in the object store: fetched off this handler, which
		// every result of this client goes through.
		c.mu.Lock()
		if c.pending[id] != t {
			c.mu.Unlock()
			msg.Respond(nil)
			return
		}
		c.bg.Add(1)
		c.mu.Unlock()
		go func() {
			defer c.bg.Done()
			data, err := c.fetchObject(name)
			if err != nil {
				// Not answered: the worker offers the result again (and
				// hands the task back if it never gets through).
				c.cfg.logger.Warn("cluster: cannot fetch a task's result from the object store; waiting for the worker to offer it again", "task", id, "err", err)
				return
			}
			c.complete(msg, t, data)
			c.deleteObject(name)
		}()
		return
	}
	c.complete(msg, t, msg.Data)
}

// complete finishes t with the result message msg, whose body is data,
// and answers the worker.
func (c *Client) complete(msg *nats.Msg, t *task, data []byte) {
	h := msg.Header
	id := t.id
	worker := h.Get(hdrWorker)
	attempts, _ := strconv.Atoi(h.Get(hdrAttempt))
	var err error
	if h.Get(hdrStatus) != statusOK {
		err = decodeErr(data, id, t.fn, worker, attempts)
	}
	c.mu.Lock()
	if c.pending[id] != t {
		c.mu.Unlock()
		msg.Respond(nil)
		return
	}
	t.state.Worker = worker
	t.state.Attempts = max(t.state.Attempts, attempts)
	st := Done
	if err != nil {
		st = Failed
	}
	c.finishLocked(t, st, err)
	started := t.started
	t.started = true
	c.mu.Unlock()
	if t.stop != nil {
		t.stop()
	}
	if started || t.job.Start() {
		t.job.CompleteRemote(data, err)
	}
	msg.Respond(nil)
}

func (c *Client) fetchObject(name string) ([]byte, error) {
	obj, err := c.objects()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := obj.GetBytes(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("cluster: cannot fetch the result object %s: %w", name, err)
	}
	return b, nil
}

// deleteObject deletes a result object the client has taken.
func (c *Client) deleteObject(name string) {
	obj, err := c.objects()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	obj.Delete(ctx, name)
}

func (c *Client) objects() (jetstream.ObjectStore, error) {
	c.objOnce.Do(func() { c.obj, c.objErr = openObjects(c.js, c.names, c.cfg) })
	return c.obj, c.objErr
}

func openObjects(js jetstream.JetStream, n names, cfg *config) (jetstream.ObjectStore, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	obj, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      n.objectBucket,
		Description: "braid cluster results over the payload limit",
		TTL:         cfg.resultTTL,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: object store %s: %w", n.objectBucket, err)
	}
	return obj, nil
}

// onState records that a worker started a task.
func (c *Client) onState(m *nats.Msg) {
	id := m.Header.Get(hdrTask)
	attempt, _ := strconv.Atoi(m.Header.Get(hdrAttempt))
	c.mu.Lock()
	t := c.pending[id]
	if t == nil {
		c.mu.Unlock()
		return
	}
	t.state.Status = Running
	t.state.Worker = m.Header.Get(hdrWorker)
	t.state.Attempts = max(t.state.Attempts, attempt)
	t.state.Started = time.Now()
	first := !t.started
	t.started = true
	c.mu.Unlock()
	if first && !t.job.Start() {
		// Cancelled through its future, or a Map that stopped early.
		c.nc.Publish(c.names.cancelSubject, []byte(id))
		c.mu.Lock()
		if c.pending[id] == t {
			c.finishLocked(t, Cancelled, futures.ErrCancelled)
		}
		c.mu.Unlock()
		if t.stop != nil {
			t.stop()
		}
	}
}

type maxDeliverAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries int    `json:"deliveries"`
}

// onAdvisory fails a task whose deliveries ran out.
func (c *Client) onAdvisory(m *nats.Msg) {
	var a maxDeliverAdvisory
	if err := json.Unmarshal(m.Data, &a); err != nil {
		return
	}
	c.mu.Lock()
	t := c.bySeq[a.StreamSeq]
	if t == nil {
		c.mu.Unlock()
		return // another client's task
	}
	err := &TaskError{TaskID: t.id, Function: t.fn, Worker: t.state.Worker, Attempts: a.Deliveries, err: ErrMaxDeliveries,
		Reason: fmt.Sprintf("delivered %d times (the consumer's max deliver) without completing: each time its worker died, went silent past the ack wait, or its process crashed", a.Deliveries)}
	t.state.Attempts = a.Deliveries
	c.finishLocked(t, Failed, err)
	c.mu.Unlock()
	c.deleteTask(a.StreamSeq)
	if t.stop != nil {
		t.stop()
	}
	t.job.Fail(err)
}

func (c *Client) deleteTask(seq uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.tasks.DeleteMsg(ctx, seq)
}

// contextDone fails a task whose context ended and tells the workers, so
// that the one running it kills its process.
func (c *Client) contextDone(t *task, ctx context.Context) {
	c.mu.Lock()
	if c.pending[t.id] != t {
		c.mu.Unlock()
		return
	}
	cause := context.Cause(ctx)
	var err error
	if t.state.Status == Running {
		err = &TaskError{TaskID: t.id, Function: t.fn, Worker: t.state.Worker, Attempts: t.state.Attempts, err: cause,
			Reason: fmt.Sprintf("%v while running; its worker kills the process running it", cause)}
	} else {
		err = cause
	}
	c.withdrawLocked(t, err)
	t.job.Fail(err)
}

// Task returns the state of a task submitted by this client (the last
// 10,000 finished ones are kept).
func (c *Client) Task(id string) (TaskState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.pending[id]; t != nil {
		return t.state, true
	}
	st, ok := c.history[id]
	return st, ok
}

// Tasks returns the states of the tasks pending, then of the last finished
// ones.
func (c *Client) Tasks() []TaskState {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]TaskState, 0, len(c.pending)+len(c.order))
	for _, t := range c.pending {
		out = append(out, t.state)
	}
	for _, id := range c.order {
		out = append(out, c.history[id])
	}
	return out
}

// Pending returns the number of tasks submitted and not finished.
func (c *Client) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// Shutdown stops accepting tasks and waits until every submitted task has
// completed, then closes the connection and stops the embedded server; or
// until ctx ends: then tasks go on and the error wraps ctx's error.
func (c *Client) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.shut = true
	c.maybeTeardownLocked()
	c.mu.Unlock()
	select {
	case <-c.finished:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cluster: shutdown: %d tasks still pending: %w", c.Pending(), ctx.Err())
	}
}

// Close stops accepting tasks and cancels those no worker has reported
// started (their futures end Cancelled, and they are deleted from the
// stream, in the background: a worker that took one already is told to
// stop it); running tasks run to their end. It does not wait: Shutdown
// does. The client lets go of its connection and embedded server once
// the running tasks are done and the cancelled ones deleted.
func (c *Client) Close() error {
	c.mu.Lock()
	c.shut = true
	var queued []*task
	var seqs []uint64
	for _, t := range c.pending {
		if t.state.Status == Queued {
			queued = append(queued, t)
			if t.seq != 0 {
				seqs = append(seqs, t.seq)
			}
		}
	}
	if len(seqs) > 0 {
		c.bg.Add(1)
		go func() { defer c.bg.Done(); c.deleteTasks(seqs) }()
	}
	for _, t := range queued {
		c.finishLocked(t, Cancelled, futures.ErrCancelled)
	}
	c.maybeTeardownLocked()
	c.mu.Unlock()
	for _, t := range queued {
		if t.stop != nil {
			t.stop()
		}
		c.nc.Publish(c.names.cancelSubject, []byte(t.id))
		futures.CancelJob(t.job)
	}
	return nil
}

// deleteTasks deletes cancelled tasks from the stream, a few requests at
// a time, for a minute at most (a server that is away).
func (c *Client) deleteTasks(seqs []uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ch := make(chan uint64)
	var wg sync.WaitGroup
	for range min(8, len(seqs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := range ch {
				if ctx.Err() == nil {
					c.tasks.DeleteMsg(ctx, seq)
				}
			}
		}()
	}
	for _, seq := range seqs {
		ch <- seq
	}
	close(ch)
	wg.Wait()
}

// Done returns a channel closed when the client has shut down.
func (c *Client) Done() <-chan struct{} { return c.finished }

func (c *Client) teardown() {
	// Publishes awaiting their acknowledgement end within the publish
	// timeout (10 s); deletes within theirs (5 s each).
	c.lifeDone()
	c.bg.Wait()
	for _, s := range c.subs {
		s.Unsubscribe()
	}
	if c.nc != nil {
		c.nc.Close()
	}
	if c.srv != nil {
		c.srv.Shutdown()
	}
	close(c.finished)
}

// String names the client and its server.
func (c *Client) String() string {
	return "cluster.Client(" + c.id + " at " + c.URL() + ")"
}
