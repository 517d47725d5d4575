// Package profile measures a command or a Go function and tells whether it is
// CPU-bound, I/O-bound or mixed, with the figures that decided it, what the
// I/O waited on, and which of braid's models fits it: the articles' "measure
// first" step and their decision tree, done from the kernel's accounting.
//
// Two entry points:
//
//   - [Command] runs a program with its descendants and samples them from
//     /proc while they run (the `braid profile` command).
//   - [Func] measures one function call inside the calling process (the
//     articles' measure_task decorator).
//
// On Linux every figure is measured. On other Unix systems only CPU time,
// context switches and peak RSS are (from getrusage), and the verdict rests
// on the CPU share alone; [Report.Notes] says so.
package profile

import (
	"fmt"
	"sort"
	"strings"
)

// Class is a verdict's classification of a workload.
type Class string

// The classes a verdict can give.
const (
	CPUBound Class = "cpu-bound" // computed for at least two thirds of the time it could run
	IOBound  Class = "io-bound"  // computed for at most one third of the time it could run
	Mixed    Class = "mixed"     // in between
	Unknown  Class = "unknown"   // nothing was measured (no wall time)
)

// Wait states a sample can be in. A sample of a process tree is "cpu" when
// any of its threads was running or runnable; otherwise it is the most
// specific thing one of its threads waited on, in this order of priority.
const (
	StateCPU         = "cpu"           // running or runnable (R)
	StateDisk        = "disk"          // uninterruptible sleep (D) or a wait on a file
	StateNetwork     = "network"       // a wait on a TCP/UDP socket to another host
	StateLocalSocket = "local-socket"  // a wait on a Unix-domain socket or a loopback TCP/UDP one
	StatePipe        = "pipe/terminal" // a wait on a pipe or a terminal
	StateSleep       = "sleep/timer"   // nanosleep, clock_nanosleep
	StatePoll        = "poll"          // poll/select/epoll on descriptors that could not be told apart
	StateLock        = "lock"          // futex: a lock, a condition variable, or a parked Go runtime thread
	StateChild       = "child-process" // waiting for a child to exit (wait4/waitid) or for another process of the tree through a pipe
	StateOther       = "other"         // any other sleep
)

// statePriority orders the wait states from the most to the least specific
// about the resource waited on; a tree's sample takes the first one any of
// its threads is in.
var statePriority = []string{StateCPU, StateDisk, StateNetwork, StateLocalSocket, StatePipe,
	StateSleep, StatePoll, StateLock, StateChild, StateOther}

func stateRank(s string) int {
	for i, p := range statePriority {
		if p == s {
			return i
		}
	}
	return len(statePriority)
}

// Subject says what was measured, which changes the model recommended for
// CPU-bound work (Go code can use the goroutine pool; another program needs
// a process).
type Subject string

// The subjects.
const (
	SubjectCommand  Subject = "command"  // a program run by [Command]
	SubjectFunction Subject = "function" // a Go function measured by [Func]
)

// Figures are what was measured. Times are in seconds, sizes in bytes.
type Figures struct {
	Subject Subject `json:"subject"`
	// Cores is the number of CPUs the process may use (runtime.NumCPU).
	Cores int `json:"cores"`
	// WallSeconds is the elapsed time.
	WallSeconds float64 `json:"wall_s"`
	// UserSeconds and SystemSeconds are CPU time in user and kernel mode,
	// including every descendant that was waited for.
	UserSeconds   float64 `json:"user_s"`
	SystemSeconds float64 `json:"system_s"`
	// RunQueueSeconds is the time threads were runnable but not running
	// (waiting for a core: /proc/PID/task/TID/schedstat), summed over the
	// threads sampled that computed for at least 2% of the wall time (the
	// short waits of mostly idle threads are left out).
	RunQueueSeconds float64 `json:"runqueue_wait_s"`
	// RunQueueThreads is the number of threads whose waits RunQueueSeconds
	// sums (0 when not known). Several threads can wait at the same time,
	// so with more than one the sum can exceed the time the work was not
	// computing; see [Classify].
	RunQueueThreads int `json:"runqueue_threads"`
	// BlockIODelaySeconds is the time spent waiting for block I/O
	// (delayacct_blkio_ticks); zero unless BlockIODelayAccounted.
	BlockIODelaySeconds float64 `json:"blkio_delay_s"`
	// BlockIODelayAccounted is false when the kernel does not count block
	// I/O delay (sysctl kernel.task_delayacct=0 or no CONFIG_TASK_DELAY_ACCT).
	BlockIODelayAccounted bool `json:"blkio_delay_accounted"`
	// VoluntaryCtxSwitches counts the times a thread gave up its CPU to wait;
	// InvoluntaryCtxSwitches the times it was preempted.
	VoluntaryCtxSwitches   int64 `json:"voluntary_ctx_switches"`
	InvoluntaryCtxSwitches int64 `json:"involuntary_ctx_switches"`
	// ReadBytes and WriteBytes are the bytes fetched from and sent to the
	// storage layer (/proc/PID/io read_bytes, write_bytes); ReadChars and
	// WriteChars every byte passed to read- and write-like system calls,
	// including sockets, pipes and the page cache (rchar, wchar).
	ReadBytes  int64 `json:"read_bytes"`
	WriteBytes int64 `json:"write_bytes"`
	ReadChars  int64 `json:"read_chars"`
	WriteChars int64 `json:"write_chars"`
	// Threads is the largest number of threads seen at once, Processes the
	// number of distinct processes seen by sampling.
	Threads   int `json:"threads_peak"`
	Processes int `json:"processes_seen"`
	// PeakRSSBytes is the largest resident set of one process seen by
	// sampling (VmHWM; for Func, VmRSS during the call); 0 when nothing was
	// sampled. Without /proc it is the rusage maximum, which includes the
	// memory of the process the command was started from.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// Samples is the number of samples taken; States counts them by wait
	// state (see the State constants).
	Samples int            `json:"samples"`
	States  map[string]int `json:"states,omitempty"`
}

// CPUSeconds is user plus system time.
func (f Figures) CPUSeconds() float64 { return f.UserSeconds + f.SystemSeconds }

// Verdict is the classification and the advice that follows from it.
type Verdict struct {
	Class Class `json:"class"`
	// CPUShare is the fraction of the time the work could run in which it
	// computed (0..1, see [Classify]); it decides the class: >= 2/3
	// CPU-bound, <= 1/3 I/O-bound.
	CPUShare float64 `json:"cpu_share"`
	// CoresUsed is (user+system)/wall: how many cores' worth of CPU it used.
	CoresUsed float64 `json:"cores_used"`
	// WaitedOn is the state the work was waiting in most when it was not
	// on a CPU (one of the State constants; waits on local sockets count as
	// StateNetwork here, with WaitedOnDetail saying which), empty when it
	// did not wait or is CPU-bound.
	WaitedOn string `json:"waited_on,omitempty"`
	// WaitedOnDetail tells sockets apart: "local sockets (...)" when most
	// socket waits were on Unix-domain or loopback sockets, "remote hosts
	// (...)" otherwise.
	WaitedOnDetail string `json:"waited_on_detail,omitempty"`
	// Reasons are the figures that decided the class, in words.
	Reasons []string `json:"reasons"`
	// Model is the braid model the decision tree recommends.
	Model string `json:"model"`
	// Questions are what measuring cannot answer and the choice depends on.
	Questions []string `json:"questions,omitempty"`
}

// Report is a measurement and its verdict.
type Report struct {
	// Command is the program and its arguments ([Command] only).
	Command []string `json:"command,omitempty"`
	// ExitCode is the command's exit code as a shell reports it
	// (128+signal when a signal ended it); 0 for [Func].
	ExitCode int `json:"exit_code"`
	// Interrupted is true when the measurement was cut short by a signal
	// or a cancelled context.
	Interrupted bool `json:"interrupted,omitempty"`
	Figures
	Verdict Verdict `json:"verdict"`
	// Notes say what could not be measured and why.
	Notes []string `json:"notes,omitempty"`
}

// The thresholds of the classification: the share of wall time spent
// wanting a CPU. Symmetric thirds: a workload is CPU-bound when CPU is at
// least twice what it waits for, I/O-bound when waits are at least twice
// its CPU, mixed otherwise.
const (
	cpuBoundShare = 2.0 / 3
	ioBoundShare  = 1.0 / 3
	minSamples    = 5 // fewer samples than this are not used as a CPU estimate
)

// Classify turns figures into a verdict. It is a pure function of f.
//
// The decisive figure is the CPU share: the fraction of the time the work
// computed, against the time it waited for something other than a CPU.
// It is measured by sampling the process tree: a sample counts as
// computing when any thread of the tree was running or runnable (waiting
// for a core is wanting CPU: a CPU-bound program on a busy machine stays
// CPU-bound), as waiting when every thread slept on something. A parent
// waiting for a child process (for its exit, or for its output through a
// pipe between the two) is not a wait of its own: the child is doing the
// work, and when the child is too short-lived to be seen that work is not
// known, so such samples are left out. A pipe the command was given as a
// standard stream is I/O.
//
// When the work was blocked for at least a third of the time it could run
// (wall minus run-queue wait), from the samples or from the accounting, and
// most of its waits were on an I/O resource (disk, network, a socket, a
// pipe or a terminal), the kernel time in its computing samples is the
// kernel moving its data (issuing each read and write, copying it, taking
// the interrupt) and counts with the I/O: the computing samples are scaled
// by user / (user + system). A program that
// never blocks (reading /dev/urandom, writing the page cache, forking)
// computes in the kernel: its system time is its work.
//
// For a function ([Func]), and with fewer than 5 samples, the share is
// accounted instead: computing / (wall - run-queue wait), the run-queue
// wait being at most the time the work was not computing (wall - CPU) and,
// with 5 samples or more, at most the time the samples found a thread
// running or runnable less the CPU time; a sum over threads past wall -
// CPU with fewer samples is left out. Computing is
// user + system time, or user time alone when the kernel time counts as
// I/O (see above). A function is measured in its own process, whose Go
// runtime wakes a thread to deliver each of the sampler's ticks, so a
// thread is often running at the instant of a sample; there the samples
// only say what the waits were on.
//
// share >= 2/3 is CPU-bound, <= 1/3 I/O-bound, between them mixed. The
// resource waited on is the wait state with the most samples among the
// waiting samples.
func Classify(f Figures) Verdict {
	v := Verdict{}
	if f.WallSeconds <= 0 {
		v.Class = Unknown
		v.Reasons = []string{"no wall time was measured"}
		v.Model = "measure again: nothing ran"
		return v
	}
	cpu := f.CPUSeconds()
	v.CoresUsed = cpu / f.WallSeconds
	computingSamples := f.States[StateCPU]
	waits := 0 // samples waiting on something other than a child
	best, bestN := "", 0
	for _, s := range statePriority[1:] {
		if s == StateChild || s == StateLocalSocket {
			continue
		}
		n := f.States[s]
		if s == StateNetwork {
			n += f.States[StateLocalSocket] // one resource: sockets
		}
		waits += n
		if n > bestN {
			best, bestN = s, n
		}
	}
	counted := computingSamples + waits
	ioWaits := f.States[StateDisk] + f.States[StateNetwork] + f.States[StateLocalSocket] + f.States[StatePipe]
	avail, availText := availableTime(f, computingSamples, counted)
	// Blocked: the share of the time it could run in which it slept, from
	// the samples and from the accounting ((wall - run-queue wait - CPU) /
	// (wall - run-queue wait), exact for one thread; samples count runnable
	// threads as computing, so on a busy machine they underestimate it).
	blocked := 0.0
	if counted > 0 {
		blocked = float64(waits) / float64(counted)
	}
	if cpu < avail {
		blocked = max(blocked, (avail-cpu)/avail)
	}
	kernelIsIO := counted >= minSamples && 2*ioWaits > waits && blocked >= ioBoundShare
	computing, computingText := cpu, fmt.Sprintf("user %.3f s + system %.3f s", f.UserSeconds, f.SystemSeconds)
	if kernelIsIO {
		computing, computingText = f.UserSeconds, fmt.Sprintf("user %.3f s", f.UserSeconds)
	}
	kernelText := fmt.Sprintf("its system time %.2f s counts as computing, since it was blocked %.0f%% of the time it could run and on I/O in %d of %d waiting samples (it counts as I/O when both are large: >= 1/3 blocked, over half of it on I/O)",
		f.SystemSeconds, 100*blocked, ioWaits, waits)
	if kernelIsIO {
		kernelText = fmt.Sprintf("its system time %.2f s counts as I/O, since it was blocked %.0f%% of the time it could run (>= 1/3), mostly on I/O (%d of %d waiting samples): the kernel was moving its data",
			f.SystemSeconds, 100*blocked, ioWaits, waits)
	}
	var share float64
	switch {
	case f.Subject == SubjectFunction:
		share = min(1, computing/avail)
		v.Reasons = append(v.Reasons, fmt.Sprintf(
			"computed %.0f%% of the time it could run: (%s) / (%s), accounted: a function's process is measured whole, and its samples only say what it waited on; %s",
			100*share, computingText, availText, kernelText))
	case counted >= minSamples:
		share = float64(computingSamples) / float64(counted)
		if kernelIsIO && cpu > 0 {
			share *= f.UserSeconds / cpu
			v.Reasons = append(v.Reasons, fmt.Sprintf(
				"computed in %.0f%% of the samples: %d running or runnable of %d (%d waiting on a child left out), times user / (user + system) = %.2f s / %.2f s; %s",
				100*share, computingSamples, counted, f.States[StateChild], f.UserSeconds, cpu, kernelText))
		} else {
			v.Reasons = append(v.Reasons, fmt.Sprintf(
				"computed in %.0f%% of the samples: %d running or runnable of %d (%d waiting on a child left out); %s",
				100*share, computingSamples, counted, f.States[StateChild], kernelText))
		}
	default:
		share = min(1, computing/avail)
		v.Reasons = append(v.Reasons, fmt.Sprintf(
			"only %d usable samples, so accounted: (%s) / (%s) = %.0f%%",
			counted, computingText, availText, 100*share))
	}
	v.CPUShare = share
	switch {
	case share >= cpuBoundShare:
		v.Class = CPUBound
	case share <= ioBoundShare:
		v.Class = IOBound
	default:
		v.Class = Mixed
	}
	if v.Class != CPUBound && bestN > 0 {
		v.WaitedOn = best
	} else if v.Class != CPUBound && f.States[StateChild] > 0 {
		v.WaitedOn = StateChild
		bestN, waits = f.States[StateChild], f.States[StateChild]
	}
	cores := f.Cores
	if cores < 1 {
		cores = 1
	}
	v.Reasons = append(v.Reasons, fmt.Sprintf("used %.2f cores' worth of CPU of %d (%.0f%% of the machine)",
		v.CoresUsed, cores, 100*v.CoresUsed/float64(cores)))
	switch v.Class {
	case CPUBound:
		v.Reasons = append(v.Reasons, fmt.Sprintf("CPU-bound: %.0f%% >= %.0f%%", 100*share, 100*cpuBoundShare))
	case IOBound:
		v.Reasons = append(v.Reasons, fmt.Sprintf("I/O-bound: %.0f%% <= %.0f%%", 100*share, 100*ioBoundShare))
	case Mixed:
		v.Reasons = append(v.Reasons, fmt.Sprintf("mixed: %.0f%% is between %.0f%% and %.0f%%", 100*share, 100*ioBoundShare, 100*cpuBoundShare))
	}
	if v.WaitedOn == StateNetwork {
		local, remote := f.States[StateLocalSocket], f.States[StateNetwork]
		switch {
		case remote == 0:
			v.WaitedOnDetail = "local sockets (Unix-domain, or TCP/UDP over loopback)"
		case local == 0:
			v.WaitedOnDetail = "remote hosts (TCP/UDP)"
		case local > remote:
			v.WaitedOnDetail = fmt.Sprintf("mostly local sockets (Unix-domain or loopback: %d samples; remote hosts: %d)", local, remote)
		default:
			v.WaitedOnDetail = fmt.Sprintf("mostly remote hosts (TCP/UDP: %d samples; local sockets: %d)", remote, local)
		}
	}
	if v.WaitedOn != "" {
		v.Reasons = append(v.Reasons, fmt.Sprintf("when not on a CPU it waited on %s (%d of %d waiting samples)%s",
			describeWait(v, f.Subject), bestN, waits, diskEvidence(v.WaitedOn, f)))
	}
	v.Model, v.Questions = recommend(v.Class, v.WaitedOn, v.CoresUsed, f.Subject)
	return v
}

// availableTime is the time the work could run: the wall time less the
// run-queue wait that delayed it, and the words saying how that wait was
// taken.
//
// In one timeline the work computed, waited for a core, or waited on
// something else, so the wait for a core that delayed it is at most the
// time it was not computing (wall - CPU). RunQueueSeconds sums the waits
// of several threads, which can wait at the same time: for a Go function on
// a loaded machine it can exceed wall - CPU whether the work mostly
// computed or mostly waited on I/O, and the sum alone cannot tell which.
// The samples can: the share of them in which a thread was running or
// runnable, times the wall time, bounds the time the work computed or
// waited for a core, so the wait taken is at most that less the CPU time.
// With fewer than 5 samples and a sum past wall - CPU, which threads
// delayed the work is not known, and the wall time is used.
func availableTime(f Figures, computingSamples, counted int) (float64, string) {
	w := f.WallSeconds
	idle := w - min(f.CPUSeconds(), w) // not computing, in one timeline
	q := f.RunQueueSeconds
	text := fmt.Sprintf("wall %.3f s - run-queue wait %.3f s", w, q)
	threads := ""
	if f.RunQueueThreads > 1 {
		threads = fmt.Sprintf(" over %d threads", f.RunQueueThreads)
	}
	if counted >= minSamples {
		runnable := float64(computingSamples) / float64(counted)
		bound := max(0, min(runnable*w, w)-min(f.CPUSeconds(), w))
		if q > bound {
			text = fmt.Sprintf("wall %.3f s - run-queue wait %.3f s: the %.3f s summed%s, bounded by the time a thread was running or runnable in the samples (%d of %d samples: %.3f s) less the CPU time",
				w, bound, q, threads, computingSamples, counted, runnable*w)
			q = bound
		}
	} else if q > idle {
		return w, fmt.Sprintf("wall %.3f s: the run-queue wait, %.3f s summed%s, exceeds the %.3f s it was not computing (wall - CPU), so threads waited at once, and with %d samples which of them delayed the work is not known: it is left out", w, q, threads, idle, counted)
	}
	if q > idle { // only when the figures are inconsistent
		q = idle
		text = fmt.Sprintf("wall %.3f s - run-queue wait %.3f s, capped at the time it was not computing (wall - CPU)", w, q)
	}
	if w-q <= 0 {
		return w, fmt.Sprintf("wall %.3f s (it got no CPU time)", w)
	}
	return w - q, text
}

func diskEvidence(state string, f Figures) string {
	if state != StateDisk {
		return ""
	}
	s := fmt.Sprintf("; storage read %s, written %s", bytesText(f.ReadBytes), bytesText(f.WriteBytes))
	if f.BlockIODelayAccounted {
		s += fmt.Sprintf(", block-I/O delay %.2f s", f.BlockIODelaySeconds)
	}
	return s
}

func describeWait(v Verdict, subject Subject) string {
	if v.WaitedOn == StateNetwork {
		return "the network: " + v.WaitedOnDetail
	}
	return describeState(v.WaitedOn, subject)
}

func describeState(s string, subject Subject) string {
	switch s {
	case StateDisk:
		return "disk (uninterruptible I/O or a file)"
	case StateNetwork:
		return "the network (TCP/UDP sockets)"
	case StateLocalSocket:
		return "local sockets (Unix domain)"
	case StatePipe:
		return "pipes or a terminal"
	case StateSleep:
		return "sleep/timers"
	case StateChild:
		return "child processes (their exit or their output through a pipe)"
	case StateLock:
		if subject == SubjectFunction {
			return "locks or the Go scheduler (futex: a mutex, a channel, a timer or the network poller; Go parks goroutines, so the kernel cannot tell which)"
		}
		return "locks or condition variables (futex)"
	case StatePoll:
		if subject == SubjectFunction {
			return "the Go network poller (epoll: a timer or descriptors the kernel could not name)"
		}
		return "poll/select/epoll on descriptors that could not be told apart"
	}
	return "something else (" + s + ")"
}

// recommend applies the articles' decision tree in braid's terms.
func recommend(c Class, waited string, coresUsed float64, subject Subject) (string, []string) {
	asyncQ := "Do async libraries exist for all your I/O? braid's loop (aio) runs net.Conn, HTTP, subprocesses and timers natively; a blocking call without an async form goes to a goroutine pool through aio.ToThread / aio.RunInExecutor, or the loop stalls."
	isoQ := "Does the work need isolation or a kill switch (a crash must not take the caller down, a runaway task must be killed at a deadline)? A goroutine cannot be killed; an mp worker process can."
	switch c {
	case IOBound:
		m := "the loop (aio) with a semaphore: aio.Run, one task per I/O operation, an aio.Semaphore bounding how many are in flight"
		switch waited {
		case StateDisk:
			m += "; the kernel has no readiness for files, so the file reads themselves go through aio.ToThread (a goroutine pool), bounded the same way"
		case StateChild:
			m += "; the child processes can be started and awaited from the loop (aio subprocesses)"
		case StateSleep:
			m += "; sleeping tasks cost the loop only a timer each"
		}
		return m, []string{asyncQ}
	case CPUBound:
		var m string
		if subject == SubjectFunction {
			m = "the goroutine pool (futures.ThreadPool: every core, no GIL); the process pool (mp.Pool) when the work needs isolation or a kill switch"
		} else {
			m = "for Go code, the goroutine pool (futures.ThreadPool: every core, no GIL); for this program as it is (not Go), or when the work needs isolation or a kill switch, the process pool (mp.Pool)"
		}
		if coresUsed >= 1.5 {
			m += fmt.Sprintf("; it already ran %.1f cores in parallel", coresUsed)
		}
		return m, []string{isoQ}
	case Mixed:
		var m string
		if subject == SubjectFunction {
			m = "the loop (aio) for the I/O with the CPU parts sent to the goroutine pool (aio.RunInExecutor with a futures.ThreadPool), or to the process pool (mp.Pool) when they need isolation or a kill switch"
		} else {
			m = "the loop (aio) with a semaphore for the I/O plus the process pool (mp.Pool) for the CPU parts, through aio.RunInExecutor; for Go code, a futures.ThreadPool in place of the process pool"
		}
		return m, []string{asyncQ, isoQ}
	}
	return "measure again: nothing ran", nil
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// String is the report as text for people: the figures, then the verdict.
func (r Report) String() string {
	var b strings.Builder
	if len(r.Command) > 0 {
		fmt.Fprintf(&b, "braid profile: %s\n", strings.Join(r.Command, " "))
	} else {
		fmt.Fprintf(&b, "braid profile: function\n")
	}
	f := r.Figures
	if len(r.Command) > 0 {
		fmt.Fprintf(&b, "  exit code            %d%s\n", r.ExitCode, map[bool]string{true: " (interrupted)"}[r.Interrupted])
	}
	fmt.Fprintf(&b, "  wall                 %.3f s\n", f.WallSeconds)
	fmt.Fprintf(&b, "  user / system CPU    %.3f s / %.3f s (%.2f of %d cores)\n", f.UserSeconds, f.SystemSeconds, r.Verdict.CoresUsed, f.Cores)
	fmt.Fprintf(&b, "  run-queue wait       %.3f s\n", f.RunQueueSeconds)
	if f.BlockIODelayAccounted {
		fmt.Fprintf(&b, "  block-I/O delay      %.3f s\n", f.BlockIODelaySeconds)
	} else {
		fmt.Fprintf(&b, "  block-I/O delay      not accounted by this kernel\n")
	}
	fmt.Fprintf(&b, "  context switches     %d voluntary, %d involuntary\n", f.VoluntaryCtxSwitches, f.InvoluntaryCtxSwitches)
	fmt.Fprintf(&b, "  storage read/write   %s / %s\n", bytesText(f.ReadBytes), bytesText(f.WriteBytes))
	fmt.Fprintf(&b, "  all read/write       %s / %s (sockets, pipes, page cache too)\n", bytesText(f.ReadChars), bytesText(f.WriteChars))
	fmt.Fprintf(&b, "  threads (peak)       %d in %d process(es) seen\n", f.Threads, f.Processes)
	fmt.Fprintf(&b, "  peak RSS             %s\n", bytesText(f.PeakRSSBytes))
	if f.Samples > 0 {
		fmt.Fprintf(&b, "  samples              %d:", f.Samples)
		type kv struct {
			k string
			n int
		}
		var states []kv
		for k, n := range f.States {
			if n > 0 {
				states = append(states, kv{k, n})
			}
		}
		sort.Slice(states, func(i, j int) bool {
			if states[i].n != states[j].n {
				return states[i].n > states[j].n
			}
			return stateRank(states[i].k) < stateRank(states[j].k)
		})
		for i, s := range states {
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(&b, "%s %s %.0f%%", sep, s.k, 100*float64(s.n)/float64(f.Samples))
		}
		b.WriteByte('\n')
	}
	v := r.Verdict
	fmt.Fprintf(&b, "verdict: %s\n", strings.ToUpper(string(v.Class)))
	for _, reason := range v.Reasons {
		fmt.Fprintf(&b, "  - %s\n", reason)
	}
	fmt.Fprintf(&b, "model: %s\n", v.Model)
	for _, q := range v.Questions {
		fmt.Fprintf(&b, "ask yourself: %s\n", q)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}
