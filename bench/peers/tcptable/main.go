// Command tcptable turns the output of bench/peers' TCP benchmarks into the
// table of bench/peers/README.md: the median of each figure per peer, and
// bsdnet's figure divided by gVisor's and by the kernel's (for a rate above
// 1 is better, for a time or a size below 1 is).
//
//	go test -run XXX -bench TCP -benchtime 2s -count 3 -timeout 3h . | tee tcp.txt | go run ./tcptable
//
// Lines it does not recognize pass it by; the benchmark output is echoed
// to standard error, so that the run can be followed.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// row is one line of the table: a figure of one benchmark.
type row struct {
	bench  string  // benchmark name without the peer ("BenchmarkTCPWire")
	metric string  // the unit as the benchmark reports it ("MB/s")
	label  string  // what the table calls it
	show   string  // the unit shown
	scale  float64 // multiplies the reported value
	target string
}

var rows = []row{
	{"BenchmarkTCPStream", "MB/s", "loopback stream, 64 KiB writes", "MB/s", 1, "≥ 2× gVisor"},
	{"BenchmarkTCPPingPong", "ns/op", "loopback 1-byte round trip", "µs", 1e-3, "≤ 0.25× gVisor"},
	{"BenchmarkTCPWire", "MB/s", "two stacks, 1500-byte-MTU wire, 64 KiB writes", "MB/s", 1, "≥ 3× gVisor"},
	{"BenchmarkTCPConnRate/sequential", "conns/s", "connect + accept + close, sequential", "conns/s", 1, "≥ 3× gVisor"},
	{"BenchmarkTCPConnRate/concurrent8", "conns/s", "connect + accept + close, 8 clients", "conns/s", 1, "≥ 3× gVisor"},
	{"BenchmarkTCPIdlePairs", "B/pair", "heap per idle established pair", "B", 1, "≤ 6 KiB"},
	{"BenchmarkTCPIdlePairs", "goroutines/pair", "goroutines per idle pair", "", 1, "0"},
	{"BenchmarkTCPLossy", "goodput-MB/s", "goodput, 10 ms delay and 1% loss each way", "MB/s", 1, "≥ gVisor"},
	{"BenchmarkTCPManyConns", "open-s", "100,000 connections: time to open", "s", 1, ""},
	{"BenchmarkTCPManyConns", "round-s", "100,000 connections: a byte each way on each", "s", 1, ""},
	{"BenchmarkTCPManyConns", "close-s", "100,000 connections: time to close", "s", 1, ""},
	{"BenchmarkTCPManyConns", "B/pair", "100,000 connections: heap per open pair", "B", 1, ""},
	{"BenchmarkTCPManyConns", "goroutines/pair", "100,000 connections: goroutines per pair", "", 1, "0"},
}

var peers = []string{"bsdnet", "gvisor", "kernel"}

// key names a benchmark of one peer: "bench|peer".
func key(name string) (string, bool) {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		name = name[:i] // the GOMAXPROCS suffix
	}
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", false
	}
	return name[:i] + "|" + name[i+1:], true
}

// parse reads benchmark output: for each benchmark and peer, every value
// reported in each unit, and which ones failed.
func parse(r io.Reader, echo io.Writer) (map[string]map[string][]float64, map[string]bool, error) {
	vals := make(map[string]map[string][]float64) // "bench|peer" -> unit -> values
	failed := make(map[string]bool)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(echo, line)
		if i := strings.Index(line, "--- FAIL: "); i >= 0 {
			if k, ok := key(strings.TrimSpace(line[i+len("--- FAIL: "):])); ok {
				failed[k] = true
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		k, ok := key(f[0])
		if !ok {
			continue
		}
		if vals[k] == nil {
			vals[k] = make(map[string][]float64)
		}
		for j := 2; j+1 < len(f); j += 2 {
			v, err := strconv.ParseFloat(f[j], 64)
			if err != nil {
				break
			}
			vals[k][f[j+1]] = append(vals[k][f[j+1]], v)
		}
	}
	return vals, failed, sc.Err()
}

func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

func format(v float64, unit string) string {
	var s string
	switch {
	case v >= 100:
		s = strconv.FormatFloat(v, 'f', 0, 64)
		if n := len(s); n > 3 {
			s = s[:n-3] + "," + s[n-3:]
		}
	case v >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	if unit != "" {
		s += " " + unit
	}
	return s
}

// ratio is bsdnet's figure b over the peer's p.
func ratio(b, p float64) string {
	if b <= 0 || p <= 0 {
		return "–"
	}
	return strconv.FormatFloat(b/p, 'f', 2, 64) + "×"
}

func main() {
	vals, failed, err := parse(os.Stdin, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcptable:", err)
		os.Exit(1)
	}
	fmt.Println("| figure | bsdnet | gVisor | kernel | bsdnet vs gVisor | bsdnet vs kernel | target |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		var med [3]float64
		var have [3]bool
		n := 0
		for i, p := range peers {
			med[i], have[i] = median(vals[r.bench+"|"+p][r.metric])
			med[i] *= r.scale
			if have[i] || failed[r.bench+"|"+p] {
				n++
			}
		}
		if n == 0 {
			continue
		}
		cells := []string{r.label}
		for i, p := range peers {
			switch {
			case have[i]:
				cells = append(cells, format(med[i], r.show))
			case failed[r.bench+"|"+p]:
				cells = append(cells, "failed")
			default:
				cells = append(cells, "–")
			}
		}
		for _, i := range []int{1, 2} {
			if have[0] && have[i] && r.show != "" {
				cells = append(cells, ratio(med[0], med[i]))
			} else {
				cells = append(cells, "")
			}
		}
		cells = append(cells, r.target)
		fmt.Println("| " + strings.Join(cells, " | ") + " |")
	}
	fmt.Println()
	fmt.Println("Medians of every run of each figure. Ratios are bsdnet's figure over the peer's:")
	fmt.Println("for a rate above 1 is better, for a time or a size below 1 is.")
}
