package cluster

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/braid-go/braid/mp"
)

// Option configures New (the client), Serve (a worker), Status and
// StartServer (the embedded server). Each option says which of them it
// applies to; the others ignore it, so that one option list can be shared
// by a program's client and workers. Of the credential options
// (WithUserPassword, WithToken, WithNKeySeedFile, WithCredentialsFile),
// the last one given is used.
type Option func(*config)

type config struct {
	urls      []string
	user      string
	password  string
	token     string
	nkeySeed  string // file
	credsFile string
	tls       *tls.Config
	serverTLS *tls.Config

	namespace  string
	storeDir   string
	port       int
	maxDeliver int
	ackWait    time.Duration
	backoff    []time.Duration
	maxPayload int
	resultTTL  time.Duration
	maxPending int

	concurrency  int
	prefetch     int
	workerName   string
	drainTimeout time.Duration
	poolOpts     []mp.Option

	logger *slog.Logger
	errs   []error
}

const (
	defaultNamespace  = "braid"
	defaultMaxDeliver = 5
	defaultAckWait    = 30 * time.Second
	defaultMaxPayload = 1 << 20 // NATS's own default max_payload
	defaultResultTTL  = 24 * time.Hour
	defaultDrain      = 30 * time.Second
	defaultMaxPending = 1 << 20
)

func resolve(opts []Option) (*config, error) {
	c := &config{
		namespace:    defaultNamespace,
		maxDeliver:   defaultMaxDeliver,
		ackWait:      defaultAckWait,
		maxPayload:   defaultMaxPayload,
		resultTTL:    defaultResultTTL,
		drainTimeout: defaultDrain,
		maxPending:   defaultMaxPending,
		concurrency:  1,
		prefetch:     -1,
		logger:       slog.Default(),
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if len(c.errs) > 0 {
		return nil, c.errs[0]
	}
	if c.prefetch < 0 {
		c.prefetch = c.concurrency
	}
	return c, nil
}

func (c *config) bad(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("cluster: "+format, args...))
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// WithURLs gives the NATS servers to connect to (New, Serve, Status), for
// example "nats://10.0.0.5:4222". Without it, New starts an embedded
// server in the process; Serve and Status need it.
func WithURLs(urls ...string) Option {
	return func(c *config) {
		for _, u := range urls {
			if u == "" {
				c.bad("WithURLs: empty URL")
				return
			}
		}
		c.urls = append(c.urls, urls...)
	}
}

// WithUserPassword authenticates with a user name and password (New,
// Serve, Status). For the embedded server (New without URLs, StartServer)
// it also makes the server require them.
func WithUserPassword(user, password string) Option {
	return func(c *config) {
		if user == "" {
			c.bad("WithUserPassword: empty user name")
			return
		}
		c.setCredential()
		c.user, c.password = user, password
	}
}

// setCredential forgets the credential set so far: the last credential
// option given is the one used.
func (c *config) setCredential() {
	c.user, c.password, c.token, c.nkeySeed, c.credsFile = "", "", "", "", ""
}

// WithToken authenticates with a token (New, Serve, Status); the embedded
// server then requires it.
func WithToken(token string) Option {
	return func(c *config) {
		if token == "" {
			c.bad("WithToken: empty token")
			return
		}
		c.setCredential()
		c.token = token
	}
}

// WithNKeySeedFile authenticates with the NATS nkey whose seed is in file
// (New, Serve, Status): the seed signs the server's challenge and never
// crosses the network. The embedded server then requires that nkey.
func WithNKeySeedFile(file string) Option {
	return func(c *config) {
		if file == "" {
			c.bad("WithNKeySeedFile: empty file name")
			return
		}
		c.setCredential()
		c.nkeySeed = file
	}
}

// WithCredentialsFile authenticates with a NATS credentials file (a user
// JWT and its nkey seed, as nsc writes them) against a server run in
// operator mode (New, Serve, Status).
func WithCredentialsFile(file string) Option {
	return func(c *config) {
		if file == "" {
			c.bad("WithCredentialsFile: empty file name")
			return
		}
		c.setCredential()
		c.credsFile = file
	}
}

// WithTLS is the client side TLS configuration (root CAs, client
// certificate) for connections to the servers (New, Serve, Status).
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) { c.tls = cfg }
}

// WithServerTLS makes the embedded server (New without URLs, StartServer)
// accept only TLS connections, with cfg's certificates. Set ClientAuth in
// cfg to require client certificates.
func WithServerTLS(cfg *tls.Config) Option {
	return func(c *config) { c.serverTLS = cfg }
}

// WithNamespace names the streams, buckets and subjects the cluster uses
// (default "braid"): clients and workers of one namespace share one task
// queue; another namespace on the same servers is another cluster. Letters,
// digits, '-' and '_' only.
func WithNamespace(ns string) Option {
	return func(c *config) {
		if !nameRE.MatchString(ns) {
			c.bad("WithNamespace(%q): use letters, digits, '-' and '_' only", ns)
			return
		}
		c.namespace = ns
	}
}

// WithStoreDir is the JetStream store directory of the embedded server
// (New without URLs, StartServer). Without it, New makes a temporary
// directory and removes it when the client is shut down; a directory given
// here is kept, so that a server started again on it finds its streams.
func WithStoreDir(dir string) Option {
	return func(c *config) { c.storeDir = dir }
}

// WithPort is the TCP port of the embedded server on 127.0.0.1 (default: a
// free port chosen by the system).
func WithPort(port int) Option {
	return func(c *config) {
		if port < 0 || port > 65535 {
			c.bad("WithPort(%d): not a TCP port", port)
			return
		}
		c.port = port
	}
}

// WithMaxDeliver is how many times a task is delivered to workers before it
// fails with an error matching ErrMaxDeliveries (default 5). A task is
// delivered again when its worker dies, stops sending progress, or its
// process pool worker crashed. Like WithAckWait and WithBackoff, it is a
// setting of the workers' consumer, made by the first New or Serve that
// creates it (usually the client); workers follow the consumer's values.
func WithMaxDeliver(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.bad("WithMaxDeliver(%d): need at least 1", n)
			return
		}
		c.maxDeliver = n
	}
}

// WithAckWait is how long the server waits for a word from the worker
// holding a task before it delivers the task to another (default 30 s).
// Workers send progress every third of it while a task runs, so it bounds
// how soon a dead worker's task runs elsewhere, not how long a task may run.
// A setting of the consumer, as WithMaxDeliver.
func WithAckWait(d time.Duration) Option {
	return func(c *config) {
		if d < 100*time.Millisecond {
			c.bad("WithAckWait(%v): use at least 100ms", d)
			return
		}
		c.ackWait = d
	}
}

// WithBackoff sets the delays before the 1st, 2nd, ... redelivery of a task
// whose worker went silent, instead of WithAckWait's single delay (the last
// one repeats). Workers also hand a task back with these delays after its
// pool worker crashed. A setting of the consumer, as WithMaxDeliver; NATS
// needs WithMaxDeliver above the number of delays.
func WithBackoff(delays ...time.Duration) Option {
	return func(c *config) {
		for _, d := range delays {
			if d < 100*time.Millisecond {
				c.bad("WithBackoff: delay %v under 100ms", d)
				return
			}
		}
		c.backoff = delays
	}
}

// WithPayloadLimit is the largest task argument, in bytes, the client
// sends (default 1 MiB, the NATS default max_payload; the embedded server is
// configured with it). Larger arguments are refused at submit time; larger
// results travel through an object store bucket.
func WithPayloadLimit(n int) Option {
	return func(c *config) {
		if n < 1024 {
			c.bad("WithPayloadLimit(%d): use at least 1024", n)
			return
		}
		c.maxPayload = n
	}
}

// WithResultTTL is how long a result over the payload limit stays in the
// object store bucket when its client never fetches it (default 24 h;
// New, Serve). The client deletes each such result once it has it. A
// setting of the bucket, rewritten by each client and worker that opens
// it: give all of them the same value.
func WithResultTTL(d time.Duration) Option {
	return func(c *config) {
		if d < time.Second {
			c.bad("WithResultTTL(%v): use at least 1s", d)
			return
		}
		c.resultTTL = d
	}
}

// WithMaxQueued bounds the tasks waiting in the task stream (default
// 1,048,576; New, Serve: a setting of the stream, made by whoever creates
// it). The stream refuses a task over it, and the client publishes that
// task again in the background, every second at most, until there is
// room: Execute does not block for it, the task stays queued in the
// client (Pending counts it).
func WithMaxQueued(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.bad("WithMaxQueued(%d): need at least 1", n)
			return
		}
		c.maxPending = n
	}
}

// WithConcurrency is how many tasks a worker runs at once (Serve), each in
// a process of its mp.Pool (default 1).
func WithConcurrency(n int) Option {
	return func(c *config) {
		if n < 1 {
			c.bad("WithConcurrency(%d): need at least 1", n)
			return
		}
		c.concurrency = n
	}
}

// WithPrefetch is how many tasks a worker takes beyond those it runs, to
// keep its processes busy between tasks (Serve; default: the concurrency).
// A task taken ahead starts as soon as the previous one ends; use 0 when
// tasks are long and uneven, so that an idle worker is not left waiting
// while another holds a task it has not started. Even with 0, the worker
// receives one task ahead (the buffer of its pull from the server); such a
// task is not reported in progress until it starts, so one that waits
// there longer than the ack wait is delivered again, possibly to another
// worker, and may run twice.
func WithPrefetch(n int) Option {
	return func(c *config) {
		if n < 0 {
			c.bad("WithPrefetch(%d): need at least 0", n)
			return
		}
		c.prefetch = n
	}
}

// WithWorkerName names the worker in task states and in status (Serve;
// default host:pid).
func WithWorkerName(name string) Option {
	return func(c *config) {
		if !nameRE.MatchString(name) {
			c.bad("WithWorkerName(%q): use letters, digits, '-' and '_' only", name)
			return
		}
		c.workerName = name
	}
}

// WithDrainTimeout bounds how long a worker stopping (its context ended,
// SIGTERM under Main) lets its running tasks finish before it kills them
// and hands them back to the queue (Serve; default 30 s).
func WithDrainTimeout(d time.Duration) Option {
	return func(c *config) { c.drainTimeout = d }
}

// WithPoolOptions passes options to the worker's mp.Pool (Serve), for
// example mp.WithMemoryLimit. The pool's size is WithConcurrency.
func WithPoolOptions(opts ...mp.Option) Option {
	return func(c *config) { c.poolOpts = append(c.poolOpts, opts...) }
}

// WithLogger is where the client and workers log what they reject or
// retry (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}
