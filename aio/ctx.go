package aio

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

type loopKey struct{}
type taskKey struct{}

// loopCtx is the context of a task or of a Timeout scope: a cancellable
// context whose state changes only on its loop's goroutine and whose
// deadline runs on the loop's clock (virtual clocks included).
//
// Cancellation wakes the owner (the task the context belongs to, or the
// task that opened the scope) if it is suspended, so that a task waiting
// with its own context needs no registration at all. Other waiters
// register through afterFunc. Err, Done, Deadline and AfterFunc are safe
// from any goroutine, as context.Context requires.
type loopCtx struct {
	// up is the parent when it is a context of the same loop; otherwise
	// the parent is lx.far. Both are set before the context is published
	// and never change, so any goroutine may read them.
	up    *loopCtx
	owner *taskCore
	lx    *ctxLoopExtra
	sx    *ctxSharedExtra       // guarded by c.lock()
	errp  atomic.Pointer[error] // set once, when done
	idx   int32                 // position in up's children while attached, -1 when not
	// isTask: this is the owner task's own context.
	isTask bool
	// taskDone: the task of this context has finished.
	taskDone bool
}

// parent returns c's parent context.
func (c *loopCtx) parent() context.Context {
	if c.up != nil {
		return c.up
	}
	return c.lx.far
}

// loop returns the loop c belongs to.
func (c *loopCtx) loop() *Loop {
	if c.owner != nil {
		return c.owner.loop
	}
	return c.lx.loop
}

// ctxLocks guard the little state of loop contexts that other goroutines
// reach (Done, AfterFunc, Deadline): striped, so that a task does not
// carry a mutex of its own.
var ctxLocks [64]struct {
	sync.Mutex
	_ [56]byte // one cache line each
}

func (c *loopCtx) lock() *sync.Mutex {
	return &ctxLocks[(uintptr(unsafe.Pointer(c))>>7)%uintptr(len(ctxLocks))].Mutex
}

// isDone reports whether c is done.
func (c *loopCtx) isDone() bool { return c.errp.Load() != nil }

// ctxLoopExtra holds what only some contexts need, touched only on the
// loop's goroutine; kept apart so that a task costs less memory.
type ctxLoopExtra struct {
	// far is the parent when it is not a context of the same loop, and
	// loop the loop when the context has no owner task: both set at
	// creation (see initLoopCtx) and read by any goroutine.
	far  context.Context
	loop *Loop

	// children are contexts of the same loop, cancelled synchronously. A
	// child that leaves empties its slot and pushes it on free, so that
	// leaving never touches another child's memory (a task ending is the
	// hot path of a fan-out).
	children []*loopCtx
	free     []int32
	stopFar  func() bool // stops propagation from a foreign parent
	timer    *Timer      // deadline timer of a Timeout scope
}

// ctxSharedExtra holds what other goroutines may reach, under mu.
type ctxSharedExtra struct {
	done     chan struct{}
	funcs    map[uint64]func()
	funcSeq  uint64
	deadline time.Time
}

func (c *loopCtx) loopExtra() *ctxLoopExtra {
	if c.lx == nil {
		c.lx = &ctxLoopExtra{}
	}
	return c.lx
}

// shared returns the shared extra; c.lock() must be held.
func (c *loopCtx) shared() *ctxSharedExtra {
	if c.sx == nil {
		c.sx = &ctxSharedExtra{}
	}
	return c.sx
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func newRootCtx(l *Loop) *loopCtx {
	return &loopCtx{lx: &ctxLoopExtra{far: context.Background(), loop: l}, idx: -1}
}

// newLoopCtx returns a child of parent bound to loop l, owned by owner.
// Loop-only.
func newLoopCtx(l *Loop, parent context.Context, owner *taskCore) *loopCtx {
	c := &loopCtx{}
	c.init(l, parent, owner, false)
	return c
}

// init makes c a child of parent on loop l, owned by owner (a task's own
// context when isTask), and links it to the parent's cancellation.
// Loop-only.
func (c *loopCtx) init(l *Loop, parent context.Context, owner *taskCore, isTask bool) {
	c.owner, c.isTask, c.idx = owner, isTask, -1
	if p, ok := parent.(*loopCtx); ok && p.loop() == l {
		c.up = p
	} else {
		c.lx = &ctxLoopExtra{far: parent}
	}
	if owner == nil {
		c.loopExtra().loop = l
	}
	c.attach()
}

// attach links c to its parent's cancellation.
func (c *loopCtx) attach() {
	if p := c.up; p != nil {
		if err := p.Err(); err != nil {
			c.cancel(err)
			return
		}
		px := p.loopExtra()
		if n := len(px.free); n > 0 {
			c.idx = px.free[n-1]
			px.free = px.free[:n-1]
			px.children[c.idx] = c
		} else {
			c.idx = int32(len(px.children))
			px.children = append(px.children, c)
		}
		return
	}
	parent := c.lx.far
	if parent.Done() == nil {
		return
	}
	if err := parent.Err(); err != nil {
		c.cancel(err)
		return
	}
	l := c.loop()
	stop := context.AfterFunc(parent, func() {
		err := parent.Err()
		l.CallSoonThreadsafe(func() { c.cancel(err) })
	})
	c.loopExtra().stopFar = l.watchForeign(parent, func() { c.cancel(parent.Err()) }, stop)
}

// detach removes c from its parent's cancellation. Loop-only.
func (c *loopCtx) detach() {
	if p := c.up; p != nil && c.idx >= 0 {
		px := p.lx
		px.children[c.idx] = nil
		px.free = append(px.free, c.idx)
		if len(px.free) == len(px.children) {
			// Every child has left: start again in the same arrays (a
			// fan-out that happened once tends to happen again).
			clear(px.children)
			px.children, px.free = px.children[:0], px.free[:0]
		}
		c.idx = -1
		if p.taskDone && len(px.children) == len(px.free) {
			p.detach()
		}
	}
	if c.lx != nil && c.lx.stopFar != nil {
		c.lx.stopFar()
		c.lx.stopFar = nil
	}
}

// cancel marks c and its children done with err. Loop-only.
func (c *loopCtx) cancel(err error) {
	if c.isDone() {
		return
	}
	mu := c.lock()
	mu.Lock()
	c.errp.Store(&err)
	var funcs map[uint64]func()
	if sx := c.sx; sx != nil {
		if sx.done != nil {
			close(sx.done)
		}
		funcs = sx.funcs
		sx.funcs = nil
	}
	mu.Unlock()
	c.detach()
	if lx := c.lx; lx != nil {
		if lx.timer != nil {
			lx.timer.Cancel()
			lx.timer = nil
		}
		children := lx.children
		lx.children, lx.free = nil, nil
		for _, ch := range children {
			if ch != nil {
				ch.idx = -1
				ch.cancel(err)
			}
		}
	}
	for _, f := range funcs {
		f()
	}
	if c.owner != nil {
		c.owner.loop.wake(c.owner)
	}
}

// Deadline implements context.Context.
func (c *loopCtx) Deadline() (time.Time, bool) {
	mu := c.lock()
	mu.Lock()
	var d time.Time
	if c.sx != nil {
		d = c.sx.deadline
	}
	mu.Unlock()
	if !d.IsZero() {
		if pd, ok := c.parent().Deadline(); ok && pd.Before(d) {
			return pd, true
		}
		return d, true
	}
	return c.parent().Deadline()
}

// Done implements context.Context. The channel is made on first use.
func (c *loopCtx) Done() <-chan struct{} {
	mu := c.lock()
	mu.Lock()
	defer mu.Unlock()
	if c.sx == nil || c.sx.done == nil {
		if c.isDone() {
			return closedChan
		}
		c.shared().done = make(chan struct{})
	}
	return c.sx.done
}

// Err implements context.Context.
func (c *loopCtx) Err() error {
	if p := c.errp.Load(); p != nil {
		return *p
	}
	return nil
}

// Value implements context.Context.
func (c *loopCtx) Value(key any) any {
	switch key.(type) {
	case loopKey:
		return c.loop()
	case taskKey:
		if c.isTask {
			return c.owner
		}
	}
	return c.parent().Value(key)
}

// AfterFunc arranges for f to run when c is done; the context package
// uses it to link child contexts without a goroutine. Safe from any
// goroutine; f runs on the loop's goroutine.
func (c *loopCtx) AfterFunc(f func()) func() bool {
	mu := c.lock()
	mu.Lock()
	if c.isDone() {
		mu.Unlock()
		go f()
		return func() bool { return false }
	}
	sx := c.shared()
	if sx.funcs == nil {
		sx.funcs = make(map[uint64]func())
	}
	sx.funcSeq++
	id := sx.funcSeq
	sx.funcs[id] = f
	mu.Unlock()
	return func() bool {
		mu.Lock()
		defer mu.Unlock()
		if c.sx != nil {
			if _, ok := c.sx.funcs[id]; ok {
				delete(c.sx.funcs, id)
				return true
			}
		}
		return false
	}
}

func (c *loopCtx) String() string {
	if c.isTask {
		return "aio.TaskContext(" + c.owner.taskName() + ")"
	}
	return "aio.LoopContext"
}

// loopOf returns the loop that ctx carries, or nil.
func loopOf(ctx context.Context) *Loop {
	if c, ok := ctx.(*loopCtx); ok {
		return c.loop()
	}
	l, _ := ctx.Value(loopKey{}).(*Loop)
	return l
}

// ctxErr is ctx.Err without the interface call for braid's own contexts.
func ctxErr(ctx context.Context) error {
	if c, ok := ctx.(*loopCtx); ok {
		return c.Err()
	}
	return ctx.Err()
}

// watch arranges for t to be woken when ctx is done, while t waits. The
// returned function undoes it. Waiting with one's own context costs
// nothing: its cancellation wakes its owner directly.
func (t *taskCore) watch(ctx context.Context) func() bool {
	if c, ok := ctx.(*loopCtx); ok && c.loop() == t.loop {
		if c.owner == t {
			return nil
		}
		return c.AfterFunc(func() { t.loop.wake(t) })
	}
	if ctx.Done() == nil {
		return nil
	}
	l := t.loop
	stop := context.AfterFunc(ctx, func() {
		l.CallSoonThreadsafe(func() { l.wake(t) })
	})
	return l.watchForeign(ctx, func() { l.wake(t) }, stop)
}

// foreignWatch is a context from outside the loop that a virtual clock
// must look at before it jumps: its cancellation reaches the loop from
// another goroutine, which could arrive after the jump.
type foreignWatch struct {
	ctx  context.Context
	fire func()
}

// watchForeign registers ctx, with a virtual clock, so that runOnce can
// deliver its cancellation synchronously before jumping; stop is the
// AfterFunc stop to wrap. Loop-only.
func (l *Loop) watchForeign(ctx context.Context, fire func(), stop func() bool) func() bool {
	if !l.virtual {
		return stop
	}
	fw := &foreignWatch{ctx: ctx, fire: fire}
	if l.foreign == nil {
		l.foreign = make(map[*foreignWatch]struct{})
	}
	l.foreign[fw] = struct{}{}
	return func() bool {
		delete(l.foreign, fw)
		return stop()
	}
}

// deliverForeign runs the fire function of every watched foreign context
// that is already done, and reports whether there was one.
func (l *Loop) deliverForeign() bool {
	fired := false
	for fw := range l.foreign {
		if fw.ctx.Err() != nil {
			delete(l.foreign, fw)
			fw.fire()
			fired = true
		}
	}
	return fired
}

// finished is called when c's task is done: c leaves its parent unless
// contexts derived from it still need the parent's cancellation.
func (c *loopCtx) finished() {
	c.taskDone = true
	if c.lx == nil || len(c.lx.children) == len(c.lx.free) {
		c.detach()
	}
}
