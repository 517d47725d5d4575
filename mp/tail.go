package mp

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
)

// tailBuffer keeps what the parent needs of a worker's stderr to explain
// its death: the last bytes written, and the head of the last Go crash
// report (a line starting "panic: " or "fatal error: ", with the runtime's
// lines just before it), so that a crash report longer than the tail (a
// stack overflow prints tens of KiB of frames) keeps its first lines and
// the top of the failing goroutine's stack.
type tailBuffer struct {
	mu    sync.Mutex
	buf   []byte // the last bytes, between tailKeep and 2*tailKeep once full
	total int64  // bytes written in all
	head  []byte // the head of the last crash report, at most headKeep
	at    int64  // stream offset of head[0]
	open  bool   // head still grows with what is written
}

const (
	tailKeep  = 16 << 10
	headKeep  = 16 << 10
	tailLines = 20
	tailPanic = 120 // lines kept from a Go panic or fatal error on
	tailAfter = 10  // lines kept of the tail after a cut crash report
)

var crashMarks = [][]byte{[]byte("\npanic: "), []byte("\nfatal error: ")}

func (t *tailBuffer) write(b []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev := len(t.buf)
	t.buf = append(t.buf, b...)
	t.total += int64(len(b))
	start := t.total - int64(len(t.buf)) // stream offset of buf[0]
	// Look for a crash report starting in the new bytes (a mark may
	// straddle the previous write).
	from := max(prev-16, 0)
	mark := -1
	for _, m := range crashMarks {
		if i := bytes.LastIndex(t.buf[from:], m); i >= 0 && from+i+1 > mark {
			mark = from + i + 1
		}
		if start == 0 && prev == 0 && bytes.HasPrefix(t.buf, m[1:]) && mark < 0 {
			mark = 0
		}
	}
	if mark >= 0 {
		// Take in the runtime's own lines just before the mark
		// ("runtime: goroutine stack exceeds ...").
		for mark > 0 {
			i := bytes.LastIndexByte(t.buf[:mark-1], '\n') + 1
			if !bytes.HasPrefix(t.buf[i:], []byte("runtime: ")) || mark-i > 512 {
				break
			}
			mark = i
		}
		n := min(len(t.buf)-mark, headKeep)
		t.head = append(t.head[:0], t.buf[mark:mark+n]...)
		t.at = start + int64(mark)
		t.open = len(t.head) < headKeep
	} else if t.open {
		n := min(len(b), headKeep-len(t.head))
		t.head = append(t.head, b[:n]...)
		t.open = len(t.head) < headKeep
	}
	if len(t.buf) > 2*tailKeep {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailKeep:]...)
	}
}

// lines returns the last lines or, when the worker wrote a Go crash
// report, its first lines (bounded) and the last lines after them, with a
// note of what was cut between.
func (t *tailBuffer) lines() string {
	t.mu.Lock()
	buf := string(t.buf)
	head := string(t.head)
	hasHead := t.head != nil
	at, total := t.at, t.total
	t.mu.Unlock()
	if !hasHead {
		return lastLines(buf, tailLines)
	}
	ls := strings.Split(strings.TrimRight(head, "\n"), "\n")
	if len(ls) > tailPanic {
		ls = ls[:tailPanic]
	}
	if len(head) == headKeep && len(ls) > 1 && len(ls) < tailPanic {
		ls = ls[:len(ls)-1] // a partial line
	}
	out := strings.Join(ls, "\n")
	kept := at + int64(len(out)) // stream offset where out ends
	if kept >= total-1 {
		return out
	}
	start := total - int64(len(buf))
	rest := buf
	if kept > start {
		rest = buf[kept-start:]
	}
	rest = strings.TrimPrefix(rest, "\n")
	after := lastLines(rest, tailAfter)
	if after == "" {
		return out
	}
	cut := int64(len(rest)-len(after)) + max(start-kept, 0)
	if cut <= 1 {
		return out + "\n" + after
	}
	return fmt.Sprintf("%s\n... (%d bytes of the crash report cut) ...\n%s", out, cut, after)
}

// lastLines returns the last n lines of s, from at most tailKeep bytes.
func lastLines(s string, n int) string {
	if len(s) > tailKeep {
		s = s[len(s)-tailKeep:]
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
	}
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	ls := strings.Split(s, "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}
