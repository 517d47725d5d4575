package bench

import "testing"

func TestPairedRatioComparesRoundByRound(t *testing.T) {
	cpu := func(v ...float64) []echoResult {
		rs := make([]echoResult, len(v))
		for i, c := range v {
			rs[i].cpuPerReq = c
		}
		return rs
	}
	// The machine slows down in round 2 for both servers: every round
	// says 0.9.
	server := cpu(5.4, 8.1, 4.5)
	peer := cpu(6.0, 9.0, 5.0)
	med, lo, hi, ok := pairedRatio(server, peer)
	if !ok || med < 0.899 || med > 0.901 || lo < 0.899 || hi > 0.901 {
		t.Errorf("pairedRatio = %.3f (%.3f-%.3f, ok %v), want 0.900 (0.900-0.900)", med, lo, hi, ok)
	}
	// A round without figures (the peer's CPU unreadable) is skipped;
	// the median is the middle of the rest.
	med, lo, hi, ok = pairedRatio(cpu(1, 2, 3, 4), cpu(1, 0, 2, 2))
	if !ok || med != 1.5 || lo != 1 || hi != 2 {
		t.Errorf("pairedRatio = %.3f (%.3f-%.3f, ok %v), want 1.5 (1-2)", med, lo, hi, ok)
	}
	// An even count of rounds: the mean of the two middle ratios.
	med, _, _, _ = pairedRatio(cpu(1, 3, 2, 4), cpu(1, 1, 1, 1))
	if med != 2.5 {
		t.Errorf("pairedRatio over ratios 1, 3, 2, 4 = %.3f, want 2.5", med)
	}
	if _, _, _, ok := pairedRatio(cpu(1), cpu(0)); ok {
		t.Error("pairedRatio reported a ratio with no round of both")
	}
}
