package mp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
)

// ErrPipeClosed is returned by Recv once the pipe was shut down and
// everything sent was received (Python's EOFError), and by Send on a pipe
// shut down (Python's BrokenPipeError).
var ErrPipeClosed = errors.New("mp: the other end of the pipe is closed")

// Conn is one end of a Pipe: Python's multiprocessing.Connection. Values
// of type T go through mp's codec, as the arguments of registered
// functions, over a ring buffer in shared memory for each direction. Hand
// an end to another process as an argument of a registered function.
//
// Each end is meant for one process at a time, as in Python, but several
// goroutines or processes using one end do not corrupt it: each value is
// received once. In a task of an aio loop, Send and Recv suspend only the
// task.
type Conn[T any] struct {
	send, recv *Queue[T]
}

// NewPipe returns the two ends of a pipe (Python's Pipe(duplex)). With
// duplex, both ends send and receive; without, the first end only
// receives and the second only sends. opts size each direction's buffer
// (QueueBytes).
func NewPipe[T any](duplex bool, opts ...QueueOption) (*Conn[T], *Conn[T], error) {
	// Each direction is used through both ends: a second handle each.
	// qs holds, per direction, the queue and then its second handle.
	dirs := 1
	if duplex {
		dirs = 2
	}
	var qs []*Queue[T]
	for range dirs {
		q, err := NewQueue[T](0, opts...)
		if err == nil {
			qs = append(qs, q)
			q, err = q.dup()
		}
		if err != nil {
			for _, q := range qs {
				q.Close()
			}
			return nil, nil, err
		}
		qs = append(qs, q)
	}
	if !duplex {
		return &Conn[T]{recv: qs[0]}, &Conn[T]{send: qs[1]}, nil
	}
	return &Conn[T]{send: qs[0], recv: qs[2]}, &Conn[T]{send: qs[3], recv: qs[1]}, nil
}

// dup returns a second handle of the queue in this process.
func (q *Queue[T]) dup() (*Queue[T], error) {
	b, err := q.MarshalBinary()
	if err != nil {
		return nil, err
	}
	q2 := &Queue[T]{}
	return q2, q2.UnmarshalBinary(b)
}

// Send sends v to the other end; it waits only while the buffer is full.
func (c *Conn[T]) Send(ctx context.Context, v T) error {
	if c.send == nil {
		return errors.New("mp: Send on the receiving end of a one-way pipe")
	}
	err := c.send.Put(ctx, v)
	if errors.Is(err, ErrQueueShutDown) {
		return ErrPipeClosed
	}
	return err
}

// Recv returns the next value, waiting for one until ctx ends; it returns
// ErrPipeClosed once the other end is closed and drained.
func (c *Conn[T]) Recv(ctx context.Context) (T, error) {
	if c.recv == nil {
		var zero T
		return zero, errors.New("mp: Recv on the sending end of a one-way pipe")
	}
	v, err := c.recv.Get(ctx)
	if errors.Is(err, ErrQueueShutDown) {
		return v, ErrPipeClosed
	}
	return v, err
}

// RecvInto is Recv for a Conn[[]byte] that reuses the caller's buffer,
// as Queue.GetInto: the value is copied into the array *dst has when its
// capacity is enough, else into a new array that *dst then holds, so a
// receiver passing the same variable each time allocates only when a
// value is longer than any before, and the previous value's bytes are
// overwritten. On an error *dst is unchanged. For a Conn of any other
// type it returns an error: use Recv.
func (c *Conn[T]) RecvInto(ctx context.Context, dst *T) error {
	if c.recv == nil {
		return errors.New("mp: RecvInto on the sending end of a one-way pipe")
	}
	if c.recv.codec != codecRaw && c.recv.seg != nil {
		return fmt.Errorf("mp: RecvInto is for a Conn[[]byte] (it reuses the buffer); for a Conn[%s] use Recv", reflect.TypeFor[T]())
	}
	err := c.recv.GetInto(ctx, dst)
	if errors.Is(err, ErrQueueShutDown) {
		return ErrPipeClosed
	}
	return err
}

// Poll reports whether a value is waiting to be received.
func (c *Conn[T]) Poll() bool { return c.recv != nil && c.recv.Len() > 0 }

// Shutdown shuts the pipe down for both ends, in every process: each end
// receives what was sent, then ErrPipeClosed, and Sends fail with
// ErrPipeClosed. (Python's EOFError comes when every copy of the other
// end is closed; processes here do not own descriptors that the kernel
// counts, so the end of the stream is said explicitly.)
func (c *Conn[T]) Shutdown() error {
	for _, q := range []*Queue[T]{c.send, c.recv} {
		if q != nil {
			if err := q.Shutdown(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close releases this process's mappings of the end (Python's close() of
// this process's copy); the other end and other copies go on working.
func (c *Conn[T]) Close() error {
	if c.send != nil {
		c.send.Close()
	}
	if c.recv != nil {
		c.recv.Close()
	}
	return nil
}

// MarshalBinary encodes the end for another process.
func (c *Conn[T]) MarshalBinary() ([]byte, error) {
	var out []byte
	for _, q := range []*Queue[T]{c.send, c.recv} {
		if q == nil {
			out = binary.AppendUvarint(out, 0)
			continue
		}
		b, err := q.MarshalBinary()
		if err != nil {
			return nil, err
		}
		out = binary.AppendUvarint(out, uint64(len(b)))
		out = append(out, b...)
	}
	return out, nil
}

// UnmarshalBinary maps the pipe end that b names.
func (c *Conn[T]) UnmarshalBinary(b []byte) error {
	var qs [2]*Queue[T]
	for i := range qs {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			for _, q := range qs {
				if q != nil {
					q.Close()
				}
			}
			return fmt.Errorf("mp: not the encoding of a pipe end")
		}
		b = b[k:]
		if n == 0 {
			continue
		}
		qs[i] = &Queue[T]{}
		if err := qs[i].UnmarshalBinary(b[:n]); err != nil {
			if qs[0] != nil && i == 1 {
				qs[0].Close()
			}
			return err
		}
		b = b[n:]
	}
	c.send, c.recv = qs[0], qs[1]
	return nil
}
