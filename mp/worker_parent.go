package mp

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/braid-go/braid/internal/ring"
)

// The parent's side of a worker process: its state, starting it, its
// lifetime goroutine, the memory and idle watches, its stderr.

func writeAll(f *os.File, b []byte) error {
	_, err := f.Write(b)
	return err
}

// worker is the parent's side of one worker process.
type worker struct {
	p    *Pool
	n    int
	cond sync.Cond // on p.mu: wakes the writer

	// Set before the goroutines start, read-only after.
	proc    *os.Process
	pid     int
	tasksW  *os.File
	resultR *os.File
	stderrR *os.File
	tail    tailBuffer

	// Guarded by p.mu.
	inflight      ring.Ring[poolJob]
	inflightBytes int
	inflightNs    int64 // expected run time of the tasks in flight
	sent          int
	cancels       []uint64
	dropped       []poolJob // jobs whose context ended, taken off the queue by takeLocked
	acks          int       // acks owed to the worker (statusAckBit)
	accepting     bool      // takes new tasks
	waiting       bool      // the writer waits on cond
	dead          bool      // the process was reaped
	hello         bool
	helloErr      *wireError
	retired       bool // said it exceeded its memory limit
	memKilled     bool // killed by the pool for passing its memory limit
	memRSS        int64
	exited        bool // the process has exited: kill it no more
	killedRunning bool // killed by the pool to stop its running task
	protoErr      error
	idleTimer     *time.Timer
	idleArmed     bool
	idleSince     time.Time

	exitState  *os.ProcessState
	startErr   error
	writerDone chan struct{}
	readerDone chan struct{}
	stderrDone chan struct{}
	exitCh     chan struct{} // closed when the process is reaped
}

// signalLocked wakes the worker's writer (its only waiter). waiting is true
// only while the writer is blocked, so that wakeLocked never counts a
// writer that is already awake.
func (w *worker) signalLocked() {
	w.waiting = false
	w.cond.Signal()
}

// canTakeLocked reports whether the writer should take queued jobs now.
// With tasks in flight it waits until half the budget and half the depth
// are free, so that tasks go in batches rather than one write each.
func (w *worker) canTakeLocked() bool {
	p := w.p
	if !w.accepting || w.dead || p.queued == 0 {
		return false
	}
	head, ok := p.headLocked()
	if !ok || w.freeLocked(head) == 0 {
		return false
	}
	n := w.inflight.Len()
	return n == 0 || (w.inflightNs <= budgetNs/2 && n <= maxDepth/2) || p.queued <= w.freeLocked(head)
}

// closeDueLocked reports whether the worker should be told to exit: it
// takes no more work and has none in flight.
func (w *worker) closeDueLocked() bool {
	p := w.p
	if w.inflight.Len() > 0 {
		return false
	}
	return !w.accepting || (p.shut && p.queued == 0)
}

// run starts the worker process and supervises it until it is reaped.
func (w *worker) run() {
	p := w.p
	// Pdeathsig (Linux) is tied to the thread that started the process:
	// this goroutine keeps its thread until the worker is reaped, and the
	// thread ends with it. The task pipe is the other guard: a worker exits
	// when it closes, which the kernel does when the parent dies.
	runtime.LockOSThread()
	if err := w.start(); err != nil {
		close(w.writerDone)
		close(w.readerDone)
		close(w.stderrDone)
		w.startErr = err
		p.mu.Lock()
		w.dead = true
		p.mu.Unlock()
		w.finish()
		return
	}
	p.mu.Lock()
	if p.terminating {
		w.killLocked()
	}
	p.mu.Unlock()
	go w.writeLoop()
	go w.readLoop()
	go w.stderrLoop()
	var memDone chan struct{}
	if p.cfg.memLimit > 0 {
		if path := statmPath(w.pid); path != "" {
			// Opened now, before the worker can be reaped: the file is
			// this process's for good.
			if f, err := os.Open(path); err == nil {
				memDone = make(chan struct{})
				go w.watchMemory(f, memDone)
			}
		}
	}
	if awaitExit(w.pid) {
		// The worker has exited and is not reaped: its process group id
		// is still its own. Kill what its tasks started and left running.
		p.mu.Lock()
		w.exited = true
		killGroup(w.pid)
		p.mu.Unlock()
	}
	st, err := w.proc.Wait()
	p.mu.Lock()
	w.exited = true
	p.mu.Unlock()
	close(w.exitCh)
	if memDone != nil {
		<-memDone
	}
	if err != nil {
		// Cannot happen for our own child; treat it as a death.
		w.startErr = err
	}
	w.exitState = st
	// A grandchild may hold the worker's stderr open: stop reading soon.
	_ = w.stderrR.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	<-w.readerDone
	<-w.stderrDone
	p.mu.Lock()
	w.dead = true
	w.signalLocked()
	p.mu.Unlock()
	<-w.writerDone
	w.finish()
}

// start creates the pipes and the process.
func (w *worker) start() (err error) {
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
		if err != nil {
			for _, f := range []*os.File{w.tasksW, w.resultR, w.stderrR} {
				if f != nil {
					f.Close()
				}
			}
		}
	}()
	tasksR, tasksW, err := os.Pipe()
	if err != nil {
		return err
	}
	files = append(files, tasksR)
	w.tasksW = tasksW
	resultR, resultW, err := os.Pipe()
	if err != nil {
		return err
	}
	files = append(files, resultW)
	w.resultR = resultR
	stderrR, stderrW, err := os.Pipe()
	if err != nil {
		return err
	}
	files = append(files, stderrW)
	w.stderrR = stderrR
	setPipeSize(tasksW, 1<<20)
	setPipeSize(resultW, 1<<20)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return err
	}
	files = append(files, devnull)
	attr := &os.ProcAttr{
		Env:   append(os.Environ(), envWorker+"="+protoVersion),
		Files: []*os.File{devnull, os.Stdout, stderrW, tasksR, resultW},
		Sys:   workerSysProcAttr(),
	}
	proc, err := os.StartProcess(w.p.exePath, []string{w.p.exe, workerArg}, attr)
	if err != nil {
		return fmt.Errorf("mp: starting a worker (%s): %w", w.p.exe, err)
	}
	w.p.mu.Lock()
	w.proc, w.pid = proc, proc.Pid
	w.p.mu.Unlock()
	return nil
}

// protocolError kills a worker that broke the protocol.
func (w *worker) protocolError(err error) {
	p := w.p
	p.mu.Lock()
	if w.protoErr == nil {
		w.protoErr = err
	}
	w.accepting = false
	w.killLocked()
	p.mu.Unlock()
}

// killLocked kills the worker and the programs its tasks started (its
// process group), unless it has exited already: then its pid, reaped or
// about to be, may name another process.
func (w *worker) killLocked() {
	if w.proc == nil || w.exited {
		return
	}
	killGroup(w.pid)
	_ = w.proc.Kill()
}

// memSampleEvery is how often the parent reads the resident memory of a
// worker, under a memory limit.
const memSampleEvery = 5 * time.Millisecond

// watchMemory samples the worker's resident memory from f (its statm) and
// kills it when it passes the pool's memory limit, whatever it is doing:
// a task that allocates without bound is stopped, and fails with a
// *MemoryError. It ends when the worker exits.
func (w *worker) watchMemory(f *os.File, done chan struct{}) {
	defer close(done)
	defer f.Close()
	p := w.p
	t := time.NewTicker(memSampleEvery)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			select {
			case <-w.exitCh:
				return
			case <-t.C:
			}
		}
		rss, err := readResident(f)
		if err != nil {
			return // the worker is gone
		}
		if rss <= p.cfg.memLimit {
			continue
		}
		p.mu.Lock()
		if !w.exited && !w.memKilled {
			w.memKilled = true
			w.memRSS = rss
			w.accepting = false
			p.stats.Killed++
			w.killLocked()
		}
		p.mu.Unlock()
		return
	}
}

func (w *worker) armIdleLocked() {
	w.idleSince = time.Now()
	if w.idleArmed {
		return
	}
	w.idleArmed = true
	if w.idleTimer == nil {
		w.idleTimer = time.AfterFunc(w.p.cfg.idle, w.idleCheck)
	} else {
		w.idleTimer.Reset(w.p.cfg.idle)
	}
}

func (w *worker) idleCheck() {
	p := w.p
	p.mu.Lock()
	defer p.mu.Unlock()
	w.idleArmed = false
	if w.dead || !w.accepting || w.inflight.Len() > 0 {
		return
	}
	if left := p.cfg.idle - time.Since(w.idleSince); left > 0 {
		w.idleArmed = true
		w.idleTimer.Reset(left)
		return
	}
	w.accepting = false
	p.stats.Recycled++
	w.signalLocked()
}

// stderrLoop copies the worker's stderr to the pool's and keeps its tail.
func (w *worker) stderrLoop() {
	defer close(w.stderrDone)
	defer w.stderrR.Close()
	buf := make([]byte, 4096)
	for {
		n, err := w.stderrR.Read(buf)
		if n > 0 {
			w.tail.write(buf[:n])
			if w.p.cfg.stderr != io.Discard {
				_, _ = w.p.cfg.stderr.Write(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}
