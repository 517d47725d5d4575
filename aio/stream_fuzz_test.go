package aio_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/braid-go/braid/aio"
)

// The stream reader against a reference: the input arrives in random
// chunks (fed by a task that yields between chunks), the reader has a
// random limit, and a random sequence of ReadLine, ReadUntil, ReadExactly
// and Read calls must return what a plain parse of the whole input says.
func FuzzStreamReader(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), []byte{3, 1, 4, 1, 5, 9}, uint16(8))
	f.Add([]byte("a\r\nbb\r\nccc"), []byte{0, 7, 2, 200, 33}, uint16(2))
	f.Add(bytes.Repeat([]byte("x"), 300), []byte{255, 1}, uint16(64))
	f.Add([]byte{}, []byte{}, uint16(1))
	f.Add([]byte("0000"), []byte("1"), uint16(2)) // asyncio: the separator may start at the limit
	f.Fuzz(func(t *testing.T, input, script []byte, limit16 uint16) {
		if len(input) > 4096 || len(script) > 64 {
			return
		}
		limit := int(limit16%512) + 1
		err := aio.Run(context.Background(), func(ctx context.Context) error {
			r := aio.NewStreamReader(ctx, limit)
			// The feeder: chunk sizes from the script, a yield between
			// chunks so that reads wait for data.
			feeder := aio.Spawn(ctx, func(ctx context.Context) (struct{}, error) {
				rest := input
				for i := 0; len(rest) > 0; i++ {
					n := 1
					if len(script) > 0 {
						n = int(script[i%len(script)])%97 + 1
					}
					n = min(n, len(rest))
					r.Feed(rest[:n])
					rest = rest[n:]
					if err := aio.Sleep(ctx, 0); err != nil {
						return struct{}{}, err
					}
				}
				r.FeedEOF()
				return struct{}{}, nil
			})
			ref := input // what is left according to the reference
			for step := 0; step < 200; step++ {
				op := byte(step)
				if len(script) > 0 {
					op = script[step%len(script)]
				}
				switch op % 4 {
				case 0: // ReadLine
					got, err := r.ReadLine(ctx)
					i := bytes.IndexByte(ref, '\n')
					switch {
					case i >= 0 && i <= limit:
						if err != nil || !bytes.Equal(got, ref[:i+1]) {
							t.Fatalf("ReadLine = %q, %v; want %q", got, err, ref[:i+1])
						}
						ref = ref[i+1:]
					case i >= 0 || len(ref) > limit:
						var over *aio.LimitOverrunError
						if !errors.As(err, &over) {
							t.Fatalf("ReadLine over the limit %d: %q, %v", limit, got, err)
						}
						// The reader discarded what it had buffered: resync
						// the reference from the reader's own state.
						return nil
					default:
						if err != io.EOF || !bytes.Equal(got, ref) {
							t.Fatalf("ReadLine at EOF = %q, %v; want %q, EOF", got, err, ref)
						}
						ref = nil
					}
				case 1: // ReadUntil("\r\n")
					sep := []byte("\r\n")
					got, err := r.ReadUntil(ctx, sep)
					i := bytes.Index(ref, sep)
					switch {
					case i >= 0 && i <= limit:
						if err != nil || !bytes.Equal(got, ref[:i+2]) {
							t.Fatalf("ReadUntil = %q, %v; want %q", got, err, ref[:i+2])
						}
						ref = ref[i+2:]
					case i >= 0 || len(ref)-1 > limit:
						var over *aio.LimitOverrunError
						if !errors.As(err, &over) {
							t.Fatalf("ReadUntil over the limit %d: %q, %v", limit, got, err)
						}
						return nil
					default:
						var inc *aio.IncompleteReadError
						if !errors.As(err, &inc) || !bytes.Equal(inc.Partial, ref) || inc.Expected != -1 {
							t.Fatalf("ReadUntil at EOF = %q, %v; want IncompleteReadError(%q)", got, err, ref)
						}
						ref = nil
					}
				case 2: // ReadExactly
					n := int(op/4) % 40
					got, err := r.ReadExactly(ctx, n)
					if n <= len(ref) {
						if err != nil || !bytes.Equal(got, ref[:n]) {
							t.Fatalf("ReadExactly(%d) = %q, %v; want %q", n, got, err, ref[:n])
						}
						ref = ref[n:]
					} else {
						var inc *aio.IncompleteReadError
						if !errors.As(err, &inc) || !bytes.Equal(inc.Partial, ref) || inc.Expected != n || !errors.Is(err, io.ErrUnexpectedEOF) {
							t.Fatalf("ReadExactly(%d) short = %q, %v; want IncompleteReadError(%q)", n, got, err, ref)
						}
						ref = nil
					}
				case 3: // Read(n)
					n := int(op/4)%50 + 1
					got, err := r.Read(ctx, n)
					if len(ref) == 0 {
						if err != io.EOF || len(got) != 0 {
							t.Fatalf("Read at EOF = %q, %v", got, err)
						}
					} else {
						if err != nil || len(got) == 0 || len(got) > n || !bytes.Equal(got, ref[:len(got)]) {
							t.Fatalf("Read(%d) = %q, %v; want a prefix of %q", n, got, err, ref)
						}
						ref = ref[len(got):]
					}
				}
				if len(ref) == 0 && r.AtEOF() {
					break
				}
			}
			_, err := feeder.Await(ctx)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
