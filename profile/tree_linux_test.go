package profile

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestTreeBothWays: the tree found through children files and by scanning
// every /proc/PID/stat is the same: the shell and the child it started.
func TestTreeBothWays(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 30 & echo $!; wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("child pid %q: %v", line, err)
	}
	defer func() {
		if p, err := os.FindProcess(child); err == nil {
			_ = p.Kill()
		}
	}()
	pids := func(childrenFiles int) map[int]bool {
		tr := newTracker(cmd.Process.Pid, 0, false)
		tr.childrenFiles = childrenFiles
		m := map[int]bool{}
		for _, st := range tr.members() {
			m[st.pid] = true
		}
		return m
	}
	walk, scan := pids(0), pids(-1)
	if !walk[cmd.Process.Pid] || !walk[child] || len(walk) != 2 {
		t.Fatalf("children walk: %v, want the shell %d and its child %d", walk, cmd.Process.Pid, child)
	}
	if !scan[cmd.Process.Pid] || !scan[child] || len(scan) != 2 {
		t.Fatalf("scan: %v, want the shell %d and its child %d", scan, cmd.Process.Pid, child)
	}
}
