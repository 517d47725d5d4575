package aio

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
)

// Messages exactly the size of the Read buffer go straight into it, one
// after another, without passing through the reader's buffer (a read
// that filled the buffer makes the next one read past it, with readv,
// instead of through the loop's buffer and a copy); a bulk transfer
// after them still arrives whole and in order, the part past each Read's
// buffer kept in the reader's buffer.
func TestConnReadOfBufferSizedMessagesStaysDirect(t *testing.T) {
	const size, msgs, bulk = 4096, 20, 1 << 20
	err := Run(context.Background(), func(ctx context.Context) error {
		result := NewFuture[error](ctx)
		srv, err := StartServer(ctx, "tcp", "127.0.0.1:0", func(ctx context.Context, r *StreamReader, w *StreamWriter) {
			c := r.Conn()
			buf := make([]byte, size)
			check := func() error {
				for i := 0; i < msgs; i++ {
					if _, err := io.ReadFull(c, buf); err != nil {
						return err
					}
					if buf[0] != byte(i) || buf[size-1] != byte(i) {
						return fmt.Errorf("message %d: got bytes %d..%d", i, buf[0], buf[size-1])
					}
					if cap(r.buf) != 0 {
						return fmt.Errorf("message %d went through the reader's buffer (cap %d)", i, cap(r.buf))
					}
					if _, err := c.Write([]byte{byte(i)}); err != nil {
						return err
					}
				}
				var got bytes.Buffer
				if _, err := io.CopyBuffer(&got, io.LimitReader(c, bulk), make([]byte, size)); err != nil {
					return err
				}
				for i, b := range got.Bytes() {
					if b != byte(i%251) {
						return fmt.Errorf("bulk byte %d is %d, want %d", i, b, i%251)
					}
				}
				if got.Len() != bulk {
					return fmt.Errorf("bulk: got %d bytes, want %d", got.Len(), bulk)
				}
				return nil
			}
			result.SetResult(check())
		})
		if err != nil {
			return err
		}
		defer srv.Close()
		c, err := Dial(ctx, "tcp", srv.Addr().String())
		if err != nil {
			return err
		}
		defer c.Close()
		ack := make([]byte, 1)
		for i := 0; i < msgs; i++ {
			if _, err := c.Write(bytes.Repeat([]byte{byte(i)}, size)); err != nil {
				return err
			}
			if _, err := io.ReadFull(c, ack); err != nil {
				if result.Done() {
					if res, _ := result.Result(); res != nil {
						return res // the server's check failed and hung up
					}
				}
				return fmt.Errorf("waiting for the ack of message %d: %w", i, err)
			}
		}
		data := make([]byte, bulk)
		for i := range data {
			data[i] = byte(i % 251)
		}
		if _, err := c.Write(data); err != nil {
			return err
		}
		res, err := result.Await(ctx)
		if err != nil {
			return err
		}
		return res
	})
	if err != nil {
		t.Fatal(err)
	}
}
