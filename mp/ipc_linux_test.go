package mp_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braid-go/braid/mp"
)

// Functions run by the Process children of the IPC tests.

type produceArg struct {
	Q        *mp.Queue[int]
	From, N  int
	Finished *mp.Value[int64]
}

type consumeArg struct {
	Q     *mp.Queue[int]
	Seen  *mp.Array[int32]
	Taken *mp.Value[int64]
}

type counterArg struct {
	V      *mp.Value[int64]
	N      int
	UseAdd bool
}

type holdArg struct {
	L     *mp.Lock
	Held  *mp.Event
	Never *mp.Event // never set: the holder waits on it until killed
}

var (
	IPCProduce = mp.Register("test.ipc.produce", func(ctx context.Context, a produceArg) (struct{}, error) {
		for i := a.From; i < a.From+a.N; i++ {
			if err := a.Q.Put(ctx, i); err != nil {
				return struct{}{}, err
			}
		}
		if a.Finished != nil {
			a.Finished.Add(1)
		}
		return struct{}{}, nil
	})
	// IPCConsume takes items until the queue is closed and drained,
	// counting each in Seen.
	IPCConsume = mp.Register("test.ipc.consume", func(ctx context.Context, a consumeArg) (struct{}, error) {
		for {
			v, err := a.Q.Get(ctx)
			if errors.Is(err, mp.ErrQueueShutDown) {
				return struct{}{}, nil
			}
			if err != nil {
				return struct{}{}, err
			}
			a.Seen.Add(v, 1)
			if a.Taken != nil {
				a.Taken.Add(1)
			}
		}
	})
	IPCCount = mp.Register("test.ipc.count", func(ctx context.Context, a counterArg) (struct{}, error) {
		for i := 0; i < a.N; i++ {
			if a.UseAdd {
				a.V.Add(1)
				continue
			}
			if err := a.V.Lock().Lock(ctx); err != nil {
				return struct{}{}, err
			}
			a.V.Store(a.V.Load() + 1)
			if err := a.V.Lock().Unlock(); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	// IPCHold takes the lock, says so, and waits to be killed.
	IPCHold = mp.Register("test.ipc.hold", func(ctx context.Context, a holdArg) (struct{}, error) {
		if err := a.L.Lock(ctx); err != nil {
			return struct{}{}, err
		}
		a.Held.Set()
		return struct{}{}, a.Never.Wait(ctx)
	})
	IPCPanic = mp.Register("test.ipc.panic", func(ctx context.Context, msg string) (struct{}, error) {
		panic(msg)
	})
	IPCExit = mp.Register("test.ipc.exit", func(ctx context.Context, code int) (struct{}, error) {
		os.Exit(code)
		return struct{}{}, nil
	})
	IPCWait = mp.Register("test.ipc.wait", func(ctx context.Context, e *mp.Event) (struct{}, error) {
		return struct{}{}, e.Wait(ctx)
	})
)

// start starts a Process of f with arg, and joins (killing it if needed)
// at cleanup.
func start[A, R any](t *testing.T, f mp.Func[A, R], arg A, opts ...mp.ProcessOption) *mp.Process {
	t.Helper()
	p, err := mp.NewProcess(f, arg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		p.Join(context.Background())
	})
	return p
}

// join waits for p and checks its exit code.
func join(t *testing.T, p *mp.Process, want int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.Join(ctx); err != nil {
		t.Fatalf("join %s: %v", p.Name(), err)
	}
	if code, ok := p.ExitCode(); !ok || code != want {
		t.Fatalf("%s: exit code %d (exited %v), want %d", p, code, ok, want)
	}
}

// resources counts this process's descriptors, shared-object mappings and
// children.
func resources(t *testing.T) (fds, maps, kids int) {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents), strings.Count(string(b), "memfd:braid-mp"), children(t)
}

// checkResources checks at cleanup that everything the test made is gone.
func checkResources(t *testing.T) {
	t.Helper()
	fds, maps, kids := resources(t)
	t.Cleanup(func() {
		f2, m2, k2 := resources(t)
		if f2 != fds || m2 != maps || k2 != kids {
			t.Errorf("left behind: descriptors %d -> %d, shared mappings %d -> %d, children %d -> %d", fds, f2, maps, m2, kids, k2)
		}
	})
}

// reopen returns a second handle of q, as a process receiving it gets.
func reopen[T any](t *testing.T, q *mp.Queue[T]) *mp.Queue[T] {
	t.Helper()
	b, err := q.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var q2 mp.Queue[T]
	if err := q2.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return &q2
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// 3 producer and 3 consumer processes move 100,000 items through one
// Queue: each item arrives exactly once.
func TestQueueManyProcesses(t *testing.T) {
	checkResources(t)
	const n, producers, consumers = 100_000, 3, 3
	q := must[*mp.Queue[int]](t)(mp.NewQueue[int](1000))
	defer q.Close()
	seen := must[*mp.Array[int32]](t)(mp.NewArray[int32](n))
	defer seen.Close()
	var ps, cs []*mp.Process
	for i := 0; i < consumers; i++ {
		cs = append(cs, start(t, IPCConsume, consumeArg{Q: q, Seen: seen}))
	}
	per := n / producers
	for i := 0; i < producers; i++ {
		from, cnt := i*per, per
		if i == producers-1 {
			cnt = n - from
		}
		ps = append(ps, start(t, IPCProduce, produceArg{Q: q, From: from, N: cnt}))
	}
	for _, p := range ps {
		join(t, p, 0)
	}
	if err := q.Shutdown(); err != nil {
		t.Fatal(err)
	}
	for _, p := range cs {
		join(t, p, 0)
	}
	checkOnce(t, seen.Slice(), 0)
}

// checkOnce checks that every item was seen once, but for at most
// missing items seen never.
func checkOnce(t *testing.T, seen []int32, missing int) {
	t.Helper()
	zeros := 0
	for i, c := range seen {
		switch {
		case c == 0:
			zeros++
		case c > 1:
			t.Fatalf("item %d was received %d times", i, c)
		}
	}
	if zeros > missing {
		t.Fatalf("%d items were never received (at most %d may be)", zeros, missing)
	}
}

// 4 processes increment a shared counter 100,000 times each, under the
// Value's lock and with Add: the total is exact.
func TestSharedCounter(t *testing.T) {
	checkResources(t)
	for _, useAdd := range []bool{false, true} {
		v := must[*mp.Value[int64]](t)(mp.NewValue[int64](0))
		var ps []*mp.Process
		for i := 0; i < 4; i++ {
			ps = append(ps, start(t, IPCCount, counterArg{V: v, N: 100_000, UseAdd: useAdd}))
		}
		for _, p := range ps {
			join(t, p, 0)
		}
		if got := v.Load(); got != 400_000 {
			t.Errorf("add=%v: counter %d, want 400000", useAdd, got)
		}
		v.Close()
	}
}

// A consumer killed mid-stream loses no item it did not take: the other
// consumers get the rest, even when the kill lands inside a Get holding
// the queue's lock.
func TestQueueConsumerKilled(t *testing.T) {
	checkResources(t)
	const n = 20_000
	q := must[*mp.Queue[int]](t)(mp.NewQueue[int](0, mp.QueueBytes(1<<20)))
	defer q.Close()
	for i := 0; i < n; i++ {
		if err := q.Put(context.Background(), i); err != nil {
			t.Fatal(err)
		}
	}
	seen := must[*mp.Array[int32]](t)(mp.NewArray[int32](n))
	defer seen.Close()
	taken := must[*mp.Value[int64]](t)(mp.NewValue[int64](0))
	defer taken.Close()
	victim := start(t, IPCConsume, consumeArg{Q: q, Seen: seen, Taken: taken})
	// Wait until the victim is in the middle of the stream: it counts
	// what it took (a Value this test polls: no clock involved).
	for taken.Load() < 500 {
		if !victim.IsAlive() {
			t.Fatal("the victim consumer exited early")
		}
	}
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	join(t, victim, -9)
	others := []*mp.Process{
		start(t, IPCConsume, consumeArg{Q: q, Seen: seen}),
		start(t, IPCConsume, consumeArg{Q: q, Seen: seen}),
	}
	// A queue shut down still hands out what it holds.
	if err := q.Shutdown(); err != nil {
		t.Fatal(err)
	}
	for _, p := range others {
		join(t, p, 0)
	}
	// The victim may have taken one item it had not counted yet.
	checkOnce(t, seen.Slice(), 1)
}

// A process killed while holding a Lock: the next Lock reports the holder's
// death (and holds the lock), and the lock works after.
func TestLockHolderKilled(t *testing.T) {
	checkResources(t)
	l := must[*mp.Lock](t)(mp.NewLock())
	defer l.Close()
	held := must[*mp.Event](t)(mp.NewEvent())
	defer held.Close()
	never := must[*mp.Event](t)(mp.NewEvent())
	defer never.Close()
	p := start(t, IPCHold, holdArg{L: l, Held: held, Never: never})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := held.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if l.TryLock() {
		t.Fatal("TryLock succeeded while the child holds the lock")
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	err := l.Lock(ctx)
	var died *mp.HolderDiedError
	if !errors.As(err, &died) || died.PID != p.Pid() {
		t.Fatalf("Lock after the holder was killed: %v, want a *HolderDiedError for pid %d", err, p.Pid())
	}
	t.Logf("holder death reported after %v", time.Since(began))
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Lock(ctx); err != nil {
		t.Fatalf("Lock after recovery: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err == nil {
		t.Error("Unlock of an unlocked Lock: no error")
	}
	join(t, p, -9)
}

// A bounded queue blocks producers at capacity and lets them go as items
// leave; a Put or Get cancelled while blocked leaves the queue as it was.
func TestQueueBounded(t *testing.T) {
	checkResources(t)
	ctx := context.Background()
	q := must[*mp.Queue[int]](t)(mp.NewQueue[int](2))
	defer q.Close()
	// A producer process puts 50 items through a queue of 2: it can only
	// finish if each Get lets it resume.
	p := start(t, IPCProduce, produceArg{Q: q, From: 0, N: 50})
	for i := 0; i < 50; i++ {
		if n := q.Len(); n > 2 {
			t.Fatalf("a queue of maxsize 2 holds %d items", n)
		}
		v, err := q.Get(ctx)
		if err != nil || v != i {
			t.Fatalf("Get = %d, %v; want %d", v, err, i)
		}
	}
	join(t, p, 0)
	if _, err := q.GetNowait(); !errors.Is(err, mp.ErrEmpty) {
		t.Fatalf("GetNowait on an empty queue: %v, want ErrEmpty", err)
	}
	// Cancelled Get on the empty queue.
	cctx, cancel := context.WithCancel(ctx)
	got := make(chan error)
	go func() {
		_, err := q.Get(cctx)
		got <- err
	}()
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Get: %v", err)
	}
	for _, v := range []int{1, 2} {
		if err := q.PutNowait(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.PutNowait(3); !errors.Is(err, mp.ErrFull) {
		t.Fatalf("PutNowait on a full queue: %v, want ErrFull", err)
	}
	// A Put blocked at capacity, then cancelled.
	cctx, cancel = context.WithCancel(ctx)
	go func() { got <- q.Put(cctx, 99) }()
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Put: %v", err)
	}
	// A Put blocked at capacity resumes when an item leaves.
	go func() { got <- q.Put(ctx, 3) }()
	if v, err := q.Get(ctx); err != nil || v != 1 {
		t.Fatalf("Get = %d, %v; want 1", v, err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{2, 3} {
		if v, err := q.Get(ctx); err != nil || v != want {
			t.Fatalf("Get = %d, %v; want %d", v, err, want)
		}
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d after draining", q.Len())
	}
}

// A queue shut down hands out what it holds, then ErrQueueShutDown; Put
// fails; a closed handle fails with ErrHandleClosed.
func TestQueueShutdown(t *testing.T) {
	checkResources(t)
	ctx := context.Background()
	q := must[*mp.Queue[string]](t)(mp.NewQueue[string](0))
	q2 := reopen(t, q)
	defer q2.Close()
	if err := q.Put(ctx, "last"); err != nil {
		t.Fatal(err)
	}
	if err := q.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Get(ctx); !errors.Is(err, mp.ErrHandleClosed) {
		t.Fatalf("Get through the closed handle: %v, want ErrHandleClosed", err)
	}
	if v, err := q2.Get(ctx); err != nil || v != "last" {
		t.Fatalf("Get = %q, %v; want the item left", v, err)
	}
	if _, err := q2.Get(ctx); !errors.Is(err, mp.ErrQueueShutDown) {
		t.Fatalf("Get on a closed, drained queue: %v, want ErrQueueShutDown", err)
	}
	if err := q2.Put(ctx, "more"); !errors.Is(err, mp.ErrQueueShutDown) {
		t.Fatalf("Put on a closed queue: %v, want ErrQueueShutDown", err)
	}
}

// Process exit codes: 0, the code passed to os.Exit, 1 for a panic (with
// its stack on stderr), -15 for Terminate, -9 for Kill.
func TestProcessExitCodes(t *testing.T) {
	checkResources(t)
	join(t, start(t, IPCExit, 0), 0)
	join(t, start(t, IPCExit, 7), 7)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	p, err := mp.NewProcess(IPCPanic, "boom", mp.ProcessName("panicker"))
	if err == nil {
		err = p.Start()
	}
	os.Stderr = stderr
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	join(t, p, 1)
	wg.Wait()
	r.Close()
	if s := out.String(); !strings.Contains(s, "panicker") || !strings.Contains(s, "boom") || !strings.Contains(s, "goroutine") {
		t.Errorf("a panicking child wrote %q to stderr; want its name, the panic and the stack", s)
	}

	e := must[*mp.Event](t)(mp.NewEvent())
	defer e.Close()
	for _, c := range []struct {
		stop func(*mp.Process) error
		code int
	}{{(*mp.Process).Terminate, -15}, {(*mp.Process).Kill, -9}} {
		p := start(t, IPCWait, e, mp.Daemon(true))
		if !p.IsAlive() || p.Pid() == 0 {
			t.Fatalf("%s: not alive after Start", p)
		}
		if err := c.stop(p); err != nil {
			t.Fatal(err)
		}
		join(t, p, c.code)
		if p.IsAlive() {
			t.Fatalf("%s alive after Join", p)
		}
	}
	p = start(t, IPCWait, e)
	if err := e.Set(); err != nil {
		t.Fatal(err)
	}
	join(t, p, 0)
	if err := p.Start(); err == nil {
		t.Error("a second Start: no error")
	}
}

// Shared objects reach Pool tasks too, as arguments.
func TestQueueToPoolTask(t *testing.T) {
	checkResources(t)
	pool := newPool(t)
	q := must[*mp.Queue[int]](t)(mp.NewQueue[int](0))
	defer q.Close()
	f, err := IPCProduce.Submit(context.Background(), pool, produceArg{Q: q, From: 10, N: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Result(context.Background()); err != nil {
		t.Fatal(err)
	}
	for want := 10; want < 15; want++ {
		if v, err := q.Get(context.Background()); err != nil || v != want {
			t.Fatalf("Get = %d, %v; want %d", v, err, want)
		}
	}
}
