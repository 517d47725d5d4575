package mp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The wire protocol between a pool and its workers: two pipes, one each
// way, carrying frames. A frame is a 4-byte little-endian length n, then n
// bytes: a kind byte and a body. Several frames go in one write when they
// are ready together; a reader takes as many as one read brings.
//
//	parent -> worker
//	  init    CBOR of initMsg (first frame)
//	  task    uvarint id, varint deadline (Unix ns, 0 none), uvarint run timeout (ns, 0 none),
//	          uvarint len, name, payload
//	  batch   as task; payload is a CBOR array of arguments (Map chunks)
//	  cancel  uvarint id (drop it if queued; exit if it is running)
//	  ack     (empty) the last result with statusAckBit was read
//	worker -> parent
//	  hello   uvarint pid, status, [CBOR wireError when status is not ok]
//	  result  uvarint id, status, 8-byte run time in ns, payload or CBOR wireError
//	  retire  uvarint resident bytes (over the memory limit: exiting, nothing else started)
//
// The worker writes each result before it starts its next task, so when a
// worker dies the parent knows which task it was running: the oldest one
// without a result.
const (
	kindInit   byte = 1
	kindTask   byte = 2
	kindBatch  byte = 3
	kindCancel byte = 4
	kindAck    byte = 5
	kindBye    byte = 6 // the parent closes the task pipe on purpose next
	kindHello  byte = 10
	kindResult byte = 11
	kindRetire byte = 12
)

// Result and hello statuses.
const (
	statusOK      byte = 0
	statusError   byte = 1
	statusSkipped byte = 2 // a cancelled task that never started
	// statusAckBit: the payload was vmspliced from the worker's memory;
	// the worker waits for an ack frame before it touches memory again.
	statusAckBit byte = 0x80
)

const (
	// frameHeader is the length prefix.
	frameHeader = 4
	// frameSlack is the room a frame needs beyond its payload (kind, ids,
	// name); MaxFrameBytes limits payloads, frames may be this much larger.
	frameSlack = 1024
	// bigFrame is the size from which a frame is read into a buffer of its
	// own (and handed over, not copied) instead of the shared read buffer.
	bigFrame = 64 << 10
	// DefaultMaxFrameBytes is the default limit of one encoded argument or
	// result (WithMaxFrameBytes).
	DefaultMaxFrameBytes = 256 << 20
)

// ErrProtocol marks a frame that breaks the protocol: malformed, of an
// unknown kind, or larger than the limit. The worker that sent it is
// killed; the task it was running fails with an error that wraps
// ErrProtocol.
var ErrProtocol = errors.New("mp: protocol error")

// frameReader reads frames from a pipe through one reusable buffer.
type frameReader struct {
	r    io.Reader
	buf  []byte
	rpos int
	wpos int
	max  int // largest frame accepted (length field)
}

func newFrameReader(r io.Reader, maxPayload int) *frameReader {
	return &frameReader{r: r, buf: make([]byte, bigFrame+64), max: maxPayload + frameSlack}
}

// fill reads more bytes, making room first.
func (fr *frameReader) fill() error {
	if fr.rpos == fr.wpos {
		fr.rpos, fr.wpos = 0, 0
	} else if fr.wpos == len(fr.buf) {
		n := copy(fr.buf, fr.buf[fr.rpos:fr.wpos])
		fr.rpos, fr.wpos = 0, n
	}
	n, err := fr.r.Read(fr.buf[fr.wpos:])
	fr.wpos += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// size returns the length of the next frame if its header is buffered.
func (fr *frameReader) size() (int, bool, error) {
	if fr.wpos-fr.rpos < frameHeader {
		return 0, false, nil
	}
	n := int(binary.LittleEndian.Uint32(fr.buf[fr.rpos:]))
	if n < 1 || n > fr.max {
		return 0, false, fmt.Errorf("%w: frame of %d bytes (the limit is %d)", ErrProtocol, n, fr.max)
	}
	return n, true, nil
}

// buffered reports whether next can return a frame without reading (so a
// batch of frames can be handled before blocking).
func (fr *frameReader) buffered() bool {
	n, ok, err := fr.size()
	return err == nil && ok && n < bigFrame && fr.wpos-fr.rpos >= frameHeader+n
}

// next returns the next frame's kind and body. The body stays valid until
// the next call to next, or for good when owned is true.
func (fr *frameReader) next() (kind byte, body []byte, owned bool, err error) {
	var n int
	for {
		var ok bool
		n, ok, err = fr.size()
		if err != nil {
			return 0, nil, false, err
		}
		if ok {
			break
		}
		if err = fr.fill(); err != nil {
			if err == io.EOF && fr.wpos != fr.rpos {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, false, err
		}
	}
	if n >= bigFrame {
		b := make([]byte, n)
		have := copy(b, fr.buf[fr.rpos+frameHeader:fr.wpos])
		fr.rpos += frameHeader + have
		if _, err = io.ReadFull(fr.r, b[have:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, false, err
		}
		return b[0], b[1:], true, nil
	}
	for fr.wpos-fr.rpos < frameHeader+n {
		if err = fr.fill(); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, false, err
		}
	}
	body = fr.buf[fr.rpos+frameHeader : fr.rpos+frameHeader+n]
	fr.rpos += frameHeader + n
	return body[0], body[1:], false, nil
}

// beginFrame appends a frame header (length to be patched by endFrame) and
// the kind, and returns the offset of the frame.
func beginFrame(b []byte, kind byte) ([]byte, int) {
	off := len(b)
	b = append(b, 0, 0, 0, 0, kind)
	return b, off
}

// endFrame patches the length of the frame that starts at off, counting
// extra bytes that will be written after b.
func endFrame(b []byte, off int, extra int) {
	binary.LittleEndian.PutUint32(b[off:], uint32(len(b)-off-frameHeader+extra))
}

// uvarint reads an unsigned varint from b.
func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, fmt.Errorf("%w: bad varint", ErrProtocol)
	}
	return v, b[n:], nil
}

func varint(b []byte) (int64, []byte, error) {
	v, n := binary.Varint(b)
	if n <= 0 {
		return 0, nil, fmt.Errorf("%w: bad varint", ErrProtocol)
	}
	return v, b[n:], nil
}

// taskHeader is the decoded head of a task frame.
type taskHeader struct {
	id       uint64
	deadline int64
	runNs    uint64 // run timeout, 0 none
	name     []byte
	payload  []byte
}

func parseTask(body []byte) (t taskHeader, err error) {
	if t.id, body, err = uvarint(body); err != nil {
		return t, err
	}
	if t.deadline, body, err = varint(body); err != nil {
		return t, err
	}
	if t.runNs, body, err = uvarint(body); err != nil {
		return t, err
	}
	var n uint64
	if n, body, err = uvarint(body); err != nil {
		return t, err
	}
	if n > uint64(len(body)) {
		return t, fmt.Errorf("%w: bad function name length", ErrProtocol)
	}
	t.name, t.payload = body[:n], body[n:]
	return t, nil
}

// resultHeader is the decoded head of a result frame.
type resultHeader struct {
	id      uint64
	status  byte
	runNs   uint64
	payload []byte
}

func parseResult(body []byte) (r resultHeader, err error) {
	if r.id, body, err = uvarint(body); err != nil {
		return r, err
	}
	if len(body) < 9 {
		return r, fmt.Errorf("%w: short result frame", ErrProtocol)
	}
	r.status = body[0]
	r.runNs = binary.LittleEndian.Uint64(body[1:9])
	r.payload = body[9:]
	return r, nil
}

// initMsg configures a worker; it is the first frame a worker reads.
type initMsg struct {
	_           struct{} `cbor:",toarray"`
	MaxFrame    int
	MemoryLimit int64
	InitFunc    string
	InitArg     []byte
}
