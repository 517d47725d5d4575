package bench

// The statistics of every workload: medians of repeated runs, paired
// per-round ratios (a slow spell of a shared machine hits both sides of a
// round alike, so it cancels), percentiles and the echo latency
// histogram.

import (
	"math"
	"slices"
	"sort"
	"time"
)

// median sorts v and returns its middle value, or the mean of the two
// middle values of an even count: the figure of repeated runs.
func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// Stat is a median with the range of the values it came from.
type Stat struct {
	Median, Min, Max float64
	N                int
}

// Spread is half the range: the "±" of a figure.
func (s Stat) Spread() float64 { return (s.Max - s.Min) / 2 }

// statOf is the median and range of v, leaving out NaN and infinite
// values (rounds not measured); NaN with N 0 when none is left.
func statOf(v []float64) Stat {
	var ok []float64
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			ok = append(ok, x)
		}
	}
	if len(ok) == 0 {
		return Stat{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	slices.Sort(ok)
	return Stat{Median: median(slices.Clone(ok)), Min: ok[0], Max: ok[len(ok)-1], N: len(ok)}
}

// ratio returns the per-round ratios a[r]/b[r] over the rounds where both
// were measured: paired, so that a slow spell that hits both cancels.
func ratio(a, b []float64) Stat {
	v := make([]float64, 0, len(a))
	for r := range a {
		if r < len(b) && !math.IsNaN(a[r]) && !math.IsNaN(b[r]) && b[r] > 0 {
			v = append(v, a[r]/b[r])
		}
	}
	return statOf(v)
}

// pairedRatio compares a server's CPU per request with a peer's round by
// round: it returns the median of the per-round ratios and their range;
// ok is false when no round of both has figures.
func pairedRatio(rs, peer []echoResult) (med, lo, hi float64, ok bool) {
	s := ratio(cpuPerRound(rs), cpuPerRound(peer))
	return s.Median, s.Min, s.Max, s.N > 0
}

// cpuPerRound is each round's CPU per request; NaN where it could not be
// read (0), so that ratio skips that round.
func cpuPerRound(rs []echoResult) []float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = r.cpuPerReq
		if v[i] <= 0 {
			v[i] = math.NaN()
		}
	}
	return v
}

// medianOf returns the median of a figure over rounds.
func medianOf[T any](rs []T, get func(T) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = get(r)
	}
	return median(v)
}

// percentiles returns the p50 and p99 of ts in microseconds.
func percentiles(ts []time.Duration) (p50, p99 float64) {
	s := slices.Clone(ts)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) float64 { return float64(s[int(q*float64(len(s)-1))].Nanoseconds()) / 1e3 }
	return at(0.5), at(0.99)
}

// histogram counts latencies in 1 us buckets up to 1 s.
type histogram struct {
	b     []uint32
	count int64
}

const histMaxUs = 1_000_000

func newHistogram() *histogram { return &histogram{b: make([]uint32, histMaxUs+1)} }

func (h *histogram) add(d time.Duration) {
	us := int(d / time.Microsecond)
	if us > histMaxUs {
		us = histMaxUs
	}
	h.b[us]++
	h.count++
}

func (h *histogram) reset() {
	clear(h.b)
	h.count = 0
}

// quantile returns the latency in us below which the fraction q of the
// samples lie (the upper edge of the bucket).
func (h *histogram) quantile(q float64) float64 {
	if h.count == 0 {
		return 0
	}
	want := int64(q*float64(h.count) + 0.5)
	if want < 1 {
		want = 1
	}
	var seen int64
	for i, n := range h.b {
		seen += int64(n)
		if seen >= want {
			return float64(i + 1)
		}
	}
	return histMaxUs
}
