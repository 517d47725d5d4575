package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// The Python peers (../shared/peers/*.py) print one line
// "RESULT key=value ...". These run them and read it.

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

// runPeer runs script with python and args and returns the key=value
// pairs of the RESULT line it prints. The script's stderr goes to ours.
func runPeer(ctx context.Context, python, script string, args ...string) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, peerPython(python), append([]string{script}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	what := strings.Join(append([]string{script}, args...), " ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
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
func peerSeconds(ctx context.Context, python, script string, args ...string) (float64, error) {
	kv, err := runPeer(ctx, python, script, args...)
	if err != nil {
		return 0, err
	}
	secs, err := strconv.ParseFloat(kv["secs"], 64)
	if err != nil {
		return 0, fmt.Errorf("%s: RESULT without a number secs=: %v", script, kv)
	}
	return secs, nil
}
