package profile

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestClassifyTable(t *testing.T) {
	cases := []struct {
		name   string
		f      Figures
		class  Class
		waited string
	}{
		{"single-threaded CPU at one core of two", Figures{Cores: 2, WallSeconds: 2, UserSeconds: 1.95, SystemSeconds: 0.03,
			Samples: 40, States: map[string]int{StateCPU: 39, StatePipe: 1}}, CPUBound, ""},
		{"CPU under contention: half the time runnable", Figures{Cores: 2, WallSeconds: 2, UserSeconds: 1.0, RunQueueSeconds: 1.0,
			Samples: 40, States: map[string]int{StateCPU: 40}}, CPUBound, ""},
		{"process pool on every core", Figures{Cores: 2, WallSeconds: 1, UserSeconds: 1.9, SystemSeconds: 0.05,
			Samples: 20, States: map[string]int{StateCPU: 19, StatePipe: 1}}, CPUBound, ""},
		{"kernel CPU that never blocks (/dev/urandom)", Figures{Cores: 2, WallSeconds: 1, SystemSeconds: 0.95,
			Samples: 20, States: map[string]int{StateCPU: 20}}, CPUBound, ""},
		{"fork loop: the children are too short to be seen", Figures{Cores: 2, WallSeconds: 2, UserSeconds: 0.8, SystemSeconds: 0.6, RunQueueSeconds: 0.5,
			Samples: 40, States: map[string]int{StateCPU: 14, StateChild: 26}}, CPUBound, ""},
		{"sleep", Figures{Cores: 2, WallSeconds: 1.5, UserSeconds: 0.001,
			Samples: 30, States: map[string]int{StateSleep: 30}}, IOBound, StateSleep},
		{"direct I/O: kernel time moves the data", Figures{Cores: 2, WallSeconds: 1.5, UserSeconds: 0.02, SystemSeconds: 0.45, RunQueueSeconds: 0.3,
			ReadBytes: 10 << 20, Samples: 30, States: map[string]int{StateCPU: 16, StateDisk: 14}}, IOBound, StateDisk},
		{"direct I/O on a busy machine: woken threads wait for a core", Figures{Cores: 2, WallSeconds: 2.27, SystemSeconds: 0.73, RunQueueSeconds: 0.84,
			Samples: 46, States: map[string]int{StateCPU: 34, StateDisk: 12}}, IOBound, StateDisk},
		{"CPU on a busy machine with a few pipe waits", Figures{Cores: 2, WallSeconds: 2, UserSeconds: 0.9, SystemSeconds: 0.3, RunQueueSeconds: 0.7,
			Samples: 40, States: map[string]int{StateCPU: 37, StatePipe: 3}}, CPUBound, ""},
		{"a function on a machine so busy that its threads' run-queue waits add up past the wall", Figures{Subject: SubjectFunction, Cores: 2, WallSeconds: 1, UserSeconds: 0.48, RunQueueSeconds: 1.01,
			RunQueueThreads: 3, Samples: 19, States: map[string]int{StateCPU: 19}}, CPUBound, ""},
		{"a sleeping function", Figures{Subject: SubjectFunction, Cores: 2, WallSeconds: 1, UserSeconds: 0.005, SystemSeconds: 0.02,
			Samples: 20, States: map[string]int{StateCPU: 9, StateSleep: 11}}, IOBound, StateSleep},
		{"local socket", Figures{Cores: 2, WallSeconds: 2, UserSeconds: 0.1, SystemSeconds: 0.1,
			Samples: 40, States: map[string]int{StateCPU: 8, StateLocalSocket: 30, StateSleep: 2}}, IOBound, StateNetwork},
		{"network", Figures{Cores: 2, WallSeconds: 2, UserSeconds: 0.05, SystemSeconds: 0.05,
			Samples: 40, States: map[string]int{StateCPU: 2, StateNetwork: 38}}, IOBound, StateNetwork},
		{"alternating sleep and CPU", Figures{Cores: 2, WallSeconds: 2, UserSeconds: 0.95, SystemSeconds: 0.02,
			Samples: 40, States: map[string]int{StateCPU: 20, StateSleep: 20}}, Mixed, StateSleep},
		{"CPU with network waits, user time", Figures{Cores: 2, WallSeconds: 2, UserSeconds: 1.0, SystemSeconds: 0.1,
			Samples: 40, States: map[string]int{StateCPU: 22, StateNetwork: 18}}, Mixed, StateNetwork},
		{"too few samples: accounted", Figures{Cores: 2, WallSeconds: 0.1, UserSeconds: 0.09, Samples: 2,
			States: map[string]int{StateCPU: 2}}, CPUBound, ""},
		{"too few samples, idle", Figures{Cores: 2, WallSeconds: 0.1, UserSeconds: 0.001, Samples: 2,
			States: map[string]int{StateSleep: 2}}, IOBound, StateSleep},
		{"nothing measured", Figures{}, Unknown, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Classify(c.f)
			if v.Class != c.class || v.WaitedOn != c.waited {
				t.Fatalf("class %s waited on %q, want %s %q\n%s", v.Class, v.WaitedOn, c.class, c.waited, strings.Join(v.Reasons, "\n"))
			}
			if c.waited == StateNetwork && c.f.States[StateLocalSocket] > 0 && !strings.Contains(v.WaitedOnDetail, "local") {
				t.Fatalf("local socket waits not told apart: %q", v.WaitedOnDetail)
			}
			if len(v.Reasons) == 0 || v.Model == "" {
				t.Fatalf("no reasons or model: %+v", v)
			}
		})
	}
}

// TestClassifyRunQueueAttribution: the run-queue wait summed over threads
// can exceed the time the work was not computing (threads waited at once);
// only what can have delayed one timeline of the work is taken from the
// wall time, and the first reason says which figures decided.
func TestClassifyRunQueueAttribution(t *testing.T) {
	cases := []struct {
		name  string
		f     Figures
		class Class
		text  string // in the first reason
	}{
		{"(a) one thread, CPU-bound, waiting for a core half the time", Figures{Subject: SubjectFunction, Cores: 2, WallSeconds: 2, UserSeconds: 1,
			RunQueueSeconds: 1, RunQueueThreads: 1}, CPUBound, "(wall 2.000 s - run-queue wait 1.000 s)"},
		{"(a) the same as a command with few samples", Figures{Cores: 2, WallSeconds: 2, UserSeconds: 1,
			RunQueueSeconds: 1, RunQueueThreads: 1, Samples: 2, States: map[string]int{StateCPU: 2}}, CPUBound, "(wall 2.000 s - run-queue wait 1.000 s)"},
		{"(a) the same, sampled", Figures{Subject: SubjectFunction, Cores: 2, WallSeconds: 2, UserSeconds: 1,
			RunQueueSeconds: 1, RunQueueThreads: 1, Samples: 40, States: map[string]int{StateCPU: 40}}, CPUBound, "(wall 2.000 s - run-queue wait 1.000 s)"},
		{"(b) 5 loopback requests: 19 ms wall, 2 ms CPU, 30 ms run-queue wait over 6 threads", Figures{Subject: SubjectFunction, Cores: 2, WallSeconds: 0.019,
			UserSeconds: 0.001, SystemSeconds: 0.001, RunQueueSeconds: 0.030, RunQueueThreads: 6}, IOBound,
			"the run-queue wait, 0.030 s summed over 6 threads, exceeds the 0.017 s it was not computing"},
		{"(b) the same with threads not known", Figures{Subject: SubjectFunction, Cores: 2, WallSeconds: 0.019,
			UserSeconds: 0.001, SystemSeconds: 0.001, RunQueueSeconds: 0.030, Samples: 1, States: map[string]int{StateCPU: 1}}, IOBound,
			"0.030 s summed, exceeds"},
		{"(b) the same over 0.5 s, sampled: the samples found it waiting", Figures{Subject: SubjectFunction, Cores: 2, WallSeconds: 0.5,
			UserSeconds: 0.03, SystemSeconds: 0.02, RunQueueSeconds: 0.8, RunQueueThreads: 6, Samples: 10,
			States: map[string]int{StateCPU: 4, StateLocalSocket: 6}}, IOBound, "(4 of 10 samples: 0.200 s)"},
		// Measured: TestFuncCPUBound on a machine so loaded that a 1 s busy
		// loop got 0.19 s of CPU.
		{"(c) a CPU-bound Go function whose runtime threads queued too", Figures{Subject: SubjectFunction, Cores: 2, WallSeconds: 1,
			UserSeconds: 0.185, SystemSeconds: 0.009, RunQueueSeconds: 1.302, RunQueueThreads: 3,
			Samples: 18, States: map[string]int{StateCPU: 18}}, CPUBound, "the 1.302 s summed over 3 threads, bounded by the time a thread was running or runnable in the samples (18 of 18 samples: 1.000 s)"},
		{"(c) the same with a few lock samples", Figures{Subject: SubjectFunction, Cores: 2, WallSeconds: 1,
			UserSeconds: 0.52, SystemSeconds: 0.02, RunQueueSeconds: 0.8, RunQueueThreads: 3,
			Samples: 20, States: map[string]int{StateCPU: 18, StateLock: 2}}, CPUBound, "(18 of 20 samples: 0.900 s)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := Classify(c.f)
			if v.Class != c.class || !strings.Contains(v.Reasons[0], c.text) {
				t.Fatalf("class %s, want %s, with %q in the first reason:\n%s", v.Class, c.class, c.text, strings.Join(v.Reasons, "\n"))
			}
		})
	}
}

func TestRecommendations(t *testing.T) {
	cpu := Figures{Cores: 2, WallSeconds: 1, UserSeconds: 1, Samples: 10, States: map[string]int{StateCPU: 10}}
	cpu.Subject = SubjectFunction
	if v := Classify(cpu); !strings.Contains(v.Model, "futures.ThreadPool") || !strings.Contains(strings.Join(v.Questions, " "), "kill switch") {
		t.Fatalf("CPU-bound function: %q %q", v.Model, v.Questions)
	}
	cpu.Subject = SubjectCommand
	if v := Classify(cpu); !strings.Contains(v.Model, "mp.Pool") {
		t.Fatalf("CPU-bound command: %q", v.Model)
	}
	io := Figures{Subject: SubjectCommand, Cores: 2, WallSeconds: 1, Samples: 10, States: map[string]int{StateNetwork: 10}}
	if v := Classify(io); !strings.Contains(v.Model, "aio.Semaphore") || !strings.Contains(strings.Join(v.Questions, " "), "async libraries") {
		t.Fatalf("I/O-bound: %q %q", v.Model, v.Questions)
	}
	mixed := Figures{Subject: SubjectCommand, Cores: 2, WallSeconds: 1, UserSeconds: 0.5, Samples: 10, States: map[string]int{StateCPU: 5, StateSleep: 5}}
	if v := Classify(mixed); !strings.Contains(v.Model, "aio") || !strings.Contains(v.Model, "mp.Pool") || len(v.Questions) != 2 {
		t.Fatalf("mixed: %q %q", v.Model, v.Questions)
	}
}

func TestReportStringAndJSON(t *testing.T) {
	f := Figures{Subject: SubjectCommand, Cores: 2, WallSeconds: 1.5, UserSeconds: 0.001, Samples: 30,
		States: map[string]int{StateSleep: 30}}
	r := Report{Command: []string{"sleep", "1.5"}, Figures: f, Verdict: Classify(f)}
	s := r.String()
	for _, want := range []string{"sleep 1.5", "IO-BOUND", "sleep/timer 100%", "model:", "ask yourself:"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() lacks %q:\n%s", want, s)
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["wall_s"] != 1.5 || back["verdict"].(map[string]any)["class"] != "io-bound" || back["states"].(map[string]any)["sleep/timer"] != 30.0 {
		t.Fatalf("JSON: %s", b)
	}
}
