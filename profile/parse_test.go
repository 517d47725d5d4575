package profile

import (
	"reflect"
	"testing"
)

func TestParseStat(t *testing.T) {
	// A command name with a space and a ')' in it; 52 fields as on Linux 6.
	text := "4242 (my (odd) prog) D 4200 4242 4200 0 -1 4194560 310 0 0 0 1234 567 89 10 20 0 3 0 987654 10000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 77 0 0 0 0 0 0 0 0 0 0\n"
	s, err := parseStat(text)
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{pid: 4242, comm: "my (odd) prog", state: 'D', ppid: 4200, utime: 1234, stime: 567,
		cutime: 89, cstime: 10, numThreads: 3, starttime: 987654, blkioTicks: 77}
	if s != want {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	if _, err := parseStat("garbage"); err == nil {
		t.Fatal("parseStat accepted text with no (comm)")
	}
	if _, err := parseStat("1 (x) S 0 1"); err == nil {
		t.Fatal("parseStat accepted a truncated line")
	}
}

func TestParseStatusIOSchedstat(t *testing.T) {
	status := "Name:\tpython3\nState:\tS (sleeping)\nThreads:\t4\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nvoluntary_ctxt_switches:\t15\nnonvoluntary_ctxt_switches:\t3\n"
	if got, want := parseStatus(status), (procStatus{vmHWMKiB: 20480, vmRSSKiB: 10240, voluntary: 15, involuntary: 3, threads: 4}); got != want {
		t.Fatalf("status: got %+v want %+v", got, want)
	}
	io := "rchar: 6976\nwchar: 12\nsyscr: 10\nsyscw: 1\nread_bytes: 12288\nwrite_bytes: 4096\ncancelled_write_bytes: 0\n"
	if got, want := parseIO(io), (procIO{rchar: 6976, wchar: 12, readBytes: 12288, writeBytes: 4096}); got != want {
		t.Fatalf("io: got %+v want %+v", got, want)
	}
	c, d, err := parseSchedstat("1092577 121542 3\n")
	if err != nil || c != 1092577 || d != 121542 {
		t.Fatalf("schedstat: %d %d, %v", c, d, err)
	}
	if _, _, err := parseSchedstat("12"); err == nil {
		t.Fatal("parseSchedstat accepted one field")
	}
}

func TestParseSyscall(t *testing.T) {
	nr, args, err := parseSyscall("0 0x3 0x7ffd7fd95c20 0x1000 0x0 0x0 0x0 0x7ffd 0x7ff8\n")
	if err != nil || nr != 0 || len(args) != 8 || args[0] != 3 || args[2] != 0x1000 {
		t.Fatalf("got %d %v %v", nr, args, err)
	}
	if nr, _, err := parseSyscall("running\n"); err != nil || nr != syscallRunning {
		t.Fatalf("running: %d %v", nr, err)
	}
	if nr, _, err := parseSyscall("-1 0x7ffd 0x4011\n"); err != nil || nr != syscallNone {
		t.Fatalf("blocked outside a call: %d %v", nr, err)
	}
	if _, _, err := parseSyscall(""); err == nil {
		t.Fatal("accepted empty text")
	}
}

func TestParseEpollAndSockets(t *testing.T) {
	fdinfo := "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\ntfd:        5 events:       19 data:                5  pos:0 ino:4e2a sdev:8\ntfd:        7 events:       19 data:                7  pos:0 ino:4e2b sdev:8\n"
	if got := parseEpollTargets(fdinfo); !reflect.DeepEqual(got, []int{5, 7}) {
		t.Fatalf("epoll targets %v", got)
	}
	unixText := "Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00000000 0001 03 20001\n0000000000000000: 00000002 00000000 00010000 0001 01 20002 /run/x.sock\n"
	tcpText := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 30003 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:1F90 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0 30004 1\n   2: 0A00020F:A001 5DB8D822:01BB 01 00000000:00000000 00:00000000 00000000     0        0 30005 1\n   3: 00000000:0000 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 30006 1\n"
	u, in, unsettled := map[uint64]bool{}, map[uint64]bool{}, map[uint64]bool{}
	parseSocketInodes(unixText, unixInodeColumn, u, unsettled)
	parseSocketInodes(tcpText, inetInodeColumn, in, unsettled)
	if !u[20001] || !u[20002] || len(u) != 2 || !in[30003] || !in[30004] || in[30005] || in[30006] || len(in) != 4 {
		t.Fatalf("unix %v inet %v", u, in)
	}
	if !unsettled[30006] || len(unsettled) != 1 {
		t.Fatalf("unsettled %v, want only 30006 (neither bound nor connected)", unsettled)
	}
	isU, isI := func(i uint64) bool { return u[i] }, func(i uint64) (bool, bool) { lo, ok := in[i]; return ok, lo }
	for target, want := range map[string]string{
		"socket:[20001]":         StateLocalSocket,
		"socket:[30003]":         StateLocalSocket, // listening on 127.0.0.1
		"socket:[30004]":         StateLocalSocket, // connected to 127.0.0.1
		"socket:[30005]":         StateNetwork,     // connected to 93.184.216.34
		"socket:[99]":            StateOther,
		"pipe:[123]":             StatePipe,
		"/dev/pts/3":             StatePipe,
		"/var/tmp/data.bin":      StateDisk,
		"/dev/sda":               StateDisk,
		"anon_inode:[eventfd]":   StateOther,
		"anon_inode:[eventpoll]": StateOther,
	} {
		if got := classifyFdTarget(target, isU, isI); got != want {
			t.Errorf("%s: %s, want %s", target, got, want)
		}
	}
}

func TestIsLoopbackHex(t *testing.T) {
	for h, want := range map[string]bool{
		"0100007F": true, "0101007F": true, "0A00020F": false, "00000000": false,
		"00000000000000000000000001000000": true,  // ::1
		"0000000000000000FFFF00000100007F": true,  // ::ffff:127.0.0.1
		"0000000000000000FFFF00000A00020F": false, // ::ffff:15.2.0.10
		"B80D0120000000000000000001000000": false, // 2001:db8::1
	} {
		if got := isLoopbackHex(h); got != want {
			t.Errorf("%s: %v, want %v", h, got, want)
		}
	}
}

func TestClassifyWchan(t *testing.T) {
	for w, want := range map[string]string{
		"hrtimer_nanosleep":        StateSleep,
		"do_nanosleep":             StateSleep,
		"futex_wait_queue":         StateLock,
		"ep_poll":                  StatePoll,
		"do_select":                StatePoll,
		"sk_wait_data":             StateNetwork,
		"inet_csk_accept":          StateNetwork,
		"unix_stream_read_generic": StateLocalSocket,
		"pipe_read":                StatePipe,
		"do_wait":                  StateChild,
		"folio_wait_bit_common":    StateDisk,
		"0":                        StateOther,
		"some_new_function":        StateOther,
	} {
		if got := classifyWchan(w); got != want {
			t.Errorf("%s: %s, want %s", w, got, want)
		}
	}
}

func TestParsePollFdsAndFdSet(t *testing.T) {
	buf := make([]byte, 24)
	for i, fd := range []int32{3, -1, 9} {
		hostEndian.PutUint32(buf[i*8:], uint32(fd))
		hostEndian.PutUint16(buf[i*8+4:], 1) // events: POLLIN
	}
	if got := parsePollFds(buf); !reflect.DeepEqual(got, []int{3, 9}) {
		t.Fatalf("pollfds %v", got)
	}
	set := make([]byte, 16) // 128 descriptors
	hostEndian.PutUint64(set, 1<<0|1<<5)
	hostEndian.PutUint64(set[8:], 1<<(70-64)|1<<(100-64))
	if got := parseFdSet(set, 101); !reflect.DeepEqual(got, []int{0, 5, 70, 100}) {
		t.Fatalf("fd_set %v", got)
	}
	if got := parseFdSet(set, 70); !reflect.DeepEqual(got, []int{0, 5}) {
		t.Fatalf("fd_set below nfds=70: %v", got)
	}
}
