package mp

import "testing"

// TestClassifyDeath covers every way a worker's death is settled, and the
// precedence between facts that hold together.
func TestClassifyDeath(t *testing.T) {
	ready := deathFacts{hello: true}
	with := func(f func(*deathFacts)) deathFacts {
		d := ready
		f(&d)
		return d
	}
	for _, tc := range []struct {
		name string
		f    deathFacts
		want deathKind
	}{
		{"terminating wins over everything", deathFacts{terminating: true, killedRunning: true, memKilled: true, initFailed: true, oldestInflight: true}, deathTerminated},
		{"terminating before hello", deathFacts{terminating: true}, deathTerminated},
		{"killed for a cancelled task", with(func(d *deathFacts) { d.killedRunning = true; d.oldestInflight = true }), deathKilledForCancel},
		{"killed for a cancelled task beats memory", with(func(d *deathFacts) { d.killedRunning = true; d.memKilled = true }), deathKilledForCancel},
		{"memory limit before hello", deathFacts{memKilled: true, oldestInflight: true}, deathMemAtStart},
		{"memory limit while running", with(func(d *deathFacts) { d.memKilled = true; d.oldestInflight = true }), deathMemRunning},
		{"memory limit while idle", with(func(d *deathFacts) { d.memKilled = true }), deathMemIdle},
		{"initializer failed", deathFacts{initFailed: true, oldestInflight: true}, deathInitFailed},
		{"initializer failed after hello", with(func(d *deathFacts) { d.initFailed = true }), deathInitFailed},
		{"no hello", deathFacts{oldestInflight: true}, deathNoStart},
		{"no hello, exit 0", deathFacts{exitedOK: true}, deathNoStart},
		{"crash running a retryable task", with(func(d *deathFacts) { d.oldestInflight = true; d.retryable = true }), deathCrashRetry},
		{"crash running a task", with(func(d *deathFacts) { d.oldestInflight = true }), deathCrashFail},
		{"exit 0 running a task is a crash", with(func(d *deathFacts) { d.oldestInflight = true; d.exitedOK = true }), deathCrashFail},
		{"retired while running", with(func(d *deathFacts) { d.retired = true; d.oldestInflight = true }), deathExpected},
		{"retired idle", with(func(d *deathFacts) { d.retired = true }), deathExpected},
		{"exit 0 idle", with(func(d *deathFacts) { d.exitedOK = true }), deathExpected},
		{"unexpected death idle", ready, deathIdleCrash},
		{"retryable without a running task is ignored", with(func(d *deathFacts) { d.retryable = true }), deathIdleCrash},
	} {
		if got := classifyDeath(tc.f); got != tc.want {
			t.Errorf("%s: classifyDeath(%+v) = %d, want %d", tc.name, tc.f, got, tc.want)
		}
	}
}
