package mp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"go.uber.org/goleak"
)

func frame(kind byte, body []byte) []byte {
	b, off := beginFrame(nil, kind)
	b = append(b, body...)
	endFrame(b, off, 0)
	return b
}

func TestFrameReaderAcrossReads(t *testing.T) {
	defer goleak.VerifyNone(t)
	var stream []byte
	big := bytes.Repeat([]byte{7}, 3*bigFrame)
	stream = append(stream, frame(kindTask, []byte("one"))...)
	stream = append(stream, frame(kindResult, big)...)
	stream = append(stream, frame(kindCancel, []byte{9})...)
	for name, r := range map[string]io.Reader{
		"whole":    bytes.NewReader(stream),
		"one byte": iotest.OneByteReader(bytes.NewReader(stream)),
		"halves":   iotest.HalfReader(bytes.NewReader(stream)),
	} {
		fr := newFrameReader(r, 4*bigFrame)
		k, b, owned, err := fr.next()
		if err != nil || k != kindTask || string(b) != "one" || owned {
			t.Fatalf("%s: first frame %d %q %v %v", name, k, b, owned, err)
		}
		k, b, owned, err = fr.next()
		if err != nil || k != kindResult || !bytes.Equal(b, big) || !owned {
			t.Fatalf("%s: big frame %d len %d owned %v %v", name, k, len(b), owned, err)
		}
		k, b, _, err = fr.next()
		if err != nil || k != kindCancel || !bytes.Equal(b, []byte{9}) {
			t.Fatalf("%s: last frame %d %v %v", name, k, b, err)
		}
		if _, _, _, err = fr.next(); err != io.EOF {
			t.Fatalf("%s: end: %v", name, err)
		}
	}
}

func TestFrameReaderRejectsOversizedFrame(t *testing.T) {
	defer goleak.VerifyNone(t)
	// A header announcing 2 GiB: an error at once, nothing allocated for it.
	hdr := []byte{0xff, 0xff, 0xff, 0x7f, kindResult}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fr := newFrameReader(bytes.NewReader(hdr), 1<<20)
	_, _, _, err := fr.next()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("oversized frame: %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("%d bytes allocated to refuse a frame", n)
	}
	// A zero length is as bad.
	fr = newFrameReader(bytes.NewReader([]byte{0, 0, 0, 0}), 1<<20)
	if _, _, _, err := fr.next(); !errors.Is(err, ErrProtocol) {
		t.Fatalf("empty frame: %v", err)
	}
}

func TestFrameReaderTruncated(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, n := range []int{10, 2 * bigFrame} {
		f := frame(kindResult, make([]byte, n))
		fr := newFrameReader(bytes.NewReader(f[:len(f)-1]), 4*bigFrame)
		if _, _, _, err := fr.next(); err != io.ErrUnexpectedEOF {
			t.Fatalf("frame of %d cut short: %v", n, err)
		}
	}
	fr := newFrameReader(bytes.NewReader([]byte{1, 0}), 100)
	if _, _, _, err := fr.next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("header cut short: %v", err)
	}
}

func TestParseTaskAndResult(t *testing.T) {
	defer goleak.VerifyNone(t)
	b := binary.AppendUvarint(nil, 42)
	b = binary.AppendVarint(b, -5)
	b = binary.AppendUvarint(b, 7)
	b = binary.AppendUvarint(b, 3)
	b = append(b, "abcPAYLOAD"...)
	th, err := parseTask(b)
	if err != nil || th.id != 42 || th.deadline != -5 || th.runNs != 7 || string(th.name) != "abc" || string(th.payload) != "PAYLOAD" {
		t.Fatalf("%+v %v", th, err)
	}
	// A name longer than the frame.
	bad := binary.AppendUvarint(nil, 1)
	bad = binary.AppendVarint(bad, 0)
	bad = binary.AppendUvarint(bad, 0)
	bad = binary.AppendUvarint(bad, 1000)
	if _, err := parseTask(bad); !errors.Is(err, ErrProtocol) {
		t.Fatal(err)
	}
	if _, err := parseResult([]byte{1, 0}); !errors.Is(err, ErrProtocol) {
		t.Fatal(err)
	}
	if _, err := parseTask(nil); !errors.Is(err, ErrProtocol) {
		t.Fatal(err)
	}
}

func TestDecodeLimits(t *testing.T) {
	defer goleak.VerifyNone(t)
	// An array header claiming 2^31 elements in 9 bytes.
	huge := []byte{0x9a, 0x80, 0, 0, 0, 0}
	var xs []int
	if err := decMode.Unmarshal(huge, &xs); err == nil {
		t.Fatal("huge array accepted")
	}
	// Nesting deeper than the limit.
	deep := append(bytes.Repeat([]byte{0x81}, MaxNestedLevels+10), 0x00)
	var v any
	if err := decMode.Unmarshal(deep, &v); err == nil {
		t.Fatal("deep nesting accepted")
	}
	// Indefinite lengths are refused.
	var s []int
	if err := decMode.Unmarshal([]byte{0x9f, 0x01, 0xff}, &s); err == nil {
		t.Fatal("indefinite-length array accepted")
	}
	// A raw []byte with a bad marker.
	var b []byte
	if err := decodeValue(true, []byte{9, 1}, false, &b); err == nil {
		t.Fatal("bad raw marker accepted")
	}
}

func TestRawBytesRoundTrip(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, in := range [][]byte{nil, {}, []byte("x"), bytes.Repeat([]byte{1}, 700<<10)} {
		enc, err := encodeValue(true, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, owned := range []bool{false, true} {
			var out []byte
			if err := decodeValue(true, enc, owned, &out); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, out) || (in == nil) != (out == nil) {
				t.Fatalf("%d bytes (nil %v) came back as %d (nil %v)", len(in), in == nil, len(out), out == nil)
			}
		}
	}
}

func TestCheckType(t *testing.T) {
	defer goleak.VerifyNone(t)
	type inner struct{ C chan int }
	type ok struct {
		A int
		B []map[string]*float64
		f func() `cbor:"-"` // left out on purpose (untagged, refused: it would arrive zeroed)
		S any
	}
	type skipped struct {
		F func() `cbor:"-"`
	}
	type rec struct{ Next *rec }
	_ = ok{}.f
	for _, v := range []any{ok{}, skipped{}, rec{}, []byte(nil), "", map[int]string{}} {
		if err := checkType(reflect.TypeOf(v)); err != nil {
			t.Errorf("%T refused: %v", v, err)
		}
	}
	for _, v := range []any{inner{}, []func(){}, map[string]chan int{}, complex(1, 2), &inner{}} {
		if err := checkType(reflect.TypeOf(v)); err == nil {
			t.Errorf("%T accepted", v)
		}
	}
}

func TestTailLines(t *testing.T) {
	defer goleak.VerifyNone(t)
	var tb tailBuffer
	for i := 0; i < 100; i++ {
		tb.write([]byte("line\n"))
	}
	if got := strings.Count(tb.lines(), "\n"); got != tailLines-1 {
		t.Fatalf("%d lines kept", got+1)
	}
	tb.write([]byte("panic: it broke\n\ngoroutine 1 [running]:\nmain.main()\n"))
	if got := tb.lines(); !strings.HasPrefix(got, "panic: it broke") || !strings.HasSuffix(got, "main.main()") {
		t.Fatalf("panic excerpt:\n%s", got)
	}
	// A flood of output keeps memory bounded.
	for i := 0; i < 1000; i++ {
		tb.write(bytes.Repeat([]byte("x"), 1000))
	}
	if len(tb.buf) > 2*tailKeep {
		t.Fatalf("tail holds %d bytes", len(tb.buf))
	}
}

func FuzzFrameReader(f *testing.F) {
	f.Add(frame(kindTask, []byte("abc")))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add(append(frame(kindResult, []byte{1, 2, 3}), 0, 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := newFrameReader(bytes.NewReader(data), 1<<16)
		for {
			k, body, _, err := fr.next()
			if err != nil {
				return
			}
			switch k {
			case kindTask, kindBatch:
				parseTask(body)
			case kindResult:
				if r, err := parseResult(body); err == nil {
					var we wireError
					decMode.Unmarshal(r.payload, &we)
					var b batchOut[int]
					decMode.Unmarshal(r.payload, &b)
				}
			}
		}
	})
}
