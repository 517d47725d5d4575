package bench

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// The Python peers of the micro workloads (python/peers.py, embedded in
// the binary) print one line "RESULT key=value ...". These run them and
// read it.

//go:embed python/peers.py
var peersPy []byte

var (
	peersOnce   sync.Once
	peersScript string
	peersErr    error
)

// peersFile writes the embedded peers.py to a temporary file once per
// process and returns its path; RemovePeerFiles removes it.
func peersFile() (string, error) {
	peersOnce.Do(func() {
		dir, err := os.MkdirTemp("", "braid-bench-peers-")
		if err != nil {
			peersErr = err
			return
		}
		peersScript = filepath.Join(dir, "peers.py")
		peersErr = os.WriteFile(peersScript, peersPy, 0o644)
	})
	return peersScript, peersErr
}

// RemovePeerFiles removes the temporary copy of the Python peers, if one
// was written.
func RemovePeerFiles() {
	if peersScript != "" {
		os.RemoveAll(filepath.Dir(peersScript))
	}
}

// peerPython returns python if set, else Debian's /usr/bin/python3 (where
// python3-uvloop and friends are installed) if present, else python3.
func peerPython(python string) string {
	if python != "" {
		return python
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

// runPeer runs the embedded peers.py with python and args and returns
// the key=value pairs of the RESULT line it prints. The script's stderr
// goes to ours.
func runPeer(ctx context.Context, python string, args ...string) (map[string]string, error) {
	script, err := peersFile()
	if err != nil {
		return nil, fmt.Errorf("writing the Python peers to a temporary file: %w", err)
	}
	cmd := exec.CommandContext(ctx, peerPython(python), append([]string{script}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	what := "peers.py " + strings.Join(args, " ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w (the Python peers need aiohttp and requests: %s)", what, err, PythonInstallHint)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "RESULT "); ok {
			kv := map[string]string{}
			for _, f := range strings.Fields(rest) {
				if k, v, ok := strings.Cut(f, "="); ok {
					kv[k] = v
				}
			}
			return kv, nil
		}
	}
	return nil, fmt.Errorf("%s: no RESULT line", what)
}

// peerSeconds runs a peer that reports secs= and returns that figure.
func peerSeconds(ctx context.Context, python string, args ...string) (float64, error) {
	kv, err := runPeer(ctx, python, args...)
	if err != nil {
		return 0, err
	}
	secs, err := strconv.ParseFloat(kv["secs"], 64)
	if err != nil {
		return 0, fmt.Errorf("peers.py %s: RESULT without a number secs=: %v", args[0], kv)
	}
	return secs, nil
}
