package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// registryEvery is how often a worker writes its entry in the workers
// bucket; entries older than three times that expire (the bucket's TTL),
// so a dead worker leaves the list within 15 s.
const registryEvery = 5 * time.Second

// WorkerInfo is a worker's entry in the workers bucket, written every 5 s.
type WorkerInfo struct {
	// Name is the worker's name (WithWorkerName, default host-pid).
	Name string `json:"name"`
	// Host and PID locate the worker process.
	Host string `json:"host"`
	PID  int    `json:"pid"`
	// Concurrency is the size of its process pool.
	Concurrency int `json:"concurrency"`
	// Running is the number of tasks it runs now; Done, Failed and
	// HandedBack count its tasks since it started.
	Running    int64 `json:"running"`
	Done       int64 `json:"done"`
	Failed     int64 `json:"failed"`
	HandedBack int64 `json:"handed_back"`
	// Started is when it started; Seen when it last wrote its entry.
	Started time.Time `json:"started"`
	Seen    time.Time `json:"seen"`
}

func workersBucket(ctx context.Context, js jetstream.JetStream, n names) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      n.workersBucket,
		Description: "braid cluster workers, each entry rewritten every 5s",
		TTL:         3 * registryEvery,
		History:     1,
		Storage:     jetstream.MemoryStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: workers bucket %s: %w", n.workersBucket, err)
	}
	return kv, nil
}

// register writes the worker's entry once (before the worker takes a
// task, so that a worker that ran a task is listed).
func (w *worker) register(kv jetstream.KeyValue) jetstream.KeyValue {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if kv == nil {
		kv, _ = workersBucket(ctx, w.js, w.names)
		if kv == nil {
			return nil
		}
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(WorkerInfo{Name: w.name, Host: host, PID: os.Getpid(), Concurrency: w.cfg.concurrency,
		Running: w.nRun.Load(), Done: w.nDone.Load(), Failed: w.nFail.Load(), HandedBack: w.nHanded.Load(),
		Started: w.started, Seen: time.Now()})
	if _, err := kv.Put(ctx, w.name, b); err != nil {
		return nil // the bucket is gone (a server restarted): make it again next time
	}
	return kv
}

// keepRegistered rewrites the worker's entry every registryEvery until
// stop closes, then deletes it.
func (w *worker) keepRegistered(kv jetstream.KeyValue, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(registryEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			if kv != nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				kv.Purge(ctx, w.name)
				cancel()
			}
			return
		case <-t.C:
			kv = w.register(kv)
		}
	}
}

// StatusReport is what Status reports: the live workers and the queue.
type StatusReport struct {
	// Workers are the workers whose entry is fresh, by name.
	Workers []WorkerInfo `json:"workers"`
	// Queued is the number of tasks no worker has taken; InFlight the
	// number taken and not yet acknowledged (running, or prefetched).
	Queued   uint64 `json:"queued"`
	InFlight int    `json:"in_flight"`
	// Redelivered counts the tasks in flight delivered more than once.
	Redelivered int `json:"redelivered"`
	// Stored is the number of messages in the task stream.
	Stored uint64 `json:"stored"`
}

// Status reads the workers and queue depth of the cluster at WithURLs.
func Status(ctx context.Context, opts ...Option) (StatusReport, error) {
	var st StatusReport
	cfg, err := resolve(opts)
	if err != nil {
		return st, err
	}
	if len(cfg.urls) == 0 {
		return st, ErrNoURL
	}
	nc, err := connect(cfg, cfg.urls, "braid-status")
	if err != nil {
		return st, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return st, fmt.Errorf("cluster: %w", err)
	}
	return readStatus(ctx, js, newNames(cfg.namespace))
}

// Status reads the workers and queue depth of the client's cluster.
func (c *Client) Status(ctx context.Context) (StatusReport, error) {
	return readStatus(ctx, c.js, c.names)
}

func readStatus(ctx context.Context, js jetstream.JetStream, n names) (StatusReport, error) {
	var st StatusReport
	s, err := js.Stream(ctx, n.taskStream)
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return st, fmt.Errorf("cluster: no task stream %s on this server: no client or worker of namespace %q has connected yet", n.taskStream, n.ns)
		}
		return st, fmt.Errorf("cluster: task stream %s: %w", n.taskStream, err)
	}
	// The lookups fetched the stream's and the consumer's info: no
	// second request for either.
	st.Stored = s.CachedInfo().State.Msgs
	if cons, err := s.Consumer(ctx, consumerName); err == nil {
		ci := cons.CachedInfo()
		st.Queued, st.InFlight, st.Redelivered = ci.NumPending, ci.NumAckPending, ci.NumRedelivered
	}
	kv, err := js.KeyValue(ctx, n.workersBucket)
	if err != nil {
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			return st, nil
		}
		return st, fmt.Errorf("cluster: workers bucket: %w", err)
	}
	// One watch delivers every entry with its value (then nil), where
	// listing the keys and getting each would cost a request per worker.
	watch, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return st, fmt.Errorf("cluster: workers bucket: %w", err)
	}
	defer watch.Stop()
entries:
	for {
		select {
		case e := <-watch.Updates():
			if e == nil {
				break entries
			}
			var wi WorkerInfo
			if json.Unmarshal(e.Value(), &wi) == nil {
				st.Workers = append(st.Workers, wi)
			}
		case <-ctx.Done():
			break entries
		}
	}
	sort.Slice(st.Workers, func(i, j int) bool { return st.Workers[i].Name < st.Workers[j].Name })
	return st, nil
}
