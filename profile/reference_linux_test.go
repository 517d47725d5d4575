package profile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// reference is one workload of the reference set: a command of 1-3 s that
// exists on a bare Debian with python3, and the class it must get.
type reference struct {
	name   string
	argv   []string
	class  Class
	waited string // "" when any
	needs  string // "python3" or a setup that may skip it
}

const pyCPU = `import time
end = time.time() + 1.5
x = 0
while time.time() < end:
    for i in range(10000): x += i
`

const pyPool = `import multiprocessing as mp, time
def burn(_):
    end = time.time() + 0.6
    x = 0
    while time.time() < end:
        for i in range(10000): x += i
    return x
if __name__ == "__main__":
    with mp.Pool(2) as p:
        p.map(burn, range(4))
`

const pySocket = `import os, socket, time
a, b = socket.socketpair()
if os.fork() == 0:
    for i in range(15):
        time.sleep(0.1)
        a.send(b"x" * 100)
    os._exit(0)
n = 0
while n < 1500:
    n += len(b.recv(4096))
os.wait()
`

const pyTCP = `import os, socket, time
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
if os.fork() == 0:
    c, _ = srv.accept()
    for i in range(15):
        time.sleep(0.1)
        c.send(b"x" * 100)
    os._exit(0)
s = socket.create_connection(srv.getsockname())
n = 0
while n < 1500:
    n += len(s.recv(4096))
os.wait()
`

const pyMixed = `import time
end = time.time() + 2
while time.time() < end:
    t = time.time() + 0.01
    while time.time() < t: pass
    time.sleep(0.01)
`

func referenceSet(t *testing.T) []reference {
	dir := t.TempDir()
	data := filepath.Join(dir, "data.bin")
	if out, err := exec.Command("dd", "if=/dev/zero", "of="+data, "bs=1M", "count=64", "status=none").CombinedOutput(); err != nil {
		t.Fatalf("making the test file: %v: %s", err, out)
	}
	refs := []reference{
		{name: "cpu-python", argv: []string{"python3", "-c", pyCPU}, class: CPUBound, needs: "python3"},
		{name: "cpu-python-pool", argv: []string{"python3", "-c", pyPool}, class: CPUBound, needs: "python3"},
		{name: "cpu-urandom", argv: []string{"dd", "if=/dev/urandom", "of=/dev/null", "bs=1M", "count=150", "status=none"}, class: CPUBound},
		{name: "cpu-bash-forks", argv: []string{"bash", "-c", `while [ $SECONDS -lt 2 ]; do /bin/true; done`}, class: CPUBound},
		{name: "io-sleep", argv: []string{"sleep", "1.5"}, class: IOBound, waited: StateSleep},
		{name: "io-local-socket", argv: []string{"python3", "-c", pySocket}, class: IOBound, waited: StateNetwork, needs: "python3"},
		{name: "io-tcp-loopback", argv: []string{"python3", "-c", pyTCP}, class: IOBound, waited: StateNetwork, needs: "python3"},
		{name: "io-dd-read-direct", argv: []string{"dd", "if=" + data, "of=/dev/null", "bs=4k", "iflag=direct", "status=none"}, class: IOBound, waited: StateDisk, needs: "direct"},
		{name: "io-dd-write-direct", argv: []string{"dd", "if=/dev/zero", "of=" + filepath.Join(dir, "out.bin"), "bs=4k", "count=24000", "oflag=direct", "status=none"}, class: IOBound, waited: StateDisk, needs: "direct"},
		{name: "mixed-python-sleep-cpu", argv: []string{"python3", "-c", pyMixed}, class: Mixed, waited: StateSleep, needs: "python3"},
	}
	if dev := readableBlockDevice(); dev != "" {
		refs = append(refs, reference{name: "io-block-device-direct", argv: []string{"dd", "if=" + dev, "of=/dev/null", "bs=4k", "count=16000", "iflag=direct", "status=none"}, class: IOBound, waited: StateDisk})
	} else {
		t.Log("no block device readable with O_DIRECT here (needs root and a device): io-block-device-direct not run")
	}
	return refs
}

// readableBlockDevice returns a block device that dd can read with
// O_DIRECT, or "".
func readableBlockDevice() string {
	names, _ := filepath.Glob("/sys/block/*")
	for _, n := range names {
		dev := "/dev/" + filepath.Base(n)
		size, _ := os.ReadFile(filepath.Join(n, "size"))
		if strings.TrimSpace(string(size)) == "0" {
			continue
		}
		if exec.Command("dd", "if="+dev, "of=/dev/null", "bs=4k", "count=1", "iflag=direct", "status=none").Run() == nil {
			return dev
		}
	}
	return ""
}

// TestReferenceSet runs every workload of the reference set, one at a time
// (measuring CPU needs the cores), and checks its class and what it waited
// on. It logs a table row for each.
func TestReferenceSet(t *testing.T) {
	if testing.Short() {
		t.Skip("the reference set takes ~20 s: not run with -short")
	}
	_, pyErr := exec.LookPath("python3")
	for _, ref := range referenceSet(t) {
		t.Run(ref.name, func(t *testing.T) {
			if ref.needs == "python3" && pyErr != nil {
				t.Skip("python3 is not installed: this workload needs it")
			}
			if ref.needs == "direct" {
				probe := exec.Command("dd", "if=/dev/zero", "of="+filepath.Join(t.TempDir(), "probe"), "bs=4k", "count=1", "oflag=direct", "status=none")
				if out, err := probe.CombinedOutput(); err != nil {
					t.Skipf("the temporary directory's file system refuses O_DIRECT (%v: %s)", err, out)
				}
			}
			if ref.class == Mixed {
				skipIfOverloaded(t)
			}
			var out, errb bytes.Buffer
			rep, err := Command(context.Background(), ref.argv, WithStdio(nil, &out, &errb))
			if err != nil {
				t.Fatal(err)
			}
			if rep.ExitCode != 0 {
				t.Fatalf("exit %d: %s", rep.ExitCode, errb.String())
			}
			f := rep.Figures
			t.Logf("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s | %.0f%% | %s | %s |", ref.name, f.WallSeconds, f.UserSeconds, f.SystemSeconds,
				rep.Verdict.CoresUsed, f.RunQueueSeconds, bytesText(f.ReadBytes), bytesText(f.WriteBytes), 100*rep.Verdict.CPUShare, statesText(f), verdictText(rep.Verdict))
			if rep.Verdict.Class != ref.class || (ref.waited != "" && rep.Verdict.WaitedOn != ref.waited) ||
				(strings.Contains(ref.name, "socket") || strings.Contains(ref.name, "loopback")) && !strings.Contains(rep.Verdict.WaitedOnDetail, "local") {
				t.Fatalf("classified %s waiting on %q, want %s %q:\n%s", rep.Verdict.Class, rep.Verdict.WaitedOn, ref.class, ref.waited, rep)
			}
		})
	}
}

func statesText(f Figures) string {
	var parts []string
	for _, s := range statePriority {
		if n := f.States[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, n))
		}
	}
	return fmt.Sprintf("%d: %s", f.Samples, strings.Join(parts, ", "))
}

func verdictText(v Verdict) string {
	s := string(v.Class)
	if v.WaitedOn != "" {
		s += ", waited on " + v.WaitedOn
		if v.WaitedOnDetail != "" {
			s += " (" + v.WaitedOnDetail + ")"
		}
	}
	return s
}
