package mp

import (
	"strings"
	"sync"
)

// tailBuffer keeps the last bytes a worker wrote to its stderr.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const (
	tailKeep  = 16 << 10
	tailLines = 20
	tailPanic = 60 // lines kept from a Go panic or fatal error on
)

func (t *tailBuffer) write(b []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > 2*tailKeep {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailKeep:]...)
	}
}

// lines returns the last lines, or, when the tail holds a Go panic or
// fatal error, the lines from its first line on (bounded): the start of a
// crash report says more than its last goroutine's frames.
func (t *tailBuffer) lines() string {
	t.mu.Lock()
	s := string(t.buf)
	t.mu.Unlock()
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
	for i, l := range ls {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			if len(ls)-i > tailPanic {
				return strings.Join(ls[i:i+tailPanic], "\n") + "\n..."
			}
			return strings.Join(ls[i:], "\n")
		}
	}
	if len(ls) > tailLines {
		ls = ls[len(ls)-tailLines:]
	}
	return strings.Join(ls, "\n")
}
