package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/braid-go/braid/mp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	mp.Main() // the process pool's workers are this test binary
	if _, set := os.LookupEnv("GORACE"); !set {
		// Workers built with -race would otherwise sleep a second as they exit.
		os.Setenv("GORACE", "atexit_sleep_ms=0")
	}
	goleak.VerifyTestMain(m) // and no goroutine of the program outlives it
}

// countWords is a second, independent count of a page's text words: the
// head, the title and the tags removed by regular expressions, then the runs of
// letters, case folded.
func countWords(page string) map[string]int {
	page = regexp.MustCompile(`(?s)^.*?</h1>`).ReplaceAllString(page, " ") // the head and the title
	page = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(page, " ")
	counts := map[string]int{}
	for _, w := range regexp.MustCompile(`[A-Za-z]+`).FindAllString(page, -1) {
		counts[strings.ToLower(w)]++
	}
	return counts
}

// The three modes run, agree, and print what a direct computation over the
// same pages gives.
func TestHybrid(t *testing.T) {
	const pages, words, rounds = 20, 300, 2
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-pages", "20", "-words", "300", "-rounds", "2", "-latency", "1ms",
		"-workers", "2", "-concurrency", "5"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut.String())
	}
	direct := make([]Stats, pages)
	for i := range direct {
		page := pageHead(i) + pageBody(i%min(pages, bodies), words) + pageTail
		direct[i] = parse(page, rounds)
		counts := countWords(page)
		total := 0
		for _, n := range counts {
			total += n
		}
		if total != words || direct[i].Words != words || direct[i].Distinct != len(counts) || direct[i].TopCount != counts[direct[i].Top] {
			t.Fatalf("page %d: %d words by regexp (%d distinct), want %d; parse: %+v", i, total, len(counts), words, direct[i])
		}
		for w, n := range counts {
			if n > direct[i].TopCount {
				t.Fatalf("page %d: %q appears %d times, more than parse's top %q", i, w, n, direct[i].Top)
			}
		}
	}
	re := regexp.MustCompile(`^local server on 127\.0\.0\.1:\d+, latency 1ms; 20 pages of 300 words, 2 checksum rounds; 2 workers, \d+ CPUs
sequential +\S+ +1\.0x  longest loop stall +\S+  fetch, parse, next page
loop +\S+ +[0-9.]+x  longest loop stall +\S+  fetches overlap; each parse blocks the loop
hybrid +\S+ +[0-9.]+x  longest loop stall +\S+  fetches on the loop, parses in 2 processes \(pool start included\)
` + regexp.QuoteMeta(summary(direct)) + "\n$")
	if !re.MatchString(out.String()) {
		t.Errorf("output:\n%s\nwant the three modes, then:\n%s", out.String(), summary(direct))
	}
	if !strings.Contains(summary(direct), "20 pages, 6000 words; ") {
		t.Errorf("summary %q", summary(direct))
	}
}

// One mode alone, and the checksum's cost at zero rounds.
func TestHybridOneMode(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-modes", "hybrid", "-pages", "3", "-words", "50", "-rounds", "0",
		"-latency", "0s", "-workers", "1"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit code %d, stderr:\n%s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "hybrid ") || !strings.HasPrefix(lines[2], "3 pages, 150 words; ") ||
		!strings.HasSuffix(lines[2], "checksums added 0000000000000000") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestParse(t *testing.T) {
	page := `<html><head><title>ignored</title></head><body><h1>page 7</h1>
<p>The cat, the <a href="/dog" class="Big">dog</a>.</p><p>A  cat's </p></body></html>`
	got := parse(page, 1)
	want := Stats{Title: "page 7", Words: 7, Distinct: 5, Top: "cat", TopCount: 2}
	got.Checksum = 0
	if got != want {
		t.Errorf("parse = %+v, want %+v", got, want)
	}
	if a, b := parse(page, 1).Checksum, parse(page, 2).Checksum; a == 0 || a == b {
		t.Errorf("checksums for 1 and 2 rounds: %x, %x; want them non-zero and different", a, b)
	}
}

func TestHybridBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-pages", "0"}, {"-words", "x"}, {"-words", "1000001"}, {"-rounds", "-1"}, {"-workers", "0"},
		{"-concurrency", "0"}, {"-modes", "loop,threads"}, {"-modes", ""}, {"extra"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("%v: exit code %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}
