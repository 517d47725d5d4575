package mp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// The parent's side of a worker's pipes: writing tasks to it in batches and
// reading its answers.

// writeLoop sends the init frame, then tasks and cancellations, batching
// what is ready into one write. Closing the task pipe tells the worker to
// exit; the writer does that when the worker is to take no more work.
func (w *worker) writeLoop() {
	defer close(w.writerDone)
	defer w.tasksW.Close()
	p := w.p
	buf := make([]byte, 0, 64<<10)
	buf, off := beginFrame(buf, kindInit)
	initEnc, err := encMode.Marshal(&initMsg{MaxFrame: p.cfg.maxFrame, MemoryLimit: p.cfg.memLimit, InitFunc: p.cfg.initFunc, InitArg: p.cfg.initArg})
	if err != nil {
		panic(err) // plain data: cannot fail
	}
	buf = append(buf, initEnc...)
	endFrame(buf, off, 0)
	if _, err := w.tasksW.Write(buf); err != nil {
		return
	}
	var batch []poolJob
	var cancels []uint64
	for {
		batch, cancels = batch[:0], cancels[:0]
		p.mu.Lock()
		for {
			if w.dead {
				p.mu.Unlock()
				return
			}
			if len(w.cancels) > 0 || w.acks > 0 || w.canTakeLocked() {
				break
			}
			if w.closeDueLocked() {
				p.mu.Unlock()
				// Say goodbye: the end of the pipe without it means to the
				// worker that this process died.
				buf, off = beginFrame(buf[:0], kindBye)
				endFrame(buf, off, 0)
				_, _ = w.tasksW.Write(buf)
				return
			}
			w.waiting = true
			w.cond.Wait()
		}
		cancels = append(cancels, w.cancels...)
		w.cancels = w.cancels[:0]
		acks := w.acks
		w.acks = 0
		batch = w.takeLocked(batch)
		dropped := w.dropped
		w.dropped = nil
		p.mu.Unlock()
		for _, j := range dropped {
			stopWatch(j)
			j.Fail(context.Cause(j.Context()))
		}

		buf = buf[:0]
		for ; acks > 0; acks-- {
			buf, off = beginFrame(buf, kindAck)
			endFrame(buf, off, 0)
		}
		for _, id := range cancels {
			buf, off = beginFrame(buf, kindCancel)
			buf = binary.AppendUvarint(buf, id)
			endFrame(buf, off, 0)
		}
		for _, j := range batch {
			e := j.ent()
			if len(buf) > 0 && len(buf)+len(e.payload) > 256<<10 {
				if _, err := w.tasksW.Write(buf); err != nil {
					return
				}
				buf = buf[:0]
			}
			kind := kindTask
			if e.batch {
				kind = kindBatch
			}
			buf, off = beginFrame(buf, kind)
			buf = binary.AppendUvarint(buf, e.id)
			var deadline int64
			if d, ok := j.Context().Deadline(); ok {
				deadline = d.UnixNano()
			}
			buf = binary.AppendVarint(buf, deadline)
			buf = binary.AppendUvarint(buf, uint64(e.runTimeout))
			buf = binary.AppendUvarint(buf, uint64(len(e.name)))
			buf = append(buf, e.name...)
			if len(e.payload) >= bigFrame {
				endFrame(buf, off, len(e.payload))
				if _, err := w.tasksW.Write(buf); err != nil {
					return
				}
				write := writeBulk // the payload stays unmodified while the job lives
				if e.foreign {
					write = writeAll
				}
				if err := write(w.tasksW, e.payload); err != nil {
					return
				}
				buf = buf[:0]
				continue
			}
			buf = append(buf, e.payload...)
			endFrame(buf, off, 0)
		}
		if len(buf) > 0 {
			if _, err := w.tasksW.Write(buf); err != nil {
				return
			}
		}
		if cap(buf) > 1<<20 {
			buf = make([]byte, 0, 64<<10)
		}
	}
}

// takeLocked moves queued jobs to the worker while its budget allows.
func (w *worker) takeLocked(batch []poolJob) []poolJob {
	p := w.p
	for w.accepting {
		j, ok := p.headLocked()
		if !ok {
			break
		}
		e := j.ent()
		n := w.inflight.Len()
		exp := expectedNs(e)
		if n > 0 && (n >= maxDepth || w.inflightBytes >= maxInflightBytes || w.inflightNs+exp > budgetNs) {
			break
		}
		p.queue.Pop()
		p.queued--
		if ctx := j.Context(); ctx != nil && ctx.Err() != nil {
			// Its context ended and the pool has not yet heard: it fails
			// here (by the writer, outside the lock), costing no worker.
			e.state = stateDone
			w.dropped = append(w.dropped, j)
			continue
		}
		if !e.started {
			if !j.Start() {
				// Cancelled by its future's Cancel: drop it.
				e.state = stateDone
				if e.stop != nil {
					e.stop()
				}
				continue
			}
			e.started = true
		}
		p.nextID++
		e.id = p.nextID
		e.state = stateInflight
		e.w = w
		e.attempts++
		e.expNs = exp
		w.inflight.Push(j)
		w.inflightBytes += len(e.payload)
		w.inflightNs += exp
		w.sent++
		batch = append(batch, j)
		if p.cfg.maxTasks > 0 && w.sent >= p.cfg.maxTasks {
			// Recycle: this worker takes nothing more; start its
			// replacement now so that it is ready in time.
			w.accepting = false
			p.stats.Recycled++
		}
	}
	w.armRunLocked()
	if p.queued > 0 {
		p.wakeLocked()
		p.ensureWorkersLocked()
	}
	p.checkFinishedLocked()
	return batch
}

// delivery is a result read from a worker, delivered outside the lock.
type delivery struct {
	j       poolJob
	status  byte
	payload []byte
	owned   bool
}

// readLoop reads the worker's frames and completes jobs. It ends at the
// end of the result pipe (the worker exited) or at a broken frame (then it
// kills the worker).
func (w *worker) readLoop() {
	defer close(w.readerDone)
	p := w.p
	fr := newFrameReader(w.resultR, p.cfg.maxFrame)
	var batch []delivery
	for {
		kind, body, owned, err := fr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				w.protocolError(err)
			}
			w.resultR.Close()
			return
		}
		batch = batch[:0]
		p.mu.Lock()
		for {
			batch, err = w.frameLocked(kind, body, owned, batch)
			if err != nil || !fr.buffered() {
				break
			}
			kind, body, owned, err = fr.next()
			if err != nil {
				break
			}
		}
		if w.inflight.Len() == 0 && p.cfg.idle > 0 && w.accepting {
			w.armIdleLocked()
		}
		if w.waiting && (len(w.cancels) > 0 || w.acks > 0 || w.canTakeLocked() || w.closeDueLocked()) {
			w.signalLocked()
		}
		p.mu.Unlock()
		for _, d := range batch {
			stopWatch(d.j)
			switch d.status {
			case statusOK:
				d.j.deliver(d.payload, d.owned, nil, w.pid)
			case statusError:
				var werr wireError
				if err := decMode.Unmarshal(d.payload, &werr); err != nil {
					werr = wireError{Kind: errPlain, Msg: fmt.Sprintf("%v: undecodable error from worker pid %d: %v", ErrProtocol, w.pid, err)}
				}
				d.j.deliver(nil, false, &werr, w.pid)
			}
		}
		if err != nil {
			w.protocolError(err)
			w.resultR.Close()
			return
		}
	}
}

// frameLocked handles one frame from the worker.
func (w *worker) frameLocked(kind byte, body []byte, owned bool, batch []delivery) ([]delivery, error) {
	p := w.p
	switch kind {
	case kindResult:
		r, err := parseResult(body)
		if err != nil {
			return batch, err
		}
		j, ok := w.inflight.Pop()
		if !ok || j.ent().id != r.id {
			return batch, fmt.Errorf("%w: result for task %d, expected another", ErrProtocol, r.id)
		}
		e := j.ent()
		stopRunLocked(e)
		w.inflightBytes -= len(e.payload)
		w.inflightNs -= e.expNs
		p.stats.Completed++
		if r.status&statusAckBit != 0 {
			r.status &^= statusAckBit
			w.acks++
		}
		if r.status == statusOK {
			// Moving average of the run time of one call (shared by every
			// pool: it is the function's).
			x := int64(r.runNs) / int64(e.items)
			if old := e.avg.Load(); old == 0 {
				e.avg.Store(max(x, 1))
			} else {
				e.avg.Store(max(old+(x-old)/8, 1))
			}
		}
		if e.state == stateInflight {
			e.state = stateDone
			e.w = nil
			if r.status == statusSkipped {
				// Only cancelled tasks are skipped, and those are done.
				return batch, fmt.Errorf("%w: task %d skipped but not cancelled", ErrProtocol, r.id)
			}
			batch = append(batch, delivery{j: j, status: r.status, payload: r.payload, owned: owned})
		}
		w.armRunLocked() // the next task starts now
		return batch, nil
	case kindHello:
		pid, rest, err := uvarint(body)
		if err != nil || len(rest) < 1 {
			return batch, fmt.Errorf("%w: bad hello", ErrProtocol)
		}
		if int(pid) != w.pid {
			return batch, fmt.Errorf("%w: hello from pid %d, started pid %d", ErrProtocol, pid, w.pid)
		}
		if rest[0] != statusOK {
			var werr wireError
			if err := decMode.Unmarshal(rest[1:], &werr); err != nil {
				werr = wireError{Kind: errPlain, Msg: "undecodable initializer error: " + err.Error()}
			}
			w.helloErr = &werr
			w.accepting = false
			return batch, nil
		}
		w.hello = true
		p.startFails = 0
		w.armRunLocked()
		return batch, nil
	case kindRetire:
		rss, _, err := uvarint(body)
		if err != nil {
			return batch, err
		}
		w.retired = true
		if w.accepting {
			w.accepting = false
			p.stats.Recycled++
		}
		p.log.Info("mp: worker over its memory limit is replaced", "pool", p.name, "pid", w.pid, "rss_bytes", rss, "limit_bytes", p.cfg.memLimit)
		p.ensureWorkersLocked()
		return batch, nil
	}
	return batch, fmt.Errorf("%w: frame of unknown kind %d", ErrProtocol, kind)
}
