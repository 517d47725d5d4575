package mp

import (
	"fmt"
	"strings"
	"testing"
)

func TestTailKeepsTheHeadOfALongCrashReport(t *testing.T) {
	var tb tailBuffer
	for i := 0; i < 2000; i++ {
		tb.write([]byte(fmt.Sprintf("log line %d\n", i)))
	}
	report := "runtime: goroutine stack exceeds 8388608-byte limit\nfatal error: stack overflow\n\nruntime stack:\n"
	for i := 0; i < 2000; i++ {
		report += fmt.Sprintf("main.f%d(...)\n\t/src/main.go:%d +0x1\n", i, i)
	}
	// In pieces that split lines and the mark itself.
	for len(report) > 0 {
		n := min(len(report), 37)
		tb.write([]byte(report[:n]))
		report = report[n:]
	}
	got := tb.lines()
	if !strings.HasPrefix(got, "runtime: goroutine stack exceeds 8388608-byte limit\nfatal error: stack overflow\n") {
		t.Fatalf("the head is lost:\n%.300s", got)
	}
	if !strings.Contains(got, "main.f0(...)") || !strings.Contains(got, "bytes of the crash report cut") || !strings.HasSuffix(got, "main.f1999(...)\n\t/src/main.go:1999 +0x1") {
		t.Fatalf("head, cut and tail:\n%s", got)
	}
	if strings.Contains(got, "log line") {
		t.Fatalf("the lines before the report are kept:\n%s", got)
	}
}

func TestTailWithoutCrashKeepsLastLines(t *testing.T) {
	var tb tailBuffer
	for i := 0; i < 3000; i++ {
		tb.write([]byte(fmt.Sprintf("log line %d\n", i)))
	}
	got := tb.lines()
	if ls := strings.Split(got, "\n"); len(ls) != tailLines || ls[len(ls)-1] != "log line 2999" {
		t.Fatalf("%q", got)
	}
}
