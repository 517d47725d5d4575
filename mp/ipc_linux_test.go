package mp_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/braid-go/braid/mp"
	"golang.org/x/sys/unix"
)

// Functions run by the Process children of the IPC tests.

type produceArg struct {
	Q        *mp.Queue[int]
	From, N  int
	Finished *mp.Value[int64]
	Count    *mp.Value[int64] // items put so far, if set
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
			if a.Count != nil {
				a.Count.Add(1)
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

type echoArg struct {
	C *mp.Conn[string]
}

type jqArg struct {
	Q    *mp.JoinableQueue[int]
	Sum  *mp.Value[int64]
	Sem  *mp.Semaphore
	Peak *mp.Value[int64]
	Now  *mp.Value[int64]
}

var (
	// IPCEcho sends back each string it receives, upper-cased, until the
	// pipe is shut down.
	IPCEcho = mp.Register("test.ipc.echo", func(ctx context.Context, a echoArg) (struct{}, error) {
		for {
			s, err := a.C.Recv(ctx)
			if errors.Is(err, mp.ErrPipeClosed) {
				return struct{}{}, nil
			}
			if err != nil {
				return struct{}{}, err
			}
			if err := a.C.Send(ctx, strings.ToUpper(s)); err != nil {
				return struct{}{}, err
			}
		}
	})
	// IPCWorkJQ takes items, adds them up inside a Semaphore(2), and marks
	// each done.
	IPCWorkJQ = mp.Register("test.ipc.jq", func(ctx context.Context, a jqArg) (struct{}, error) {
		for {
			v, err := a.Q.Get(ctx)
			if errors.Is(err, mp.ErrQueueShutDown) {
				return struct{}{}, nil
			}
			if err != nil {
				return struct{}{}, err
			}
			if err := a.Sem.Acquire(ctx); err != nil {
				return struct{}{}, err
			}
			n := a.Now.Add(1)
			for {
				peak := a.Peak.Load()
				if n <= peak || a.Peak.CompareAndSwap(peak, n) {
					break
				}
			}
			a.Sum.Add(int64(v))
			a.Now.Add(-1)
			a.Sem.Release()
			if err := a.Q.TaskDone(); err != nil {
				return struct{}{}, err
			}
		}
	})
)

// A duplex Pipe to a child and back; the child's end closed in the parent
// (Python's idiom) does not break it; Shutdown ends the stream.
func TestPipe(t *testing.T) {
	checkResources(t)
	ctx := context.Background()
	mine, theirs, err := mp.NewPipe[string](true)
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, IPCEcho, echoArg{C: theirs})
	theirs.Close()
	for _, s := range []string{"a", "bc", strings.Repeat("x", 10_000)} {
		if err := mine.Send(ctx, s); err != nil {
			t.Fatal(err)
		}
		if got, err := mine.Recv(ctx); err != nil || got != strings.ToUpper(s) {
			t.Fatalf("echo of %.10q = %.10q, %v", s, got, err)
		}
	}
	if err := mine.Shutdown(); err != nil {
		t.Fatal(err)
	}
	join(t, p, 0)
	if _, err := mine.Recv(ctx); !errors.Is(err, mp.ErrPipeClosed) {
		t.Fatalf("Recv after Shutdown: %v, want ErrPipeClosed", err)
	}
	if err := mine.Send(ctx, "late"); !errors.Is(err, mp.ErrPipeClosed) {
		t.Fatalf("Send after Shutdown: %v, want ErrPipeClosed", err)
	}
	mine.Close()

	r, w, err := mp.NewPipe[int](false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := r.Send(ctx, 1); err == nil {
		t.Error("Send on the receiving end of a one-way pipe: no error")
	}
	if err := w.Send(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if !r.Poll() {
		t.Error("Poll = false with a value waiting")
	}
	if v, err := r.Recv(ctx); err != nil || v != 7 {
		t.Fatalf("Recv = %d, %v", v, err)
	}
}

// JoinableQueue.Join returns once every item is TaskDone; a Semaphore(2)
// admits at most 2 of 3 processes at once.
func TestJoinableQueueAndSemaphore(t *testing.T) {
	checkResources(t)
	ctx := context.Background()
	q := must[*mp.JoinableQueue[int]](t)(mp.NewJoinableQueue[int](0))
	defer q.Close()
	sum := must[*mp.Value[int64]](t)(mp.NewValue[int64](0))
	defer sum.Close()
	peak := must[*mp.Value[int64]](t)(mp.NewValue[int64](0))
	defer peak.Close()
	now := must[*mp.Value[int64]](t)(mp.NewValue[int64](0))
	defer now.Close()
	sem := must[*mp.Semaphore](t)(mp.NewSemaphore(2))
	defer sem.Close()
	arg := jqArg{Q: q, Sum: sum, Sem: sem, Peak: peak, Now: now}
	ps := []*mp.Process{start(t, IPCWorkJQ, arg), start(t, IPCWorkJQ, arg), start(t, IPCWorkJQ, arg)}
	want := int64(0)
	for i := 1; i <= 3000; i++ {
		if err := q.Put(ctx, i); err != nil {
			t.Fatal(err)
		}
		want += int64(i)
	}
	if err := q.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if got := sum.Load(); got != want {
		t.Fatalf("after Join the sum is %d, want %d: Join returned before every TaskDone", got, want)
	}
	if p := peak.Load(); p > 2 || p < 1 {
		t.Fatalf("%d processes were inside a Semaphore(2) at once", p)
	}
	if err := q.TaskDone(); err == nil {
		t.Error("TaskDone with no item outstanding: no error")
	}
	q.Shutdown()
	for _, p := range ps {
		join(t, p, 0)
	}
	if sem.Value() != 2 {
		t.Errorf("semaphore value %d after all released, want 2", sem.Value())
	}
}

// Handles of the wrong kind, of a closed object, or of the zero value are
// clear errors; Process refuses what it cannot start.
func TestIPCMisuse(t *testing.T) {
	checkResources(t)
	v := must[*mp.Value[int64]](t)(mp.NewValue[int64](1))
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var q mp.Queue[int]
	if err := q.UnmarshalBinary(b); err == nil {
		t.Error("a Value's handle decoded as a Queue")
	}
	var v32 mp.Value[int32]
	if err := v32.UnmarshalBinary(b); err == nil {
		t.Error("a Value[int64] handle decoded as a Value[int32]")
	}
	v.Close()
	if _, err := v.MarshalBinary(); !errors.Is(err, mp.ErrHandleClosed) {
		t.Errorf("MarshalBinary of a closed Value: %v", err)
	}
	if _, err := q.Get(context.Background()); err == nil {
		t.Error("Get on a zero Queue: no error")
	}
	if _, err := mp.NewQueue[int](-1); err == nil {
		t.Error("NewQueue(-1): no error")
	}
	if _, err := mp.NewProcess(mp.Func[int, int]{}, 1); err == nil {
		t.Error("NewProcess with a zero Func: no error")
	}
	p := must[*mp.Process](t)(mp.NewProcess(IPCExit, 0))
	if err := p.Join(context.Background()); err == nil {
		t.Error("Join before Start: no error")
	}
	if _, exited := p.ExitCode(); exited {
		t.Error("ExitCode before Start says exited")
	}
}

type barrierArg struct {
	B *mp.Barrier
	V *mp.Value[int64]
	C *mp.Condition
}

var (
	// IPCBarrier arrives at the barrier twice and checks that everyone
	// arrived before it left.
	IPCBarrier = mp.Register("test.ipc.barrier", func(ctx context.Context, a barrierArg) (struct{}, error) {
		for round := int64(1); round <= 2; round++ {
			a.V.Add(1)
			if _, err := a.B.Wait(ctx); err != nil {
				return struct{}{}, err
			}
			if got := a.V.Load(); got < 3*round {
				return struct{}{}, fmt.Errorf("round %d: left the barrier with %d arrivals", round, got)
			}
			if _, err := a.B.Wait(ctx); err != nil { // all read before the next round
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	// IPCCondWait waits under the condition until the value is 1, then
	// sets it to 2 and notifies.
	IPCCondWait = mp.Register("test.ipc.cond", func(ctx context.Context, a barrierArg) (struct{}, error) {
		l := a.C.Lock()
		if err := l.Lock(ctx); err != nil {
			return struct{}{}, err
		}
		if err := a.C.WaitFor(ctx, func() bool { return a.V.Load() == 1 }); err != nil {
			return struct{}{}, err
		}
		a.V.Store(2)
		a.C.NotifyAll()
		return struct{}{}, l.Unlock()
	})
)

// A Barrier of 3 (two children and the test) releases no one early and
// can be used again; a Condition carries a handshake both ways.
func TestBarrierAndCondition(t *testing.T) {
	checkResources(t)
	ctx := context.Background()
	b := must[*mp.Barrier](t)(mp.NewBarrier(3))
	defer b.Close()
	v := must[*mp.Value[int64]](t)(mp.NewValue[int64](0))
	defer v.Close()
	arg := barrierArg{B: b, V: v}
	ps := []*mp.Process{start(t, IPCBarrier, arg), start(t, IPCBarrier, arg)}
	for round := int64(1); round <= 2; round++ {
		v.Add(1)
		if _, err := b.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if got := v.Load(); got < 3*round {
			t.Fatalf("round %d: left the barrier with %d arrivals", round, got)
		}
		if _, err := b.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range ps {
		join(t, p, 0)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Wait(cctx); !errors.Is(err, mp.ErrBrokenBarrier) {
		t.Fatalf("Wait with an ended context alone at the barrier: %v, want ErrBrokenBarrier", err)
	}
	if err := b.Reset(); err != nil {
		t.Fatal(err)
	}

	c := must[*mp.Condition](t)(mp.NewCondition())
	defer c.Close()
	v.Store(0)
	p := start(t, IPCCondWait, barrierArg{C: c, V: v})
	l := c.Lock()
	if err := l.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	v.Store(1)
	c.NotifyAll()
	if err := c.WaitFor(ctx, func() bool { return v.Load() == 2 }); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	join(t, p, 0)
	if err := c.Wait(ctx); err == nil {
		t.Error("Condition.Wait without its lock: no error")
	}
}

// A producer killed in the middle of its stream (perhaps inside a Put,
// holding the queue's lock) leaves the queue usable and uncorrupted: every
// item arrives at most once, nothing else arrives, and another producer's
// items all arrive.
func TestQueueProducerKilled(t *testing.T) {
	checkResources(t)
	const victimItems, goodItems = 1_000_000, 5_000
	q := must[*mp.Queue[int]](t)(mp.NewQueue[int](100))
	defer q.Close()
	seen := must[*mp.Array[int32]](t)(mp.NewArray[int32](victimItems + goodItems))
	defer seen.Close()
	count := must[*mp.Value[int64]](t)(mp.NewValue[int64](0))
	defer count.Close()
	consumers := []*mp.Process{
		start(t, IPCConsume, consumeArg{Q: q, Seen: seen}),
		start(t, IPCConsume, consumeArg{Q: q, Seen: seen}),
	}
	victim := start(t, IPCProduce, produceArg{Q: q, From: 0, N: victimItems, Count: count})
	for count.Load() < 2_000 {
		if !victim.IsAlive() {
			t.Fatal("the victim producer exited early")
		}
	}
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	join(t, victim, -9)
	put := count.Load()
	join(t, start(t, IPCProduce, produceArg{Q: q, From: victimItems, N: goodItems}), 0)
	if err := q.Shutdown(); err != nil {
		t.Fatal(err)
	}
	for _, p := range consumers {
		join(t, p, 0)
	}
	xs := seen.Slice()
	got := 0
	for i, c := range xs[:victimItems] {
		if c > 1 {
			t.Fatalf("victim item %d received %d times", i, c)
		}
		got += int(c)
	}
	// The victim counted each item after its Put returned: one more may
	// have been put uncounted.
	if got < int(put) || got > int(put)+1 {
		t.Errorf("%d of the victim's items arrived; it had put %d (or one more)", got, put)
	}
	checkOnce(t, xs[victimItems:], 0)
}

type daemonArg struct {
	Never *mp.Event
	Pid   *mp.Value[int64]
}

// IPCSpawnDaemon starts a daemon child that waits forever, records its
// pid, and returns: its process exits, and the daemon must go with it.
var IPCSpawnDaemon = mp.Register("test.ipc.spawn-daemon", func(ctx context.Context, a daemonArg) (struct{}, error) {
	p, err := mp.NewProcess(IPCWait, a.Never, mp.Daemon(true))
	if err != nil {
		return struct{}{}, err
	}
	if err := p.Start(); err != nil {
		return struct{}{}, err
	}
	a.Pid.Store(int64(p.Pid()))
	return struct{}{}, nil
})

// A daemon Process is killed when its parent exits.
func TestDaemonDiesWithParent(t *testing.T) {
	checkResources(t)
	never := must[*mp.Event](t)(mp.NewEvent())
	defer never.Close()
	pid := must[*mp.Value[int64]](t)(mp.NewValue[int64](0))
	defer pid.Close()
	join(t, start(t, IPCSpawnDaemon, daemonArg{Never: never, Pid: pid}), 0)
	dpid := int(pid.Load())
	if dpid == 0 {
		t.Fatal("the parent did not record its daemon's pid")
	}
	pfd, err := unix.PidfdOpen(dpid, 0)
	if err == unix.ESRCH {
		return // gone already
	}
	if err != nil {
		t.Skipf("pidfd_open: %v", err)
	}
	defer unix.Close(pfd)
	// The pidfd becomes readable when the process exits.
	fds := []unix.PollFd{{Fd: int32(pfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 60_000) // a bound, not a synchronisation
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			unix.Kill(dpid, unix.SIGKILL)
			t.Fatalf("the daemon child %d outlived its parent by a minute", dpid)
		}
		return
	}
}

// GetInto and RecvInto copy a []byte item into the array the destination
// has when it is large enough (no allocation per item), take a new one
// when it is not, and leave the destination unchanged on an error.
func TestGetIntoReusesTheBuffer(t *testing.T) {
	checkResources(t)
	ctx := context.Background()
	q := must[*mp.Queue[[]byte]](t)(mp.NewQueue[[]byte](0))
	defer q.Close()
	for _, item := range [][]byte{[]byte("hello"), []byte("hi"), nil, {}, []byte("a longer item than the buffer")} {
		if err := q.Put(ctx, item); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 0, 16)
	array := &buf[:1][0]
	for _, want := range []string{"hello", "hi"} {
		if err := q.GetInto(ctx, &buf); err != nil || string(buf) != want {
			t.Fatalf("GetInto = %q, %v; want %q", buf, err, want)
		}
		if &buf[:1][0] != array {
			t.Fatalf("GetInto of %q took a new array; want the buffer's", want)
		}
	}
	if err := q.GetInto(ctx, &buf); err != nil || buf != nil {
		t.Fatalf("GetInto of a nil item = %q (nil %v), %v; want nil", buf, buf == nil, err)
	}
	buf = make([]byte, 0, 16)
	if err := q.GetInto(ctx, &buf); err != nil || buf == nil || len(buf) != 0 {
		t.Fatalf("GetInto of an empty item = %q (nil %v), %v; want empty, not nil", buf, buf == nil, err)
	}
	if err := q.GetInto(ctx, &buf); err != nil || string(buf) != "a longer item than the buffer" || cap(buf) == 16 {
		t.Fatalf("GetInto of a long item = %q (cap %d), %v", buf, cap(buf), err)
	}
	keep := buf
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := q.GetInto(cctx, &buf); !errors.Is(err, context.Canceled) || &buf[0] != &keep[0] || len(buf) != len(keep) {
		t.Fatalf("GetInto on an empty queue with a cancelled context: %v, buffer %q; want the context's error and the buffer unchanged", err, buf)
	}
	if err := q.GetInto(ctx, nil); err == nil {
		t.Fatal("GetInto(nil) succeeded")
	}
	if !raceEnabled {
		item := []byte("0123456789")
		if n := testing.AllocsPerRun(100, func() {
			_ = q.Put(ctx, item)
			_ = q.GetInto(ctx, &buf)
		}); n != 0 {
			t.Errorf("Put and GetInto of a []byte allocate %v times; want 0", n)
		}
	}

	a, b, err := mp.NewPipe[[]byte](false)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	if err := b.Send(ctx, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	buf = buf[:0]
	array = &buf[:1][0]
	if err := a.RecvInto(ctx, &buf); err != nil || string(buf) != "abc" || &buf[0] != array {
		t.Fatalf("RecvInto = %q, %v; want \"abc\" in the buffer's array", buf, err)
	}
	b.Shutdown()
	if err := a.RecvInto(ctx, &buf); !errors.Is(err, mp.ErrPipeClosed) || string(buf) != "abc" {
		t.Fatalf("RecvInto after Shutdown = %q, %v; want ErrPipeClosed and the buffer unchanged", buf, err)
	}

	// Any other item type: an error naming Get, and the item stays.
	qi := must[*mp.Queue[string]](t)(mp.NewQueue[string](0))
	defer qi.Close()
	if err := qi.Put(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	s := "unchanged"
	if err := qi.GetInto(ctx, &s); err == nil || !strings.Contains(err.Error(), "use Get") || s != "unchanged" {
		t.Fatalf("GetInto on a Queue[string] = %v (%q); want an error that says to use Get", err, s)
	}
	if v, err := qi.GetNowait(); err != nil || v != "x" {
		t.Fatalf("the item after the refused GetInto: %q, %v; want \"x\"", v, err)
	}
	c1, c2, err := mp.NewPipe[int](false)
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	defer c2.Close()
	n := 0
	if err := c1.RecvInto(ctx, &n); err == nil || !strings.Contains(err.Error(), "use Recv") {
		t.Fatalf("RecvInto on a Conn[int] = %v; want an error that says to use Recv", err)
	}
}

type takeHangArg struct {
	Q           *mp.JoinableQueue[int]
	Took, Never *mp.Event
	TaskDone    bool
}

// IPCTakeAndHang takes one item (marking it done if asked), says so, and
// waits for an event that never comes: a consumer the test kills.
var IPCTakeAndHang = mp.Register("test.ipc.takehang", func(ctx context.Context, a takeHangArg) (struct{}, error) {
	if _, err := a.Q.Get(ctx); err != nil {
		return struct{}{}, err
	}
	if a.TaskDone {
		if err := a.Q.TaskDone(); err != nil {
			return struct{}{}, err
		}
	}
	if err := a.Took.Set(); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, a.Never.Wait(ctx)
})

// A consumer SIGKILLed while the parent waits in Join, holding an item
// it took and never marked done: Join returns a *ConsumerDiedError naming
// it instead of waiting forever (Python hangs). Likewise a Put waiting
// for room in a full queue whose only consumer was killed, and a Join
// whose consumers all died with items left in the queue.
func TestJoinSeesConsumerDie(t *testing.T) {
	checkResources(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range []struct {
		name     string
		taskDone bool // the victim marks its item done: the error is the items left
		fullPut  bool // the parent waits in Put on the full queue, not in Join
	}{{"lost item", false, false}, {"items left", true, false}, {"full queue", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			q := must[*mp.JoinableQueue[int]](t)(mp.NewJoinableQueue[int](2))
			defer q.Close()
			took := must[*mp.Event](t)(mp.NewEvent())
			defer took.Close()
			never := must[*mp.Event](t)(mp.NewEvent())
			defer never.Close()
			for i := range 2 {
				if err := q.Put(ctx, i); err != nil {
					t.Fatal(err)
				}
			}
			victim := start(t, IPCTakeAndHang, takeHangArg{Q: q, Took: took, Never: never, TaskDone: c.taskDone})
			if err := took.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			// One item taken, one left: the queue has room for one.
			if err := q.Put(ctx, 2); err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() {
				if c.fullPut {
					errc <- q.Put(ctx, 3) // the queue is full: waits
				} else {
					errc <- q.Join(ctx)
				}
			}()
			if err := victim.Kill(); err != nil {
				t.Fatal(err)
			}
			err := <-errc
			var died *mp.ConsumerDiedError
			if !errors.As(err, &died) || died.PID != victim.Pid() {
				t.Fatalf("err = %v; want a *mp.ConsumerDiedError for process %d", err, victim.Pid())
			}
			switch {
			case !c.taskDone && died.Lost != 1:
				t.Errorf("Lost = %d, want the 1 item taken and not done (%v)", died.Lost, err)
			case c.taskDone && died.Waiting != 2:
				t.Errorf("Waiting = %d, want the 2 items left (%v)", died.Waiting, err)
			}
			join(t, victim, -9)
			// A new consumer makes the queue usable again.
			if !c.taskDone {
				return
			}
			for range 2 {
				if _, err := q.Get(ctx); err != nil {
					t.Fatal(err)
				}
				if err := q.TaskDone(); err != nil {
					t.Fatal(err)
				}
			}
			if err := q.Join(ctx); err != nil {
				t.Fatalf("Join after the items were done: %v", err)
			}
		})
	}
}

type rholdArg struct {
	L           *mp.RLock
	Held, Never *mp.Event
}

// IPCRHold takes the RLock twice (its handle is its own owner), says so,
// and waits until killed.
var IPCRHold = mp.Register("test.ipc.rhold", func(ctx context.Context, a rholdArg) (struct{}, error) {
	for range 2 {
		if err := a.L.Lock(ctx); err != nil {
			return struct{}{}, err
		}
	}
	if err := a.Held.Set(); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, a.Never.Wait(ctx)
})

// RLock: its owner (the handle) takes it again and must release as many
// times; another owner in the same process (NewOwner) or another process
// waits; Unlock by a handle that does not hold it fails; a holder killed
// at depth 2 is reported to the next Lock, which holds it at depth 1.
func TestRLock(t *testing.T) {
	checkResources(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := must[*mp.RLock](t)(mp.NewRLock())
	defer r.Close()
	other := must[*mp.RLock](t)(r.NewOwner())
	defer other.Close()
	for range 3 {
		if err := r.Lock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !r.TryLock() {
		t.Fatal("TryLock by the owner failed")
	}
	if other.TryLock() {
		t.Fatal("TryLock by another owner succeeded while the lock is held")
	}
	if err := other.Unlock(); err == nil {
		t.Fatal("Unlock by another owner succeeded")
	}
	for i := range 4 {
		if other.TryLock() {
			t.Fatalf("another owner took the lock after %d of 4 Unlocks", i)
		}
		if err := r.Unlock(); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Unlock(); err == nil {
		t.Fatal("Unlock of a free RLock succeeded")
	}
	// Another owner's Lock waits while r holds it, and gets it after.
	if err := r.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() { got <- other.Lock(ctx) }()
	if err := r.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if r.TryLock() {
		t.Fatal("TryLock succeeded while another owner holds the lock")
	}
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}

	// Across processes, with the holder killed at depth 2.
	held := must[*mp.Event](t)(mp.NewEvent())
	defer held.Close()
	never := must[*mp.Event](t)(mp.NewEvent())
	defer never.Close()
	p := start(t, IPCRHold, rholdArg{L: r, Held: held, Never: never})
	if err := held.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if r.TryLock() {
		t.Fatal("TryLock succeeded while the child holds the RLock")
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	err := r.Lock(ctx)
	var died *mp.HolderDiedError
	if !errors.As(err, &died) || died.PID != p.Pid() {
		t.Fatalf("Lock after the holder was killed: %v, want a *HolderDiedError for pid %d", err, p.Pid())
	}
	if err := r.Unlock(); err != nil {
		t.Fatal(err)
	}
	if !other.TryLock() {
		t.Fatal("the RLock is still held after the one Unlock that follows a holder's death")
	}
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	join(t, p, -9)
}

// Closing a Value while another goroutine is using it: the calls that
// run into the Close return as on a closed handle (the lock's calls with
// ErrHandleClosed), and the program does not crash.
func TestCloseWhileInUse(t *testing.T) {
	checkResources(t)
	ctx := context.Background()
	for range 20 {
		v := must[*mp.Value[int64]](t)(mp.NewValue[int64](0))
		l := v.Lock()
		running := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			close(running)
			for {
				if err := l.Lock(ctx); err != nil {
					done <- err
					return
				}
				v.Store(v.Load() + 1)
				v.Add(1)
				if err := l.Unlock(); err != nil {
					done <- err
					return
				}
			}
		}()
		<-running
		if err := v.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, mp.ErrHandleClosed) {
			t.Fatalf("a call after Close: %v, want ErrHandleClosed", err)
		}
	}
}

// IPCTakeAndLeave takes one item, marks it done, closes its handle of
// the queue and exits: a consumer that is done, not one that died.
var IPCTakeAndLeave = mp.Register("test.ipc.takeleave", func(ctx context.Context, q *mp.JoinableQueue[int]) (struct{}, error) {
	if _, err := q.Get(ctx); err != nil {
		return struct{}{}, err
	}
	if err := q.TaskDone(); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, q.Close()
})

// IPCTakeAndReturn takes one item, marks it done and returns without
// closing the queue, as most of Python's consumers do.
var IPCTakeAndReturn = mp.Register("test.ipc.takereturn", func(ctx context.Context, q *mp.JoinableQueue[int]) (struct{}, error) {
	if _, err := q.Get(ctx); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, q.TaskDone()
})

// A consumer that marked its items done and closed the queue before
// exiting, or whose function returned without closing it, is not
// reported as dead: Join keeps waiting for the items left (here: returns
// the ended context's error), where a consumer killed instead makes it
// return a *ConsumerDiedError at once.
func TestJoinAfterConsumerLeft(t *testing.T) {
	checkResources(t)
	ctx := context.Background()
	ended, cancel := context.WithCancel(ctx)
	cancel()
	for _, how := range []string{"closed", "returned", "killed"} {
		kill := how == "killed"
		q := must[*mp.JoinableQueue[int]](t)(mp.NewJoinableQueue[int](0))
		for i := range 2 {
			if err := q.Put(ctx, i); err != nil {
				t.Fatal(err)
			}
		}
		if kill {
			took := must[*mp.Event](t)(mp.NewEvent())
			never := must[*mp.Event](t)(mp.NewEvent())
			p := start(t, IPCTakeAndHang, takeHangArg{Q: q, Took: took, Never: never, TaskDone: true})
			if err := took.Wait(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.Kill(); err != nil {
				t.Fatal(err)
			}
			join(t, p, -9)
			took.Close()
			never.Close()
		} else if how == "closed" {
			join(t, start(t, IPCTakeAndLeave, q), 0)
		} else {
			join(t, start(t, IPCTakeAndReturn, q), 0)
		}
		err := q.Join(ended)
		var died *mp.ConsumerDiedError
		switch {
		case kill && (!errors.As(err, &died) || died.Waiting != 1):
			t.Errorf("Join after the consumer was killed: %v; want a *ConsumerDiedError with 1 item waiting", err)
		case !kill && !errors.Is(err, context.Canceled):
			t.Errorf("Join after the consumer %s: %v; want the context's error (the consumer left, it did not die)", how, err)
		}
		q.Close()
	}
}

// Value.Update runs its function under the value's lock and stores the
// result; a function that panics leaves the number unchanged and the
// lock free (Python's with block releases it on an exception); a closed
// handle gives ErrHandleClosed.
func TestValueUpdate(t *testing.T) {
	checkResources(t)
	ctx := context.Background()
	v := must[*mp.Value[int64]](t)(mp.NewValue[int64](40))
	defer v.Close()
	if err := v.Update(ctx, func(x int64) int64 { return x + 2 }); err != nil || v.Load() != 42 {
		t.Fatalf("Update = %v, value %d; want nil, 42", err, v.Load())
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v; want the function's panic", r)
			}
		}()
		_ = v.Update(ctx, func(x int64) int64 {
			if v.Lock().TryLock() {
				t.Error("the lock is free inside Update")
			}
			panic("boom")
		})
	}()
	if v.Load() != 42 {
		t.Errorf("value %d after a panicking Update; want 42", v.Load())
	}
	if !v.Lock().TryLock() {
		t.Fatal("the lock is still held after a panicking Update")
	}
	if err := v.Lock().Unlock(); err != nil {
		t.Fatal(err)
	}
	v.Close()
	if err := v.Update(ctx, func(x int64) int64 { return x }); !errors.Is(err, mp.ErrHandleClosed) {
		t.Fatalf("Update after Close: %v; want ErrHandleClosed", err)
	}
}
